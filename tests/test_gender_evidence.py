"""A salutation the given name contradicts: the documented order still decides, and check warns.

"polgármester asszony" + "Kovács Ödön" is still greeted "Polgármester Asszony"
(the role's word wins over the name), but check and preview say so, once, on
the row's name cell.  Real .xlsx sheets, the real loader and the real register.
"""

from __future__ import annotations

import pytest
from hungarian import hungarian
from typer.testing import CliRunner

import lgp_mailer.cli.check  # noqa: F401  (registers the command on the app)
from lgp_mailer.campaign.check import check_file, format_report
from lgp_mailer.campaign.gallery import warnings_for
from lgp_mailer.cli.app import app
from lgp_mailer.roles import read_role
from lgp_mailer.sheets.recipients import load_recipients

from sheets_factory import HEADER, write_xlsx

ROLE_F = "the role says female (asszony) but the given name Ödön is male: check the salutation"
ROLE_M = "the role says male (úr) but the given name Erzsébet is female: check the salutation"
GENDER_F = "the gender column says female (N) but the given name Ödön is male: check the salutation"
GENDER_M = "the gender column says male (F) but the given name Erzsébet is female: check the salutation"

# Name, role, gender cell → the salutation, which this change must not alter.
ROWS = [
    ("Kovács Ödön", "polgármester asszony", None, "Tisztelt Polgármester Asszony!"),  # row 2: warns
    ("Nagy Erzsébet", "jegyző úr", None, "Tisztelt Jegyző Úr!"),  # 3: warns
    ("Kovács Ödön", "polgármester", "N", "Tisztelt Polgármester Asszony!"),  # 4: warns (gender column)
    ("Nagy Erzsébet", "jegyző", "F", "Tisztelt Jegyző Úr!"),  # 5: warns (F is férfi)
    ("Kovács Anna", "polgármester asszony", None, "Tisztelt Polgármester Asszony!"),  # 6: they agree
    ("Nagy Ödön", "jegyzőúr", None, "Tisztelt Jegyző Úr!"),  # 7: they agree
    ("Kovács Adel", "jegyző úr", None, "Tisztelt Jegyző Úr!"),  # 8: on both lists (Adél, Ádel)
    ("Smith John", "polgármester asszony", None, "Tisztelt Polgármester Asszony!"),  # 9: not in the register
    ("Kovács Ödön", "polgármester", None, "Tisztelt Polgármester Úr!"),  # 10: the role says no gender
    ("Nagy Erzsébet", "polgármester", "nő", "Tisztelt Polgármester Asszony!"),  # 11: they agree
]


@pytest.fixture
def sheet(tmp_path):
    rows = [HEADER] + [
        ["Pest", "Budaörs", name, role, gender, f"cim{n}@budaors.example"]
        for n, (name, role, gender, _) in enumerate(ROWS)
    ]
    return write_xlsx(tmp_path / "címzettek.xlsx", {"Lap1": rows})


def test_one_warning_per_contradicted_row_on_the_name_cell(sheet):
    loaded = load_recipients(sheet)
    assert [(f.severity, f.file, f.sheet, f.row, f.column, f.value, f.problem) for f in loaded.findings] == [
        ("warning", str(sheet), "Lap1", 2, "Név", "Kovács Ödön", ROLE_F),
        ("warning", str(sheet), "Lap1", 3, "Név", "Nagy Erzsébet", ROLE_M),
        ("warning", str(sheet), "Lap1", 4, "Név", "Kovács Ödön", GENDER_F),
        ("warning", str(sheet), "Lap1", 5, "Név", "Nagy Erzsébet", GENDER_M),
    ]


def test_the_salutation_chosen_is_unchanged(sheet):
    loaded = load_recipients(sheet)
    assert [(r.rows, r.salutation, r.salutation_kind) for r in loaded.recipients] == [
        ((n + 2,), text, "female" if text.endswith("Asszony!") else "male") for n, (*_, text) in enumerate(ROWS)
    ]


