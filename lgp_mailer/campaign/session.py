"""A send run: sheet → ledger → render → transport → ledger, exactly once.

The protocol (see ``sentlog``): every message is *claimed* (``sending``,
committed) before its DATA and *recorded* (``sent``/``deferred``/``failed``/
``unknown``, committed) right after the server's answer.  A crash between the
two leaves ``sending``, which the next run turns into ``unknown`` and never
resends unless asked (``resend_unknown``), with the same Message-ID.

The core never prints: it reports through a ``progress`` callback and returns
a :class:`SendReport`; the CLI turns that into a progress bar and an exit code.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

from lgp_mailer import kinds
from lgp_mailer.campaign.preview import load_inputs, select
from lgp_mailer.campaign.revisions import NoticeFactory, NoticePlan, sequence_base
from lgp_mailer.campaign.spool import build_processes, map_chunks, write_emls, written_emls
from lgp_mailer.config import Campaign
from lgp_mailer.errors import ConfigError, LgpError
from lgp_mailer.event import Event
from lgp_mailer.i18n import _
from lgp_mailer.ledger.events import calendar_uid
from lgp_mailer.ledger.rows import STATUSES
from lgp_mailer.ledger.runlock import RunLock
from lgp_mailer.ledger.store import Entry, Ledger, LedgerRow, due_statuses
from lgp_mailer.mail.build import MessageFactory
from lgp_mailer.sheets.compact import Recipients
from lgp_mailer.sheets.recipients import Recipient, RecipientSheet
from lgp_mailer.smtp.pacing import DailyQuota, RetryPolicy
from lgp_mailer.smtp.settings import Rate
from lgp_mailer.smtp.transport import SendResult, Transport
from lgp_mailer.storage import writing

DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class SendOptions:
    kind: str = kinds.INVITATION.name
    batch: int | None = None  # the next N due messages; skipped rows do not count
    retry_failed: bool = False
    resend_unknown: bool = False
    max_consecutive_failures: int = 5
    retry: RetryPolicy = RetryPolicy()
    rates: tuple[Rate, ...] = ()
    daily_quota: int | None = None
    account: str | None = None  # the relay account (host:port:username) whose daily quota this run uses
    # What the "Next:" hints repeat (campaign.next_steps): input flags, command flags, SMTP flags.
    inputs: tuple[str, ...] = ()
    extra: tuple[str, ...] = ()
    smtp_args: tuple[str, ...] = ()

    @property
    def from_statuses(self) -> tuple[str, ...]:
        """The statuses this run sends from (and may claim)."""
        return due_statuses(self.retry_failed, self.resend_unknown)


@dataclass
class Outcome:
    address: str
    municipalities: tuple[str, ...]
    status: str  # sent, deferred, failed, unknown, skipped
    line: str = ""


@dataclass
class SendReport:
    campaign_id: str
    kind: str
    outcomes: list[Outcome] = field(default_factory=list)
    recovered_unknown: int = 0
    stopped: str | None = None  # why the run stopped early, one line
    interrupted: bool = False
    quota_left: int | None = None

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def problems(self) -> bool:
        # Rows a crash left 'sending' and this run turned 'unknown' need a
        # decision as much as this run's own unknowns: exit 1, not 0.
        return (
            self.stopped is not None
            or self.recovered_unknown > 0
            or any(o.status in ("failed", "deferred", "unknown") for o in self.outcomes)
        )


Progress = Callable[[Outcome], None]


class SendSession:
    """One campaign kind opened for sending: inputs loaded, ledger synced, lock held.

    ``with SendSession(...) as session:`` holds the campaign's run lock, so the
    counts shown for confirmation are the counts that will be sent from.
    """

    def __init__(
        self,
        campaign: Campaign,
        ledger: Ledger,
        kind: str = kinds.INVITATION.name,
        *,
        recipients: Sequence[Recipient] | None = None,
        event: Event | None = None,
        sheet: RecipientSheet | None = None,
        notice: NoticePlan | None = None,
        join: bool = False,
    ) -> None:
        self.campaign = campaign
        self.ledger = ledger
        self.kind = kind
        if event is None or sheet is None:
            event, sheet = load_inputs(campaign, hints=False)  # a send shows no sheet findings
        self.event = event
        self.sheet = sheet
        self.recipients = recipients if recipients is not None else sheet.recipients
        # The campaign's calendar UID as the sent log recorded it at the first send; before that, derived.
        uid = calendar_uid(ledger, campaign.campaign_id)
        self.notice = notice
        self.factory = (
            NoticeFactory(campaign, event, notice, calendar_uid=uid)
            if notice is not None
            else MessageFactory(
                campaign, event, kind, calendar_uid=uid, calendar_sequence=sequence_base(ledger, campaign.campaign_id)
            )
        )
        self.lock = RunLock(ledger, campaign.campaign_id, join=join)
        self.recovered = 0
        self.not_in_campaign = 0  # joined: this sheet's recipients the live senders' sheet lacks
        self._find, self._has = _lookups(self.recipients)

    def __enter__(self) -> SendSession:
        self.lock.acquire()
        try:
            if not self._joined_a_synced_campaign():
                self.sync()
            elif self.kind == kinds.INVITATION.name:
                self.not_in_campaign = self._missing_from_campaign()
            # Only the rows of senders whose lease is gone: a joined sender's are in flight.
            self.recovered = self.ledger.recover_interrupted(self.campaign.campaign_id, self.kind, self.lock.token)
        except BaseException:
            self.lock.release()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.lock.release()

    def _joined_a_synced_campaign(self) -> bool:
        """A sender that joins live ones sends what they synced (the rows also in
        its own sheet) and does not sync again: one sheet defines the campaign,
        and a sync is a write of every row under the ledger's write lock, which
        each joining sender would otherwise take in turn."""
        if not self.lock.joined:
            return False
        return sum(self.ledger.counts(self.campaign.campaign_id, self.kind).values()) > 0

    def _missing_from_campaign(self) -> int:
        """How many of this sheet's recipients a joining sender will not send: the
        campaign is the live senders' sheet, and these are not in it."""
        found = self.ledger.addresses_in(self.campaign.campaign_id, self.kind, STATUSES)
        known = {address.lower() for addresses in found.values() for address in addresses}
        return sum(1 for r in self.recipients if r.email.lower() not in known)

    def sync(self) -> None:
        """Tell the ledger every recipient (and every rejected row, as ``invalid``)."""
        # Streamed into the ledger: 100,000 recipients are never 100,000 Entry objects at once.
        base = len(self.recipients)
        entries = itertools.chain(
            (
                Entry(r.email, seq, r.municipalities, r.county, self.factory.message_id(r))
                for seq, r in enumerate(self.recipients)
            ),
            (
                Entry(rej.address, base + n, rej.municipalities, None, None, rej.reason or "invalid")
                for n, rej in enumerate(getattr(self.sheet, "rejected", []) or [])
            ),
        )
        self.ledger.sync(self.campaign.campaign_id, self.kind, entries)

    def counts(self) -> dict[str, int]:
        return self.ledger.counts(self.campaign.campaign_id, self.kind)

    def due(self, options: SendOptions) -> list[LedgerRow]:
        rows = self.ledger.due(
            self.campaign.campaign_id,
            self.kind,
            retry_failed=options.retry_failed,
            resend_unknown=options.resend_unknown,
        )
        return [r for r in rows if self._has(r.address)]

    def quota(self, options: SendOptions, now: dt.datetime | None = None) -> DailyQuota:
        moment = now or dt.datetime.now(dt.UTC)
        used = self.ledger.sent_since(moment - DAY, options.account) if options.daily_quota else 0
        return DailyQuota(options.daily_quota, used)

    def quota_frees(self, now: dt.datetime | None = None, account: str | None = None) -> dt.datetime:
        """When the rolling 24-hour quota frees its next slot (now + 24 h if nothing is counted yet)."""
        moment = now or dt.datetime.now(dt.UTC)
        first = self.ledger.first_sent_since(moment - DAY, account)
        return (min(first, moment) if first else moment) + DAY

    def recipient_for(self, address: str) -> Recipient:
        """The sheet's recipient for a ledger row's address (KeyError if it left the sheet)."""
        found = self._find(address)
        if found is None:
            raise KeyError(address)
        return found

    def in_sheet(self, address: str) -> bool:
        return self._has(address)

    def due_rows(self, options: SendOptions, *, page: int = 1000) -> Iterator[LedgerRow]:
        """``due``, read from the ledger a page at a time (only the sheet's rows).

        A sender that joined others (``--join``) starts at a random place in
        the sheet and wraps round, so that the senders mostly work on
        different rows, and passes over rows taken since they were read
        before it renders them (another sender claimed them)."""
        if not self.lock.join:
            return self._due_from(options, page)
        pivot = random.randrange(len(self.recipients)) if self.recipients else -1
        rows = itertools.chain(
            self._due_from(options, page, after=pivot),
            itertools.takewhile(lambda r: (r.seq or 0) <= pivot, self._due_from(options, page)),
        )
        return (r for r in rows if self._still_due(r, options))

    def _due_from(self, options: SendOptions, page: int, after: int = -1) -> Iterator[LedgerRow]:
        rows = self.ledger.due_pages(
            self.campaign.campaign_id,
            self.kind,
            retry_failed=options.retry_failed,
            resend_unknown=options.resend_unknown,
            page=page,
            after=after,
        )
        return (r for r in rows if self.in_sheet(r.address))

    def _still_due(self, row: LedgerRow, options: SendOptions) -> bool:
        now = self.ledger.get(self.campaign.campaign_id, self.kind, row.address)
        return now is not None and now.status in options.from_statuses

    def count_due(self, options: SendOptions, *, page: int = 1000) -> int:
        addresses = self.ledger.due_addresses(
            self.campaign.campaign_id,
            self.kind,
            retry_failed=options.retry_failed,
            resend_unknown=options.resend_unknown,
            page=page,
        )
        return sum(1 for a in addresses if self.in_sheet(a))

    def record(self, row: LedgerRow, result: SendResult, *, ledger: Ledger | None = None) -> Outcome:
        """Store the server's answer for a claimed row (on ``ledger``: a session's own connection)."""
        # A fatal reply is about the sender or the account, not this address:
        # the message was not delivered, so it stays due (deferred) with the reason.
        status = "deferred" if result.status == "fatal" else result.status
        (ledger or self.ledger).record(
            self.campaign.campaign_id,
            self.kind,
            row.address,
            status,
            result.code,
            result.enhanced,
            result.line or result.reply,
        )
        return Outcome(row.address, row.municipalities, status, result.line or result.reply)

    def going(self, options: SendOptions, due: int) -> int:
        """How many of ``due`` messages this run sends: --batch and the daily quota left bound it."""
        going = due if options.batch is None else min(options.batch, due)
        if options.daily_quota:
            going = min(going, self.quota(options).remaining or 0)
        return going

    def preflight(self, rows: list[LedgerRow]) -> None:
        """Render every message of a run before the first is sent; a failure names its recipient."""
        for row in rows:
            recipient = self.recipient_for(row.address)
            try:
                self.factory.build(recipient, msgid=row.message_id)
            except LgpError as error:
                error.message = _("{message} (the message to {address}; nothing was sent)").format(
                    message=error.message, address=recipient.email
                )
                raise

    # -- no ledger: dry run and proof ---------------------------------------

    def dry_run(self, outbox: Path, options: SendOptions) -> list[Path]:
        """Everything but SMTP and the ledger's statuses: the due messages as .eml files."""
        with writing(outbox, _("the outbox")):  # a full or read-only disk: one line, exit 2
            return self._write_outbox(outbox, options)

    def _write_outbox(self, outbox: Path, options: SendOptions) -> list[Path]:
        outbox.mkdir(parents=True, exist_ok=True)
        for old in outbox.glob("[0-9][0-9][0-9][0-9]-*.eml"):  # our earlier dry run: no stale letters
            old.unlink()
        # Read a page at a time and built by worker processes, which write the files.
        going = self.count_due(options)
        going = going if options.batch is None else min(options.batch, going)
        rows = islice(self.due_rows(options), going)
        work = (
            (str(outbox / f"{n:04d}-{_safe(row.address)}.eml"), self.recipient_for(row.address), row.message_id)
            for n, row in enumerate(rows, start=1)
        )
        chunks = map_chunks(self.factory, write_emls, work, processes=build_processes(going))
        return [Path(path) for path in written_emls(chunks)]


