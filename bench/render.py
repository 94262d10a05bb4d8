"""Render-and-serialise benchmark (an inner loop, in one process): full invitations per second and peak memory.

For what the commands people type cost as whole processes, see ``bench/commands.py``.

    python bench/render.py [--n 10000] [--skip-mailmerge]

Runs, in one go and on the same machine (so ratios are meaningful):

* lgp-mailer on 1 process and on every core, for N generated recipients;
* lgp-mailer on N/5 recipients, to show memory stays flat in N;
* the PyPI ``mailmerge`` tool's ``--dry-run`` on an equivalent HTML-plus-text
  message for the same N recipients.  mailmerge is installed only into
  ``bench/.venv-mailmerge`` (created on first use), never into the project.

Each measurement runs in its own subprocess so that peak RSS is its own.
Not a test: it prints figures for closing notes.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(HERE))

from common import mailmerge, peak_rss_mb, recipients, shipped_factory  # noqa: E402  (bench/ is not a package)

_factory = None


def _init_worker() -> None:
    global _factory
    _factory = shipped_factory()


def _build_range(bounds: tuple[int, int]) -> int:
    start, stop = bounds
    total = 0
    for recipient in recipients(stop):
        if recipient.rows[0] - 2 >= start:
            total += len(_factory.build(recipient).as_bytes())
    return total


def worker(n: int, procs: int) -> dict:
    """One measurement: build and serialise N invitations on ``procs`` processes."""
    start = time.perf_counter()
    if procs == 1:
        _init_worker()
        size = sum(len(_factory.build(r).as_bytes()) for r in recipients(n))
    else:
        from concurrent.futures import ProcessPoolExecutor

        step = max(1, n // (procs * 8))
        chunks = [(i, min(n, i + step)) for i in range(0, n, step)]
        with ProcessPoolExecutor(procs, initializer=_init_worker) as pool:
            size = sum(pool.map(_build_range, chunks))
    seconds = time.perf_counter() - start
    return {
        "n": n,
        "procs": procs,
        "seconds": seconds,
        "per_second": n / seconds,
        "bytes_per_message": size / n,
        "peak_rss_mb": peak_rss_mb(),
    }


def run_worker(n: int, procs: int) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--worker", str(procs), "--n", str(n)], check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--skip-mailmerge", action="store_true")
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.n, args.worker)))
        return
    import tempfile

    cores = os.cpu_count() or 1
    results = {"one_core": run_worker(args.n, 1), "small_n": run_worker(max(1, args.n // 5), 1)}
    if cores > 1:
        results["all_cores"] = run_worker(args.n, cores)
        results["all_cores"]["peak_rss_mb"] = float("nan")  # the pool's children are not counted: not shown
    if not args.skip_mailmerge:
        with tempfile.TemporaryDirectory() as tmp:
            results["mailmerge_dry_run"] = mailmerge(args.n, Path(tmp))  # no port: --dry-run
    base = results.get("mailmerge_dry_run")
    print(f"{'run':<20}{'N':>8}{'msg/s':>10}{'peak MB':>10}{'vs mailmerge':>14}")
    for name, r in results.items():
        ratio = f"{r['per_second'] / base['per_second']:.2f}x" if base else "-"
        print(f"{name:<20}{r['n']:>8}{r['per_second']:>10.0f}{r.get('peak_rss_mb', float('nan')):>10.1f}{ratio:>14}")
    print(f"message size: {results['one_core']['bytes_per_message'] / 1024:.1f} KiB")


if __name__ == "__main__":
    main()
