"""Several senders, one campaign (issue 22): send throughput to Postfix's smtp-sink.

    python bench/senders.py [--n 2000] [--senders 1,2,4] [--rounds 1]

In one run, on the same machine, the same campaign of N generated recipients
(``lgp-mailer init --example``, as ``commands.py`` makes it) is sent in full
to ``smtp-sink``:

* with one plain ``lgp-mailer send --yes`` on a SQLite sent log (the default);
* with one plain ``send --yes`` on a PostgreSQL sent log;
* with K ``send --yes --join`` processes started together on a PostgreSQL
  sent log, for each K of ``--senders``.

Each configuration starts from a fresh sent log (a new SQLite file, a new
PostgreSQL database).  The PostgreSQL server is a private one started here
the way the tests start theirs (``tests/pg_server.py``: ``pg_config
--bindir``, a temporary folder, a free loopback port; note it runs with
``fsync=off``, so its commits cost no disk flush, while SQLite's claims are
flushed).  A figure is messages per second over the whole wall time, from
the first process started to the last one finished (start-up, reading the
sheet, sync and building included: each process pays them), and its ratio to
SQLite with one sender; and the sending phase alone, from the sent log's own
times: N over the span from the first claim to the last message accepted.  The machine's
load (highest 1-minute figure during the configuration) is printed beside
it: on a shared machine the ratios, not the rates, are what compare.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

from commands import LGP, Sink, ensure_postfix, make_campaign  # noqa: E402  (bench/ is not a package)

from pg_server import start_pg_server  # noqa: E402


def run_senders(camp: Path, db: str, k: int, join: bool, work: Path) -> tuple[float, float, list[int]]:
    """K send processes started together; (wall seconds, highest load, exit codes)."""
    env = dict(os.environ, LGP_MAILER_DB=db)
    args = [*LGP, "send", "--campaign", str(camp), "--yes", "--quiet", *(["--join"] if join else [])]
    load = [os.getloadavg()[0]]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.1):
            load.append(os.getloadavg()[0])

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    start = time.perf_counter()
    procs = [
        subprocess.Popen(args, cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for _ in range(k)
    ]
    errors = [p.communicate()[1] for p in procs]
    seconds = time.perf_counter() - start
    done.set()
    sampler.join()
    codes = [p.returncode for p in procs]
    for code, err in zip(codes, errors, strict=True):
        if code not in (0, 3):  # 3: a joiner that came when nothing was left
            raise SystemExit(f"send exited {code}: {err.decode(errors='replace')[-2000:]}")
    return seconds, max(load), codes


def sent(db: str) -> Counter[str]:
    from lgp_mailer.ledger.store import open_ledger

    with open_ledger(Path(db) if "://" not in db else db) as ledger:
        return Counter(r.status for r in ledger.rows())


def sending_phase(db: str) -> float:
    """Seconds from the first claim to the last message accepted, as the sent log recorded them."""
    from datetime import datetime

    from lgp_mailer.ledger.store import open_ledger

    with open_ledger(Path(db) if "://" not in db else db) as ledger, ledger.read() as conn:
        first, last = conn.execute("SELECT min(first_attempt_at), max(sent_at) FROM messages").fetchone()
    stamp = [datetime.fromisoformat(t.replace("Z", "+00:00")) for t in (first, last)]
    return (stamp[1] - stamp[0]).total_seconds()


def senders_used(url: str) -> int:
    from lgp_mailer.ledger.store import open_ledger

    with open_ledger(url) as ledger, ledger.read() as db:
        return int(db.execute("SELECT count(DISTINCT sender) FROM messages WHERE status = 'sent'").fetchone()[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=2000, help="recipients in the campaign")
    parser.add_argument("--senders", default="1,2,4", help="sender processes on PostgreSQL, comma-separated")
    parser.add_argument("--rounds", type=int, default=1, help="repeat every configuration, alternating")
    args = parser.parse_args()
    ensure_postfix()
    ks = [int(x) for x in args.senders.split(",")]
    print(f"Senders benchmark: {args.n} recipients, {os.cpu_count()} cores, load before {os.getloadavg()[0]:.2f}")
    server = start_pg_server()
    try:
        with tempfile.TemporaryDirectory(prefix="lgp-bench-senders-") as tmp, Sink() as sink:
            work = Path(tmp)
            camp = make_campaign(work / "kampany", args.n, sink.port)
            configs = [("SQLite, 1 sender", "sqlite", 1, False), ("PostgreSQL, 1 sender", "pg", 1, False)]
            configs += [(f"PostgreSQL, {k} senders --join", "pg", k, True) for k in ks if k > 1]
            results: dict[str, list[tuple[float, float, float]]] = {label: [] for label, *_ in configs}
            for r in range(args.rounds):
                for i, (label, backend, k, join) in enumerate(configs):
                    db = str(work / f"log-{r}-{i}.sqlite3") if backend == "sqlite" else server.create_database("b")
                    seconds, load, _codes = run_senders(camp, db, k, join, work)
                    statuses = sent(db)
                    if statuses != Counter(sent=args.n):
                        raise SystemExit(f"{label}: the sent log says {dict(statuses)}, not {args.n} sent")
                    used = f", {senders_used(db)} sent some" if backend == "pg" else ""
                    phase = sending_phase(db)
                    results[label].append((seconds, phase, load))
                    print(
                        f"  {label:<32} {args.n / seconds:7.0f} msgs/s {seconds:7.1f} s"
                        f"  sending phase {args.n / phase:7.0f} msgs/s {phase:6.1f} s  load {load:5.2f}{used}",
                        flush=True,
                    )
            base = min(s for s, _, _ in results["SQLite, 1 sender"])
            base_phase = min(p for _, p, _ in results["SQLite, 1 sender"])
            print("Best of the rounds, as a ratio to SQLite with 1 sender (whole run; sending phase):")
            for label, runs in results.items():
                seconds = min(s for s, _, _ in runs)
                phase = min(p for _, p, _ in runs)
                load = max(lo for _, _, lo in runs)
                print(
                    f"  {label:<32} {args.n / seconds:7.0f} msgs/s {base / seconds:5.2f}x;"
                    f" {args.n / phase:7.0f} msgs/s {base_phase / phase:5.2f}x  (load up to {load:.2f})"
                )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
