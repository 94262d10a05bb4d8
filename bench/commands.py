"""Whole-process benchmark: the commands people type, timed as processes.

    python bench/commands.py [--quick] [--n 2000,10000,100000] [--mailmerge-max 10000]

For each N (generated recipients in a fresh campaign folder made by
``lgp-mailer init``, with a fresh sent log each run), one after another on
the same machine so that ratios are meaningful:

* ``lgp-mailer send --dry-run`` beside mailmerge's ``--dry-run`` of the same
  HTML+text letter (mailmerge runs in ``bench/.venv-mailmerge``; above
  ``--mailmerge-max`` it is left out, it takes minutes);
* ``lgp-mailer preview``;
* ``lgp-mailer send --yes`` to Postfix's ``smtp-sink`` on 1 and on 4
  connections, beside ``smtp-source -d -s 1`` and ``-s 4`` sending as many
  messages of the same size to the same sink (the machine's ceiling);
* with ``--sink-delay-ms D``, the same sends again (the first
  ``--sink-delay-max`` letters) to a relay that waits D ms before it answers
  each message (``delayed_sink.py``), where extra connections pay;
* ``lgp-mailer --help`` and ``--version`` start-up, against /work/main's
  code when it is there (``--baseline``).

Peak memory is that of the process tree: the sum of each process's peak
resident size (``VmHWM`` in ``/proc/PID/status``, Linux), sampled every
20 ms while the command runs, render workers included.  The machine's load
(``os.getloadavg``) is sampled alongside and reported as the highest
1-minute figure seen during the run.  Not a test: it prints a table of
msgs/s, MiB and ratios for closing notes.  Postfix is installed here when
``smtp-sink`` is missing (Debian/Ubuntu, as root; its daemon is not started).
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from common import mailmerge_command, recipients  # noqa: E402  (bench/ is not a package)

LGP = [sys.executable, "-m", "lgp_mailer"]
SBIN = Path("/usr/sbin")


@dataclass
class Measured:
    seconds: float
    peak_mib: float  # sum over the tree of each process's VmHWM
    processes: int
    load: float  # highest 1-minute load average seen during the run
    phase: tuple[int, float] | None = None  # send: (messages, seconds) from the first progress line to the end

    def rate(self, n: int) -> float:
        return n / self.seconds


def _hwm_kib(pid: int) -> int | None:
    try:
        text = Path(f"/proc/{pid}/status").read_text(encoding="utf-8")
    except OSError:
        return None
    match = re.search(r"^VmHWM:\s+(\d+) kB", text, re.M)
    return int(match.group(1)) if match else None


def _cmdline(pid: int) -> bytes | None:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text(encoding="utf-8")
    except OSError:
        return []
    return [int(p) for p in text.split()]


def measure(cmd: list[str], *, cwd: Path, env: dict[str, str] | None = None) -> Measured:
    """Run ``cmd`` to completion; its time, the tree's summed peak memory and the load."""
    # pid -> (command line, peak).  A child sampled between its fork and its exec (a spawned
    # worker, the resource tracker) shares the parent's memory and shows the parent's VmHWM:
    # the peak counts from the exec on, when the command line changes.
    peaks: dict[int, tuple[bytes, int]] = {}
    load = [os.getloadavg()[0]]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    done = threading.Event()
    progress: list[tuple[float, int]] = []  # (time, messages done) of send's plain progress lines

    def read_stdout() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            match = re.match(rb"\[(\d+)/\d+\] sent", line)
            if match:
                progress.append((time.perf_counter(), int(match.group(1))))

    def sample() -> None:
        while not done.is_set():
            tree, seen = [proc.pid], 0
            while seen < len(tree):
                tree += _children(tree[seen])
                seen += 1
            for pid in tree:
                cmdline, hwm = _cmdline(pid), _hwm_kib(pid)
                if hwm is None or cmdline is None:
                    continue
                seen_cmd, seen = peaks.get(pid, (cmdline, 0))
                peaks[pid] = (cmdline, max(seen, hwm) if seen_cmd == cmdline else hwm)
            load.append(os.getloadavg()[0])
            done.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    reader = threading.Thread(target=read_stdout, daemon=True)
    reader.start()
    assert proc.stderr is not None
    err = proc.stderr.read()
    proc.wait()
    reader.join()
    seconds = time.perf_counter() - start
    done.set()
    sampler.join()
    phase = None
    if len(progress) >= 2:  # the first line came after its 100th message: time the rest
        (t0, n0), (t1, n1) = progress[0], progress[-1]
        phase = (n1 - n0, t1 - t0)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}: {err.decode(errors='replace')[-2000:]}")
    if os.environ.get("LGP_BENCH_VERBOSE"):
        print("  per process (MiB):", sorted(round(v / 1024) for _, v in peaks.values()), file=sys.stderr)
    return Measured(seconds, sum(v for _, v in peaks.values()) / 1024, len(peaks), max(load), phase)


