"""Send benchmark (the inner loop, in one process): full invitations per second to a local sink, and peak memory.

For what ``lgp-mailer send`` costs as a whole process, see ``bench/commands.py``.

    python bench/send.py [--n 10000] [--connections 1,4] [--skip-mailmerge] [--memory-n 100000]

Runs, in one go against the same sink (so ratios are meaningful):

* lgp-mailer's real send path (``SendSession`` + ``run_parallel``: render,
  claim, SMTP, record) with 1 and with 4 connections, for N generated
  recipients, the ledger in a temporary SQLite file committed durably per
  message (WAL: the claim a durable commit, the record a commit without its own fsync);
* the PyPI ``mailmerge`` tool sending an equivalent HTML-plus-text message to
  the same sink; it is installed only into ``bench/.venv-mailmerge`` (created
  on first use, gitignored), never into the project;
* a plain ``smtplib`` loop over one reused connection sending prebuilt
  lgp-mailer invitations: the ceiling for a Python client;
* with ``--memory-n``, lgp-mailer once more on that many recipients (4
  connections) for peak memory; the target is under 300 MB for 100,000.

The sink is Postfix's ``smtp-sink`` (Debian package ``postfix``; install it
with the daemon kept from starting, e.g. a ``policy-rc.d`` that exits 101;
the Postfix daemon is never run), started here by hand on 127.0.0.1.  Without
it the benchmark falls back to aiosmtpd with a warning: aiosmtpd itself tops
out near 700-1,200 messages per second, so the figures are then the sink's.

Each measurement runs in its own subprocess so that its peak RSS is its own.
Not a test: it prints figures for closing notes.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(HERE))

from common import FROM, mailmerge, peak_rss_mb, recipients  # noqa: E402  (bench/ is not a package)


class ChildPeaks:
    """Peak memory of the render processes, sampled while they run.

    Not ``RUSAGE_CHILDREN``: a spawned child is forked before it execs, and
    for that instant its RSS counts all of the parent's pages.  Linux's
    ``VmHWM`` is reset by exec, so it is the child's own peak.
    """

    def __init__(self) -> None:
        import threading

        self.peaks: dict[int, float] = {}
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        import psutil

        me = psutil.Process()
        while not self.done.wait(0.2):
            for child in me.children(recursive=True):
                try:
                    status = Path(f"/proc/{child.pid}/status")
                    if status.exists():
                        line = next(x for x in status.read_text().splitlines() if x.startswith("VmHWM:"))
                        mb = int(line.split()[1]) / 1024
                    else:
                        mb = child.memory_info().rss / 2**20
                except (psutil.Error, OSError, StopIteration):
                    continue
                self.peaks[child.pid] = max(mb, self.peaks.get(child.pid, 0.0))

    def __enter__(self) -> ChildPeaks:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.thread.join()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- the sink --------------------------------------------------------------------


class Sink:
    def __init__(self) -> None:
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.controller = None
        exe = shutil.which("smtp-sink") or ("/usr/sbin/smtp-sink" if Path("/usr/sbin/smtp-sink").exists() else None)
        self.kind = "smtp-sink" if exe else "aiosmtpd"
        self.exe = exe

    def __enter__(self) -> Sink:
        if self.exe:
            args = [self.exe, "-c", f"127.0.0.1:{self.port}", "1000"]
            if hasattr(os, "geteuid") and os.geteuid() == 0:
                args[1:1] = ["-u", "nobody"]  # smtp-sink refuses to run as root without it
            self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        else:
            print(
                "WARNING: smtp-sink not found (Debian: apt-get install postfix, daemon kept from starting); "
                "falling back to aiosmtpd, which is itself the bottleneck near 700-1,200 messages/s",
                file=sys.stderr,
            )
            from aiosmtpd.controller import Controller

            class Discard:
                async def handle_DATA(self, server, session, envelope):
                    return "250 2.0.0 OK"

            self.controller = Controller(Discard(), hostname="127.0.0.1", port=self.port)
            self.controller.start()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
        if self.controller is not None:
            self.controller.stop()


# -- measurements (each in its own subprocess) -------------------------------------------


def _campaign():
    from lgp_mailer.config import load_campaign
    from lgp_mailer.event import load_event

    campaign = load_campaign(REPO / "lgp-mailer.toml")
    return campaign, load_event(campaign.event_path)


def lgp_worker(n: int, port: int, connections: int) -> dict:
    from lgp_mailer.campaign.run import run_parallel
    from lgp_mailer.campaign.session import SendOptions, SendSession
    from lgp_mailer.ledger.store import open_ledger
    from lgp_mailer.smtp.settings import SmtpSettings
    from lgp_mailer.smtp.transport import SmtpTransport

    campaign, event = _campaign()
    people = list(recipients(n))
    sheet = SimpleNamespace(recipients=people, rejected=[])
    settings = SmtpSettings(host="127.0.0.1", port=port, security="none", timeout=30)
    with tempfile.TemporaryDirectory(dir=HERE) as tmp:  # on disk, not tmpfs: fsyncs are real
        ledger = open_ledger(Path(tmp) / "sent-log.sqlite3")
        start = time.perf_counter()
        with SendSession(campaign, ledger, "invitation", recipients=people, event=event, sheet=sheet) as session:
            synced = time.perf_counter()
            with ChildPeaks() as children:
                report = run_parallel(
                    session,
                    lambda: SmtpTransport(settings, local_hostname="bench.localhost"),
                    connections,
                    SendOptions(),
                )
        seconds = time.perf_counter() - start
        sent = report.count("sent")
        counts = ledger.counts(campaign.campaign_id, "invitation")
        ledger.close()
    assert sent == n == counts["sent"], (sent, counts, report.stopped)
    own, child = peak_rss_mb(), sum(children.peaks.values())
    return {
        "n": n,
        "connections": connections,
        "seconds": seconds,
        "per_second": n / seconds,
        "send_per_second": n / (seconds - (synced - start)),
        "child_processes": len(children.peaks),
        "peak_rss_own_mb": own,
        "peak_rss_child_mb": child,
        "peak_rss_mb": own + child,
    }


def smtplib_worker(n: int, port: int) -> dict:
    import smtplib

    from lgp_mailer.mail.build import MessageFactory

    campaign, event = _campaign()
    factory = MessageFactory(campaign, event)
    prebuilt = [(r.email, factory.build(r).as_bytes()) for r in recipients(min(n, 200))]
    start = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        for i in range(n):
            rcpt, data = prebuilt[i % len(prebuilt)]
            smtp.sendmail(FROM, [rcpt], data)
    seconds = time.perf_counter() - start
    return {"n": n, "seconds": seconds, "per_second": n / seconds, "peak_rss_mb": peak_rss_mb()}


def run_worker(*args: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--worker", *args], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


# -- main -----------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--connections", default="1,4", help="comma-separated, e.g. 1,4")
    parser.add_argument("--memory-n", type=int, default=0, help="also measure peak memory for this many (e.g. 100000)")
    parser.add_argument("--skip-mailmerge", action="store_true")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        mode, n, port, *rest = args.worker
        result = lgp_worker(int(n), int(port), int(rest[0])) if mode == "lgp" else smtplib_worker(int(n), int(port))
        print(json.dumps(result))
        return
    results: dict[str, dict] = {}
    with Sink() as sink, tempfile.TemporaryDirectory() as tmp:
        print(f"sink: {sink.kind} on 127.0.0.1:{sink.port}; N = {args.n}; {os.cpu_count()} CPU(s)", flush=True)
        if not args.skip_mailmerge:
            results["mailmerge"] = mailmerge(args.n, Path(tmp), port=sink.port)
            print(f"  mailmerge done: {results['mailmerge']['per_second']:.0f}/s", flush=True)
        results["smtplib, 1 reused connection"] = run_worker("smtplib", str(args.n), str(sink.port))
        for k in (int(c) for c in args.connections.split(",")):
            results[f"lgp-mailer, {k} connection(s)"] = run_worker("lgp", str(args.n), str(sink.port), str(k))
            print(f"  lgp-mailer {k} done", flush=True)
        if args.memory_n:
            results[f"lgp-mailer, 4 connections, N={args.memory_n}"] = run_worker(
                "lgp", str(args.memory_n), str(sink.port), "4"
            )
    base = results.get("mailmerge")
    print(f"\n{'run':<42}{'N':>8}{'msg/s':>9}{'peak MB':>9}{'vs mailmerge':>14}")
    for name, r in results.items():
        ratio = f"{r['per_second'] / base['per_second']:.2f}x" if base else "-"
        peak = f"{r['peak_rss_mb']:.0f}" if "peak_rss_mb" in r else "-"
        print(f"{name:<42}{r['n']:>8}{r['per_second']:>9.0f}{peak:>9}{ratio:>14}")
    print(
        "lgp-mailer msg/s include loading the recipients into the ledger; the send loop alone: "
        + ", ".join(
            f"{r['connections']} conn {r['send_per_second']:.0f}/s" for r in results.values() if "send_per_second" in r
        )
    )
    for name, r in results.items():
        if "child_processes" in r:
            print(
                f"{name}: peak MB = sender {r['peak_rss_own_mb']:.0f} + {r['child_processes']} child "
                f"process(es) (render, and multiprocessing's resource tracker) {r['peak_rss_child_mb']:.0f}"
            )


if __name__ == "__main__":
    main()
