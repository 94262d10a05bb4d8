"""``send --connections K``: K SMTP sessions in parallel, one ledger protocol.

When the relay is the organisation's own mail server, one session spends most
of its time waiting for the server's replies and for the ledger's fsyncs.  K
worker threads, each with its own SMTP session, pull the due rows from one
queue in sheet order, and share everything that must stay global:

* **one rate limiter and one daily quota** (both thread-safe in
  ``transport``), so ``30/min`` means 30 a minute for the run, not per session;
* **the ledger protocol**: a row is claimed (``sending``) before its DATA
  and recorded right after the server's answer.  Each session claims and
  records on its own SQLite connection (``Ledger.writer``, taking turns on
  the ledger's lock), each claim/record its own ``BEGIN IMMEDIATE``
  transaction; the record's commit is not fsync'd on its own (see
  ``Ledger.record``).  Pending rows are held ``HOLD_AHEAD`` at a time in one
  fsync'd commit by the thread that feeds the sessions (``Ledger.hold``), and
  each is claimed by ``Ledger.start`` without an fsync of its own: one fsync
  for 32 messages, not one per message.  When a message was sent and the
  next held one is already rendered (and no pace makes it wait), the record
  of the one and the start of the next are one commit
  (``Ledger.record_then_start``): one transaction per message, not two.  A crash (even
  SIGKILL) with K sessions in flight leaves at most K rows ``sending``, which
  the next run turns into ``unknown`` as with one session (held rows stay
  ``pending``, unless the machine restarted since: then they are ``unknown``
  too, as a power cut may have lost their start);
* **``--batch N``** counts messages attempted by all sessions together (a row
  another run took first gives its slot back);
* **stopping**: a fatal reply (5.7.x, quota, authentication) or the
  consecutive-failure breaker (one counter for all sessions, in the order the
  answers arrive) stops every session (the rows of the breaker's streak that
  a refusal at RCPT made ``failed`` are due again: it was the relay); the messages already in flight are
  finished and recorded, nothing new is taken.  Ctrl-C / SIGTERM (``stop``)
  works the same way.  An error that is not an SMTP answer (the ledger, the
  run lock lost, a template) stops every session and is raised once they have
  all finished.

A session that cannot connect for a transient reason (say, the server limits
connections per client) is given up and the others carry on; if no session at
all can be opened the first error is raised, as a one-session run does.  A
fatal connection failure (wrong password, untrusted certificate) stops the
run.

**Rendering ahead.**  One more thread renders the due messages in sheet order
into a short queue (``RENDER_AHEAD`` per session) while the sessions wait for
the server and for the ledger's fsyncs; the sessions take them in that order.
Rendering is still done before the claim, so a template error never leaves a
row ``sending``: the error takes its row's place in the queue, the messages
before it are sent, and the run stops there and raises it.  A stopped run
drops the messages rendered ahead; nothing about them reached the ledger.
Building a full invitation (Jinja2, CSS inlining, MIME, the calendar part)
costs milliseconds of CPU, more than the SMTP transaction with a nearby
relay, so for runs of ``PROCESSES_FROM`` messages or more the rendering is
done by ``render_processes`` other processes (default: the spare cores, at
most 3; ``spawn``, as on Windows).  They get the parent's campaign, event and
calendar entry, so the bytes are those a one-process run sends (bar Date and
the MIME boundaries, which differ per build anyway), and each exits by itself
when its parent dies, even from SIGKILL.  A customised ``session.factory``
always renders in this process.  This is why ``run_parallel`` is worth using
with one connection too.

The run lock's heartbeat is refreshed at most once a second here, not before
every message as the one-session loop does: each heartbeat is a durable
commit, and the lock only goes stale after minutes (``runlock.STALE_AFTER``).

This module is the one send loop: it drives the session's public building
blocks (``due_rows``, ``quota``, ``factory``, ``recipient_for``, ``record``,
``lock``).  The due rows are read from the ledger a page at a time
(:class:`DueRows`), never all at once.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import multiprocessing
import os
import queue
import re
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from itertools import islice

from lgp_mailer import kinds
from lgp_mailer.campaign.session import Outcome, Progress, SendOptions, SendReport, SendSession
from lgp_mailer.config import Campaign
from lgp_mailer.errors import LgpError, SmtpError
from lgp_mailer.event import Event
from lgp_mailer.i18n import _, ngettext
from lgp_mailer.kinds import Kind
from lgp_mailer.ledger.store import Ledger, LedgerRow, QuotaUsedUp
from lgp_mailer.mail.build import MessageFactory
from lgp_mailer.sheets.recipients import Recipient
from lgp_mailer.smtp.pacing import RateLimiter, send_with_retry
from lgp_mailer.smtp.transport import SendResult, Transport, names_a_mailbox

log = logging.getLogger(__name__)

HEARTBEAT_EVERY = 1.0  # seconds between run-lock heartbeats of a parallel run
MAX_CONNECTIONS = 32
RENDER_AHEAD = 4  # messages rendered ahead, per session
HANDOFF = RENDER_AHEAD  # messages handed to the sessions at a time: one queue operation (and wake-up) for several
RENDER_CHUNK = 16  # messages per task of a render process
RENDER_WINDOW = 3  # tasks in flight per render process
PROCESSES_FROM = 200  # fewer due messages than this: not worth starting processes
DUE_PAGE = 1000  # due rows read at a time
CHECKPOINT_EVERY = 4  # holds between checkpoints: about SQLite's own 1,000 pages of log
HOLD_AHEAD = 32  # pending rows claimed ahead in one flush (fewer at a slow rate: about a second's worth)
_END = object()


# -- render processes: the rest of the cores build messages -------------------------------

_factory: MessageFactory | None = None


def _init_renderer(campaign: Campaign, event: Event, kind: Kind, calendar: str | None, parent: int) -> None:
    global _factory
    kinds.register(kind)  # a kind registered at run time is unknown to a spawned process
    _factory = MessageFactory(campaign, event, kind.name)
    _factory.calendar = calendar  # the parent's entry: one DTSTAMP, the same bytes as in one process
    threading.Thread(target=_exit_with_parent, args=(parent,), name="lgp-render-watch", daemon=True).start()


def _exit_with_parent(parent: int) -> None:
    """A SIGKILLed parent cannot shut its pool down, and the pool's pipes do
    not tell its processes (each holds both ends): they watch for themselves."""
    import psutil  # noqa: PLC0415 - only a pool worker watches its parent

    while True:
        time.sleep(0.5)
        if os.getppid() != parent or not psutil.pid_exists(parent):
            os._exit(0)


def _render_chunk(work: list[tuple[Recipient, str | None]]) -> list[bytes | BaseException]:
    assert _factory is not None
    out: list[bytes | BaseException] = []
    for recipient, msgid in work:
        try:
            out.append(_factory.build(recipient, msgid=msgid).as_bytes())
        except Exception as error:  # pickled back; raised in sheet order by the parent
            out.append(error)
            break
    return out


def hold_ahead(options: SendOptions) -> int:
    """Pending rows to claim ahead in one flush: ``HOLD_AHEAD``, or about a
    second's worth at a pace below that (a power cut turns held rows
    ``unknown``, so hold no more than the flushes saved are worth)."""
    pace = [rate.count / rate.period for rate in options.rates if not rate.is_quota]
    per_second = min(pace, default=float(HOLD_AHEAD))
    return max(1, min(HOLD_AHEAD, int(per_second)))


def default_render_processes() -> int:
    """Cores left for rendering when one runs SMTP and the ledger (at most 3)."""
    return max(0, min(3, (os.cpu_count() or 1) - 1))


def _quiet_resource_tracker() -> None:
    """Start multiprocessing's resource tracker without its leak warnings.

    The pool's semaphores are registered with the tracker, a process of its
    own.  A clean end (done, Ctrl-C, SIGTERM, an error) shuts the pool down
    and unregisters them.  After a SIGKILL nobody can: the tracker then
    removes them itself, as it should, but also prints "There appear to be 5
    leaked semaphore objects" into the terminal or cron's mail, which reads
    like a fault.  Its -W flags come from ``sys.warnoptions``.
    """
    from multiprocessing import resource_tracker  # noqa: PLC0415 - only when render processes start

    rule = "ignore::UserWarning:multiprocessing.resource_tracker"
    if rule not in sys.warnoptions:
        sys.warnoptions.append(rule)
    resource_tracker.ensure_running()


def _render_pool(session: SendSession, processes: int) -> ProcessPoolExecutor | None:
    factory = session.factory
    # Only the plain factory can be rebuilt in another process; anything else renders here.
    if processes <= 0 or type(factory) is not MessageFactory or "build" in vars(factory):
        return None
    context = multiprocessing.get_context("spawn")  # no fork of a process with threads; as on Windows
    _quiet_resource_tracker()
    return ProcessPoolExecutor(
        processes,
        mp_context=context,
        initializer=_init_renderer,
        initargs=(session.campaign, session.event, kinds.get(session.kind), factory.calendar, os.getpid()),
    )


# -- the due rows, a page at a time ----------------------------------------------------------


class DueRows:
    """The rows ``SendSession.due`` returns, in the same order, read from the
    ledger ``DUE_PAGE`` rows at a time (see ``Ledger.due_pages``); a test keeps
    the two in step."""

    def __init__(self, session: SendSession, options: SendOptions) -> None:
        self.session = session
        self.options = options
        self.count = session.count_due(options, page=DUE_PAGE)

    def __iter__(self) -> Iterator[LedgerRow]:
        return self.session.due_rows(self.options, page=DUE_PAGE)


class _RetriesPaced(RateLimiter):
    """The run's limiter for ``send_with_retry`` once the message's slot is taken:
    the first attempt goes at once, each retry waits for a slot of its own."""

    def __init__(self, limiter: RateLimiter) -> None:  # not super().__init__: it only delegates
        self.limiter = limiter
        self.first = True

    def acquire(self) -> float:
        if self.first:
            self.first = False
            return 0.0
        return self.limiter.acquire()


def server_trouble(result: SendResult) -> bool:
    """Does this undelivered message count towards the consecutive-failure stop?

    Only trouble with the server or the account does: connection, TLS and AUTH
    failures, 421, any refusal at MAIL FROM or DATA, and at RCPT a 4.7.x or
    5.7.x (a relay's rate limit or policy), 4.3.x and the like.  A refusal at
    RCPT with 4.1.x, 4.2.x, 5.1.x or 5.2.x (or, without an enhanced code, one
    that speaks of the mailbox) is about that one address: a sheet sorted by
    domain may hold a few dead addresses together, and they must not halt the
    run.
    """
    if result.status == "sent":
        return False
    if result.phase != "rcpt" or result.code is None or result.code == 421:
        return True
    if result.enhanced:
        return not result.enhanced[2:].startswith(("1.", "2."))
    return not names_a_mailbox(result.reply)


_PACE_WORDS = re.compile(r"\brate\b|ratelimit|too many|too fast|throttl|slow down|per (?:minute|hour)", re.IGNORECASE)


def pace_refusal(result: SendResult) -> bool:
    """A temporary refusal that says the relay limits how fast we send ("421 4.7.0 rate limit, try later",
    "450 4.7.1 … Rate limit exceeded"): the run should go slower, not just later."""
    return result.code is not None and 400 <= result.code < 500 and bool(_PACE_WORDS.search(result.reply))


def transport_name(transport: Transport) -> str:
    settings = getattr(transport, "settings", None)
    return f"{settings.host}:{settings.port}" if settings is not None else _("the server")


class _ParallelRun:
    """The state K workers share; every change to it happens under ``mutex``."""

    def __init__(
        self,
        session: SendSession,
        options: SendOptions,
        stop: threading.Event,
        progress: Progress | None,
        rows: Iterable[LedgerRow],
    ) -> None:
        self.session = session
        self.options = options
        self.stop = stop  # the user's Ctrl-C / SIGTERM
        self.halt = threading.Event()  # every reason to take nothing new
        self.progress = progress
        self.mutex = threading.Lock()  # bookkeeping: counters, report, progress
        self.take_lock = threading.Lock()  # taking the next message, in sheet order
        self.rows = rows
        # Lists of up to HANDOFF items (messages, an error, the end) in sheet order, one list
        # queued and one being taken (``ready``): at most 2 * RENDER_AHEAD messages wait, as many
        # as when they were handed over one by one, which bounds what a power cut can turn unknown.
        self.rendered: queue.Queue[list[object]] = queue.Queue(maxsize=1)
        self.exhausted = False
        self.ready: deque[object] = deque()  # items taken off the queue, not handed out yet (under take_lock)
        self.render_processes = 0  # set by run_parallel when a pool renders
        self.prebuilt: Iterable[tuple[int, bytes]] | None = None  # (seq, bytes) built before the run
        self.report = SendReport(session.campaign.campaign_id, session.kind, recovered_unknown=session.recovered)
        self.quota = session.quota(options)
        # The wait for a slot ends early on a stop, before anything is claimed.
        self.limiter = RateLimiter(options.rates, sleep=self.halt.wait)
        self.from_statuses = options.from_statuses
        # Holding rows ahead saves SQLite's flushes; PostgreSQL's senders claim side by side
        # and a shared daily quota is counted at each claim, so there every row is claimed.
        holdable = not session.ledger.concurrent_senders and not options.daily_quota
        self.hold_ahead = hold_ahead(options) if holdable else 1
        self.envelope_from = session.campaign.sender.envelope_from
        self.attempted = 0
        self.consecutive = 0
        self.streak: list[tuple[Outcome, str]] = []  # the undelivered messages counted in ``consecutive``
        self.reopen: list[Outcome] = []  # 'failed' rows of the streak that stopped the run
        self.opened = 0
        self.errors: list[BaseException] = []
        self.open_errors: list[SmtpError] = []
        self.last_beat = float("-inf")
        self.wanted = 1  # sessions started; set by run_parallel

    # -- shared bookkeeping -------------------------------------------------

    def _stop_with(self, why: str) -> None:
        """Under ``mutex``: the first reason wins, and everyone stops taking rows."""
        if self.report.stopped is None:
            self.report.stopped = why
        self.halt.set()

    def render_ahead(self, pool: Executor | None = None) -> None:
        """The producer thread: the due messages, rendered in sheet order."""
        if self.prebuilt is not None:
            renders = self._renders_from(self.prebuilt)
        else:
            renders = self._renders_in(pool) if pool is not None else self._renders_here()
        holder: Ledger | None = None
        recipient_for = self.session.recipient_for
        try:
            holder = self.session.ledger.writer() if self.hold_ahead > 1 else None
            for group in self._held(renders, holder):
                for start in range(0, len(group), HANDOFF):
                    if self.halt.is_set():
                        return
                    items: list[object] = [
                        result if isinstance(result, BaseException) else (row, recipient_for(row.address), result, held)
                        for row, result, held in group[start : start + HANDOFF]
                    ]
                    # An error (always the last render) is raised by whichever session reaches its row.
                    if not self._put(items) or isinstance(items[-1], BaseException):
                        return
        except BaseException as error:  # e.g. a render process died
            self._put([error])
        finally:
            self._put([_END])
            if holder is not None:
                holder.close()

    def _held(
        self, renders: Iterable[tuple[LedgerRow, bytes | BaseException]], holder: Ledger | None
    ) -> Iterator[list[tuple[LedgerRow, bytes | BaseException, bool]]]:
        """The renders in groups of ``hold_ahead``, their pending rows claimed ahead
        in one durable commit (``Ledger.hold``): one flush for many messages."""
        renders = iter(renders)
        holds = itertools.count(1)
        while not self.halt.is_set():
            group = list(islice(renders, self.hold_ahead))
            if not group:
                return
            built = [row.address for row, result in group if not isinstance(result, BaseException)]
            keys = holder.hold(self.session.campaign.campaign_id, self.session.kind, built) if holder else set()
            if holder is not None and next(holds) % CHECKPOINT_EVERY == 0:
                holder.checkpoint()  # here, not in the sending threads (``worker``)
            yield [(row, result, row.address.strip().lower() in keys) for row, result in group]

    def _renders_here(self) -> Iterator[tuple[LedgerRow, bytes | BaseException]]:
        factory, recipient_for = self.session.factory, self.session.recipient_for
        for row in self.rows:
            try:
                yield row, factory.build(recipient_for(row.address), msgid=row.message_id).as_bytes()
            except Exception as error:
                yield row, error
                return

    def _renders_from(self, prebuilt: Iterable[tuple[int, bytes]]) -> Iterator[tuple[LedgerRow, bytes | BaseException]]:
        """The messages built before the run (``spool``), matched to the due rows by seq.

        Both are in seq order.  A built message whose row is no longer due
        (suppressed since) is passed over; a due row that was not built (a
        row another run took gave its --batch slot back) is built here."""
        built = iter(prebuilt)
        ahead: tuple[int, bytes] | None = next(built, None)
        factory, recipient_for = self.session.factory, self.session.recipient_for
        for row in self.rows:
            while ahead is not None and ahead[0] < (row.seq or 0):
                ahead = next(built, None)
            if ahead is not None and ahead[0] == row.seq:
                yield row, ahead[1]
                continue
            try:
                yield row, factory.build(recipient_for(row.address), msgid=row.message_id).as_bytes()
            except Exception as error:
                yield row, error
                return

    def _renders_in(self, pool: Executor) -> Iterator[tuple[LedgerRow, bytes | BaseException]]:
        """Chunks rendered by other processes; a few chunks in flight, never the whole list."""
        rows, recipient_for = iter(self.rows), self.session.recipient_for
        pending: deque[tuple[list[LedgerRow], Future[list[bytes | BaseException]]]] = deque()

        def submit() -> None:
            chunk = list(islice(rows, RENDER_CHUNK))
            if chunk:
                work = [(recipient_for(r.address), r.message_id) for r in chunk]
                pending.append((chunk, pool.submit(_render_chunk, work)))

        for _slot in range(RENDER_WINDOW * self.render_processes):
            submit()
        while pending and not self.halt.is_set():
            chunk, future = pending.popleft()
            while not self.halt.is_set():
                try:
                    results = future.result(timeout=0.05)
                    break
                except FutureTimeout:
                    continue
            else:
                return
            submit()
            yield from zip(chunk, results, strict=False)  # results stop at the first failure
            if results and isinstance(results[-1], BaseException):
                return

    def _put(self, items: list[object]) -> bool:
        while not self.halt.is_set():
            try:
                self.rendered.put(items, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def _get(self) -> object:
        while not self.ready and not self.halt.is_set():
            try:
                self.ready.extend(self.rendered.get(timeout=0.05))
            except queue.Empty:
                continue
        return self.ready.popleft() if self.ready else _END

    def next_message(self, *, wait: bool = True) -> tuple[LedgerRow, Recipient, bytes, bool] | None:
        """The next message in sheet order, counted towards --batch and the quota; None at the end.

        ``wait=False``: only a held message that is already rendered, else None
        and whatever came next stays for the next call (an error, the end)."""
        with self.take_lock:
            with self.mutex:
                if self.halt.is_set() or self.stop.is_set() or self.exhausted:
                    return None
                if self.options.batch is not None and self.attempted >= self.options.batch:
                    return None
            if not wait:
                if not self.ready:
                    try:
                        self.ready.extend(self.rendered.get_nowait())
                    except queue.Empty:
                        return None
                item = self.ready[0]
                if not isinstance(item, tuple) or not item[3]:  # the end, an error, a row to claim: left
                    return None
                self.ready.popleft()
            else:
                item = self._get()
            if item is _END:
                self.exhausted = True
                return None
            if isinstance(item, BaseException):
                self.exhausted = True
                raise item
            with self.mutex:
                if not self.quota.take():
                    # Take nothing new, but no halt: the messages the other sessions took within
                    # the quota, still waiting for their slot at the pace, would be dropped unsent.
                    if self.report.stopped is None:
                        self.report.stopped = _(
                            "the daily quota of {quota} messages is used up; the next run goes on"
                        ).format(quota=self.options.daily_quota)
                    self.exhausted = True
                    return None
                self.attempted += 1  # counted now, so K sessions never overshoot --batch
            return item  # type: ignore[return-value]  # past the sentinels: a (row, recipient, bytes, held) tuple

    def emit(self, outcome: Outcome, result: SendResult | None = None, server: str = "the server") -> None:
        with self.mutex:
            self.report.outcomes.append(outcome)
            if self.progress:
                self.progress(outcome)  # under the mutex: progress printers need not be thread-safe
            if result is None:
                return
            if result.status == "fatal":
                self._stop_with(_("{server} refused: {reply}").format(server=server, reply=result.line or result.reply))
                return
            if result.status == "sent":
                self.consecutive = 0
                self.streak.clear()
            elif server_trouble(result):
                self.consecutive += 1
                self.streak.append((outcome, result.phase))
            # else: one address refused at RCPT; recorded for it, and says nothing about the server
            if self.consecutive >= self.options.max_consecutive_failures:
                # Refused one after another at RCPT ("Relay access denied"): about the relay, not
                # these addresses, so they go back to being due when the run ends (``run_parallel``).
                self.reopen = [o for o, phase in self.streak if phase == "rcpt" and o.status == "failed"]
                why = _(
                    "{count} messages in a row were not delivered (last: {line}); "
                    "stopping so a broken relay does not burn through the list"
                ).format(count=self.consecutive, line=result.line)
                if pace_refusal(result):
                    why += _(
                        '; the relay limits the pace: set a slower rate, e.g. [smtp] rate = "20/min" or --rate 20/min'
                    )
                self._stop_with(why)

    def heartbeat(self) -> None:
        with self.mutex:
            now = time.monotonic()
            due = now - self.last_beat >= HEARTBEAT_EVERY
            if due:
                self.last_beat = now
        if due:
            self.session.lock.heartbeat()  # LockedError if another run took the lock over

    # -- one worker ----------------------------------------------------------

    def send_one(
        self,
        transport: Transport,
        row: LedgerRow,
        recipient: Recipient,
        data: bytes,
        ledger: Ledger | None = None,
        *,
        held: bool = False,
        started: bool = False,
    ) -> tuple[LedgerRow, Recipient, bytes, bool] | None:
        """Claim, send and record one message (``started``: the previous message's
        record already claimed it).  Returns the next message when its claim went
        into the same commit as this one's record (``_record_then_start``)."""
        session = self.session
        ledger = ledger or session.ledger
        if not started and not self._claim_now(ledger, row, held):
            return None
        result = send_with_retry(
            transport,
            data,
            self.envelope_from,
            recipient.email,
            policy=self.options.retry,
            limiter=_RetriesPaced(self.limiter),
            sleep=self.halt.wait,
            should_stop=self.halt.is_set,
        )
        following = self.next_message(wait=False) if self._may_chain(result) else None
        if following is not None:
            return self._record_then_start(ledger, row, result, following, transport_name(transport))
        self.emit(session.record(row, result, ledger=ledger), result, transport_name(transport))
        return None

    def _claim_now(self, ledger: Ledger, row: LedgerRow, held: bool) -> bool:
        """Pace, then claim ``row``; False when it is not to be sent (stopped, taken, the quota)."""
        session = self.session
        # Pace before claiming (as the one-session run does): a stop during the
        # wait leaves the row untouched instead of 'sending' with nothing sent.
        self.limiter.acquire()
        if self.halt.is_set():
            with self.mutex:
                self.attempted -= 1
            return False
        self.heartbeat()
        # A held row was claimed durably ahead (``_held``); else claim it now, durably.
        claimed = (
            ledger.start(
                session.campaign.campaign_id,
                session.kind,
                row.address,
                sender=session.lock.token,
                account=self.options.account,
            )
            if held
            else self._claim(ledger, row)
        )
        if claimed is not True:
            with self.mutex:
                self.attempted -= 1  # skipped rows do not count towards --batch
            if claimed is False:  # None: the daily quota; the row stays as it was, the run stops
                self.emit(Outcome(row.address, row.municipalities, "skipped", _("taken by another run")))
            return False
        return True

    def _may_chain(self, result: SendResult) -> bool:
        """May the next message's claim share this one's record commit?  Only after a
        plain 'sent' (which never stops the run), when no pace makes the next wait, and
        not when the run lock's heartbeat is due: it goes before a claim, never before a record."""
        if result.status != "sent" or self.limiter.interval > 0 or self.hold_ahead <= 1:
            return False
        with self.mutex:
            return time.monotonic() - self.last_beat < HEARTBEAT_EVERY

    def _record_then_start(
        self,
        ledger: Ledger,
        row: LedgerRow,
        result: SendResult,
        following: tuple[LedgerRow, Recipient, bytes, bool],
        server: str,
    ) -> tuple[LedgerRow, Recipient, bytes, bool] | None:
        """Record ``row`` and start the held row of ``following`` in one commit: the
        step from one message to the next is one transaction instead of two.

        The outcome is shown first, so that a stop it brings (Ctrl-C seen by the
        progress) starts nothing new: then ``row`` is recorded on its own and
        ``following`` is left, held, to be released at the end of the run."""
        session = self.session
        nxt = following[0]
        reply = result.line or result.reply
        self.emit(Outcome(row.address, row.municipalities, result.status, reply), result, server)
        if self.halt.is_set() or self.stop.is_set():
            with self.mutex:
                self.attempted -= 1  # taken, never attempted
            session.record(row, result, ledger=ledger)
            return None
        started = ledger.record_then_start(
            session.campaign.campaign_id,
            session.kind,
            row.address,
            result.status,
            result.code,
            result.enhanced,
            reply,
            nxt.address,
            sender=session.lock.token,
            account=self.options.account,
        )
        if started:
            return following
        with self.mutex:
            self.attempted -= 1  # skipped rows do not count towards --batch
        self.emit(Outcome(nxt.address, nxt.municipalities, "skipped", _("taken by another run")))
        return None

    def _claim(self, ledger: Ledger, row: LedgerRow) -> bool | None:
        """Claim ``row`` as this sender, within the relay account's daily quota,
        which every sender using the account shares (counted in the ledger).
        False: another sender took it; None: the quota is used up (the run stops)."""
        session, options = self.session, self.options
        try:
            return ledger.claim(
                session.campaign.campaign_id,
                session.kind,
                row.address,
                self.from_statuses,
                sender=session.lock.token,
                account=options.account,
                daily_quota=options.daily_quota,
            )
        except QuotaUsedUp:
            with self.mutex:
                self._stop_with(
                    _("the daily quota of {quota} messages is used up; the next run goes on").format(
                        quota=options.daily_quota
                    )
                )
            return None

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
            # Its own SQLite connection: the sessions' commits do not queue behind one lock.
            ledger = self.session.ledger.writer()
            if self.hold_ahead > 1:  # the producer's holding connection checkpoints (``_held``)
                ledger.leave_checkpoints()
            try:
                item, started = self.next_message(), False
                while item is not None:
                    row, recipient, data, held = item
                    following = self.send_one(
                        transport, row, recipient, data, ledger=ledger, held=held, started=started
                    )
                    item, started = (following, True) if following is not None else (self.next_message(), False)
            finally:
                transport.close()
                ledger.close()
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
                if self.wanted > 1:
                    log.warning("one of the parallel SMTP sessions could not connect, going on with fewer: %s", error)


def run_parallel(
    session: SendSession,
    make_transport: Callable[[], Transport],
    connections: int,
    options: SendOptions,
    *,
    stop: threading.Event | None = None,
    progress: Progress | None = None,
    render_processes: int | None = None,
    prebuilt: Iterable[tuple[int, bytes]] | None = None,
) -> SendReport:
    """Send the due messages of ``session`` over ``connections`` SMTP sessions.

    ``make_transport()`` is called once per session (e.g. ``lambda:
    SmtpTransport(settings, secret)``).  Returns the same ``SendReport`` as
    ``SendSession.run``; ``report.outcomes`` is in the order the answers came.
    ``render_processes``: processes that build the messages (default: the
    other cores, for runs of ``PROCESSES_FROM`` messages or more; 0 renders
    in this process).  ``prebuilt``: the messages built before the run, as
    (seq, bytes) in seq order (``spool.Spool.messages``); then nothing is
    rendered during the run but a row that was not built.
    """
    if not 1 <= connections <= MAX_CONNECTIONS:
        raise ValueError(f"connections must be between 1 and {MAX_CONNECTIONS}")
    stop = stop or threading.Event()
    rows = DueRows(session, options)
    run = _ParallelRun(session, options, stop, progress, rows)
    run.prebuilt = prebuilt
    due = rows.count
    wanted = min(connections, due, options.batch if options.batch is not None else due)
    run.wanted = wanted
    threads = [
        threading.Thread(target=run.worker, args=(make_transport,), name=f"lgp-smtp-{n + 1}", daemon=True)
        for n in range(wanted)
    ]
    going = min(due, options.batch if options.batch is not None else due)
    if render_processes is None:
        render_processes = default_render_processes() if going >= PROCESSES_FROM and prebuilt is None else 0
    pool = _render_pool(session, render_processes) if threads else None
    run.render_processes = render_processes if pool is not None else 0
    producer = threading.Thread(target=run.render_ahead, args=(pool,), name="lgp-render", daemon=True)
    if threads:
        producer.start()
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
    finally:
        run.halt.set()  # the producer may still be rendering ahead: nothing more will be taken
        if producer.is_alive():
            producer.join()
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        # Rows claimed ahead and never started: pending again.  If this fails,
        # the next run's recover_interrupted does it.
        with contextlib.suppress(LgpError):
            session.ledger.release_held(session.campaign.campaign_id, session.kind)
    if run.reopen:
        session.ledger.reopen_failed(session.campaign.campaign_id, session.kind, [o.address for o in run.reopen])
        for outcome in run.reopen:
            outcome.status = "deferred"
        left_due = ngettext(
            "{why}; the {n} address refused at RCPT is left due, not failed",
            "{why}; the {n} addresses refused at RCPT one after another are left due, not failed",
            len(run.reopen),
        )
        run.report.stopped = left_due.format(why=run.report.stopped, n=len(run.reopen))
    if run.errors:
        raise run.errors[0]
    if run.open_errors and run.opened == 0:
        raise run.open_errors[0]
    report = run.report
    if stop.is_set():
        report.interrupted = True
    report.quota_left = run.quota.remaining
    return report


__all__ = ["HEARTBEAT_EVERY", "MAX_CONNECTIONS", "default_render_processes", "run_parallel"]
