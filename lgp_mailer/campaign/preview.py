"""``preview``: render every message without sending, into ``.eml`` files and a review gallery.

Each letter gets its ``.eml`` and a review page (``.html``: envelope,
attachments, the letter in a sandboxed frame); ``index.html`` is the table
of all of them (gallery.py).  For many letters worker processes build and
write them (preview_letters.py) and this process fills in the table.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

from lgp_mailer import kinds as registry
from lgp_mailer.campaign.gallery import Gallery, RowKey, row_key, warnings_for
from lgp_mailer.campaign.inputs import input_warnings, now_utc
from lgp_mailer.campaign.preview_letters import Letter, Relinker, Run, Written, chunk_links, write_letters
from lgp_mailer.campaign.revisions import NoticeFactory, candidates, plan_notice
from lgp_mailer.campaign.spool import Failed, build_processes, map_chunks
from lgp_mailer.config import Campaign
from lgp_mailer.errors import ConfigError, LgpError
from lgp_mailer.event import Event, load_event
from lgp_mailer.i18n import _, current_language
from lgp_mailer.ledger.events import calendar_uid
from lgp_mailer.ledger.store import open_campaign_ledger
from lgp_mailer.mail.build import Built, MessageFactory
from lgp_mailer.mail.lint import LintReport, lint_message
from lgp_mailer.quoting import quoted
from lgp_mailer.sheets.recipients import Finding, Recipient, RecipientSheet, load_recipients
from lgp_mailer.storage import storage_error, writing

_OUR_FILES = re.compile(r"^\d{4}-[a-z0-9._-]+\.(eml|html)$")


@dataclass(frozen=True)
class PreviewItem:
    recipient: Recipient
    subject: str | None
    eml: Path | None
    html: Path | None
    problem: str | None = None


@dataclass
class PreviewReport:
    campaign: Campaign
    event: Event
    kind: str
    out_dir: Path
    index: Path
    total: int = 0  # letters tried
    rendered: int = 0
    problems: list[PreviewItem] = field(default_factory=list)  # the letters that did not build
    findings: list[Finding] = field(default_factory=list)
    first: Built | None = None
    warnings: list[str] = field(default_factory=list)  # about the inputs (campaign.inputs.input_warnings)

    @property
    def label(self) -> str:
        """The kind's name in the interface language, for the gallery."""
        return registry.title(self.kind)

    @property
    def failed(self) -> int:
        return len(self.problems)

    @property
    def sheet_problems(self) -> int:
        return sum(1 for f in self.findings if f.severity == "problem")


def load_inputs(campaign: Campaign, *, hints: bool = True) -> tuple[Event, RecipientSheet]:
    """The event and the sheet; ``hints=False`` for callers that never show the sheet's findings."""
    event = load_event(campaign.event_path)
    sheet = load_recipients(
        campaign.recipients_path,
        sheet=campaign.sheet,
        columns=dict(campaign.columns) or None,
        limits=campaign.limits,
        hints=hints,
    )
    return event, sheet


def select(
    recipients: Sequence[Recipient], *, email: str | None = None, limit: int | None = None
) -> Sequence[Recipient]:
    """``--email`` picks one recipient (case-insensitively); ``--limit`` keeps the first N.

    Without either, the sheet's own sequence (compact: a recipient is built when read), not a copy."""
    if email is not None:
        wanted = email.strip().lower()
        chosen = [r for r in recipients if r.email.lower() == wanted]
        if not chosen:
            raise ConfigError(
                _("no recipient with address {email} in the sheet").format(email=quoted(email)), key="--email"
            )
        return chosen
    return list(recipients[:limit]) if limit is not None else recipients


def run_preview(
    campaign: Campaign,
    *,
    kind: str = registry.INVITATION.name,
    out_dir: Path | None = None,
    limit: int | None = None,
    email: str | None = None,
    now: dt.datetime | None = None,
) -> PreviewReport:
    event, sheet = load_inputs(campaign)
    _refuse_unsendable(event, registry.get(kind))
    factory = MessageFactory(campaign, event, kind)
    recipients = sheet.recipients
    if registry.get(kind).revisioned:  # a notice: its revision's recipients, each with their changes
        factory, recipients = _notice(campaign, event, sheet, registry.get(kind))
        kind = factory.kind
    chosen = select(recipients, email=email, limit=limit)
    # The shipped campaign may sit in a read-only site-packages: preview here instead.
    default = Path.cwd() / "preview" if campaign.shipped else campaign.preview_dir
    out = Path(out_dir or default or Path.cwd() / "preview")
    with writing(out, _("the preview folder")):  # a full or read-only disk: one line, exit 2
        return _write_preview(campaign, event, kind, out, sheet, chosen, factory, now)


def _refuse_unsendable(event: Event, kind: registry.Kind) -> None:
    """A kind remind or followup would refuse for this event is not previewed either: its letter
    would show an empty line where the link goes, a letter that can never be sent."""
    if kind.needs_join_url and not event.join_url:
        raise ConfigError(
            _("no join link: add [online] join_url to the event file"), file=event.path, key="online.join_url"
        )
    if kind.needs_recording_url and not event.recording_url:
        raise ConfigError(
            _("no recording link: add [followup] recording_url to the event file"),
            file=event.path,
            key="followup.recording_url",
        )


def _notice(
    campaign: Campaign, event: Event, sheet: RecipientSheet, kind: registry.Kind
) -> tuple[MessageFactory, list[Recipient]]:
    """The notice ``lgp-mailer notify`` would send now, from the sent log (NothingDueError when none)."""
    with open_campaign_ledger(campaign.database) as ledger:
        plan = plan_notice(ledger, campaign, event, kind, candidates(campaign, sheet, None))
        uid = calendar_uid(ledger, campaign.campaign_id)
    return NoticeFactory(campaign, event, plan, calendar_uid=uid), plan.recipients


