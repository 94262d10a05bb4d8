"""Quick scale check (not a test): load a 200,000-row CSV, report time and peak memory.

    python tests/sheets_bench.py [ROWS]

Timing runs without tracemalloc (which slows Python down); peak memory is a
second run under tracemalloc.
"""

from __future__ import annotations

import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lgp_mailer.campaign.check import check_file
from lgp_mailer.sheets.recipients import load_recipients

GIVEN = ["Ödön", "Erzsébet", "Győző", "Ildikó", "Lőrinc", "Andrea", "Ferenc", "Éva"]
ROLES = ["polgármester", "jegyző", "alpolgármester"]


def write(path: Path, rows: int) -> None:
    with path.open("w", encoding="cp1250", newline="") as out:
        out.write("Megye;Önkormányzat;Név;Beosztás;Nem;E-mail\r\n")
        for n in range(rows):
            # Every tenth address is shared by two rows: joint offices.
            m = n - 1 if n % 10 == 1 else n
            address = f"hivatal{m}@telepules{m}.hu"
            out.write(f"Győr-Moson-Sopron;Őrszentmiklós {n};Kovács {GIVEN[n % 8]};{ROLES[n % 3]};;{address}\r\n")


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "nagy.csv"
        write(path, rows)
        started = time.perf_counter()
        sheet = load_recipients(path)
        loaded = time.perf_counter() - started
        started = time.perf_counter()
        report = check_file(path)
        checked = time.perf_counter() - started
        del sheet
        tracemalloc.start()
        load_recipients(path)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    print(
        f"{rows} rows ({path.name}): load {loaded:.1f} s, check {checked:.1f} s, "
        f"peak {peak / 2**20:.0f} MiB (tracemalloc); {report.recipients} recipients, "
        f"{report.merged} merged, {len(report.findings)} findings"
    )


if __name__ == "__main__":
    main()
