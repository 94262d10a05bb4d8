"""Benchmark: the committee report over a sent log of 100,000 rows.

Five conferences of invitations (70,000 rows, the same 14,000 addresses in 20
counties, 2 % failed), 20,000 registrants (a reminder each), 10,000 attendees
(attendance reports of 10,000 sessions, and a thanks letter each); the last
conference's folder has its contact sheet (``--sheet-rows``, default 3,200,
the real list's size) and registration export (4,000 answers, half from a
colleague's address).  Then
``lgp-mailer report`` writes the workbook and the HTML page.  Goal: < 5 s and
< 300 MB peak (the report command, in a fresh process).

    python bench/report.py [--rows 100000] [--sheet-rows 3200] [--ledger-only] [--keep DIR]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from lgp_mailer.ledger.store import open_ledger  # noqa: E402

COUNTIES = [f"Próba-{n:02d} vármegye" for n in range(1, 21)]
CAMPAIGNS = [f"lgp-2026-{m:02d}" for m in (2, 4, 6, 9, 11)]


def _person(i: int, invited: int) -> int:
    """The i-th registrant or attendee: conferences share people, so the series has returning towns."""
    return ((i // len(CAMPAIGNS)) * 3 + (i % len(CAMPAIGNS)) * 500) % invited


def campaign_folder(root: Path, invited: int, registrants: int) -> None:
    """`lgp-mailer init`, then the last conference's contact sheet and registration export."""
    subprocess.run([sys.executable, "-m", "lgp_mailer", "init", str(root)], check=True, capture_output=True)
    config = root / "lgp-mailer.toml"
    text = config.read_text(encoding="utf-8")
    text = re.sub(r'(?m)^campaign_id = ".*"', f'campaign_id = "{CAMPAIGNS[-1]}"', text)
    text = re.sub(r'(?m)^recipients = ".*"', 'recipients = "recipients/lista.csv"', text)
    text = re.sub(r'(?m)^registrations = ".*"', 'registrations = "registrations/valaszok.csv"', text)
    config.write_text(text, encoding="utf-8")
    with (root / "recipients" / "lista.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Megye", "Önkormányzat", "Név", "Beosztás", "Nem", "E-mail"])
        for n in range(invited):
            role = "jegyző" if n % 3 else "polgármester"
            writer.writerow([COUNTIES[n % 20], f"Őrszentmiklós-{n}", f"Kovács Ödön {n}", role, "", _address(n)])
    with (root / "registrations" / "valaszok.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Időbélyeg", "E-mail-cím", "Név", "Önkormányzat", "Beosztás"])
        for i in range(len(CAMPAIGNS) - 1, registrants, len(CAMPAIGNS)):
            n = _person(i, invited)
            other = i % 2  # half write from a colleague's address: matched by municipality
            address = f"kollega{n}@telepules{n}.example" if other else _address(n)
            writer.writerow(["2026. 11. 10. 9:00:00", address, f"Szabó Anna {n}", f"Őrszentmiklós-{n}", "referens"])


def _address(n: int) -> str:
    return f"hivatal{n}@telepules{n}.example"


def build(db: Path, rows: int, registrants: int, attendees: int) -> None:
    """Write the sent log: invitations, reminders to registrants, attendance and thanks for attendees."""
    invitations = rows - registrants - attendees
    per_campaign = invitations // len(CAMPAIGNS)
    now = "2026-01-01T00:00:00+00:00"
    with open_ledger(db) as ledger, ledger.transaction() as conn:
        messages: list[tuple[object, ...]] = []
        for c, campaign in enumerate(CAMPAIGNS):
            sent_at = f"2026-{c * 2 + 2:02d}-01T08:00:00+00:00"
            for i in range(per_campaign):
                n = i  # the same list every conference
                status = "failed" if i % 50 == 0 else ("invalid" if i % 97 == 0 else "sent")
                messages.append(
                    (
                        campaign,
                        "invitation",
                        _address(n),
                        status,
                        json.dumps([f"Őrszentmiklós-{n}"], ensure_ascii=False),
                        COUNTIES[n % 20],
                        sent_at if status != "invalid" else None,
                    )
                )
        for i in range(registrants):
            c, n = i % len(CAMPAIGNS), _person(i, per_campaign)
            messages.append((CAMPAIGNS[c], "reminder", _address(n), "sent", "[]", None, now))
        for i in range(attendees):
            c, n = i % len(CAMPAIGNS), _person(i, per_campaign)
            messages.append((CAMPAIGNS[c], "thanks", _address(n), "sent", "[]", None, now))
        conn.executemany(
            "INSERT OR IGNORE INTO messages (campaign_id, kind, address, address_key, status, municipalities, county,"
            " sent_at, created_at, updated_at) VALUES (?,?,?,lower(?),?,?,?,?,?,?)",
            [(m[0], m[1], m[2], m[2], m[3], m[4], m[5], m[6], now, now) for m in messages],
        )
        for c, campaign in enumerate(CAMPAIGNS):
            cur = conn.execute(
                "INSERT INTO attendance_imports (campaign_id, platform, language, file_name, sha256,"
                " file_modified_at, imported_at) VALUES (?, 'zoom', 'hu', 'resztvevok.csv', ?, ?, ?)",
                (campaign, f"{c:064d}", now, now),
            )
            day = dt.datetime(2026, c * 2 + 2, 18, 10, 0)  # noqa: DTZ001 - attendance times are local (Budapest), as stored
            conn.executemany(
                "INSERT INTO attendance_sessions (import_id, row, name, email, joined, left_at, minutes, guest, role,"
                " summed) VALUES (?,?,?,?,?,?,?,0,'',0)",
                [
                    (
                        cur.lastrowid,
                        i + 2,
                        f"Kovács Ödön {i}",
                        _address(n),
                        day.isoformat(),
                        (day + dt.timedelta(minutes=60)).isoformat(),
                        60.0,
                    )
                    for i in range(c, attendees, len(CAMPAIGNS))
                    for n in [_person(i, per_campaign)]
                ],
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--sheet-rows", type=int, default=3200, help="the contact sheet's rows (the real list: ~3,200)")
    parser.add_argument("--ledger-only", action="store_true", help="report from the sent log alone")
    parser.add_argument("--keep", type=Path, help="write the sent log and the report here")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="lgp-report-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "naplo.sqlite3"
    if db.exists():
        db.unlink()
    started = time.perf_counter()
    build(db, args.rows, 20_000, 10_000)
    campaign = folder / "kampany"
    if campaign.exists():
        shutil.rmtree(campaign)
    campaign_folder(campaign, args.sheet_rows, 20_000)
    print(f"sent log: {args.rows} rows in {time.perf_counter() - started:.1f} s ({db})")
    probe = (
        "import resource, sys, time; from lgp_mailer.cli import main; t = time.perf_counter()\n"
        "try:\n    main()\nexcept SystemExit as e:\n    code = e.code\n"
        "print(f'report: {time.perf_counter() - t:.2f} s, peak '"
        "f'{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB, exit {code}', file=sys.stderr)"
    )
    env = {**os.environ, "LGP_MAILER_DB": str(db)}
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", probe, "report", "--campaign", str(campaign), "--out", str(folder / "jelentes")]
        + (["--ledger-only"] if args.ledger_only else []),
        env=env,
        check=True,
    )
    print(f"report process, wall clock incl. interpreter start: {time.perf_counter() - started:.2f} s")


if __name__ == "__main__":
    main()
