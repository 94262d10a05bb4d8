"""The interface language: how it is chosen, Babel's numbers and dates, and the catalogs
(complete, not fuzzy, not stale, placeholders kept) against the extraction of the whole package."""

from __future__ import annotations

import ast
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from lgp_mailer import i18n
from lgp_mailer.i18n import Choice, choose, flag_in_argv, language_of_locale, windows_ui_locale
from lgp_mailer.i18n_extract import help_docstrings

REPO = Path(__file__).resolve().parent.parent
LOCALE = REPO / "lgp_mailer" / "locale"


def _no_windows() -> None:
    return None


# -- choosing the language ---------------------------------------------------------------


def test_the_flag_beats_the_environment_and_the_locale():
    env = {"LGP_MAILER_LANG": "en", "LANG": "en_US.UTF-8"}
    assert choose("hu", env, windows_ui=_no_windows) == Choice("hu", "--lang")


def test_lgp_mailer_lang_beats_the_locale():
    env = {"LGP_MAILER_LANG": "HU", "LC_ALL": "en_GB.UTF-8"}
    assert choose(None, env, windows_ui=_no_windows) == Choice("hu", "LGP_MAILER_LANG")


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"LANG": "hu_HU.UTF-8"}, Choice("hu", "LANG=hu_HU.UTF-8")),
        ({"LC_MESSAGES": "hu_HU", "LANG": "en_US.UTF-8"}, Choice("hu", "LC_MESSAGES=hu_HU")),
        # POSIX: LC_ALL overrides LC_MESSAGES and LANG.
        ({"LC_ALL": "en_US.UTF-8", "LC_MESSAGES": "hu_HU.UTF-8"}, Choice("en", "LC_ALL=en_US.UTF-8")),
        ({"LANG": "hu_HU.ISO-8859-2@euro"}, Choice("hu", "LANG=hu_HU.ISO-8859-2@euro")),
        # A language we do not speak, or C: English, saying which variable was read.
        ({"LANG": "de_DE.UTF-8"}, Choice("en", "default (LANG=de_DE.UTF-8)")),
        ({"LC_ALL": "C.UTF-8", "LANG": "hu_HU.UTF-8"}, Choice("en", "default (LC_ALL=C.UTF-8)")),
        # An invalid LGP_MAILER_LANG is ignored, not an error: the locale decides.
        ({"LGP_MAILER_LANG": "de", "LANG": "hu_HU.UTF-8"}, Choice("hu", "LANG=hu_HU.UTF-8")),
        ({}, Choice("en", "default")),
    ],
)
def test_the_locale_is_read_from_the_text_of_the_variables(env, expected):
    assert choose(None, env, windows_ui=_no_windows) == expected


def test_the_windows_ui_language_comes_last_and_is_mapped_by_the_stdlib_table():
    assert choose(None, {}, windows_ui=lambda: 0x040E) == Choice("hu", "Windows UI language hu_HU")
    assert choose(None, {}, windows_ui=lambda: 0x0809) == Choice("en", "Windows UI language en_GB")
    assert choose(None, {}, windows_ui=lambda: 0x0407) == Choice("en", "default")  # German Windows
    assert choose(None, {"LANG": "hu_HU.UTF-8"}, windows_ui=lambda: 0x0409).language == "hu"


def test_windows_language_ids_map_to_locale_names():
    assert windows_ui_locale(0x040E) == "hu_HU"
    assert windows_ui_locale(0x0409) == "en_US"
    assert windows_ui_locale(0x7C0E) == "hu_HU"  # an unlisted sublanguage: the primary language's default
    assert windows_ui_locale(0x0000) is None
    assert language_of_locale("Hungarian_Hungary") is None  # what locale.getlocale() says there: not used


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--lang", "hu", "send"], "hu"),
        (["--debug", "--lang=en", "status"], "en"),
        (["send", "--lang", "hu"], None),  # after the command: not the top-level option
        (["--lang"], None),
        ([], None),
    ],
)
def test_lang_is_read_from_argv_before_the_command(argv, expected):
    assert flag_in_argv(argv) == expected


def test_activate_refuses_an_unknown_language():
    with pytest.raises(ValueError, match="unknown interface language 'de'"):
        i18n.activate("de")


# -- numbers, dates, plurals ----------------------------------------------------------------


