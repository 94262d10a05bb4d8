"""The run lock: one sender per campaign, across processes, stale locks taken over."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from lgp_mailer.errors import LockedError
from lgp_mailer.ledger.runlock import RunLock, current_lock
from lgp_mailer.ledger.store import open_ledger, utc_iso

ROOT = Path(__file__).resolve().parents[1]
C = "2027-klima"

CONTENDER = """
import sys, time
sys.path.insert(0, sys.argv[3])
from pathlib import Path
from lgp_mailer.errors import LockedError
from lgp_mailer.ledger.runlock import RunLock
from lgp_mailer.ledger.store import open_ledger

ledger = open_ledger(Path(sys.argv[1]))
start = float(sys.argv[2])
while time.time() < start:
    time.sleep(0.001)
try:
    with RunLock(ledger, "2027-klima"):
        print("won", flush=True)
        time.sleep(float(sys.argv[4]))
except LockedError as error:
    print("locked:", error, flush=True)
"""


@pytest.fixture
def ledger(ledger_target):
    with open_ledger(ledger_target) as db:
        yield db


def insert_lock(ledger, *, pid: int, hostname: str, beat_age: timedelta = timedelta(0)) -> None:
    when = utc_iso(ledger.clock() - beat_age)
    with ledger.transaction() as db:
        db.execute(
            "INSERT INTO run_locks VALUES (?, ?, ?, ?, ?, ?, ?)",
            (C, f"someone@{hostname}", pid, hostname, "their-token", when, when),
        )


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_acquire_release_and_a_second_run_is_refused(ledger):
    with RunLock(ledger, C, heartbeat_every=None) as lock:
        row = current_lock(ledger, C)
        assert row["pid"] == lock.pid and row["hostname"] == socket.gethostname()
        with pytest.raises(LockedError) as caught:
            RunLock(ledger, C, heartbeat_every=None).acquire()
        message = str(caught.value)
        assert lock.holder in message and f"pid {lock.pid}" in message and row["acquired_at"] in message
        with RunLock(ledger, "another-campaign", heartbeat_every=None):  # other campaigns are free
            pass
    assert current_lock(ledger, C) is None


def test_stale_lock_of_a_dead_process_is_taken_over(ledger, caplog):
    pid = dead_pid()
    insert_lock(ledger, pid=pid, hostname=socket.gethostname())
    with RunLock(ledger, C, heartbeat_every=None) as lock:
        assert lock.took_over["pid"] == pid
        assert current_lock(ledger, C)["token"] == lock.token
    assert "took over a stale run lock" in caplog.text


def test_lock_of_a_killed_sender_is_taken_over(tmp_path):
    path = tmp_path / "log.sqlite3"
    open_ledger(path).close()
    proc = subprocess.Popen(
        [sys.executable, "-c", CONTENDER, str(path), "0", str(ROOT), "60"],
        stdout=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    )
    try:
        assert proc.stdout.readline().strip() == "won"
        with open_ledger(path) as ledger:
            with pytest.raises(LockedError):
                RunLock(ledger, C, heartbeat_every=None).acquire()
            proc.kill()  # SIGKILL / TerminateProcess: no cleanup runs
            proc.wait()
            with RunLock(ledger, C, heartbeat_every=None) as lock:
                assert lock.took_over["pid"] == proc.pid
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()


def test_lock_from_another_host_is_stale_only_after_the_heartbeat_threshold(ledger):
    insert_lock(ledger, pid=1, hostname="other-host", beat_age=timedelta(minutes=9))
    with pytest.raises(LockedError, match="someone@other-host"):
        RunLock(ledger, C, heartbeat_every=None).acquire()
    with ledger.transaction() as db:
        db.execute("DELETE FROM run_locks")
    insert_lock(ledger, pid=1, hostname="other-host", beat_age=timedelta(minutes=11))
    with RunLock(ledger, C, heartbeat_every=None) as lock:
        assert lock.took_over["hostname"] == "other-host"


def test_live_process_on_this_host_keeps_its_lock(ledger):
    # PID 1-like: a process that certainly exists (ourselves' parent) and
    # started before the lock was taken.
    import os

    insert_lock(ledger, pid=os.getppid(), hostname=socket.gethostname())
    with pytest.raises(LockedError):
        RunLock(ledger, C, heartbeat_every=None).acquire()


def test_heartbeat_refreshes_and_detects_a_lost_lock(ledger):
    lock = RunLock(ledger, C, heartbeat_every=None).acquire()
    before = current_lock(ledger, C)["heartbeat_at"]
    time.sleep(0.01)
    lock.heartbeat()
    assert current_lock(ledger, C)["heartbeat_at"] > before
    with ledger.transaction() as db:  # another run decided we were stale
        db.execute("UPDATE run_locks SET token = 'theirs'")
    with pytest.raises(LockedError, match="lost"):
        lock.heartbeat()
    lock.release()
    assert current_lock(ledger, C)["token"] == "theirs"  # not ours to delete


def test_background_heartbeat(ledger):
    with RunLock(ledger, C, heartbeat_every=0.02):
        first = current_lock(ledger, C)["heartbeat_at"]
        deadline = time.monotonic() + 5
        while current_lock(ledger, C)["heartbeat_at"] == first and time.monotonic() < deadline:
            time.sleep(0.01)
        assert current_lock(ledger, C)["heartbeat_at"] > first
    assert current_lock(ledger, C) is None


@pytest.mark.slow
def test_concurrent_processes_only_one_wins(tmp_path):
    path = tmp_path / "log.sqlite3"
    open_ledger(path).close()
    start = time.time() + 3.0  # all of them try at the same moment
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CONTENDER, str(path), str(start), str(ROOT), "3"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )
        for _ in range(4)
    ]
    outputs = [p.communicate(timeout=60) for p in procs]
    lines = [out.strip() for out, _ in outputs]
    assert sum(line == "won" for line in lines) == 1, (lines, [err for _, err in outputs])
    assert sum(line.startswith("locked: ") and "is being sent by" in line for line in lines) == 3
