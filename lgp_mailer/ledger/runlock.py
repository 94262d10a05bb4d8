"""Who sends a campaign: one lease per sender, kept in the ledger database.

Hourly scheduled runs can overlap when a batch is slow, and a second plain
run of a campaign being sent is refused, as it always was.  Each sender holds
a lease, a row in ``run_locks`` (holder, PID, host, a random token, heartbeat),
taken inside a write transaction, so of two processes that both see no live
lease only one can write its own.  With ``join=True`` (``send --join``, a
PostgreSQL sent log only) a sender takes a lease beside the live ones: several
senders then drain one campaign, each row claimed by exactly one of them and
marked with its token (``Ledger.claim``).  No ``fcntl`` and no
``os.kill(pid, 0)`` (which kills on Windows): liveness comes from ``psutil``.

A sender's identity is its token, ``host:pid:random``, written on every row
it claims (``messages.sender``): the random part tells two runs of one reused
PID apart.  A lease is stale, and removed by the next
sender to start (whose ``recover_interrupted`` then turns the dead sender's
``sending`` rows into ``unknown``, and no one else's), when

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
from lgp_mailer.i18n import _
from lgp_mailer.ledger.store import Ledger
from lgp_mailer.quoting import quoted

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


def lease_is_stale(
    row: dict[str, object],
    now: datetime,
    *,
    hostname: str | None = None,
    stale_after: timedelta = STALE_AFTER,
    pid_exists: Callable[[int], bool] = psutil.pid_exists,
    reused_pid: bool = True,
) -> bool:
    """True when the lease ``row`` is a dead run's: the next sender to start removes it.

    ``reused_pid=False`` skips the PID's start time (a PID reused since): ``status``
    shows what README promises (PID gone, or no heartbeat) even on a test's fixed clock."""
    beat = datetime.fromisoformat(str(row["heartbeat_at"]))
    if now - beat > stale_after:
        return True
    if row["hostname"] == (hostname or socket.gethostname()):
        pid = int(str(row["pid"]))
        if not pid_exists(pid):
            return True
        return reused_pid and _started_after(pid, datetime.fromisoformat(str(row["acquired_at"])))
    return False


class RunLock:
    """``with RunLock(ledger, campaign_id):`` holds a lease on sending the campaign.

    Refused (``LockedError``) while another sender holds a live lease, unless
    ``join``.

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
        join: bool = False,
    ) -> None:
        self.ledger = ledger
        self.campaign_id = campaign_id
        self.stale_after = stale_after
        self.heartbeat_every = heartbeat_every
        self.pid_exists = pid_exists
        self.join = join
        # The sender's identity, recorded on every row it claims: readable (host
        # and PID) and unique (a random part, so a reused PID is another sender).
        self.token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex}"
        self.holder = _holder()
        self.pid = os.getpid()
        self.hostname = socket.gethostname()
        self.held = False
        self.took_over: dict[str, object] | None = None  # a stale lease removed, if any
        self.joined: list[dict[str, object]] = []  # the live senders this one joined
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- staleness ----------------------------------------------------------

    def _is_stale(self, row: dict[str, object]) -> bool:
        return lease_is_stale(
            row, self.ledger.clock(), hostname=self.hostname, stale_after=self.stale_after, pid_exists=self.pid_exists
        )

    # -- acquire / beat / release ------------------------------------------

    def acquire(self) -> RunLock:
        now = self.ledger.now()
        with self.ledger.transaction() as db:
            found = db.execute(
                "SELECT * FROM run_locks WHERE campaign_id = ? ORDER BY acquired_at, token", (self.campaign_id,)
            ).fetchall()
            live = []
            for row in map(dict, found):
                if row["token"] == self.token:
                    db.execute("DELETE FROM run_locks WHERE token = ?", (self.token,))
                elif self._is_stale(row):
                    db.execute("DELETE FROM run_locks WHERE token = ?", (row["token"],))
                    self.took_over = row
                else:
                    live.append(row)
            if live and not self.join:
                row = live[0]
                raise LockedError(
                    _(
                        "campaign {campaign_id} is being sent by {holder} (pid {pid}) since {acquired_at}, last "
                        "heartbeat {heartbeat_at}"
                    ).format(
                        campaign_id=quoted(self.campaign_id),
                        holder=row["holder"],
                        pid=row["pid"],
                        acquired_at=row["acquired_at"],
                        heartbeat_at=row["heartbeat_at"],
                    )
                    + _("; to send alongside it from a PostgreSQL sent log, use --join"),
                    file=self.ledger.path,
                )
            self.joined = live
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
                    _("campaign {campaign_id}: the run lock was lost (taken over by another run)").format(
                        campaign_id=quoted(self.campaign_id)
                    ),
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
    """The oldest lease of a campaign, for ``status``; None when nobody holds one."""
    leases = senders(ledger, campaign_id)
    return leases[0] if leases else None


def senders(ledger: Ledger, campaign_id: str, kind: str | None = None) -> list[dict[str, object]]:
    """Every lease of a campaign, oldest first, each with ``in_flight``: its
    ``sending`` rows (of ``kind``, if given).  Leases nobody has cleared yet
    may be stale; ``status`` shows their heartbeat."""
    kind_sql, params = ("", ()) if kind is None else (" AND m.kind = ?", (kind,))
    with ledger.read() as db:
        found = db.execute(
            "SELECT l.*, (SELECT count(*) FROM messages m WHERE m.sender = l.token AND m.status = 'sending'"
            f"{kind_sql}) AS in_flight FROM run_locks l WHERE l.campaign_id = ? ORDER BY l.acquired_at, l.token",
            (*params, campaign_id),
        ).fetchall()
    return [dict(row) for row in found]


__all__ = ["HEARTBEAT_EVERY", "STALE_AFTER", "RunLock", "current_lock", "lease_is_stale", "senders"]
