"""The preview gallery in a real Chromium: filter, sort, export, keyboard, and one letter's page.

The gallery of 300 letters is generated once for the module from an invented
sheet of real settlements (the KSH list checks them, issue 14) whose special
rows are known: two Székesfehérvár offices, two unknown roles, the first and
last name in Hungarian order, and cells that try to break out of the page or a
spreadsheet (which, not being settlements, are warned about too).
"""

from __future__ import annotations

import csv
import io
import json
import re
import time
import unicodedata
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import pytest
from browser import console_errors
from hungarian import hungarian

from lgp_mailer.campaign.gallery import row_key, script_json, warnings_for
from lgp_mailer.campaign.preview import run_preview
from lgp_mailer.campaign.scaffold import init_example
from lgp_mailer.config import load_campaign
from lgp_mailer.mail.ical import campaign_calendar_uid
from lgp_mailer.sheets.recipients import load_recipients

from sheets_factory import HEADER, write_xlsx

COUNTIES = ("Baranya", "Fejér", "Somogy", "Zala", "Tolna")
FAMILIES = ("Kovács", "Szabó", "Tóth", "Nagy", "Horváth", "Varga")
GIVEN = (("Péter", "férfi"), ("Erzsébet", "nő"), ("László", "férfi"), ("Katalin", "nő"))
SCRIPT = "</script><script>document.title='betört'</script>"
IMAGE = "<img src=x onerror=alert(1)>"
TRICKY = '@Kukac "Alsó"; Felső'
UNKNOWN_ROLES = {20: "főkertész", 120: "udvari csillagász"}


def settlements() -> dict[str, list[str]]:
    """Real settlements of each county, from the shipped KSH list, none whose name
    a filter below types ("kovacs", "peter", "szekesfehervar", "kukac")."""

    def fold(text: str) -> str:  # as the gallery's filter compares: no case, no accents
        return "".join(c for c in unicodedata.normalize("NFKD", text.casefold()) if not unicodedata.combining(c))

    found: dict[str, list[str]] = {county: [] for county in COUNTIES}
    shipped = Path(__file__).parent.parent / "lgp_mailer" / "data" / "settlements.csv"
    for line in shipped.read_text(encoding="utf-8").splitlines()[1:]:
        name, county = line.split(";")[:2]
        if county in found and not any(w in fold(name) for w in ("kovacs", "peter", "szekesfehervar", "kukac")):
            found[county].append(name)
    return found


PLACES = settlements()
WARNED = sorted({*UNKNOWN_ROLES, 40, 50, 51})  # unknown roles, and the hostile "municipalities"