# -- set-up ---------------------------------------------------------------------------------


def ensure_postfix() -> None:
    """smtp-sink and smtp-source come with Debian's postfix package; install it if missing."""
    if (SBIN / "smtp-sink").exists() and (SBIN / "smtp-source").exists():
        return
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    # Keep the Postfix daemon from starting: only the two test tools are wanted.
    policy = Path("/usr/sbin/policy-rc.d")
    made = not policy.exists()
    if made:
        policy.write_text("#!/bin/sh\nexit 101\n", encoding="utf-8")
        policy.chmod(0o755)
    try:
        subprocess.run(["apt-get", "install", "-y", "postfix"], check=True, env=env)
    finally:
        if made:
            policy.unlink()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Sink:
    """Postfix's smtp-sink on 127.0.0.1: accepts and discards every message."""

    def __enter__(self) -> Sink:
        self.port = free_port()
        user = ["-u", "nobody"] if os.geteuid() == 0 else []
        self.proc = subprocess.Popen(
            [str(SBIN / "smtp-sink"), *user, "-c", f"127.0.0.1:{self.port}", "256"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        return _started(self, "smtp-sink")

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        self.proc.wait()


SinkT = TypeVar("SinkT", bound=Sink)


def _started(sink: SinkT, name: str) -> SinkT:
    """``sink`` once its port accepts connections (10 s at most)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", sink.port), timeout=0.2).close()
            return sink
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"{name} did not start")


class DelayedSink(Sink):
    """``delayed_sink.py`` on 127.0.0.1: a relay that answers each message after ``delay_ms``."""

    def __init__(self, delay_ms: float) -> None:
        self.delay_ms = delay_ms

    def __enter__(self) -> DelayedSink:
        self.port = free_port()
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "delayed_sink.py"), "--port", str(self.port), "--delay-ms", str(self.delay_ms)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        return _started(self, "delayed_sink.py")


def make_campaign(root: Path, n: int, port: int) -> Path:
    """A campaign folder made by ``lgp-mailer init --example``, with N generated recipients and the sink as relay.

    The example conference is moved to 2099: send refuses a conference that has started.
    """
    subprocess.run([*LGP, "init", str(root), "--example"], check=True, stdout=subprocess.DEVNULL)
    for event in (root / "events").glob("*.toml"):
        event.write_text(event.read_text(encoding="utf-8").replace("date = 2020-", "date = 2099-"), encoding="utf-8")
    sheet = root / "recipients" / "bench.csv"
    with sheet.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["Megye", "Önkormányzat", "Név", "Beosztás", "Nem", "E-mail"])
        for r in recipients(n):
            writer.writerow([r.county, r.municipalities[0], r.name, "polgármester", "", r.email])
    config = root / "lgp-mailer.toml"
    text = re.sub(r'(?m)^recipients = ".*"$', 'recipients = "recipients/bench.csv"', config.read_text(encoding="utf-8"))
    text = re.sub(r"(?ms)^\[smtp\].*", "", text)
    text += f'\n[smtp]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\n'
    config.write_text(text, encoding="utf-8")
    return root


def smtp_source(port: int, n: int, sessions: int, size: int, workdir: Path) -> Measured:
    cmd = [
        str(SBIN / "smtp-source"),
        "-d",
        "-s",
        str(sessions),
        "-m",
        str(n),
        "-l",
        str(size),
        "-f",
        "meghivo@lgp.example.org",
        "-t",
        "hivatal@telepules.example",
        f"127.0.0.1:{port}",
    ]
    return measure(cmd, cwd=workdir)


def startup(code: Path | None, arg: str, runs: int = 9) -> tuple[float, float | None]:
    """Median seconds of ``python -m lgp_mailer ARG``, ours and (``code`` first on the path) the
    baseline's, the two runs alternating so that a change in the machine's load hits both alike."""
    base_env = dict(os.environ, PYTHONPATH=str(code)) if code is not None else None
    ours: list[float] = []
    base: list[float] = []
    for _ in range(runs):
        for env, times in ((None, ours), (base_env, base)):
            if env is None and times is base:
                continue
            start = time.perf_counter()
            subprocess.run([*LGP, arg], check=True, stdout=subprocess.DEVNULL, env=env)
            times.append(time.perf_counter() - start)
    return statistics.median(ours), statistics.median(base) if base else None


# -- one N ----------------------------------------------------------------------------------


def run_n(
    n: int,
    *,
    mailmerge_max: int,
    connections: tuple[int, ...],
    batch: int | None = None,
    sink_delay_ms: float = 0.0,
    sink_delay_max: int = 1000,
) -> list[str]:
    """Every command for N recipients; with ``batch``, the lgp-mailer commands do only the first ``batch``
    letters of the N (``--batch``/``--limit``): the sheet, the sent log and the plan are those of N.
    With ``sink_delay_ms``, the sends are repeated (the first ``sink_delay_max`` letters) to a delayed sink."""
    out: list[str] = []
    limit = ["--batch", str(batch)] if batch else []
    done = batch or n
    with tempfile.TemporaryDirectory(prefix=f"lgp-bench-{n}-") as tmp, Sink() as sink:
        work = Path(tmp)
        camp = make_campaign(work / "kampany", n, sink.port)
        env = dict(os.environ, LGP_MAILER_DB=str(work / "dry.sqlite3"))

        def show(label: str, m: Measured, extra: str = "", count: int = done) -> None:
            label += f" (first {count})" if count < n and label.startswith("lgp") else ""
            out.append(
                f"{n:>7} {label:<34} {m.rate(count):>8.0f}/s {m.seconds:>8.1f} s {m.peak_mib:>7.0f} MiB"
                f" ({m.processes} proc) load {m.load:.2f}{extra}"
            )

        dry = measure([*LGP, "send", "--campaign", str(camp), "--dry-run", *limit], cwd=work, env=env)
        show("lgp-mailer send --dry-run", dry)
        size = max(p.stat().st_size for p in (camp / "outbox" / "invitation").glob("0001-*.eml"))
        if n <= mailmerge_max:
            mm_dir = work / "mailmerge"
            mm_dir.mkdir()
            mm = measure(mailmerge_command(n, mm_dir), cwd=mm_dir)
            show("mailmerge --dry-run", mm, f"  → lgp/mailmerge {dry.rate(done) / mm.rate(n):.2f}x")
        shutil.rmtree(camp / "outbox", ignore_errors=True)
        preview_limit = ["--limit", str(batch)] if batch else []
        preview = measure([*LGP, "preview", "--campaign", str(camp), *preview_limit], cwd=work, env=env)
        show("lgp-mailer preview", preview)
        shutil.rmtree(camp / "preview", ignore_errors=True)
        _sends(camp, work, sink.port, connections, size, done, limit, show, out, "")
        if sink_delay_ms > 0:
            count = min(done, sink_delay_max)
            with DelayedSink(sink_delay_ms) as slow:
                where = f" +{sink_delay_ms:g}ms"
                first = ["--batch", str(count)] if count < n else []
                _sends(camp, work, slow.port, connections, size, count, first, show, out, where)
    return out


def _sends(
    camp: Path,
    work: Path,
    port: int,
    connections: tuple[int, ...],
    size: int,
    done: int,
    limit: list[str],
    show: Callable[..., None],
    out: list[str],
    where: str,
) -> dict[int, Measured]:
    """``smtp-source`` and ``lgp-mailer send`` to the sink on ``port``, for each connection count,
    then the 4/1 ratios; ``where`` labels a sink other than the campaign's own (``--port``)."""
    sends: dict[int, Measured] = {}
    sources: dict[int, Measured] = {}
    other_port = ["--port", str(port)] if where else []
    for k in connections:
        source = smtp_source(port, done, k, size, work)
        sources[k] = source
        show(f"smtp-source -d -s {k} ({size} B){where}", source, count=done)
        senv = dict(os.environ, LGP_MAILER_DB=str(work / f"send-{k}{'-slow' if where else ''}.sqlite3"))
        sends[k] = measure(
            [*LGP, "send", "--campaign", str(camp), "--yes", "--connections", str(k), *other_port, *limit],
            cwd=work,
            env=senv,
        )
        show(
            f"lgp-mailer send, {k} connection(s){where}",
            sends[k],
            f"  → lgp/smtp-source {sends[k].rate(done) / source.rate(done):.0%}",
            count=done,
        )
        prefix = out[-1][:7]
        if sends[k].phase:
            sent, took = sends[k].phase
            out.append(
                f"{prefix}   of which the SMTP phase ({sent} msgs)   {sent / took:>8.0f}/s"
                f"  → lgp/smtp-source {sent / took / source.rate(done):.0%}"
            )
    if 1 in sends and 4 in sends:
        prefix = out[-1][:7]
        out.append(f"{prefix} {'send: 4 connections / 1' + where:<34} {sends[4].rate(done) / sends[1].rate(done):.2f}x")
        one, four = sends[1].phase, sends[4].phase
        if one and four:
            out.append(
                f"{prefix} {'SMTP phase: 4 connections / 1' + where:<34} {four[0] / four[1] / (one[0] / one[1]):.2f}x"
            )
        out.append(
            f"{prefix} {'smtp-source: -s 4 / -s 1' + where:<34} {sources[4].rate(done) / sources[1].rate(done):.2f}x"
        )
    return sends


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", default="2000,10000,100000", help="recipient counts, comma-separated")
    parser.add_argument("--quick", action="store_true", help="small N (500,2000) for a smoke run")
    parser.add_argument("--mailmerge-max", type=int, default=10000, help="largest N mailmerge is run for")
    parser.add_argument("--connections", default="1,4", help="SMTP connection counts to send with")
    parser.add_argument(
        "--batch-from",
        type=int,
        default=50000,
        help="from this N on, lgp-mailer does only --batch-size letters of the N (memory runs)",
    )
    parser.add_argument("--batch-size", type=int, default=5000, help="letters done at N >= --batch-from")
    parser.add_argument(
        "--sink-delay-ms",
        type=float,
        default=0.0,
        help="also send to a relay that answers each message after this many ms (0: only smtp-sink)",
    )
    parser.add_argument(
        "--sink-delay-max", type=int, default=1000, help="letters sent to the delayed relay (the first of the N)"
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        default=Path("/work/main"),
        help="a checkout of lgp-mailer to compare start-up against (skipped if missing)",
    )
    args = parser.parse_args()
    ensure_postfix()
    counts = [500, 2000] if args.quick else [int(x) for x in args.n.split(",")]
    connections = tuple(int(x) for x in args.connections.split(","))
    print(f"Whole-process benchmark on {os.cpu_count()} cores; load before: {os.getloadavg()[0]:.2f}", flush=True)
    for arg in ("--help", "--version"):
        if subprocess.run([*LGP, arg], capture_output=True).returncode != 0:
            print(f"start-up {arg:<9} (lgp-mailer has no {arg} option)", flush=True)
            continue
        ours, base = startup(args.baseline if (args.baseline / "lgp_mailer").is_dir() else None, arg)
        print(
            f"start-up {arg:<9} {ours * 1000:6.0f} ms"
            + (f"   baseline {base * 1000:6.0f} ms → {ours / base:.2f}x" if base else ""),
            flush=True,
        )
    for n in counts:
        batch = args.batch_size if n >= args.batch_from else None
        lines = run_n(
            n,
            mailmerge_max=args.mailmerge_max,
            connections=connections,
            batch=batch,
            sink_delay_ms=args.sink_delay_ms,
            sink_delay_max=args.sink_delay_max,
        )
        for line in lines:
            print(line, flush=True)


if __name__ == "__main__":
    main()
