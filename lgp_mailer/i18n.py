"""The interface language: what the tool says to the office staff who run it.

Letters and exports are Hungarian whatever this says; only the interface follows it.
Strings are marked with ``_()`` (translated when called) or ``N_()`` (marked where a
list is declared, translated with ``_()`` where it is shown), and read from the gettext
catalogs in ``lgp_mailer/locale``.
"""

from __future__ import annotations

import gettext
from pathlib import Path

DOMAIN = "lgp_mailer"
LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES = ("en", "hu")

_active: dict[str, gettext.NullTranslations | str] = {"translation": gettext.NullTranslations(), "language": "en"}


def activate(language: str) -> None:
    """Use ``language``'s catalog from now on; English is the source text and needs none."""
    if language not in LANGUAGES:
        raise ValueError(f"unknown interface language {language!r}")
    translation: gettext.NullTranslations = gettext.NullTranslations()
    if language != "en":
        translation = gettext.translation(DOMAIN, localedir=LOCALE_DIR, languages=[language], fallback=True)
    _active["translation"] = translation
    _active["language"] = language


def current_language() -> str:
    return str(_active["language"])


def _translation() -> gettext.NullTranslations:
    translation = _active["translation"]
    assert isinstance(translation, gettext.NullTranslations)
    return translation


def _(message: str) -> str:
    """Translate ``message`` into the interface language."""
    return _translation().gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """Translate a message whose form depends on the count ``n``."""
    return _translation().ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark ``message`` for extraction only; it is translated with ``_()`` where it is shown."""
    return message
