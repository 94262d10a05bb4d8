"""`lgp-mailer report` end to end: a scripted campaign (invitations sent to the aiosmtpd server, a
bounce, registrations, reminders, an imported Zoom report, the follow-ups), then the workbook read
back cell by cell, its charts' XML, and the HTML page in headless Chromium."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree

import openpyxl
import pytest
from browser import console_errors
from test_followup_cli import followup, followup_campaign
from test_remind_cli import at, remind, send
from test_send_cli import Camp, one_error_line, runner

from lgp_mailer.cli import app
from lgp_mailer.ledger.store import Entry, open_ledger

from smtp_server import SmtpTestServer

BOUNCED = "jegyzo@zalaszentgyorgy-proba.example"
STAGES = [
    "Meghívott",
    "Kézbesített",
    "Kézbesített %",
    "Sikertelen vagy visszapattant",
    "Sikertelen vagy visszapattant %",
    "Regisztrált",
    "Regisztrált %",
    "Emlékeztetőt kapott",
    "Emlékeztetőt kapott %",
    "Részt vett",
    "Részt vett %",
    "Követő levelet kapott",
    "Követő levelet kapott %",
]
COUNT, PERCENT = "#,##0", "0.0%"
C = "{http://schemas.openxmlformats.org/drawingml/2006/chart}"


def funnel(counts: list[int]) -> list[object]:
    """invited, then each stage's count and its rate over the invited, as the workbook holds them."""
    invited, rest = counts[0], counts[1:]
    return [invited] + [v for n in rest for v in (n, pytest.approx(n / invited, rel=1e-14))]


@pytest.fixture(scope="module")
def scripted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Camp, Path, Path]]:
    """One campaign run from invitation to follow-up, then `report --detail`: (campaign, report folder, sent log)."""
    base = tmp_path_factory.mktemp("report")
    saved = os.environ.get("LGP_MAILER_DB")
    os.environ["LGP_MAILER_DB"] = str(base / "naplo.sqlite3")
    server = SmtpTestServer()
    server.start()
    try:
        camp = followup_campaign(base, server)  # registrations and the Zoom report imported
        with at(2020, 6, 10, 9, 0):
            assert send(camp, "--yes", "--quiet").exit_code == 0
        with open_ledger(camp.db) as ledger:  # the bounce that came back a day later
            assert ledger.mark_bounced(address=BOUNCED, reason="550 5.1.1 user unknown") is not None
        with at(2020, 6, 17, 9, 0):
            assert remind(camp, "--day-before", "--yes", "--quiet").exit_code == 0
        with at(2020, 6, 18, 12, 40):
            assert followup(camp, "--attended", "--yes", "--quiet").exit_code == 0
        with at(2020, 6, 19, 9, 0):
            assert followup(camp, "--missed", "--yes", "--quiet").exit_code == 0
        out = base / "jelentes"
        result = runner.invoke(app, ["report", "--campaign", str(camp.root), "--out", str(out), "--detail"])
        assert result.exit_code == 0, result.output
        assert result.stdout == (
            f"Report: 1 campaign, 7 invitations\nWorkbook: {out / 'jelentes.xlsx'}\nPage: {out / 'jelentes.html'}\n"
        )
        yield camp, out, base / "naplo.sqlite3"
    finally:
        server.stop()
        if saved is None:
            os.environ.pop("LGP_MAILER_DB", None)
        else:
            os.environ["LGP_MAILER_DB"] = saved


def cells(sheet) -> list[list[object]]:
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def formats(sheet) -> list[list[str]]:
    return [[c.number_format for c in row] for row in sheet.iter_rows(min_row=2)]


