"""Render-and-serialise benchmark: full invitations per second and peak memory.

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
import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))


def peak_rss_mb() -> float:
    try:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    except ImportError:  # Windows
        import psutil

        return psutil.Process().memory_info().peak_wset / 2**20


def recipients(n: int):
    from lgp_mailer.recipients import Recipient

    roles = ("Tisztelt Polgármester Úr!", "Tisztelt Polgármester Asszony!", "Tisztelt Jegyző Asszony!")
    for i in range(n):
        yield Recipient(
            email=f"hivatal{i}@telepules{i % 3200}.example",
            municipalities=(f"Őrszentmiklós-{i}",),
            salutation=roles[i % 3],
            name=f"Kovács Ödön {i}",
            rows=(i + 2,),
        )


_factory = None


def _init_worker() -> None:
    global _factory
    from lgp_mailer.config import load_campaign
    from lgp_mailer.event import load_event
    from lgp_mailer.messages import MessageFactory

    campaign = load_campaign(REPO / "lgp-mailer.toml")
    _factory = MessageFactory(campaign, load_event(campaign.event_path))


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
    return {"n": n, "procs": procs, "seconds": seconds, "per_second": n / seconds,
            "bytes_per_message": size / n, "peak_rss_mb": peak_rss_mb()}


def run_worker(n: int, procs: int) -> dict:
    out = subprocess.run([sys.executable, __file__, "--worker", str(procs), "--n", str(n)],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def mailmerge(n: int, workdir: Path) -> dict | None:
    venv = HERE / ".venv-mailmerge"
    exe = venv / ("Scripts" if os.name == "nt" else "bin") / "mailmerge"
    if not exe.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = venv / ("Scripts" if os.name == "nt" else "bin") / "pip"
        subprocess.run([str(pip), "install", "-q", "mailmerge"], check=True)
    _init_worker()
    sample = _factory.build(next(recipients(1)))
    text = sample.rendered.text.replace("Kovács Ödön 0", "{{name}}")
    html = sample.rendered.html.replace("Kovács Ödön 0", "{{name}}")
    template = workdir / "template.txt"
    template.write_text(
        "TO: {{email}}\nSUBJECT: " + sample.rendered.subject + "\nFROM: LGP <meghivo@lgp.example.org>\n"
        "MIME-Version: 1.0\nContent-Type: multipart/alternative; boundary=\"boundary\"\n\n"
        "--boundary\nContent-Type: text/plain; charset=utf-8\n\n" + text +
        "\n--boundary\nContent-Type: text/html; charset=utf-8\n\n" + html + "\n--boundary--\n",
        encoding="utf-8",
    )
    database = workdir / "database.csv"
    with database.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["email", "name"])
        for r in recipients(n):
            writer.writerow([r.email, r.name])
    config = workdir / "server.conf"
    config.write_text("[smtp_server]\nhost = 127.0.0.1\nport = 25\nsecurity = Never\n", encoding="utf-8")
    start = time.perf_counter()
    subprocess.run([str(exe), "--dry-run", "--no-limit", "--output-format", "raw", "--template", str(template),
                    "--database", str(database), "--config", str(config)],
                   check=True, stdout=subprocess.DEVNULL, cwd=workdir)
    seconds = time.perf_counter() - start
    return {"n": n, "seconds": seconds, "per_second": n / seconds}


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
    if not args.skip_mailmerge:
        with tempfile.TemporaryDirectory() as tmp:
            results["mailmerge_dry_run"] = mailmerge(args.n, Path(tmp))
    base = results.get("mailmerge_dry_run")
    print(f"{'run':<20}{'N':>8}{'msg/s':>10}{'peak MB':>10}{'vs mailmerge':>14}")
    for name, r in results.items():
        ratio = f"{r['per_second'] / base['per_second']:.2f}x" if base else "-"
        print(f"{name:<20}{r['n']:>8}{r['per_second']:>10.0f}{r.get('peak_rss_mb', float('nan')):>10.1f}{ratio:>14}")
    print(f"message size: {results['one_core']['bytes_per_message'] / 1024:.1f} KiB")


if __name__ == "__main__":
    main()
