"""``send`` and ``remind`` once the campaign is chosen: the one core the CLI calls.

What this module decides, so that no command has to: the SMTP settings
(flag > environment > toml > default), the credential strategy (a password is
asked once before the sessions open; an OAuth2 token afresh for every
connection, because tokens expire), the transports, the proof copy, the dry
run, the check that every message renders before the first one goes, and the
send loop itself (:func:`~lgp_mailer.campaign.run.run_parallel`).

It never prints and never asks: what a person sees comes from the ``SendHooks``
the caller passes in (the CLI's plan, confirmation, progress bar and summary),
and the result is a :class:`SendOutcome` the caller turns into an exit code.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any, Literal, Protocol

from lgp_mailer import address_reasons, kinds
from lgp_mailer.campaign.changes import snapshot
from lgp_mailer.campaign.inputs import (
    agenda_warnings,
    another_conference,
    changes_since_last_run,
    input_warnings,
    leftover_links,
    now_utc,
    refuse_another_event,
    refuse_placeholders,
    refuse_started,
)
from lgp_mailer.campaign.next_steps import smtp_args
from lgp_mailer.campaign.revisions import NoticePlan, refuse_cancelled, refuse_unannounced
from lgp_mailer.campaign.run import run_parallel
from lgp_mailer.campaign.session import Progress, SendOptions, SendReport, SendSession, send_proof
from lgp_mailer.campaign.spool import Spool, build_spool
from lgp_mailer.config import Campaign
from lgp_mailer.errors import ConfigError, ExitCode, SmtpError
from lgp_mailer.event import Event, load_event
from lgp_mailer.i18n import _, ngettext
from lgp_mailer.ledger.events import record_calendar_uid, record_snapshot
from lgp_mailer.ledger.revisions import record_revision
from lgp_mailer.ledger.store import Ledger, open_campaign_ledger
from lgp_mailer.quoting import quoted
from lgp_mailer.sheets.recipients import Recipient, RecipientSheet
from lgp_mailer.smtp.credentials import Secret, get_secret
from lgp_mailer.smtp.hints import hint_line
from lgp_mailer.smtp.pacing import RetryPolicy
from lgp_mailer.smtp.settings import SmtpSettings, campaign_run_settings, campaign_smtp_settings
from lgp_mailer.smtp.transport import SendResult, SmtpTransport

Mode = Literal["proof", "dry_run", "nothing_due", "declined", "sent"]


@dataclass(frozen=True)
class SendRequest:
    """What the user asked for (the flags of ``send`` and ``remind``)."""

    kind: str = "invitation"
    batch: int | None = None
    dry_run: bool = False
    test_to: str | None = None
    email: str | None = None  # with test_to: whose message to proof
    retry_failed: bool = False
    resend_unknown: bool = False
    interactive: bool = False  # may a password be asked for at a prompt
    connections: int = 1
    join: bool = False  # send alongside the campaign's running senders (a PostgreSQL sent log only)
    smtp_flags: Mapping[str, Any] = field(default_factory=dict)
    # A remind run's targets: its recipients, event and sheet (default: the campaign's).
    recipients: list[Recipient] | None = None
    event: Event | None = None
    sheet: RecipientSheet | None = None
    # Flags the "Next:" hints repeat besides the SMTP ones: the inputs (--campaign ...) and the command's own.
    inputs: tuple[str, ...] = ()
    extra: tuple[str, ...] = ()
    # A change or cancellation notice's revision and recipients (campaign.revisions).
    notice: NoticePlan | None = None


@dataclass
class SendOutcome:
    mode: Mode
    report: SendReport | None = None
    recovered: int = 0  # rows a crash left 'sending', turned 'unknown' by this run
    written: list[Path] = field(default_factory=list)  # a dry run's files
    outbox: Path | None = None
    proof: tuple[Recipient, str, SendResult] | None = None  # whose message, to whom, the answer
    # After a run: this campaign kind's rows that still need a decision or a retry, by status.
    outstanding: dict[str, tuple[str, ...]] = field(default_factory=dict)
    held: int = 0  # a dry run's: the sheet's addresses (or cells) held back by problems, never written


class SendHooks(Protocol):
    """What a person sees of a run; the CLI implements it, tests may too."""

    def plan(self, session: SendSession, options: SendOptions, settings: SmtpSettings, due: int) -> None: ...

    def building(self, total: int) -> Callable[[int], None] | None:
        """Progress of building the run's messages before the confirmation (called with the count built)."""
        ...

    def nothing_due(self, session: SendSession, options: SendOptions, settings: SmtpSettings) -> None: ...

    def confirm(self, count: int) -> bool: ...

    def progress(self, total: int) -> Progress | None: ...

    def summary(self, session: SendSession, report: SendReport, options: SendOptions) -> None: ...

    def stopping(self) -> contextlib.AbstractContextManager[threading.Event]:
        """Around the sending itself: an event set when the user asks to stop."""
        ...

    def warn(self, lines: list[str]) -> None:
        """Warnings about the inputs and what changed since the campaign's last run."""
        ...


