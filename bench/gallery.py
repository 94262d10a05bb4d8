"""How fast the preview gallery is in Chromium: first page, filter keystrokes, sort, for 3,200 and 100,000 rows.

    python bench/gallery.py                 # 3,200 and 100,000 rows
    python bench/gallery.py --rows 3200     # one size
    python bench/gallery.py --preview 3200  # also time `preview` writing 3,200 real letters

The rows are invented (bench/common.py's recipients, with a warning on every
seventh) and written by the real gallery code, so the page, its JSON and its
script are exactly what `preview` writes; only the letter pages are left out.
Times come from the page itself (performance.now()): the first page after
navigation start, and each keystroke's event time to the laid-out table.
Needs Debian's chromium and chromium-driver and selenium (the [test] extra).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from common import REPO, recipients

sys.path.insert(0, str(REPO / "tests"))
from browser import ARGS, CHROMEDRIVER, CHROMIUM

from lgp_mailer.campaign.gallery import Gallery

QUERY = "orszentmiklos 12"  # typed one key at a time, accents left out as a user would


def write_gallery(out: Path, n: int) -> Path:
    gallery = Gallery(out, "meghívó", n)
    for i, person in enumerate(recipients(n), start=1):
        warnings = [f"Lista · {i + 1}. sor · Név: gender unknown: neutral salutation"] if i % 7 == 0 else []
        gallery.rows.append(
            [
                i,
                ", ".join(person.municipalities),
                person.county or "",
                person.name or "",
                person.role,
                person.salutation,
                person.email,
                "Meghívó: Önkormányzati innovációk és jó gyakorlatok",
                "meghívó",
                warnings,
                f"{i:06d}-level.html",
                "",
            ]
        )
    return gallery.finish(title="Teljesítménymérés", campaign_id="bench", rendered=n, failed=0, unmatched=[])


def driver() -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ["SE_OFFLINE"] = "true"
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ARGS:
        options.add_argument(arg)
    options.add_argument(f"--user-data-dir={tempfile.mkdtemp(prefix='lgp-bench-chromium-')}")
    return webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)


def measure(browser: Any, index: Path) -> dict[str, float]:
    from selenium.webdriver.common.by import By

    browser.get(index.resolve().as_uri())
    deadline = time.monotonic() + 60
    while not browser.execute_script("return !!(window.lgpGallery && lgpGallery.ready)"):
        if time.monotonic() > deadline:
            raise SystemExit("the gallery did not become ready in 60 s")
        time.sleep(0.01)
    first = browser.execute_script("return lgpGallery.firstPaintMs")
    box = browser.find_element(By.ID, "q")
    keystrokes = []
    for char in QUERY:
        box.send_keys(char)
        keystrokes.append(browser.execute_script("return lgpGallery.lastRepaintMs"))
    found = browser.execute_script("return lgpGallery.shownCount()")
    browser.find_element(By.CSS_SELECTOR, "th[data-col='3'] button").click()
    sort = browser.execute_script("return lgpGallery.lastRepaintMs")
    return {
        "first page ms": first,
        "keystroke median ms": statistics.median(keystrokes),
        "keystroke max ms": max(keystrokes),
        "sort by name ms": sort,
        "rows found": found,
    }


def time_preview(n: int, work: Path) -> float:
    import re

    from lgp_mailer.campaign.preview import run_preview
    from lgp_mailer.campaign.scaffold import init_example
    from lgp_mailer.config import load_campaign

    from sheets_factory import HEADER, write_xlsx

    config = init_example(work / "kampany")
    rows = [[p.county, p.municipalities[0], p.name, "polgármester", "", p.email] for p in recipients(n)]
    write_xlsx(config.parent / "recipients" / "lista.xlsx", {"Lista": [HEADER, *rows]})
    text = re.sub(r'(?m)^recipients = ".*"$', 'recipients = "recipients/lista.xlsx"', config.read_text("utf-8"))
    config.write_text(text, encoding="utf-8")
    started = time.perf_counter()
    run_preview(load_campaign(config), out_dir=work / "preview")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, action="append", help="rows to measure (repeatable; default 3200, 100000)")
    parser.add_argument("--preview", type=int, help="also time `preview` writing this many real letters")
    args = parser.parse_args()
    browser = driver()
    try:
        with tempfile.TemporaryDirectory(prefix="lgp-bench-gallery-") as tmp:
            for n in args.rows or [3200, 100_000]:
                out = Path(tmp) / str(n)
                out.mkdir()
                started = time.perf_counter()
                index = write_gallery(out, n)
                written = time.perf_counter() - started
                size = index.stat().st_size / 2**20
                result = measure(browser, index)
                print(
                    f"{n:>7} rows: written in {written:.2f} s ({size:.1f} MiB); "
                    + "; ".join(f"{k} {v:.0f}" for k, v in result.items())
                )
            if args.preview:
                seconds = time_preview(args.preview, Path(tmp))
                print(f"preview of {args.preview} letters (letter pages, .eml, gallery): {seconds:.1f} s")
    finally:
        browser.quit()


if __name__ == "__main__":
    main()