def send_proof(
    campaign: Campaign,
    transport: Transport,
    to: str,
    *,
    kind: str = kinds.INVITATION.name,
    email: str | None = None,
    recipients: Sequence[Recipient] | None = None,
    event: Event | None = None,
    notice: NoticePlan | None = None,
) -> tuple[Recipient, SendResult]:
    """A proof copy of one recipient's message to ``to``; never logged as sent to the recipient.

    ``recipients`` and ``event`` are those of the run being proofed (a reminder's
    registrants, a notice's recipients); by default the campaign's sheet and
    event file.  With ``notice``, the proof is that recipient's notice, with
    their own list of changes.
    """
    if recipients is None or event is None:
        loaded_event, sheet = load_inputs(campaign, hints=False)
        event = event if event is not None else loaded_event
        recipients = recipients if recipients is not None else sheet.recipients
    if not recipients:
        raise ConfigError(_("the sheet has no valid recipient to make a proof from"), file=campaign.recipients_path)
    recipient = select(recipients, email=email)[0] if email else recipients[0]
    factory = (
        NoticeFactory(campaign, event, notice, calendar_uid=None)
        if notice is not None
        else MessageFactory(campaign, event, kind)
    )
    built = factory.build(recipient, proof_to=to)
    with transport:
        result = transport.send(built.as_bytes(), campaign.sender.envelope_from, to)
    if result.status != "sent":
        raise LgpError(
            _("the proof copy to {to} was not accepted: {line}").format(to=to, line=result.line or result.reply)
        )
    return recipient, result


def _lookups(recipients: Sequence[Recipient]) -> tuple[Callable[[str], Recipient | None], Callable[[str], bool]]:
    """Address → recipient, and is it there: a loaded sheet's own index (no second copy of
    100,000 addresses), else a dict of the recipients given (a reminder's registrants)."""
    if isinstance(recipients, Recipients):
        return recipients.find, recipients.__contains__
    by_key = {r.email.lower(): r for r in recipients}
    return (lambda address: by_key.get(address.lower())), (lambda address: address.lower() in by_key)


def _safe(address: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in address.lower())[:60]
