"""``send --connections K``: K SMTP sessions in parallel, one ledger protocol.

When the relay is the organisation's own mail server, one session spends most
of its time waiting for the server's replies and for the ledger's fsyncs.  K
worker threads, each with its own SMTP session, pull the due rows from one
queue in sheet order, and share everything that must stay global:

* **one rate limiter and one daily quota** (both thread-safe in
  ``transport``), so ``30/min`` means 30 a minute for the run, not per session;
* **the ledger protocol**, unchanged: a row is claimed (``sending``,
  committed) before its DATA and recorded right after the server's answer.
  The :class:`~lgp_mailer.sentlog.Ledger` is documented as safe to share
  between threads: one connection, every statement under its lock, and each
  claim/record its own ``BEGIN IMMEDIATE`` transaction.  A crash (even
  SIGKILL) with K sessions in flight leaves at most K rows ``sending``, which
  the next run turns into ``unknown`` as with one session;
* **``--batch N``** counts messages attempted by all sessions together (a row
  another run took first gives its slot back);
* **stopping**: a fatal reply (5.7.x, quota, authentication) or the
  consecutive-failure breaker (one counter for all sessions, in the order the
  answers arrive) stops every session; the messages already in flight are
  finished and recorded, nothing new is taken.  Ctrl-C / SIGTERM (``stop``)
  works the same way.  An error that is not an SMTP answer (the ledger, the
  run lock lost, a template) stops every session and is raised once they have
  all finished.

A session that cannot connect for a transient reason (say, the server limits
connections per client) is given up and the others carry on; if no session at
all can be opened the first error is raised, as a one-session run does.  A
fatal connection failure (wrong password, untrusted certificate) stops the
run.

The run lock's heartbeat is refreshed at most once a second here, not before
every message as the one-session loop does: each heartbeat is a durable
commit, and the lock only goes stale after minutes (``runlock.STALE_AFTER``).

``SendSession`` has no hook for several transports, so this module drives its
building blocks directly (``due``, ``quota``, ``factory``, ``_by_key``,
``_record``, ``lock``) and keeps the same outcomes and report.  With one
connection it simply calls ``SendSession.run``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable

from lgp_mailer.errors import SmtpError
from lgp_mailer.sending import Outcome, Progress, SendOptions, SendReport, SendSession, transport_name
from lgp_mailer.sentlog import LedgerRow
from lgp_mailer.transport import RateLimiter, SendResult, Transport, send_with_retry

log = logging.getLogger(__name__)

HEARTBEAT_EVERY = 1.0  # seconds between run-lock heartbeats of a parallel run
MAX_CONNECTIONS = 32


def _from_statuses(options: SendOptions) -> tuple[str, ...]:
    statuses = ["pending", "deferred"]
    statuses += ["failed"] if options.retry_failed else []
    statuses += ["unknown"] if options.resend_unknown else []
    return tuple(statuses)


class _ParallelRun:
    """The state K workers share; every change to it happens under ``mutex``."""

    def __init__(self, session: SendSession, options: SendOptions, stop: threading.Event,
                 progress: Progress | None, rows: list[LedgerRow]) -> None:
        self.session = session
        self.options = options
        self.stop = stop  # the user's Ctrl-C / SIGTERM
        self.halt = threading.Event()  # every reason to take nothing new
        self.progress = progress
        self.mutex = threading.Lock()
        self.rows = deque(rows)
        self.report = SendReport(session.campaign.campaign_id, session.kind, recovered_unknown=session.recovered)
        self.quota = session.quota(options)
        self.limiter = RateLimiter(options.rates)
        self.from_statuses = _from_statuses(options)
        self.envelope_from = session.campaign.sender.envelope_from
        self.attempted = 0
        self.consecutive = 0
        self.opened = 0
        self.errors: list[BaseException] = []
        self.open_errors: list[SmtpError] = []
        self.last_beat = float("-inf")

    # -- shared bookkeeping -------------------------------------------------

    def _stop_with(self, why: str) -> None:
        """Under ``mutex``: the first reason wins, and everyone stops taking rows."""
        if self.report.stopped is None:
            self.report.stopped = why
        self.halt.set()

    def next_row(self) -> LedgerRow | None:
        with self.mutex:
            if self.halt.is_set() or self.stop.is_set() or not self.rows:
                return None
            if self.options.batch is not None and self.attempted >= self.options.batch:
                return None
            if not self.quota.take():
                self._stop_with(f"the daily quota of {self.options.daily_quota} messages is used up; "
                                "the next run goes on")
                return None
            self.attempted += 1  # reserved now, so K sessions never overshoot --batch
            return self.rows.popleft()

    def emit(self, outcome: Outcome, result: SendResult | None = None, transport: Transport | None = None) -> None:
        with self.mutex:
            self.report.outcomes.append(outcome)
            if self.progress:
                self.progress(outcome)  # under the mutex: progress printers need not be thread-safe
            if result is None:
                return
            if result.status == "fatal":
                self._stop_with(f"{transport_name(transport)} refused: {result.line or result.reply}")
                return
            self.consecutive = 0 if result.status == "sent" else self.consecutive + 1
            if self.consecutive >= self.options.max_consecutive_failures:
                self._stop_with(f"{self.consecutive} messages in a row were not delivered (last: {result.line}); "
                                "stopping so a broken relay does not burn through the list")

    def heartbeat(self) -> None:
        with self.mutex:
            now = time.monotonic()
            due = now - self.last_beat >= HEARTBEAT_EVERY
            if due:
                self.last_beat = now
        if due:
            self.session.lock.heartbeat()  # LockedError if another run took the lock over

    # -- one worker ----------------------------------------------------------

    def send_one(self, transport: Transport, row: LedgerRow) -> None:
        session = self.session
        recipient = session._by_key[row.address.lower()]
        # Render before claiming: a template error must not leave a row 'sending'.
        data = session.factory.build(recipient, msgid=row.message_id).as_bytes()
        self.heartbeat()
        if not session.ledger.claim(session.campaign.campaign_id, session.kind, row.address, self.from_statuses):
            with self.mutex:
                self.attempted -= 1  # skipped rows do not count towards --batch
            self.emit(Outcome(row.address, row.municipalities, "skipped", "taken by another run"))
            return
        result = send_with_retry(transport, data, self.envelope_from, recipient.email, policy=self.options.retry,
                                 limiter=self.limiter, sleep=self.halt.wait, should_stop=self.halt.is_set)
        self.emit(session._record(row, result), result, transport)

    def worker(self, make_transport: Callable[[], Transport]) -> None:
        try:
            transport = make_transport()
            try:
                transport.open()
            except SmtpError as error:
                self._open_failed(error)
                return
            with self.mutex:
                self.opened += 1
            try:
                while (row := self.next_row()) is not None:
                    self.send_one(transport, row)
            finally:
                transport.close()
        except BaseException as error:  # the ledger, the lock, a template: stop everyone, raise later
            with self.mutex:
                self.errors.append(error)
                self.halt.set()

    def _open_failed(self, error: SmtpError) -> None:
        result = getattr(error, "result", None)
        with self.mutex:
            self.open_errors.append(error)
            if result is not None and result.status == "fatal":
                self._stop_with(f"{error}")
            else:
                log.warning("one of the parallel SMTP sessions could not connect, going on with fewer: %s", error)


def run_parallel(session: SendSession, make_transport: Callable[[], Transport], connections: int,
                 options: SendOptions, *, stop: threading.Event | None = None,
                 progress: Progress | None = None) -> SendReport:
    """Send the due messages of ``session`` over ``connections`` SMTP sessions.

    ``make_transport()`` is called once per session (e.g. ``lambda:
    SmtpTransport(settings, secret)``).  Returns the same ``SendReport`` as
    ``SendSession.run``; ``report.outcomes`` is in the order the answers came.
    """
    if not 1 <= connections <= MAX_CONNECTIONS:
        raise ValueError(f"connections must be between 1 and {MAX_CONNECTIONS}")
    stop = stop or threading.Event()
    if connections == 1:
        return session.run(make_transport(), options, stop=stop, progress=progress)
    rows = session.due(options)
    run = _ParallelRun(session, options, stop, progress, rows)
    wanted = min(connections, len(rows), options.batch if options.batch is not None else len(rows))
    threads = [threading.Thread(target=run.worker, args=(make_transport,), name=f"lgp-smtp-{n + 1}", daemon=True)
               for n in range(wanted)]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            while thread.is_alive():  # a timeout, so Ctrl-C handlers run in the main thread
                thread.join(0.05)
                if stop.is_set():
                    run.halt.set()
    except BaseException:  # a second Ctrl-C: give up at once; in-flight rows stay 'sending' → 'unknown'
        run.halt.set()
        raise
    if run.errors:
        raise run.errors[0]
    if run.open_errors and run.opened == 0:
        raise run.open_errors[0]
    report = run.report
    if stop.is_set():
        report.interrupted = True
    report.quota_left = run.quota.remaining
    return report


__all__ = ["HEARTBEAT_EVERY", "MAX_CONNECTIONS", "run_parallel"]
