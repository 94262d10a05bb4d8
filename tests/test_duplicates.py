"""Issue 14: no recipient is lost to a duplicate row (xlsx and CSV alike)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

import lgp_mailer.cli.check  # noqa: F401  (registers the command on the app)
from lgp_mailer.campaign.check import check_file, format_report
from lgp_mailer.cli.app import app
from lgp_mailer.sheets.gazetteer import load_gazetteer
from lgp_mailer.sheets.recipients import RowCounts, load_recipients

from sheets_factory import HEADER, report_lines, write_csv, write_xlsx

WRITERS = {
    "xlsx": lambda path, rows: write_xlsx(path.with_suffix(".xlsx"), {"Lap1": rows}),
    "csv": lambda path, rows: write_csv(path.with_suffix(".csv"), rows),
}


def _findings(sheet):
    return [(f.severity, f.row, f.column, f.value, f.problem) for f in sheet.findings]


@pytest.mark.parametrize("fmt", WRITERS)
def test_an_exact_copy_merges_with_a_warning_naming_both_rows(tmp_path: Path, fmt: str) -> None:
    rows = [
        HEADER,
        ["Baranya", "Bikal", "Kiss Ödön", "polgármester", None, "pm@bikal.hu"],
        ["Pest", "Üröm", "Nagy Andrea", "polgármester", None, "pm@urom.hu"],
        ["Baranya", "bikal", "Kiss  Ödön", "Polgármester", None, "PM@bikal.hu"],
    ]
    sheet = load_recipients(WRITERS[fmt](tmp_path / "lista", rows))
    assert [(r.email, r.municipalities, r.rows, r.salutation) for r in sheet.recipients] == [
        ("pm@bikal.hu", ("Bikal",), (2, 4), "Tisztelt Polgármester Úr!"),
        ("pm@urom.hu", ("Üröm",), (3,), "Tisztelt Polgármester Asszony!"),
    ]
    assert _findings(sheet) == [
        ("warning", 4, "E-mail", "pm@bikal.hu", "an exact copy of row 2: merged into one recipient"),
    ]
    assert sheet.rejected == []
    assert sheet.counts == RowCounts(rows=3, own=2, merged=1, held=0)


@pytest.mark.parametrize("fmt", WRITERS)
def test_a_different_person_at_the_same_office_keeps_the_first_row(tmp_path: Path, fmt: str) -> None:
    rows = [
        HEADER,
        ["Baranya", "Bikal", "Kiss Ödön", "polgármester", None, "hivatal@bikal.hu"],
        ["Baranya", "Bikal", "Nagy Andrea", "jegyző", None, "hivatal@bikal.hu"],
    ]
    sheet = load_recipients(WRITERS[fmt](tmp_path / "lista", rows))
    assert [(r.email, r.name, r.role, r.rows, r.salutation) for r in sheet.recipients] == [
        ("hivatal@bikal.hu", "Kiss Ödön", "polgármester", (2, 3), "Tisztelt Polgármester Úr!"),
    ]
    assert _findings(sheet) == [
        (
            "warning",
            3,
            "Név",
            "Nagy Andrea",
            (
                "the same address and municipality as row 2, with a different name: row 2 wins, "
                "greeting 'Tisztelt Polgármester Úr!'"
            ),
        ),
    ]
    assert sheet.counts == RowCounts(rows=2, own=1, merged=1, held=0)


def test_a_joint_office_is_still_one_recipient_for_several_municipalities(tmp_path: Path) -> None:
    rows = [
        HEADER,
        ["Baranya", "Bikal", "Fehérné Győri Ilona", "jegyző", None, "jegyzo@kozos.hu"],
        ["Baranya", "Mágocs", "Fehérné Győri Ilona", "jegyző", None, "jegyzo@kozos.hu"],
        ["Baranya", "Mágocs", "Fehérné Győri Ilona", "jegyző", None, "jegyzo@kozos.hu"],
    ]
    sheet = load_recipients(write_csv(tmp_path / "a.csv", rows))
    assert [(r.municipalities, r.rows) for r in sheet.recipients] == [(("Bikal", "Mágocs"), (2, 3, 4))]
    assert _findings(sheet) == [
        ("warning", 4, "E-mail", "jegyzo@kozos.hu", "an exact copy of row 3: merged into one recipient"),
    ]
    assert sheet.counts == RowCounts(rows=3, own=1, merged=2, held=0)


def test_copies_across_sheets_name_the_other_sheet(tmp_path: Path) -> None:
    row = ["Baranya", "Bikal", "Kiss Ödön", "polgármester", None, "pm@bikal.hu"]
    path = write_xlsx(tmp_path / "a.xlsx", {"Baranya": [HEADER, row], "Régi": [HEADER, row]})
    sheet = load_recipients(path, sheet="all")
    assert [(f.sheet, f.row, f.problem) for f in sheet.findings] == [
        ("Régi", 2, "an exact copy of sheet 'Baranya', row 2: merged into one recipient"),
    ]
    assert len(sheet.recipients) == 1


def test_a_problem_row_counts_as_held_back_and_the_numbers_add_up(tmp_path: Path) -> None:
    rows = [
        HEADER,
        ["Pest", "Üröm", "Kiss Lőrinc", "polgármester", "férfi", "pm@urom.hu; jegyzo@urom.hu"],
        ["Pest", "Tök", "Tóth Ferenc", "polgármester", None, "kovacs@"],
        ["Pest", "Üröm", "Kiss Lőrinc", "polgármester", "férfi", "pm@urom.hu"],
    ]
    report = check_file(write_csv(tmp_path / "a.csv", rows))
    rows_ = report.rows
    assert rows_ == RowCounts(rows=3, own=1, merged=1, held=1, split=1)
    assert rows_.rows == rows_.own + rows_.merged + rows_.held
    assert report.recipients == rows_.own + rows_.split == 2


def test_a_row_whose_cell_also_holds_a_bad_address_counts_as_sent_and_the_numbers_add_up(tmp_path: Path) -> None:
    # "pm@urom.hu; www.urom.hu": pm@urom.hu gets its letter, the web address is held back.
    # The row was counted as held back, so "rows = recipients + merged + held" no longer
    # matched the addresses listed.
    rows = [
        HEADER,
        ["Pest", "Üröm", "Kiss Lőrinc", "polgármester", "férfi", "pm@urom.hu; http://www.urom.hu"],
        ["Pest", "Tök", "Tóth Ferenc", "polgármester", None, "kovacs@; pm@tok.hu; jegyzo@tok.hu"],
        ["Pest", "Zsámbék", "Nagy Ida", "polgármester", "nő", "pm@zsambek.hu"],
        ["Pest", "Tök", "Tóth Ferenc", "polgármester", None, "rossz@; pm@tok.hu"],
    ]
    report = check_file(write_csv(tmp_path / "a.csv", rows))
    assert report.rows == RowCounts(rows=4, own=3, merged=1, held=0, split=1)
    assert report.recipients == report.rows.own + report.rows.split == 4
    assert report.rejected == 3


def _half_copies(count: int) -> list[list[object]]:
    """``count`` rows of real settlements, the second half a copy of the first."""
    towns = [s for s in load_gazetteer() if s.county != "Budapest"][: count // 2]
    unique = [
        [t.county, t.name, f"Kovács János {n}", "polgármester", "férfi", f"pm{n}@telepules{n}.example"]
        for n, t in enumerate(towns)
    ]
    return [HEADER, *unique, *(list(r) for r in unique)]


@pytest.mark.parametrize("fmt", WRITERS)
def test_5000_rows_with_half_copies_give_2500_recipients_and_none_held_back(tmp_path: Path, fmt: str) -> None:
    report = check_file(WRITERS[fmt](tmp_path / "nagy", _half_copies(5000)))
    assert format_report(report).splitlines()[-4:-2] == [
        "Rows: 5000 read = 2500 recipient(s) + 2500 merged into an earlier row + 0 held back by problems.",
        "Recipients: 2500 address(es) covering 2500 municipality(ies); 0 address(es) or cell(s) held back.",
    ]
    assert (report.recipients, report.rejected, len(report.problems), len(report.warnings)) == (2500, 0, 0, 2500)


def test_check_command_merges_copies_and_exits_0(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "lista.xlsx", {"Lap1": _half_copies(6)})
    result = CliRunner().invoke(app, ["check", "--recipients", str(path)])
    assert result.exit_code == 0, result.output
    assert report_lines(result.stdout)[-4:] == [
        "Rows: 6 read = 3 recipient(s) + 3 merged into an earlier row + 0 held back by problems.",
        "Recipients: 3 address(es) covering 3 municipality(ies); 0 address(es) or cell(s) held back.",
        "Salutations: 0 female, 3 male, 0 neutral, 0 explicit.",
        "Result: 0 problem(s), 3 warning(s).",
    ]