def send(
    campaign: Campaign,
    request: SendRequest,
    hooks: SendHooks,
    *,
    env: Mapping[str, str] = os.environ,
    now: dt.datetime | None = None,
) -> SendOutcome:
    """Send (or proof, or dry-run) the due messages of one kind of one campaign.

    An invitation for a conference that has started is refused (ConfigError, exit 2) before anything else.
    """
    now = now or now_utc()
    if request.kind == kinds.INVITATION.name:
        refuse_started(request.event or load_event(campaign.event_path), now)
    settings = campaign_smtp_settings(campaign, request.smtp_flags, env).settings
    options = _options(campaign, request, settings)

    if request.test_to:
        to = proof_address(request.test_to)
        transport = SmtpTransport(settings, _ask_secret(settings, env, request.interactive))
        with fatal_is_usage(), smtp_hint(settings):
            recipient, result = send_proof(
                campaign,
                transport,
                to,
                kind=request.kind,
                email=request.email,
                recipients=request.recipients,
                event=request.event,
                notice=request.notice,
            )
        return SendOutcome("proof", proof=(recipient, to, result))
    if not request.dry_run:
        refuse_placeholders(request.event or load_event(campaign.event_path))

    ledger = open_campaign_ledger(campaign.database, env, campaign.database_password_command)
    try:
        if request.notice is None:
            refuse_cancelled(ledger, campaign.campaign_id)  # exit 3, naming the cancellation's date
            # A folder copied from the last conference: its sent log is that conference's.
            other = another_conference(ledger, campaign, request.event or load_event(campaign.event_path))
            if other is not None:
                raise other
        if request.kind in (kinds.REMINDER.name, kinds.NUDGE.name) and not request.dry_run:
            refuse_unannounced(ledger, campaign, request.event or load_event(campaign.event_path))
        if request.join and not ledger.concurrent_senders:
            raise ConfigError(
                _(
                    "--join needs a sent log that several senders can share: a PostgreSQL server"
                    " (LGP_MAILER_DB=postgresql://…); this one is a SQLite file"
                ),
                file=ledger.path,
            )
        with SendSession(
            campaign,
            ledger,
            request.kind,
            recipients=request.recipients,
            event=request.event,
            sheet=request.sheet,
            notice=request.notice,
            join=request.join,
        ) as session:
            if request.join and not request.dry_run:
                refuse_another_event(ledger, campaign, session.event, session.lock.joined)
            hooks.warn(_warnings(campaign, session, now))
            if request.dry_run:
                # The shipped campaign may sit in a read-only site-packages: write here instead.
                outbox = Path.cwd() / "outbox" if campaign.shipped else Path(campaign.outbox_dir or "outbox")
                written = session.dry_run(outbox / request.kind, options)
                return SendOutcome(
                    "dry_run",
                    written=written,
                    outbox=outbox / request.kind,
                    recovered=session.recovered,
                    held=len(getattr(session.sheet, "rejected", []) or []),
                )
            due = session.count_due(options)  # counted in the ledger, never a list of every row
            if not due:
                hooks.nothing_due(session, options, settings)
                return SendOutcome(
                    "nothing_due", recovered=session.recovered, outstanding=_outstanding(ledger, campaign, request)
                )
            going = session.going(options, due)
            hooks.plan(session, options, settings, due)
            # Every message of this run renders before the first is sent: a
            # template that fails for one recipient stops the run with nothing
            # sent.  The messages built for that check are the ones sent.
            # A joining sender renders as it goes: the rows it will get are
            # only known as it claims them (the first sender checked them all).
            building = hooks.building(going) if not request.join else None
            try:
                spool = build(session, options, going if not request.join else 0, progress=building)
            finally:
                getattr(building, "close", lambda: None)()
            with spool:
                if not hooks.confirm(going):
                    return SendOutcome("declined", recovered=session.recovered)
                credential = _credential(settings, env, request.interactive)
                _remember(ledger, session)
                progress = hooks.progress(going)
                try:
                    with hooks.stopping() as stop, fatal_is_usage(), smtp_hint(settings):
                        report = run_parallel(
                            session,
                            lambda: SmtpTransport(settings, credential),
                            request.connections,
                            options,
                            stop=stop,
                            progress=progress,
                            prebuilt=spool.messages() if not request.join else None,
                        )
                finally:
                    getattr(progress, "close", lambda: None)()
            hooks.summary(session, report, options)
            return SendOutcome(
                "sent", report=report, recovered=session.recovered, outstanding=_outstanding(ledger, campaign, request)
            )
    finally:
        ledger.close()


