"""The interface language: what the tool says to the office staff who run it.

Letters and exports are Hungarian whatever this says; only the interface follows it.
Strings are marked with ``_()`` (translated when called) or ``N_()`` (marked where a
list is declared, translated with ``_()`` where it is shown), and read from the gettext
catalogs in ``lgp_mailer/locale`` (see ``locale/README.md`` for the .po → .mo pipeline).

The language is chosen by :func:`choose`: ``--lang`` > ``LGP_MAILER_LANG`` > the text of
``LC_ALL`` / ``LC_MESSAGES`` / ``LANG`` (never ``setlocale``: hu_HU need not be generated on
the machine) > the Windows user interface language > English.  :func:`activate` also
points the process-wide ``gettext`` domain at our catalog, because Typer translates its
own strings ("Options", "default: …") through ``gettext.gettext``.
"""

from __future__ import annotations

import gettext
import locale  # only its table of Windows language ids: never setlocale
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

DOMAIN = "lgp_mailer"
LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES = ("en", "hu")
LANG_ENV = "LGP_MAILER_LANG"
LOCALE_ENVS = ("LC_ALL", "LC_MESSAGES", "LANG")  # POSIX precedence: the first one set decides
BUDAPEST = ZoneInfo("Europe/Budapest")


@dataclass(frozen=True)
class Choice:
    """The interface language and what chose it (``lgp-mailer config`` shows both)."""

    language: str
    source: str  # "--lang", "LGP_MAILER_LANG", "LANG=hu_HU.UTF-8", "Windows UI language 0x040e", "default"


_active: dict[str, gettext.NullTranslations | Choice] = {
    "translation": gettext.NullTranslations(),
    "choice": Choice("en", "default"),
}


def language_of_locale(text: str) -> str | None:
    """``hu_HU.UTF-8`` → ``hu``, ``en_GB`` → ``en``; None for C/POSIX and languages we don't speak."""
    code = text.strip().split(".")[0].split("@")[0].replace("-", "_").split("_")[0].lower()
    return code if code in LANGUAGES else None


def windows_ui_locale(lang_id: int) -> str | None:
    """A Windows LANGID (``GetUserDefaultUILanguage``) as a locale name, from the stdlib's table.

    ``locale.getlocale()`` on Windows says 'Hungarian_Hungary'; the LANGID is exact.
    An unlisted sublanguage falls back to the primary language's default (0x0400 | primary).
    """
    names = locale.windows_locale
    return names.get(lang_id) or names.get(0x0400 | (lang_id & 0x3FF))


def _windows_ui_language_id() -> int | None:  # pragma: no cover - Windows only
    if sys.platform == "win32":
        import ctypes  # noqa: PLC0415 - Windows only

        return int(ctypes.windll.kernel32.GetUserDefaultUILanguage())
    return None


def choose(
    flag: str | None,
    environ: Mapping[str, str],
    *,
    windows_ui: Callable[[], int | None] = _windows_ui_language_id,
) -> Choice:
    """Decide the interface language (see the module docstring for the order)."""
    if flag in LANGUAGES:
        return Choice(flag, "--lang")
    wanted = environ.get(LANG_ENV, "").strip().lower()
    if wanted in LANGUAGES:
        return Choice(wanted, LANG_ENV)
    for name in LOCALE_ENVS:
        text = environ.get(name, "")
        if text:
            language = language_of_locale(text)
            return Choice(language, f"{name}={text}") if language else Choice("en", f"default ({name}={text})")
    lang_id = windows_ui()
    if lang_id is not None:
        name = windows_ui_locale(lang_id) or ""
        language = language_of_locale(name)
        if language:
            return Choice(language, f"Windows UI language {name}")
    return Choice("en", "default")


def flag_in_argv(argv: Sequence[str]) -> str | None:
    """The value of a top-level ``--lang`` (``--lang hu`` or ``--lang=hu``) before the command name."""
    for i, arg in enumerate(argv):
        if arg == "--lang":
            return argv[i + 1] if i + 1 < len(argv) else None
        if arg.startswith("--lang="):
            return arg.partition("=")[2]
        if not arg.startswith("-"):
            return None  # the command name: its own options are not ours
    return None


def catalog_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.mo"


def activate(language: str, source: str = "activate()") -> None:
    """Use ``language``'s catalog from now on; English is the source text and needs none."""
    if language not in LANGUAGES:
        raise ValueError(f"unknown interface language {language!r}")
    translation: gettext.NullTranslations = gettext.NullTranslations()
    if language != "en":
        translation = gettext.translation(DOMAIN, localedir=LOCALE_DIR, languages=[language], fallback=True)
    _active["translation"] = translation
    _active["choice"] = Choice(language, source)
    # Typer's own strings go through the process-wide gettext (gettext.gettext, bound when
    # Typer is imported), which reads the language from LANGUAGE and the domain from
    # textdomain(): the documented GNU gettext set-up for an application.
    gettext.bindtextdomain(DOMAIN, str(LOCALE_DIR))
    gettext.textdomain(DOMAIN)
    os.environ["LANGUAGE"] = language


def choice() -> Choice:
    chosen = _active["choice"]
    assert isinstance(chosen, Choice)
    return chosen


def current_language() -> str:
    return choice().language


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


def format_number(n: int | float) -> str:
    """``3200`` → "3,200" in English, "3 200" in Hungarian (Babel's CLDR data)."""
    from babel.numbers import format_decimal  # noqa: PLC0415 - Babel stays off `lgp-mailer --help`'s path

    return format_decimal(n, locale=current_language())


def format_datetime(moment: datetime) -> str:
    """A moment in Budapest time: "2026. 06. 18. 9:00" in Hungarian (CLDR's short form);
    English keeps the sortable "2026-06-18 09:00" that scripts and the status view always used."""
    from babel.dates import format_datetime as babel_format  # noqa: PLC0415 - as above

    pattern = "short" if current_language() == "hu" else "yyyy-MM-dd HH:mm"
    return babel_format(moment, pattern, tzinfo=BUDAPEST, locale=current_language())