def test_the_funnel_by_campaign_county_and_role_cell_by_cell(scripted):
    camp, out, _ = scripted
    book = openpyxl.load_workbook(out / "jelentes.xlsx")
    assert book.sheetnames == [
        "Tölcsér",
        "Megyék",
        "Szerepkörök",
        "Sorozat",
        "Visszatérők",
        "El nem ért megyék",
        "Települések",
    ]
    cid = camp.campaign_id
    # 7 letters (Bikal and Mágocs share one); Zalaszentgyörgy bounced; Alsómocsolád, the joint office
    # and Üröm-próba (a colleague, by municipality) registered and were reminded; Alsómocsolád,
    # Hernádszentandrás (a guest, by name and municipality), Újfehértó-próba and Üröm-próba attended;
    # the thanks went to those four and the recording to the joint office.
    assert cells(book["Tölcsér"]) == [["Kampány", *STAGES], [cid, *funnel([7, 6, 1, 3, 3, 4, 5])]]
    assert formats(book["Tölcsér"]) == [["General", COUNT] + [COUNT, PERCENT] * 6]
    assert cells(book["Megyék"]) == [
        ["Kampány", "Megye", *STAGES],
        [cid, "Baranya", *funnel([2, 2, 0, 2, 2, 1, 2])],
        [cid, "Borsod-Abaúj-Zemplén", *funnel([1, 1, 0, 0, 0, 1, 1])],
        [cid, "Győr-Moson-Sopron", *funnel([1, 1, 0, 0, 0, 0, 0])],
        [cid, "Hajdú-Bihar", *funnel([1, 1, 0, 0, 0, 1, 1])],
        [cid, "Pest", *funnel([1, 1, 0, 1, 1, 1, 1])],
        [cid, "Zala", *funnel([1, 0, 1, 0, 0, 0, 0])],
    ]
    assert formats(book["Megyék"]) == [["General", "General", COUNT] + [COUNT, PERCENT] * 6] * 6
    assert cells(book["Szerepkörök"]) == [
        ["Kampány", "Szerepkör", *STAGES],
        [cid, "alpolgármester", *funnel([1, 1, 0, 0, 0, 0, 0])],
        [cid, "jegyző", *funnel([2, 1, 1, 1, 1, 0, 1])],
        [cid, "polgármester", *funnel([4, 4, 0, 2, 2, 4, 4])],
    ]
    assert cells(book["Sorozat"]) == [["Kampány", "Részt vevő települések", "Új", "Visszatérő"], [cid, 4, 4, 0]]
    assert cells(book["Visszatérők"]) == [["Konferenciák száma", "Települések"], [1, 4]]
    assert cells(book["El nem ért megyék"]) == [["Megye"], ["Zala"]]
    assert cells(book["Települések"])[0] == ["Település", "Megye", "Meghívva (konferencia)", "Részt vett (konferencia)"]
    assert cells(book["Települések"])[1:] == [  # by code point: Ú, Ü, Ő
        ["Alsómocsolád", "Baranya", 1, 1],
        ["Bikal", "Baranya", 1, 0],
        ["Hernádszentandrás", "Borsod-Abaúj-Zemplén", 1, 1],
        ["Mágocs", "Baranya", 1, 0],
        ["Zalaszentgyörgy-próba", "Zala", 1, 0],
        ["Újfehértó-próba", "Hajdú-Bihar", 1, 1],
        ["Üröm-próba", "Pest", 1, 1],
        ["Őrség-próba", "Győr-Moson-Sopron", 1, 0],
    ]
    for sheet in book:
        assert sheet.freeze_panes == "A2"
        assert sheet.auto_filter.ref == f"A1:{sheet.cell(1, sheet.max_column).column_letter}{sheet.max_row}"
        assert all(c.font.b for c in sheet[1])
        text = " ".join(str(v) for row in sheet.iter_rows(values_only=True) for v in row)
        assert "@" not in text and "Kiss Ödön" not in text and "nan" not in text.split()  # aggregates only


def test_the_summary_lines_are_in_the_interface_language(scripted, tmp_path):
    camp, _, log = scripted
    out = tmp_path / "jelentes"
    command = ["--lang", "hu", "report", "--campaign", str(camp.root), "--out", str(out)]
    result = runner.invoke(app, command, env={"LGP_MAILER_DB": str(log)})
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        f"Jelentés: 1 kampány, 7 meghívó\nMunkafüzet: {out / 'jelentes.xlsx'}\nHTML-oldal: {out / 'jelentes.html'}\n"
    )