def _sheet_rows(session: SendSession) -> int | None:
    if session.kind != kinds.INVITATION.name:
        return None  # a reminder's "sheet" is the registrations file
    return len(session.recipients) + len(getattr(session.sheet, "rejected", []) or [])


def _warnings(campaign: Campaign, session: SendSession, now: dt.datetime) -> list[str]:
    invitation = session.kind == kinds.INVITATION.name
    lines = input_warnings(campaign, session.event, now) if invitation else agenda_warnings(session.event)
    lines += changes_since_last_run(session.ledger, campaign, session.event, _sheet_rows(session))
    lines += leftover_links(session.ledger, campaign, session.event)
    if session.not_in_campaign:
        lines.append(
            ngettext(
                "{n} recipient of {sheet} is not in the campaign the running senders send (the first sender's"
                " sheet): this run does not send to them; a send without --join afterwards does",
                "{n} recipients of {sheet} are not in the campaign the running senders send (the first sender's"
                " sheet): this run does not send to them; a send without --join afterwards does",
                session.not_in_campaign,
            ).format(n=session.not_in_campaign, sheet=campaign.recipients_path)
        )
    return lines


def _remember(ledger: Ledger, session: SendSession) -> None:
    """At the start of a real run: the campaign's calendar UID (first run only) and the event as sent."""
    campaign = session.campaign
    record_calendar_uid(ledger, campaign.campaign_id, session.factory.calendar_uid)
    notice = session.notice
    if notice is not None and notice.new:
        record_revision(ledger, campaign.campaign_id, notice.revision, notice.kind.name, notice.snapshot.as_row())
    is_invitation = session.kind == kinds.INVITATION.name
    record_snapshot(
        ledger,
        campaign.campaign_id,
        session.kind,
        snapshot(session.event).as_row(),
        event_path=str(session.event.path),
        sheet_path=str(campaign.recipients_path) if is_invitation else None,
        sheet_rows=_sheet_rows(session),
    )


@contextlib.contextmanager
def smtp_hint(settings: SmtpSettings) -> Iterator[None]:
    """A session that could not open ends its one error line with what to change, and where."""
    try:
        yield
    except SmtpError as error:
        result = getattr(error, "result", None)
        if result is not None and result.phase in ("connect", "tls", "auth"):
            error.message = f"{error.message}; {hint_line(result.phase, result.reply, settings, result.code)}"
        raise


OUTSTANDING = ("unknown", "deferred")  # left by any run; 'failed' counts only when this run made it


def _outstanding(ledger: Ledger, campaign: Campaign, request: SendRequest) -> dict[str, tuple[str, ...]]:
    found = ledger.addresses_in(campaign.campaign_id, request.kind, OUTSTANDING)
    return {status: tuple(found[status]) for status in OUTSTANDING if status in found}