def sheet_rows() -> list[list[str]]:
    rows = []
    for i in range(300):
        given, _ = GIVEN[i % len(GIVEN)]
        role = UNKNOWN_ROLES.get(i, "polgármester" if i % 2 else "jegyző")
        rows.append(
            [
                COUNTIES[i % 5],
                PLACES[COUNTIES[i % 5]][i // 5],
                f"{FAMILIES[i % 6]} {given}",
                role,
                "",
                f"hivatal{i}@probafalva{i}.example",
            ]
        )
    rows[10][:2] = rows[200][:2] = ["Fejér", "Székesfehérvár"]
    rows[30][2], rows[31][2] = "Aba Ödön", "Zsoldos Zsolt"
    rows[40][1], rows[50][1], rows[51][1] = TRICKY, SCRIPT, IMAGE
    return rows


ROWS = sheet_rows()


@pytest.fixture(scope="module")
def gallery(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("gallery") / "kampany"
    config = init_example(root)
    write_xlsx(root / "recipients" / "lista.xlsx", {"Lista": [HEADER, *ROWS]})
    text = config.read_text(encoding="utf-8")
    config.write_text(
        re.sub(r'(?m)^recipients = ".*"$', 'recipients = "recipients/lista.xlsx"', text), encoding="utf-8"
    )
    campaign = load_campaign(config)
    # The premise of the warning filter: the unknown roles and the hostile places are the only findings.
    findings = load_recipients(campaign.recipients_path).findings
    assert sorted({f.row - 2 for f in findings if f.row}) == WARNED
    assert sorted((f.row, f.problem.split(":")[0]) for f in findings if "KSH" not in f.problem) == [
        (i + 2, "role not recognised") for i in sorted(UNKNOWN_ROLES)
    ]
    started = time.perf_counter()
    with hungarian(tmp_path_factory.mktemp("locale")):  # the gallery follows the interface language
        report = run_preview(campaign, out_dir=root / "preview")
    print(f"preview of 300 letters: {time.perf_counter() - started:.2f} s")
    assert report.rendered == 300
    return report.index


def open_page(driver: Any, path: Path) -> None:
    driver.get(path.resolve().as_uri())


def wait_for(driver: Any, script: str, timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = driver.execute_script(script)
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for: {script}")


def column(driver: Any, index: int) -> list[str]:
    return driver.execute_script(
        "return Array.from(document.querySelectorAll('#letters tbody tr'), tr => tr.cells[arguments[0]].textContent)",
        index,
    )


def type_filter(driver: Any, words: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    box = driver.find_element(By.ID, "q")
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(Keys.DELETE)
    if words:
        box.send_keys(words)


def test_the_review_table_filters_sorts_exports_and_escapes(browser, gallery, artefacts):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    open_page(browser, gallery)
    wait_for(browser, "return window.lgpGallery && lgpGallery.ready")
    assert column(browser, 0) == [str(n) for n in range(1, 101)]  # the first page
    assert browser.find_element(By.ID, "status").text == "1\u2013100. sor, 300 találat (összesen 300 levél)"
    browser.find_element(By.ID, "next").click()
    assert column(browser, 0)[0] == "101"
    assert browser.find_element(By.ID, "status").text == "101\u2013200. sor, 300 találat (összesen 300 levél)"
    Select(browser.find_element(By.ID, "size")).select_by_visible_text("500")
    assert column(browser, 0) == [str(n) for n in range(1, 301)]
    browser.save_screenshot(str(artefacts / "gallery.png"))

    type_filter(browser, "Szekesfehervar")
    assert column(browser, 1) == ["Székesfehérvár", "Székesfehérvár"]
    assert column(browser, 0) == ["11", "201"]
    type_filter(browser, "kovacs peter")  # words in any field, all of them
    expected = [str(i + 1) for i, row in enumerate(ROWS) if row[2] == "Kovács Péter"]
    assert column(browser, 0) == expected and len(expected) == 25
    type_filter(browser, "")

    Select(browser.find_element(By.ID, "county")).select_by_visible_text("Fejér")
    assert column(browser, 0) == [str(i + 1) for i, row in enumerate(ROWS) if row[0] == "Fejér"]
    Select(browser.find_element(By.ID, "county")).select_by_index(0)
    browser.find_element(By.ID, "warned").click()
    assert column(browser, 1) == [ROWS[i][1] for i in WARNED]
    roles = [
        warning
        for place, warning in zip(column(browser, 1), column(browser, 9), strict=True)
        if place in (ROWS[20][1], ROWS[120][1])
    ]
    assert roles == [  # the gallery was made in Hungarian: the check's findings are Hungarian too
        f"Lista · {row}. sor · Beosztás: ismeretlen beosztás: megszólítás cím nélkül "
        "(lásd a README „Salutation rules” részét)"
        for row in (22, 122)
    ]
    browser.find_element(By.ID, "warned").click()

    # What tried to break out of the page is shown as text.
    assert column(browser, 1)[50:52] == [SCRIPT, IMAGE]
    assert browser.execute_script("return document.querySelectorAll('#letters tbody img, tbody script').length") == 0
    assert "betört" not in browser.title

    name_header = browser.find_element(By.CSS_SELECTOR, "th[data-col='3'] button")
    name_header.click()
    assert column(browser, 3)[0] == "Aba Ödön"
    name_header.click()
    assert column(browser, 3)[0] == "Zsoldos Zsolt"  # Zs comes after Z in Hungarian
    assert browser.find_element(By.CSS_SELECTOR, "th[data-col='3']").get_attribute("aria-sort") == "descending"

    type_filter(browser, "kukac")
    exported = browser.execute_script("return lgpGallery.csv()")
    assert exported.startswith(
        "\ufeff#;Önkormányzat;Megye;Név;Beosztás;Megszólítás;E-mail-cím;Tárgy;Típus;Figyelmeztetés;Levél\r\n"
    )
    assert exported.endswith("\r\n") and exported.count("\r\n") == 2
    _head, row = list(csv.reader(io.StringIO(exported.lstrip("\ufeff")), delimiter=";"))
    assert row[:4] == ["41", "'" + TRICKY, ROWS[40][0], ROWS[40][2]]
    assert row[10] == "0041-hivatal40_probafalva40.example.html"
    assert console_errors(browser) == []


def test_keyboard_moves_between_letters_and_opens_one(browser, gallery):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    open_page(browser, gallery)
    wait_for(browser, "return window.lgpGallery && lgpGallery.ready")
    browser.find_element(By.CSS_SELECTOR, "#letters tbody tr a").send_keys(Keys.ARROW_DOWN)
    focused = browser.switch_to.active_element
    assert focused.text == "2" and focused.get_attribute("aria-label") == "2. levél megnyitása"
    outline = browser.execute_script(
        "const s = getComputedStyle(document.activeElement); return [s.outlineStyle, s.outlineWidth, s.outlineColor]"
    )
    assert outline == ["solid", "3px", "rgb(29, 78, 216)"]  # a visible focus ring, #1d4ed8
    focused.send_keys(Keys.ENTER)
    wait_for(browser, "return document.readyState === 'complete' && !!document.getElementById('envelope')")
    assert browser.current_url.endswith("/0002-hivatal1_probafalva1.example.html")
    assert console_errors(browser) == []


def test_a_letter_page_shows_envelope_attachments_logos_and_text(browser, gallery, artefacts):
    from selenium.webdriver.common.by import By

    page = gallery.parent / "0001-hivatal0_probafalva0.example.html"
    open_page(browser, page)
    envelope = {
        tr.get_attribute("data-header"): tr.find_element(By.TAG_NAME, "td").text
        for tr in browser.find_elements(By.CSS_SELECTOR, "#envelope tr")
    }
    assert list(envelope) == ["From", "To", "Reply-To", "Subject", "Date", "List-Unsubscribe"]
    assert envelope["From"] == "Legjobb Önkormányzati Gyakorlatok Programja <meghivo@lgp.example.org>"
    assert envelope["To"] == "Kovács Péter <hivatal0@probafalva0.example>"
    assert envelope["Reply-To"] == "programiroda@lgp.example.org"
    assert envelope["Subject"].startswith("Meghívó: Önkormányzati innovációk és jó gyakorlatok")
    assert envelope["List-Unsubscribe"] == "<mailto:programiroda@lgp.example.org?subject=leiratkozas>"
    assert re.fullmatch(r"\w{3}, \d{1,2} \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4}", envelope["Date"])
    calendar = {
        tr.get_attribute("data-field"): tr.find_element(By.TAG_NAME, "td").text
        for tr in browser.find_elements(By.CSS_SELECTOR, "table.calendar tr")
    }
    assert calendar == {
        "cal_summary": "Önkormányzati innovációk és jó gyakorlatok",
        "cal_start": "2020-06-18 10:00 (Europe/Budapest)",
        "cal_end": "2020-06-18 12:35 (Europe/Budapest)",
        # The campaign's own UID (issue 12): derived from the campaign_id that init wrote.
        "cal_uid": campaign_calendar_uid(
            load_campaign(gallery.parent.parent / "lgp-mailer.toml").campaign_id, "lgp.example.org"
        ),
        "cal_sequence": "0",
        "cal_method": "PUBLISH",
    }
    ics = browser.find_element(By.LINK_TEXT, "meghivo.ics").get_attribute("href")
    assert Path(unquote(urlparse(ics).path)).read_bytes().startswith(b"BEGIN:VCALENDAR\r\n")

    frame = browser.find_element(By.ID, "letter")
    assert frame.get_attribute("sandbox") == "allow-same-origin"
    browser.switch_to.frame(frame)
    wait_for(browser, "return Array.from(document.images).every(i => i.complete)")
    images = browser.execute_script(
        "return Array.from(document.images, i => [i.alt, i.getAttribute('src').split('-').pop(), i.naturalWidth])"
    )
    browser.switch_to.default_content()
    assert images == [[f"{n}. támogató logója (példa)", f"{n}.png", 144] for n in (1, 2, 3)]
    assert browser.find_element(By.CSS_SELECTOR, "nav.pager span").text == "1. levél (összesen 300)"
    browser.save_screenshot(str(artefacts / "letter.png"))
    browser.execute_script("document.getElementById('letter').scrollIntoView()")
    browser.save_screenshot(str(artefacts / "letter-frame.png"))

    browser.find_element(By.ID, "toggle").click()
    text = browser.find_element(By.ID, "text")
    assert text.is_displayed() and not frame.is_displayed()
    assert "Tisztelt Jegyző Úr!" in text.text
    browser.find_element(By.ID, "next").click()
    assert browser.current_url.endswith("/0002-hivatal1_probafalva1.example.html")
    assert browser.find_element(By.ID, "previous").get_attribute("href").endswith("/" + page.name)
    assert console_errors(browser) == []


def test_script_json_cannot_end_its_script_element():
    raw = script_json({"a": "</script><!-- \u2028\u2029 & é"})
    assert raw == '{"a":"\\u003c/script\\u003e\\u003c!-- \\u2028\\u2029 \\u0026 é"}'
    assert json.loads(raw) == {"a": "</script><!-- \u2028\u2029 & é"}


def test_findings_go_to_the_letter_of_their_row_and_the_rest_are_sheet_notes(tmp_path):
    path = write_xlsx(tmp_path / "lista.xlsx", {"Lista": [HEADER, *ROWS[:25]]})
    sheet = load_recipients(path)
    with hungarian(tmp_path / "locale"):
        lines, unmatched = warnings_for(sheet.recipients, sheet.findings)
    assert lines == {
        ("Lista", 22): [
            "Lista · 22. sor · Beosztás: role not recognised: salutation without a title (see README, Salutation rules)"
        ]
    }
    assert row_key(sheet.recipients[20]) == ("Lista", 22)
    assert unmatched == []


def test_a_preview_of_some_letters_makes_lines_only_for_them(tmp_path):
    """With --limit, only the letters built get their lines; which findings no letter has is the same."""
    path = write_xlsx(
        tmp_path / "lista.xlsx",
        {"Lista": [HEADER, *ROWS[:25], ["Pest", "Gödöllő", "Kiss Anna", "jegyző", "", "nem-cim"]]},
    )
    sheet = load_recipients(path)
    every, unmatched = warnings_for(sheet.recipients, sheet.findings)
    some, unmatched_some = warnings_for(sheet.recipients, sheet.findings, only={("Lista", 22), ("Lista", 5)})
    assert list(every) == [("Lista", 22)] and some == every
    assert warnings_for(sheet.recipients, sheet.findings, only={("Lista", 5)}) == ({}, unmatched)
    assert [(f.row, f.column) for f in unmatched] == [(27, "E-mail")] and unmatched_some == unmatched


def test_3200_rows_page_and_filter_as_typed(browser, tmp_path):
    """A county-wide campaign: the first page, then a filter typed a key at a time.

    How fast is measured by bench/gallery.py (3,200 and 100,000 rows), not here:
    a timed assertion fails on a loaded machine with nothing wrong."""
    from selenium.webdriver.common.by import By

    from lgp_mailer.campaign.gallery import Gallery

    gallery = Gallery(tmp_path, "meghívó", 3200)
    for i in range(1, 3201):
        warnings = [f"Lista · {i + 1}. sor · Név: gender unknown: neutral salutation"] if i % 7 == 0 else []
        gallery.rows.append(
            [
                i,
                f"Őrszentmiklós-{i}",
                COUNTIES[i % 5],
                f"{FAMILIES[i % 6]} Ödön",
                "polgármester",
                "Tisztelt Polgármester Úr!",
                f"hivatal{i}@telepules{i}.example",
                "Meghívó",
                "meghívó",
                warnings,
                f"{i:04d}-level.html",
                "",
            ]
        )
    index = gallery.finish(title="3200", campaign_id="proba", rendered=3200, failed=0, unmatched=[])
    open_page(browser, index)
    wait_for(browser, "return window.lgpGallery && lgpGallery.ready")
    assert browser.execute_script("return lgpGallery.shownCount()") == 3200
    assert column(browser, 1) == [f"Őrszentmiklós-{i}" for i in range(1, 101)]
    box = browser.find_element(By.ID, "q")
    for char in "orszentmiklos-12":
        box.send_keys(char)
    found = [f"Őrszentmiklós-{i}" for i in [12, *range(120, 130), *range(1200, 1300)]]
    assert browser.execute_script("return lgpGallery.shownCount()") == len(found) == 111
    assert column(browser, 1) == found[:100]  # the first page
    assert console_errors(browser) == []
