"""One sender per campaign: a run lock kept in the ledger database.

Hourly scheduled runs can overlap when a batch is slow; two runs sending the
same campaign at once could send a message twice.  The lock is a row in
``run_locks`` (holder, PID, host, heartbeat), taken inside a ``BEGIN
IMMEDIATE`` transaction, so of two processes that both see a free or stale
lock only one can write it.  No ``fcntl`` and no ``os.kill(pid, 0)`` (which
kills on Windows): liveness comes from ``psutil``.

A lock is stale, and taken over, when

* its process ran on this host and is gone (or the PID now belongs to a
  process started after the lock was taken, i.e. the PID was reused), or
* its heartbeat is older than ``stale_after`` (a dead host, a frozen run).
"""

from __future__ import annotations

import getpass
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

import psutil

from lgp_mailer.errors import LockedError
from lgp_mailer.ledger.store import Ledger

log = logging.getLogger(__name__)

STALE_AFTER = timedelta(minutes=10)
HEARTBEAT_EVERY = 60.0  # seconds; well inside STALE_AFTER


def _holder() -> str:
    try:
        user = getpass.getuser()
    except Exception:  # no login name in some containers and services
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def _started_after(pid: int, moment: datetime) -> bool:
    """True if ``pid`` is a process created after ``moment`` (a reused PID)."""
    try:
        return bool(psutil.Process(pid).create_time() > moment.timestamp() + 1.0)
    except (psutil.Error, OSError):
        return False


class RunLock:
    """``with RunLock(ledger, campaign_id):`` holds the campaign's send lock.

    ``heartbeat()`` refreshes it (call it between messages) and raises
    ``LockedError`` if another run has taken it over meanwhile.  Unless
    ``heartbeat_every`` is None, a daemon thread also beats, so long SMTP
    waits or backoff sleeps do not make a live run look stale.
    """

    def __init__(
        self,
        ledger: Ledger,
        campaign_id: str,
        *,
        stale_after: timedelta = STALE_AFTER,
        heartbeat_every: float | None = HEARTBEAT_EVERY,
        pid_exists: Callable[[int], bool] = psutil.pid_exists,
    ) -> None:
        self.ledger = ledger
        self.campaign_id = campaign_id
        self.stale_after = stale_after
        self.heartbeat_every = heartbeat_every
        self.pid_exists = pid_exists
        self.token = uuid.uuid4().hex
        self.holder = _holder()
        self.pid = os.getpid()
        self.hostname = socket.gethostname()
        self.held = False
        self.took_over: dict[str, object] | None = None  # the stale lock replaced, if any
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- staleness ----------------------------------------------------------

    def _is_stale(self, row: dict[str, object]) -> bool:
        now = self.ledger.clock()
        beat = datetime.fromisoformat(str(row["heartbeat_at"]))
        if now - beat > self.stale_after:
            return True
        if row["hostname"] == self.hostname:
            pid = int(str(row["pid"]))
            if not self.pid_exists(pid):
                return True
            return _started_after(pid, datetime.fromisoformat(str(row["acquired_at"])))
        return False

    # -- acquire / beat / release ------------------------------------------

    def acquire(self) -> RunLock:
        now = self.ledger.now()
        with self.ledger.transaction() as db:
            found = db.execute("SELECT * FROM run_locks WHERE campaign_id = ?", (self.campaign_id,)).fetchone()
            if found is not None:
                row = dict(found)
                if row["token"] != self.token and not self._is_stale(row):
                    raise LockedError(
                        f"campaign {self.campaign_id!r} is being sent by {row['holder']} "
                        f"(pid {row['pid']}) since {row['acquired_at']}, last heartbeat {row['heartbeat_at']}",
                        file=self.ledger.path,
                    )
                db.execute("DELETE FROM run_locks WHERE campaign_id = ?", (self.campaign_id,))
                if row["token"] != self.token:
                    self.took_over = row
            db.execute(
                "INSERT INTO run_locks (campaign_id, holder, pid, hostname, token, acquired_at, heartbeat_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (self.campaign_id, self.holder, self.pid, self.hostname, self.token, now, now),
            )
        if self.took_over:
            log.warning(
                "took over a stale run lock of campaign %r from %s (pid %s, last heartbeat %s)",
                self.campaign_id,
                self.took_over["holder"],
                self.took_over["pid"],
                self.took_over["heartbeat_at"],
            )
        self.held = True
        if self.heartbeat_every:
            self._stop.clear()
            self._thread = threading.Thread(target=self._beat_forever, name="lgp-runlock", daemon=True)
            self._thread.start()
        return self

    def heartbeat(self) -> None:
        """Refresh the lock; LockedError if it is no longer ours."""
        with self.ledger.transaction() as db:
            cur = db.execute(
                "UPDATE run_locks SET heartbeat_at = ? WHERE campaign_id = ? AND token = ?",
                (self.ledger.now(), self.campaign_id, self.token),
            )
            if cur.rowcount != 1:
                self.held = False
                raise LockedError(
                    f"campaign {self.campaign_id!r}: the run lock was lost (taken over by another run)",
                    file=self.ledger.path,
                )

    def _beat_forever(self) -> None:
        assert self.heartbeat_every
        while not self._stop.wait(self.heartbeat_every):
            try:
                self.heartbeat()
            except Exception as error:  # the main thread's next heartbeat() reports it
                log.warning("run lock heartbeat failed: %s", error)
                return

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        self._thread = None
        if not self.held:
            return
        with self.ledger.transaction() as db:
            db.execute("DELETE FROM run_locks WHERE campaign_id = ? AND token = ?", (self.campaign_id, self.token))
        self.held = False

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def current_lock(ledger: Ledger, campaign_id: str) -> dict[str, object] | None:
    """The lock row of a campaign, for ``status``; None when nobody holds it."""
    with ledger.read() as db:
        found = db.execute("SELECT * FROM run_locks WHERE campaign_id = ?", (campaign_id,)).fetchone()
    return dict(found) if found else None


__all__ = ["HEARTBEAT_EVERY", "STALE_AFTER", "RunLock", "current_lock"]
