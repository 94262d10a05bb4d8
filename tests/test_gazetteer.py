"""Issue 14: the Település column against the KSH gazetteer (Helységnévtár 2025)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

import lgp_mailer.cli.check  # noqa: F401  (registers the command on the app)
from lgp_mailer.campaign.check import check_file
from lgp_mailer.cli.app import app
from lgp_mailer.sheets.gazetteer import is_number, load_gazetteer, settlement_key
from lgp_mailer.sheets.recipients import Rejected, load_recipients

from sheets_factory import HEADER, report_lines, write_csv

DATA = Path(__file__).resolve().parent.parent / "lgp_mailer" / "data"


def test_the_shipped_list_is_the_whole_gazetteer_with_its_source() -> None:
    gazetteer = load_gazetteer()
    statuses = Counter(s.status for s in gazetteer)
    assert len(gazetteer) == 3178
    assert statuses["fővárosi kerület"] == 23
    assert len(gazetteer) - statuses["fővárosi kerület"] == 3155  # KSH's count of settlements
    assert len({s.county for s in gazetteer}) == 20  # 19 counties and Budapest
    assert len({s.ksh_code for s in gazetteer}) == 3178
    source = (DATA / "SOURCE.md").read_text(encoding="utf-8")
    for needed in (
        "ARTidas/DroneResearch",
        "bbe722fe459d5c307b901fa35e1b8495f15b5e62",
        "CC BY 4.0",
        "hnt_letoltes_2025.xlsx",
        "2025-01-01",
        "Forrás: KSH",
    ):
        assert needed in source


@pytest.mark.parametrize(
    ("written", "name", "county"),
    [
        ("Bikal", "Bikal", "Baranya"),
        ("BIKAL", "Bikal", "Baranya"),
        ("Bikal Község Önkormányzata", "Bikal", "Baranya"),
        ("Hódmezővásárhely Megyei Jogú Város Önkormányzata", "Hódmezővásárhely", "Csongrád-Csanád"),
        ("Budapest XIII. kerület", "Budapest 13. ker.", "Budapest"),
        ("Budapest Főváros XIII. Kerületi Önkormányzat", "Budapest 13. ker.", "Budapest"),
        ("XIII. kerület", "Budapest 13. ker.", "Budapest"),
        ("Bp. 3. ker.", "Budapest 03. ker.", "Budapest"),
        ("Budapest", "Budapest", "Budapest"),
        ("Tiszaújváros", "Tiszaújváros", "Borsod-Abaúj-Zemplén"),
        ("Kecskemét MJV", "Kecskemét", "Bács-Kiskun"),
    ],
)
def test_the_forms_offices_write_are_found(written: str, name: str, county: str) -> None:
    found = load_gazetteer().find(written)
    assert found is not None and (found.name, found.county) == (name, county)


@pytest.mark.parametrize(
    ("written", "county"),
    [
        ("Baranya", "Baranya"),
        ("baranya megye", "Baranya"),
        ("Baranya vármegye", "Baranya"),
        ("Csongrád", "Csongrád-Csanád"),
        ("Csongrád megye", "Csongrád-Csanád"),
        ("Csongrád-Csanád vármegye", "Csongrád-Csanád"),
        ("főváros", "Budapest"),
        ("BAZ megye", "Borsod-Abaúj-Zemplén"),
        ("Tolnaa", None),
    ],
)
def test_county_names_old_and_new_with_or_without_megye(written: str, county: str | None) -> None:
    assert load_gazetteer().county(written) == county


def test_numbers_and_keys() -> None:
    assert [is_number(t) for t in ("45000", "7 361", "2.5", "Bikal", "-", "III.")] == [
        True,
        True,
        True,
        False,
        False,
        False,
    ]
    assert settlement_key("  Üröm   Község ") == "üröm"


def _findings(sheet):
    return [(f.severity, f.row, f.column, f.value, f.problem) for f in sheet.findings]


def test_sheet_rows_are_checked_against_the_list(tmp_path: Path) -> None:
    rows = [
        HEADER,
        [None, "Bikal", "Kiss Ödön", "polgármester", None, "pm@bikal.example"],
        ["Csongrád megye", "Szeged", "Nagy Andrea", "polgármester", None, "pm@szeged.example"],
        ["Tolna", "Mágocs", "Tóth Ferenc", "polgármester", None, "pm@magocs.example"],
        ["Pest", "Ürom", "Kiss Lőrinc", "polgármester", "férfi", "pm@urom.example"],
        ["Pest", "45000", "Szabó Éva", "polgármester", None, "pm@szam.example"],
        ["Pest megye", "Budapest XIII. kerület", "Kovács Éva", "polgármester", None, "pm@bp13.example"],
    ]
    sheet = load_recipients(write_csv(tmp_path / "a.csv", rows))
    assert _findings(sheet) == [
        ("warning", 4, "Megye", "Tolna", "the KSH list puts Mágocs in Baranya, not Tolna"),
        ("warning", 5, "Önkormányzat", "Ürom", "not in the KSH list of settlements; did you mean 'Üröm'?"),
        ("problem", 6, "Önkormányzat", "45000", "a number, not a municipality name"),
        ("warning", 7, "Megye", "Pest megye", "the KSH list puts Budapest 13. ker. in Budapest, not Pest"),
    ]
    assert [(r.municipalities, r.county) for r in sheet.recipients] == [
        (("Bikal",), "Baranya"),  # filled in from the list
        (("Szeged",), "Csongrád-Csanád"),  # the old county name, read as the new
        (("Mágocs",), "Tolna"),  # a warning, not a correction: the office may know better
        (("Ürom",), "Pest"),
        (("Budapest XIII. kerület",), "Pest megye"),
    ]
    assert sheet.rejected == [Rejected("pm@szam.example", ("45000",), (6,), "a number in column 'Önkormányzat'")]


def test_a_number_in_the_column_is_a_problem_and_check_exits_1(tmp_path: Path) -> None:
    rows = [HEADER, ["Baranya", "7300", "Kiss Ödön", "polgármester", None, "pm@komlo.example"]]
    result = CliRunner().invoke(app, ["check", "--recipients", str(write_csv(tmp_path / "a.csv", rows))])
    assert result.exit_code == 1, result.output
    assert result.stdout.splitlines()[:3] == [
        "Problems (1):",
        "file   sheet  row  column        value  problem",
        "a.csv         2    Önkormányzat  7300   a number, not a municipality name",
    ]
    assert report_lines(result.stdout)[-4] == (
        "Rows: 1 read = 0 recipient(s) + 0 merged into an earlier row + 1 held back by problems."
    )


def test_every_real_settlement_passes_without_a_warning(tmp_path: Path) -> None:
    rows = [HEADER] + [
        [s.county, s.name, "Kovács János", "polgármester", "férfi", f"pm{n}@hivatal{n}.example"]
        for n, s in enumerate(load_gazetteer())
    ]
    report = check_file(write_csv(tmp_path / "mind.csv", rows))
    assert (report.recipients, report.findings) == (3178, ())