def _write_preview(
    campaign: Campaign,
    event: Event,
    kind: str,
    out: Path,
    sheet: RecipientSheet,
    chosen: Sequence[Recipient],
    factory: MessageFactory,
    now: dt.datetime | None,
) -> PreviewReport:
    _prepare(out)
    report = PreviewReport(campaign, event, kind, out, out / "index.html", findings=list(sheet.findings))
    if kind == registry.INVITATION.name:
        report.warnings = input_warnings(campaign, event, now or now_utc())
    # Match findings over the whole sheet: with --limit, another row's warning is no sheet-wide note.
    # Lines only for the letters built: with --limit 5000 of 100,000 rows, not a line for every row.
    only = {key for r in chosen if (key := row_key(r)) is not None} if chosen is not sheet.recipients else None
    lines, unmatched = warnings_for(sheet.recipients, sheet.findings, only=only)
    gallery = Gallery(out, report.label, len(chosen))
    gallery.prepare()
    work = _letters(chosen, lines)
    run = Run(uuid.uuid4().hex, str(out), report.label, len(chosen), now, current_language())
    relinker = Relinker(gallery)
    # Built and written by worker processes for many letters (spool.py decides): only the facts come back.
    for chunk, written in map_chunks(factory, write_letters, work, (run,), processes=build_processes(len(chosen))):
        if isinstance(written, Failed):  # the template's fault, not this row's: exit 2, as check and send do
            error, recipient = written.error, chunk[written.index].recipient
            if isinstance(error, LgpError):
                error.message = _("{message} (the message to {address})").format(
                    message=error.message, address=recipient.email
                )
            raise error
        _add(report, gallery, relinker, chunk, written)
        if report.first is None and report.rendered:  # the first letter built: shown on the terminal
            first = next(letter for letter, problem in zip(chunk, written.problems, strict=True) if problem is None)
            report.first = written.first or factory.build(first.recipient, now=now)  # rare: the worker built it
    relinker.finish()
    gallery.finish(
        title=event.title,
        campaign_id=campaign.campaign_id,
        rendered=report.rendered,
        failed=report.failed,
        unmatched=unmatched,
    )
    return report


def _add(report: PreviewReport, gallery: Gallery, relinker: Relinker, chunk: list[Letter], written: Written) -> None:
    """A chunk's letters into the report's counts, the table and the relinker, in order."""
    links = iter(chunk_links(chunk, written.problems))
    for letter, subject, problem in zip(chunk, written.subjects, written.problems, strict=True):
        recipient = letter.recipient
        report.total += 1
        if problem is not None or subject is None:
            report.problems.append(PreviewItem(recipient, None, None, None, problem=problem))
            gallery.row(letter.n, recipient, letter.warnings, "", "", problem)
            continue
        report.rendered += 1
        gallery.row(letter.n, recipient, letter.warnings, subject, letter.href)
        relinker.add(letter.n, letter.href, next(links))


def _stem(n: int, recipient: Recipient) -> str:
    """Letter ``n``'s file names without the suffix (``.eml``, ``.html``)."""
    return f"{n:04d}-{_slug(recipient.email)}"


def _letters(chosen: Sequence[Recipient], lines: dict[RowKey, list[str]]) -> Iterator[Letter]:
    """The letters to build, named as they are read (one ahead, for the next page's link):
    nothing is kept per recipient but the table's row."""
    numbered = enumerate(chosen, 1)
    current, before = next(numbered, None), None
    while current is not None:
        following = next(numbered, None)
        n, recipient = current
        stem = _stem(n, recipient)
        after = f"{_stem(*following)}.html" if following is not None else None
        key = row_key(recipient)
        yield Letter(n, recipient, lines.get(key, []) if key is not None else [], stem, before, after)
        current, before = following, f"{stem}.html"


def _prepare(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise ConfigError(_("preview folder is a file"), file=out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise storage_error(exc, out, _("the preview folder")) or ConfigError(
            _("cannot create preview folder: {reason}").format(reason=exc.strerror or exc), file=out
        ) from None
    # Remove only our own earlier output, so a shorter list leaves no stale letters.
    for old in out.iterdir():
        if old.is_file() and _OUR_FILES.match(old.name):
            old.unlink()


def _slug(address: str) -> str:
    ascii_ = unicodedata.normalize("NFKD", address).encode("ascii", "ignore").decode("ascii").lower()
    return re.sub(r"[^a-z0-9._-]+", "_", ascii_)[:60] or "recipient"


def lint_campaign(
    campaign: Campaign, kinds: tuple[str, ...] | None = None, *, email: str | None = None, spamassassin: bool = True
) -> list[LintReport]:
    """Lint the first recipient's message (or ``email``'s) of each kind (default: every declared kind)."""
    event, sheet = load_inputs(campaign)
    recipient = select(sheet.recipients, email=email, limit=1)
    if not recipient:
        raise ConfigError(_("the sheet has no valid recipient to lint a message for"), file=campaign.recipients_path)
    reports = []
    for kind in registry.names() if kinds is None else kinds:
        if registry.get(kind).needs_join_url and not event.join_url:
            continue  # no join link, no reminder: remind refuses to send one
        if registry.get(kind).needs_recording_url and not event.recording_url:
            continue  # no recording link, no follow-up: followup refuses to send one
        built = MessageFactory(campaign, event, kind).build(recipient[0])
        reports.append(lint_message(built.as_bytes(), kind, spamassassin=spamassassin))
    return reports


def text_part(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    return part.get_content() if part is not None else ""