def build(
    session: SendSession, options: SendOptions, going: int, *, progress: Callable[[int], None] | None = None
) -> Spool:
    """The next ``going`` due messages of ``session``, each built once into a spool (see ``campaign.spool``).

    A message that does not build raises, naming its recipient, before anything is sent."""
    rows = islice(session.due_rows(options), going)
    work = ((row.seq or 0, session.recipient_for(row.address), row.message_id) for row in rows)
    return build_spool(session.factory, work, going, progress=progress)


def exit_code(outcome: SendOutcome, interrupted_code: ExitCode = ExitCode.INTERRUPTED) -> ExitCode:
    """The documented exit code of a send run."""
    if outcome.mode in ("proof", "declined"):
        return ExitCode.OK
    if outcome.mode == "dry_run":
        return ExitCode.OK if outcome.written else ExitCode.NOTHING_DUE
    if outcome.mode == "nothing_due":
        # Messages whose outcome is unknown (a crash's, now or earlier) need a decision:
        # that is a problem, not "nothing due" (precedence 1 > 3).
        return ExitCode.PROBLEMS if outcome.recovered or outcome.outstanding else ExitCode.NOTHING_DUE
    assert outcome.report is not None
    if outcome.report.interrupted:
        return interrupted_code
    # This run's own failures, or unknown/deferred rows of this campaign kind from any run.
    return ExitCode.PROBLEMS if outcome.report.problems or outcome.outstanding else ExitCode.OK


def _options(campaign: Campaign, request: SendRequest, settings: SmtpSettings) -> SendOptions:
    extra = campaign_run_settings(campaign)
    retry = RetryPolicy(attempts=extra.get("retries", 4), base=extra.get("retry_delay", 2.0))
    return SendOptions(
        kind=request.kind,
        batch=request.batch,
        retry_failed=request.retry_failed,
        resend_unknown=request.resend_unknown,
        max_consecutive_failures=extra.get("max_consecutive_failures", 5),
        retry=retry,
        rates=tuple(settings.rates),
        daily_quota=settings.daily_quota,
        account=relay_account(settings),
        inputs=request.inputs,
        extra=request.extra,
        smtp_args=smtp_args(request.smtp_flags),
    )


def relay_account(settings: SmtpSettings) -> str:
    """The relay account a daily quota belongs to: every sender using it shares the quota."""
    return f"{settings.host.lower()}:{settings.port}:{settings.username or ''}"


def _ask_secret(settings: SmtpSettings, env: Mapping[str, str], interactive: bool) -> Secret | None:
    return get_secret(settings, env, interactive=interactive)


def _credential(
    settings: SmtpSettings, env: Mapping[str, str], interactive: bool
) -> Secret | Callable[[], Secret | None] | None:
    """The credential strategy: OAuth2 tokens are asked for per connection
    (they expire during a long run), a password once before the sessions open."""
    if settings.auth_method == "xoauth2":
        _ask_secret(settings, env, interactive)  # fail early if there is none
        return lambda: _ask_secret(settings, env, interactive)
    if settings.auth_method != "none":
        return _ask_secret(settings, env, interactive)
    return None


def proof_address(address: str) -> str:
    """The ``--test-to`` address, validated (ASCII form)."""
    from email_validator import EmailNotValidError, validate_email  # noqa: PLC0415 - email_validator loads dnspython; only for --test-to

    try:
        valid = validate_email(address.strip(), check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        raise ConfigError(
            _("{address} is not an e-mail address: {exc}").format(
                address=quoted(address), exc=address_reasons.reason(exc)
            ),
            key="--test-to",
        ) from None
    assert valid.ascii_email is not None  # allow_smtputf8=False: an address is ASCII or rejected
    return valid.ascii_email


@contextlib.contextmanager
def fatal_is_usage() -> Iterator[None]:
    """A session refused for good when it opens (wrong password, untrusted certificate)
    is configuration: exit 2, for a run and for a --test-to proof alike."""
    try:
        yield
    except SmtpError as error:
        result = getattr(error, "result", None)
        if result is not None and result.status == "fatal":
            error.exit_code = ExitCode.USAGE
        raise


__all__ = [
    "OUTSTANDING",
    "SendHooks",
    "SendOutcome",
    "SendRequest",
    "exit_code",
    "fatal_is_usage",
    "proof_address",
    "relay_account",
    "send",
]