def test_numbers_dates_and_plurals_in_both_languages():
    moment = datetime(2026, 6, 18, 7, 5, tzinfo=UTC)  # 09:05 in Budapest (summer time)
    i18n.activate("en", "test")
    assert (i18n.format_number(3200), i18n.format_datetime(moment)) == ("3,200", "2026-06-18 09:05")
    assert [i18n.ngettext("{n} recipient", "{n} recipients", n).format(n=n) for n in (1, 3)] == [
        "1 recipient",
        "3 recipients",
    ]
    i18n.activate("hu", "test")
    assert (i18n.format_number(3200), i18n.format_datetime(moment)) == ("3\xa0200", "2026. 06. 18. 9:05")
    assert i18n.ngettext("{n} row written to {file}", "{n} rows written to {file}", 3) == "{n} sor kiírva ide: {file}"
    assert i18n._("Options") == "Kapcsolók"


# -- the catalogs ---------------------------------------------------------------------------


def _extracted() -> Catalog:
    """What pybabel extract -F babel.cfg finds in the package now (the merged tree's, at merge)."""
    with (REPO / "babel.cfg").open(encoding="utf-8") as f:
        method_map, options_map = parse_mapping_cfg(f)
    catalog = Catalog()
    for filename, lineno, message, _comments, context in extract_from_dir(str(REPO), method_map, options_map):
        catalog.add(message, None, [(filename, lineno)], context=context)
    return catalog


def _catalog(language: str) -> Catalog:
    with (LOCALE / language / "LC_MESSAGES" / "lgp_mailer.po").open("rb") as f:
        return read_po(f, locale=language)


def _key(message) -> str:
    return message.id[0] if isinstance(message.id, tuple) else message.id


FIX = (
    "re-extract and update: pybabel extract -F babel.cfg -o lgp_mailer.pot --no-location . && "
    "pybabel update -i lgp_mailer.pot -d lgp_mailer/locale -D lgp_mailer --ignore-obsolete "
    "--no-fuzzy-matching --width 120 (see lgp_mailer/locale/README.md)"
)


@pytest.mark.parametrize("language", ["hu", "en"])
def test_the_catalog_holds_exactly_the_marked_strings(language):
    """Hungarian: every marked string.  English is the source text, so a string missing from the
    en catalog still shows right; the next pybabel update adds it (other branches append to hu only)."""
    extracted = {_key(m) for m in _extracted() if m.id}
    catalog = _catalog(language)
    held = {_key(m) for m in catalog if m.id}
    if language == "hu":
        assert sorted(extracted - held) == [], f"marked but not in the {language} catalog; {FIX}"
    assert sorted(held - extracted) == [], f"stale entries in the {language} catalog; {FIX}"
    assert list(catalog.obsolete) == [], f"obsolete (#~) entries in the {language} catalog; {FIX}"
    assert sorted(_key(m) for m in catalog if m.id and m.fuzzy) == [], f"fuzzy entries in the {language} catalog"


def test_every_hungarian_entry_is_translated_with_the_same_placeholders():
    untranslated, placeholders = [], []
    for message in _catalog("hu"):
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if not all(strings):
            untranslated.append(_key(message))
        wanted = set(re.findall(r"\{[^{}]*\}", _key(message)))
        placeholders += [_key(message) for s in strings if s and set(re.findall(r"\{[^{}]*\}", s)) != wanted]
    assert untranslated == []
    assert placeholders == []


def test_hungarian_uses_hungarian_quotes():
    """A command quoted for the reader is in „…”, as Hungarian writes it (shell quoting stays as it is)."""
    quoted = re.compile(r"['\"]lgp-mailer ")
    assert [m.string for m in _catalog("hu") if isinstance(m.string, str) and quoted.search(m.string)] == []


def test_hungarian_nests_guillemets_only_inside_quotes():
    """»…« is the quote inside „…”; a quote on its own is „…”."""
    texts = [t for m in _catalog("hu") if m.id for t in (m.string if isinstance(m.string, tuple) else (m.string,))]
    assert [t for t in texts if "»" in t and "„" not in t] == []


def test_command_docstrings_are_extracted_as_they_are_shown():
    tree = ast.parse(
        'import typer\napp = typer.Typer()\n@app.command("x")\ndef x():\n    """First line.\n\n    More."""\n'
        "def helper():\n    '''Not help.'''\n"
    )
    assert list(help_docstrings(tree)) == [(5, "First line.\n\nMore.")]
