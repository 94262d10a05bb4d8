"""The interface in Hungarian for a test: the catalog compiled into a temporary folder.

The suite runs in English; a test that checks Hungarian wording uses
``with hungarian(tmp_path):`` and is back in English afterwards, whatever happens.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from lgp_mailer import i18n

PO = i18n.LOCALE_DIR / "hu" / "LC_MESSAGES" / f"{i18n.DOMAIN}.po"


def compile_catalog(folder: Path) -> Path:
    """``folder``/hu/LC_MESSAGES/lgp_mailer.mo, compiled from the shipped .po; returns ``folder``."""
    with PO.open("rb") as source:
        catalog = read_po(source, locale="hu")
    target = folder / "hu" / "LC_MESSAGES" / f"{i18n.DOMAIN}.mo"
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("wb") as out:
        write_mo(out, catalog)
    return folder


@contextmanager
def hungarian(folder: Path) -> Iterator[None]:
    """Speak Hungarian inside the block (catalog compiled under ``folder``), English after it."""
    saved = i18n.LOCALE_DIR
    i18n.LOCALE_DIR = compile_catalog(folder)
    try:
        i18n.activate("hu")
    finally:
        i18n.LOCALE_DIR = saved
    try:
        yield
    finally:
        i18n.activate("en")