def test_the_charts_are_native_bars_over_the_intended_ranges(scripted):
    _, out, _ = scripted
    with zipfile.ZipFile(out / "jelentes.xlsx") as archive:
        charts = sorted(n for n in archive.namelist() if re.fullmatch(r"xl/charts/chart\d+\.xml", n))
        xml = [archive.read(n).decode("utf-8") for n in charts]
    assert len(xml) == 2

    def bars(text: str) -> tuple[str, list[tuple[str, str, str]]]:
        """The bar direction and, per series, its title, category and value references."""
        root = ElementTree.fromstring(text)
        (chart,) = root.iter(f"{C}barChart")
        direction = chart.find(f"{C}barDir")
        assert direction is not None and len(list(root.iter(f"{C}lineChart"))) == 0
        series = [
            tuple(s.findtext(f"{C}{part}//{C}f") or "" for part in ("tx", "cat", "val"))
            for s in chart.findall(f"{C}ser")
        ]
        return direction.get("val", ""), series  # type: ignore[return-value]

    funnel_sheet, county_sheet = "'Tölcsér'", "'Megyék'"
    assert bars(xml[0]) == (
        "col",
        [
            (f"{funnel_sheet}!{col}1", f"{funnel_sheet}!$A$2", f"{funnel_sheet}!${col}$2")  # one campaign: one row
            for col in "BCEGIKM"
        ],
    )
    assert bars(xml[1]) == (
        "bar",
        [(f"{county_sheet}!{col}1", f"{county_sheet}!$A$2:$B$7", f"{county_sheet}!${col}$2:${col}$7") for col in "CDL"],
    )


def test_the_page_is_hungarian_offline_and_clean_in_chromium(scripted, browser, artefacts):
    camp, out, _ = scripted
    page = out / "jelentes.html"
    html = page.read_text(encoding="utf-8")
    assert '<html lang="hu">' in html and html.count("<svg") == 2
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", html)  # nothing from the network
    assert "@" not in re.sub(r"<svg.*?</svg>", "", html, flags=re.DOTALL)
    for bad in ("nan", "None", "{{", "NaN"):
        assert bad not in re.sub(r"<svg.*?</svg>", "", html, flags=re.DOTALL)
    browser.get(page.resolve().as_uri())
    assert browser.title == "Jelentés az Irányító Bizottságnak: elérés és részvétel"
    first = browser.find_element("css selector", "table tbody tr").text
    assert first == f"{camp.campaign_id} 7 6 85,7% 1 14,3% 3 42,9% 3 42,9% 4 57,1% 5 71,4%"
    assert browser.execute_script("return document.querySelectorAll('figure svg').length") == 2
    assert browser.find_element("css selector", "ul li").text == "Zala"
    browser.save_screenshot(str(artefacts / "report.png"))
    assert console_errors(browser) == []


def test_errors_are_one_line(scripted, tmp_path, monkeypatch):
    camp, _, db = scripted
    monkeypatch.setenv("LGP_MAILER_DB", str(db))
    unknown = runner.invoke(
        app, ["report", "--campaign", str(camp.root), "--out", str(tmp_path), "--campaign-id", "nincs-ilyen"]
    )
    assert unknown.exit_code == 2
    assert one_error_line(unknown) == (
        f"lgp-mailer: error: key 'campaign-id': campaign 'nincs-ilyen' has no "
        f"invitations in the sent log (it has: {camp.campaign_id})"
    )
    wrong = runner.invoke(app, ["report", "--campaign", str(camp.root), "--out", str(tmp_path / "jelentes.pdf")])
    assert wrong.exit_code == 2
    assert (
        one_error_line(wrong) == "lgp-mailer: error: key 'out': --out must be a folder or a .xlsx file, not "
        "'jelentes.pdf'"
    )
    monkeypatch.setitem(sys.modules, "pandas", None)  # as if the [report] extra were not installed
    missing = runner.invoke(app, ["report", "--campaign", str(camp.root), "--out", str(tmp_path)])
    assert missing.exit_code == 2
    assert one_error_line(missing) == (
        "lgp-mailer: error: key 'report': the report needs pandas: pip install 'lgp-mailer[report]'"
    )