def test_the_check_table_and_the_preview_lines(sheet):
    report = check_file(sheet)
    assert format_report(report).splitlines()[:6] == [
        "Warnings (4):",
        "file            sheet  row  column  value          problem",
        "címzettek.xlsx  Lap1   2    Név     Kovács Ödön    " + ROLE_F,
        "címzettek.xlsx  Lap1   3    Név     Nagy Erzsébet  " + ROLE_M,
        "címzettek.xlsx  Lap1   4    Név     Kovács Ödön    " + GENDER_F,
        "címzettek.xlsx  Lap1   5    Név     Nagy Erzsébet  " + GENDER_M,
    ]
    assert report.exit_code == 0  # a warning: the letters still go
    loaded = load_recipients(sheet)
    lines, unmatched = warnings_for(loaded.recipients, loaded.findings)
    assert unmatched == []
    assert lines == {  # rows 6-11: nothing to say
        ("Lap1", 2): [f"Lap1 · row 2 · Név: {ROLE_F}"],
        ("Lap1", 3): [f"Lap1 · row 3 · Név: {ROLE_M}"],
        ("Lap1", 4): [f"Lap1 · row 4 · Név: {GENDER_F}"],
        ("Lap1", 5): [f"Lap1 · row 5 · Név: {GENDER_M}"],
    }


def test_the_check_command_prints_the_warning(sheet, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no campaign here: the shipped example's event and templates
    result = CliRunner().invoke(app, ["check", "--recipients", str(sheet), "--quiet"])
    assert result.exit_code == 0, result.output
    assert "címzettek.xlsx  Lap1   2    Név     Kovács Ödön    " + ROLE_F in result.stdout.splitlines()


def test_the_warnings_in_hungarian(sheet, tmp_path):
    with hungarian(tmp_path / "locale"):
        problems = [f.problem for f in load_recipients(sheet).findings]
    assert problems == [
        "a beosztás szerint nő (asszony), de Ödön férfinév: ellenőrizze a megszólítást",
        "a beosztás szerint férfi (úr), de Erzsébet női név: ellenőrizze a megszólítást",
        "a nemet jelölő oszlop szerint nő (N), de Ödön férfinév: ellenőrizze a megszólítást",
        "a nemet jelölő oszlop szerint férfi (F), de Erzsébet női név: ellenőrizze a megszólítást",
    ]


@pytest.mark.parametrize(
    ("cell", "word"),
    [
        ("Polgármester Asszony", "asszony"),
        ("jegyzőúr", "úr"),
        ("polgármester / PM úr", "úr"),  # two spellings of one office
        ("polgármester", None),
    ],
)
def test_the_role_keeps_the_word_that_gave_the_gender(cell, word):
    assert read_role(cell).word == word


MARRIED = [
    ("Kovácsné Szabó Éva", "polgármester úr", None),  # row 2: warns (the role)
    ("Horváth Lászlóné", "jegyző", "F"),  # 3: warns (F is férfi)
    ("Kovácsné Szabó Éva", "polgármester asszony", None),  # 4: they agree
    ("dr. Nagyné Kiss Ildikó", "jegyző", "nő"),  # 5: they agree
    ("Kovács René", "jegyző úr", None),  # 6: René is a given name, not a married name
]


def test_a_married_womans_name_with_a_male_role_or_gender_warns(tmp_path):
    rows = [HEADER] + [
        ["Pest", "Budaörs", name, role, gender, f"cim{n}@budaors.example"]
        for n, (name, role, gender) in enumerate(MARRIED)
    ]
    sheet = write_xlsx(tmp_path / "asszonyok.xlsx", {"Lap1": rows})
    loaded = load_recipients(sheet)
    assert [(f.row, f.value, f.problem) for f in loaded.findings] == [
        (
            2,
            "Kovácsné Szabó Éva",
            "the role says male (úr) but Kovácsné is a married woman's name: check the salutation",
        ),
        (
            3,
            "Horváth Lászlóné",
            "the gender column says male (F) but Lászlóné is a married woman's name: check the salutation",
        ),
    ]
    # The documented order still decides the salutation.
    assert [r.salutation for r in loaded.recipients][:2] == ["Tisztelt Polgármester Úr!", "Tisztelt Jegyző Úr!"]
    with hungarian(tmp_path / "locale"):
        problems = [f.problem for f in load_recipients(sheet).findings]
    assert problems == [
        "a beosztás szerint férfi (úr), de Kovácsné férjezett nőt jelöl: ellenőrizze a megszólítást",
        "a nemet jelölő oszlop szerint férfi (F), de Lászlóné férjezett nőt jelöl: ellenőrizze a megszólítást",
    ]
