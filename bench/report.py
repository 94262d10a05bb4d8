"""Benchmark: the committee report over a sent log of 100,000 rows.

Five campaigns of invitations (80,000 rows, 20 counties), 20,000 registrants
(a reminder each), 10,000 attendees (an imported attendance report of 10,000
sessions, and a thanks letter each), the rest bounced or failed.  Then
``lgp-mailer report`` writes the workbook and the HTML page.  Goal: < 5 s and
< 300 MB peak (the report command, in a fresh process).

    python bench/report.py [--rows 100000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
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
                n = (i * 7 + c) % 16000  # a municipality invited again across campaigns
                status = "failed" if i % 50 == 0 else ("invalid" if i % 97 == 0 else "sent")
                messages.append(
                    (
                        campaign,
                        "invitation",
                        f"hivatal{n}@telepules{n}.example",
                        status,
                        json.dumps([f"Őrszentmiklós-{n}"], ensure_ascii=False),
                        COUNTIES[n % 20],
                        sent_at if status != "invalid" else None,
                    )
                )
        for i in range(registrants):
            c, n = i % len(CAMPAIGNS), ((i // len(CAMPAIGNS)) * 7 + i % len(CAMPAIGNS)) % 16000
            messages.append((CAMPAIGNS[c], "reminder", f"hivatal{n}@telepules{n}.example", "sent", "[]", None, now))
        for i in range(attendees):
            c, n = i % len(CAMPAIGNS), ((i // len(CAMPAIGNS)) * 7 + i % len(CAMPAIGNS)) % 16000
            messages.append((CAMPAIGNS[c], "thanks", f"hivatal{n}@telepules{n}.example", "sent", "[]", None, now))
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
            day = dt.datetime(2026, c * 2 + 2, 18, 10, 0)
            conn.executemany(
                "INSERT INTO attendance_sessions (import_id, row, name, email, joined, left_at, minutes, guest, role,"
                " summed) VALUES (?,?,?,?,?,?,?,0,'',0)",
                [
                    (
                        cur.lastrowid,
                        i + 2,
                        f"Kovács Ödön {i}",
                        f"hivatal{n}@telepules{n}.example",
                        day.isoformat(),
                        (day + dt.timedelta(minutes=60)).isoformat(),
                        60.0,
                    )
                    for i in range(c, attendees, len(CAMPAIGNS))
                    for n in [((i // len(CAMPAIGNS)) * 7 + i % len(CAMPAIGNS)) % 16000]
                ],
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--keep", type=Path, help="write the sent log and the report here")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="lgp-report-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "naplo.sqlite3"
    if db.exists():
        db.unlink()
    started = time.perf_counter()
    build(db, args.rows, 20_000, 10_000)
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
        [sys.executable, "-c", probe, "report", "--ledger-only", "--out", str(folder / "jelentes")],
        env=env,
        check=True,
    )
    print(f"report process, wall clock incl. interpreter start: {time.perf_counter() - started:.2f} s")


if __name__ == "__main__":
    main()