@pytest.mark.slow
def test_pandas_and_matplotlib_stay_off_the_other_paths(tmp_path):
    probe = (
        # Before the shipped example's conference (send refuses one that has started).
        "import sys, time_machine\ntime_machine.travel('2020-06-01 08:00Z', tick=True).start()\n"
        "from lgp_mailer.cli import main\ntry:\n    main()\nexcept SystemExit as e:\n"
        "    print('exit', e.code)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pandas', 'matplotlib')))"
    )
    env = {**os.environ, "LGP_MAILER_DB": str(tmp_path / "naplo.sqlite3")}
    for args, done_line in ((["--help"], "exit 0"), (["check"], "exit 0"), (["send", "--dry-run", "--yes"], "exit 0")):
        done = subprocess.run(
            [sys.executable, "-c", probe, *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=120,
        )
        assert done.stdout.splitlines()[-2:] == [done_line, "[]"], (args, done.stdout, done.stderr)
    assert "Dry run: 7 messages written to" in done.stdout  # the send path really ran


def sent(ledger, campaign_id: str, kind: str, rows: list[tuple[str, str, str]]) -> None:
    """Record ``rows`` (address, municipality, county) of one kind as sent, the way a send run does."""
    ledger.sync(campaign_id, kind, [Entry(a, i, (m,), c) for i, (a, m, c) in enumerate(rows)])
    for address, _, _ in rows:
        assert ledger.claim(campaign_id, kind, address, ("pending",))
        ledger.record(campaign_id, kind, address, "sent")


def test_the_series_view_new_returning_and_counties_never_reached(tmp_path, monkeypatch):
    """Three conferences in one sent log: the thanks letters say who attended (no attendance file)."""
    town = {
        name: (f"hivatal@{name.lower()}.example", name, county)
        for name, county in [
            ("Alfa", "Baranya"),
            ("Béta", "Baranya"),
            ("Gamma", "Tolna"),
            ("Delta", "Vas"),
            ("=HYPERLINK(1)", "Vas"),
        ]
    }
    with open_ledger(tmp_path / "naplo.sqlite3") as ledger:
        sent(ledger, "lgp-2026-02", "invitation", [town["Alfa"], town["Béta"], town["Gamma"]])
        sent(ledger, "lgp-2026-02", "thanks", [town["Alfa"], town["Béta"]])
        sent(ledger, "lgp-2026-04", "invitation", [town["Alfa"], town["Béta"], town["Gamma"], town["=HYPERLINK(1)"]])
        sent(ledger, "lgp-2026-04", "thanks", [town["Alfa"], town["Gamma"]])
        sent(ledger, "lgp-2026-06", "invitation", [town["Alfa"], town["Delta"]])
        sent(ledger, "lgp-2026-06", "thanks", [town["Alfa"]])
        for name in ("Delta", "=HYPERLINK(1)"):  # Vas: every letter bounced
            ledger.suppress(town[name][0], "550 5.1.1", source="bounce")
    monkeypatch.setenv("LGP_MAILER_DB", str(tmp_path / "naplo.sqlite3"))
    out = tmp_path / "bizottsag.xlsx"
    result = runner.invoke(app, ["report", "--ledger-only", "--out", str(out), "--detail"])
    assert result.exit_code == 0, result.output
    book = openpyxl.load_workbook(out)
    assert cells(book["Sorozat"]) == [
        ["Kampány", "Részt vevő települések", "Új", "Visszatérő"],
        ["lgp-2026-02", 2, 2, 0],
        ["lgp-2026-04", 2, 1, 1],
        ["lgp-2026-06", 1, 0, 1],
    ]
    assert cells(book["Visszatérők"]) == [["Konferenciák száma", "Települések"], [1, 2], [2, 0], [3, 1]]
    assert cells(book["El nem ért megyék"]) == [["Megye"], ["Vas"]]
    detail = book["Települések"]
    assert cells(detail)[1:] == [
        ["=HYPERLINK(1)", "Vas", 1, 0],
        ["Alfa", "Baranya", 3, 3],
        ["Béta", "Baranya", 2, 1],
        ["Delta", "Vas", 1, 0],
        ["Gamma", "Tolna", 2, 1],
    ]
    assert detail["A2"].data_type == "s"  # shown as text, never run as a formula
    assert [r[:3] for r in cells(book["Tölcsér"])[1:]] == [
        ["lgp-2026-02", 3, 3],
        ["lgp-2026-04", 4, 3],
        ["lgp-2026-06", 2, 1],
    ]
    assert out.with_suffix(".html").is_file()
    only = runner.invoke(
        app,
        [
            "report",
            "--ledger-only",
            "--out",
            str(tmp_path / "ketto"),
            "--campaign-id",
            "lgp-2026-06",
            "--campaign-id",
            "lgp-2026-02",
            "--quiet",
        ],
    )
    assert (only.exit_code, only.output) == (0, "")
    two = openpyxl.load_workbook(tmp_path / "ketto" / "jelentes.xlsx")
    assert cells(two["Sorozat"])[1:] == [["lgp-2026-02", 2, 2, 0], ["lgp-2026-06", 1, 0, 1]]  # series order
