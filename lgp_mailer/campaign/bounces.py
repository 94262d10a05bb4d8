"""Bounces and replies: read a mailbox, tell failures from auto-replies, act on them.

``lgp-mailer bounces import PATH`` reads the messages of a mailbox (an mbox
file, a Maildir folder, one .eml or an IMAP folder: see ``mailboxes.py``)
and sorts every message into one of:

``permanent``
    a delivery failure for good (flufl.bounce's detectors).  The ledger row
    becomes ``failed`` with the reason (found by the original Message-ID in
    the attached message or its headers, else by address), and the address
    is suppressed with source ``bounce``.  Only addresses the sent log knows
    are acted on; a bounce of someone else's mail is reported, not obeyed.
``temporary``
    a delay notice: reported only, the server is still trying.
``auto-reply``
    out-of-office and other automatic answers (``Auto-Submitted:
    auto-replied``, ``X-Autoreply``, "Automatikus válasz", "Házon kívül"…).
    Never suppresses anything: the mayor is on holiday, not gone.
``unsubscribe``
    a person asking to be left out, by the documented rule of
    ``unsubscribe.py`` (a stem such as "leiratkoz" in the subject or the first
    3 lines of their own words, a short reply, no word of attendance or
    negation): the sender is suppressed with source ``unsubscribe``.
``other``
    everything else, listed for a person to read; this includes replies that
    mention unsubscribing but fail the rule: they never suppress.

``export_corrections`` writes the sheet staff phone municipalities from.
"""

from __future__ import annotations

import email
import email.errors
import email.message
import email.utils
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from email.header import decode_header, make_header
from email.parser import HeaderParser
from pathlib import Path
from zoneinfo import ZoneInfo

from lgp_mailer.campaign import unsubscribe
from lgp_mailer.campaign.mailboxes import MailboxError
from lgp_mailer.i18n import _
from lgp_mailer.ledger.store import BOUNCEABLE, Ledger, LedgerRow
from lgp_mailer.sheets.cells import AddressError, normalise_address

PERMANENT, TEMPORARY, AUTO_REPLY, UNSUBSCRIBE, OTHER = "permanent", "temporary", "auto-reply", "unsubscribe", "other"
KINDS = (PERMANENT, TEMPORARY, AUTO_REPLY, UNSUBSCRIBE, OTHER)
REASON_MAX = 300

_AUTO_HEADERS = ("X-Autoreply", "X-Autorespond", "X-Autoresponder")
_AUTO_SUBJECT = re.compile(
    r"automatikus\s+v[áa]lasz|h[áa]zon\s+k[íi]v[üu]l|out\s+of\s+(the\s+)?office|automatic\s+reply|auto[-\s]?reply"
    r"|autoreply|abwesenheitsnotiz|automatische\s+antwort|r[ée]ponse\s+automatique",
    re.IGNORECASE,
)
_MAIL_SYSTEM = re.compile(r"^(mailer-daemon|postmaster|mail-daemon|mailerdaemon)@", re.IGNORECASE)
_DAEMON = re.compile(r"^(mailer-daemon|postmaster|mail-daemon|noreply|no-reply)@", re.IGNORECASE)
_CODE = re.compile(r"\b([45]\d\d)\b")
_ENHANCED = re.compile(r"\b([245]\.\d{1,3}\.\d{1,3})\b")
_MSGID_LINE = re.compile(r"^Message-ID:\s*(<[^<>\s]+>)", re.IGNORECASE | re.MULTILINE)
# RFC 3463 codes a bare DSN status is most often; said in words for the staff.
_STATUS_WORDS = {
    "5.1.1": "no such mailbox",
    "5.1.2": "no such domain",
    "5.1.10": "recipient not found (Exchange)",
    "5.2.1": "mailbox disabled",
    "5.2.2": "mailbox full",
    "5.4.4": "no mail server for the domain",
    "5.0.0": "permanent failure",
    "4.4.1": "no answer from host",
    "4.4.7": "delivery time expired",
}
# Refusals of the message (policy, spam, content, size), not of the address:
# the row is failed, but the address is not suppressed.
_NOT_ADDRESS = re.compile(r"^5\.(?:7|6)\.\d+$|^5\.3\.4$")


# -- classifying one message ---------------------------------------------------


@dataclass(frozen=True)
class Failure:
    address: str
    reason: str
    code: int | None = None
    enhanced: str | None = None


@dataclass(frozen=True)
class Verdict:
    kind: str  # one of KINDS
    subject: str
    sender: str  # the From address ("" when none)
    date: datetime | None
    message_id: str | None  # our original Message-ID, when the message names it
    failures: tuple[Failure, ...] = ()
    why: str = ""  # how it was recognised, for the report


def classify(msg: email.message.Message) -> Verdict:
    """Sort one incoming message into KINDS (see the module docstring)."""
    subject = _header(msg, "Subject")
    sender = email.utils.parseaddr(_header(msg, "From"))[1]
    date = _date(msg)
    original = _original_message_id(msg)

    def verdict(kind: str, why: str, failures: tuple[Failure, ...] = (), mid: str | None = original) -> Verdict:
        return Verdict(kind, subject, sender, date, mid, failures, why)

    # A delivery report, or a notice from the mail system itself, is judged
    # by its content even when it calls itself an auto-reply (mail.ru and
    # others send bounces with "Auto-Submitted: auto-replied").  Anything
    # else with an auto-reply mark is one, whatever its text says.
    from_system = msg.get_content_type() == "multipart/report" or bool(_MAIL_SYSTEM.match(sender))
    auto = _auto_reply_mark(msg, subject)
    if auto and not from_system:
        return verdict(AUTO_REPLY, auto, mid=original or _replied_to(msg))
    from flufl.bounce import all_failures  # noqa: PLC0415 - flufl.bounce is heavy; only `bounces import` needs it

    try:
        temporary, permanent = all_failures(msg)
    except Exception as error:  # one malformed message must not stop the import
        return verdict(OTHER, _("could not be analysed ({kind}); read it by hand").format(kind=type(error).__name__))
    if permanent:
        return verdict(PERMANENT, "delivery failure", _failures(msg, permanent, subject))
    if temporary:
        return verdict(TEMPORARY, "delivery delayed", _failures(msg, temporary, subject))
    if auto:
        return verdict(AUTO_REPLY, auto, mid=original or _replied_to(msg))
    judged, why = _unsubscribe_mark(msg, subject, sender)
    if judged == unsubscribe.UNSUBSCRIBE:
        return verdict(UNSUBSCRIBE, why, mid=_replied_to(msg))
    if judged == unsubscribe.REVIEW:  # a person reads it; it never suppresses on its own
        return verdict(OTHER, _("may ask to unsubscribe ({why}): read it").format(why=why), mid=_replied_to(msg))
    return verdict(OTHER, _("not a bounce, auto-reply or unsubscribe request"), mid=_replied_to(msg))


def _auto_reply_mark(msg: email.message.Message, subject: str) -> str:
    submitted = str(msg.get("Auto-Submitted", "")).strip().lower()
    if submitted.startswith("auto-replied"):
        return f"Auto-Submitted: {submitted}"
    for name in _AUTO_HEADERS:
        if msg.get(name) is not None:
            return f"{name} header"
    if str(msg.get("Precedence", "")).strip().lower() == "auto_reply":
        return "Precedence: auto_reply"
    if str(msg.get("X-Auto-Response-Suppress", "")) and _AUTO_SUBJECT.search(subject):
        return "Exchange automatic reply"
    found = _AUTO_SUBJECT.search(subject)
    return f"subject {found.group(0)!r}" if found else ""


def _unsubscribe_mark(msg: email.message.Message, subject: str, sender: str) -> tuple[str, str]:
    """The rule of ``unsubscribe.py``: (UNSUBSCRIBE or REVIEW or "", why)."""
    submitted = str(msg.get("Auto-Submitted", "no")).strip().lower()
    if submitted not in ("", "no") or not sender or _DAEMON.match(sender):
        return "", ""  # machines do not ask to be left out
    return unsubscribe.judge(subject, _plain_text(msg))


def _plain_text(msg: email.message.Message, limit: int = 20_000) -> str:
    """The first text/plain part (quoted text included: ``unsubscribe.own_text`` strips it)."""
    for part in _own_parts(msg):
        if part.get_content_type() == "text/plain":
            return _text(part)[:limit]
    return ""


def _own_parts(part: email.message.Message) -> Iterator[email.message.Message]:
    """The message's parts, not descending into attached messages or reports."""
    yield part
    if part.is_multipart() and part.get_content_maintype() != "message":
        for sub in part.get_payload():
            if isinstance(sub, email.message.Message):
                yield from _own_parts(sub)


def _text(part: email.message.Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, errors="replace")
    except LookupError:
        return payload.decode("latin-1")


def _failures(msg: email.message.Message, found: Iterable[bytes | str], subject: str) -> tuple[Failure, ...]:
    dsn = _dsn_fields(msg)
    texts = [_text(p) for p in _own_parts(msg) if p.get_content_type() == "text/plain"]
    failures = []
    for raw in sorted(found):
        address = (raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)).strip().strip("<>")
        reason = dsn.get(address.lower()) or _paragraph(texts, address) or subject or "delivery failed"
        code = _CODE.search(reason)
        # The most specific status: "5.0.0 … 550-5.7.1 …" is a 5.7.1.
        codes = _ENHANCED.findall(reason)
        enhanced = next((c for c in codes if not c.endswith(".0.0")), codes[0] if codes else None)
        failures.append(Failure(address, reason[:REASON_MAX], int(code.group(1)) if code else None, enhanced))
    return tuple(failures)


def _dsn_fields(msg: email.message.Message) -> dict[str, str]:
    """address → "Status 5.1.1: diagnostic" from message/delivery-status parts."""
    reasons: dict[str, str] = {}
    for part in msg.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        for block in part.get_payload() or []:
            if not isinstance(block, email.message.Message):
                continue
            recipient = block.get("Final-Recipient") or block.get("Original-Recipient")
            if not recipient:
                continue
            address = str(recipient).split(";", 1)[-1].strip().strip("<>").lower()
            status = _one_line(str(block.get("Status", "")))
            status += f" ({_STATUS_WORDS[status]})" if status in _STATUS_WORDS else ""
            diagnostic = _one_line(str(block.get("Diagnostic-Code", ""))).split(";", 1)[-1].strip()
            text = " ".join(x for x in (status, diagnostic) if x)
            if text and address not in reasons:
                reasons[address] = text
    return reasons


def _paragraph(texts: list[str], address: str) -> str:
    """The first paragraph of the notice that names ``address``, one line;
    one with an SMTP code preferred."""
    named = [p for t in texts for p in re.split(r"\n\s*\n", t) if address.lower() in p.lower()]
    best = next((p for p in named if _CODE.search(p)), named[0] if named else "")
    return _one_line(best)


def _original_message_id(msg: email.message.Message) -> str | None:
    for part in msg.walk():
        kind = part.get_content_type()
        if kind == "message/rfc822":
            inner = part.get_payload()
            inner = inner[0] if isinstance(inner, list) and inner else inner
            if isinstance(inner, email.message.Message) and inner.get("Message-ID"):
                return _one_line(str(inner["Message-ID"]))
        elif kind == "text/rfc822-headers":
            headers = HeaderParser().parsestr(_text(part) or str(part.get_payload()))
            if headers.get("Message-ID"):
                return _one_line(str(headers["Message-ID"]))
    for part in _own_parts(msg):  # original headers quoted inline in the notice
        if part.get_content_type() == "text/plain":
            found = _MSGID_LINE.search(_text(part))
            if found:
                return found.group(1)
    return None


def _replied_to(msg: email.message.Message) -> str | None:
    ids = str(msg.get("In-Reply-To", "") or msg.get("References", "")).split()
    return ids[-1] if ids else None


def _date(msg: email.message.Message) -> datetime | None:
    try:
        return email.utils.parsedate_to_datetime(str(msg.get("Date", "")))
    except (TypeError, ValueError, IndexError):
        return None


def _header(msg: email.message.Message, name: str) -> str:
    """A header's text with RFC 2047 words decoded ("=?UTF-8?Q?leiratkoz=C3=A1s?=" → "leiratkozás")."""
    raw = msg.get(name)
    if raw is None:
        return ""
    try:
        return _one_line(str(make_header(decode_header(str(raw)))))
    except (UnicodeError, LookupError, ValueError, email.errors.HeaderParseError):
        return _one_line(str(raw))


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


# -- acting on verdicts ------------------------------------------------------


@dataclass
class Outcome:
    label: str
    verdict: Verdict
    marked: list[LedgerRow] = field(default_factory=list)  # rows now failed
    suppressed: list[str] = field(default_factory=list)  # newly on the list
    already: list[str] = field(default_factory=list)  # were on the list before
    unknown: list[str] = field(default_factory=list)  # not in the sent log: left alone
    kept: list[str] = field(default_factory=list)  # failed for the message's sake, address not suppressed


@dataclass
class ImportReport:
    outcomes: list[Outcome] = field(default_factory=list)
    dry_run: bool = False

    def count(self, kind: str) -> int:
        return sum(1 for o in self.outcomes if o.verdict.kind == kind)

    def total(self, what: str) -> int:
        return sum(len(getattr(o, what)) for o in self.outcomes)


def import_messages(
    ledger: Ledger, messages: Iterator[tuple[str, email.message.Message]], *, dry_run: bool = False
) -> ImportReport:
    """Classify every message and apply the verdicts to the ledger (unless ``dry_run``)."""
    report = ImportReport(dry_run=dry_run)
    for label, msg in messages:
        verdict = classify(msg)
        outcome = Outcome(label, verdict)
        if verdict.kind == PERMANENT:
            for failure in verdict.failures:
                _apply_failure(ledger, outcome, failure, dry_run)
        elif verdict.kind == UNSUBSCRIBE:
            _apply_unsubscribe(ledger, outcome, dry_run)
        report.outcomes.append(outcome)
    return report


def _apply_failure(ledger: Ledger, outcome: Outcome, failure: Failure, dry_run: bool) -> None:
    verdict = outcome.verdict
    by_id = ledger.by_message_id(verdict.message_id) if verdict.message_id else None
    # Our messages have one recipient each: a bounce naming one address is
    # about the row its Message-ID names, even when a forward changed the
    # address.  With several addresses the ID only speaks for its own.
    if by_id and (len(verdict.failures) == 1 or by_id.address.lower() == failure.address.lower()):
        row: LedgerRow | None = by_id if _bounceable(by_id) else None  # never sent: not our bounce
    else:
        row = next((r for r in ledger.rows_for_address(failure.address) if _bounceable(r)), None)
    if row is None:
        outcome.unknown.append(failure.address)
        return
    reason = failure.reason
    if row.address.lower() != failure.address.lower():
        reason = f"{failure.address}: {reason}"
    address_problem = not (failure.enhanced and _NOT_ADDRESS.match(failure.enhanced))
    if dry_run:
        outcome.marked.append(row)
        (outcome.suppressed if address_problem else outcome.kept).append(row.address)
        return
    # Suppress first: that takes over the address's other unsent rows; the
    # bounced row itself is then recorded 'failed' with the reason.
    if not address_problem:
        outcome.kept.append(row.address)
    elif ledger.suppress(row.address, reason, "bounce"):
        outcome.suppressed.append(row.address)
    else:
        outcome.already.append(row.address)
    marked = ledger.mark_bounced(
        message_id=row.message_id, address=row.address, reason=reason, code=failure.code, enhanced=failure.enhanced
    )
    if marked is not None and marked.status == "failed":
        outcome.marked.append(marked)


def _bounceable(row: LedgerRow) -> bool:
    """Sent (or maybe sent) at some point: a bounce can be about it."""
    return row.status in BOUNCEABLE or (row.status == "suppressed" and row.attempts > 0)


def _apply_unsubscribe(ledger: Ledger, outcome: Outcome, dry_run: bool) -> None:
    verdict = outcome.verdict
    try:
        address = normalise_address(verdict.sender).send
    except AddressError:
        outcome.unknown.append(verdict.sender)
        return
    when = verdict.date.strftime("%Y-%m-%d") if verdict.date else "?"
    reason = f"leiratkozási kérés ({when}): {verdict.subject}"
    if dry_run or ledger.suppress(address, reason, "unsubscribe"):
        outcome.suppressed.append(address)
    else:
        outcome.already.append(address)


# -- the corrections sheet ---------------------------------------------------

CORRECTION_HEADERS = ("Vármegye", "Önkormányzat", "E-mail-cím", "Hiba oka", "Dátum", "Kampány")


def correction_rows(ledger: Ledger) -> list[tuple[str, ...]]:
    """One row per bounced municipality: county, municipality, address, reason,
    date (Budapest time, when the bounce was recorded), campaign."""
    budapest = ZoneInfo("Europe/Budapest")
    rows = []
    for entry in ledger.suppressions("bounce"):
        history = ledger.rows_for_address(entry.address)
        best = next((r for r in history if r.municipalities), history[0] if history else None)
        stamp = datetime.strptime(entry.created_at, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=ZoneInfo("UTC"))
        date = stamp.astimezone(budapest).strftime("%Y-%m-%d %H:%M")
        county = (best.county or "") if best else ""
        campaign = best.campaign_id if best else ""
        for municipality in best.municipalities if best and best.municipalities else ("",):
            rows.append((county, municipality, entry.address, entry.reason, date, campaign))
    return sorted(rows, key=lambda r: (r[0].casefold(), r[1].casefold(), r[2]))


def export_corrections(ledger: Ledger, path: Path) -> int:
    """Write the corrections workbook; every cell is text, never a formula.  Returns the row count."""
    from openpyxl import Workbook  # noqa: PLC0415 - openpyxl is heavy; only the corrections export needs it
    from openpyxl.styles import Font  # noqa: PLC0415 - as above

    rows = correction_rows(ledger)
    book = Workbook()
    sheet = book.active
    assert sheet is not None  # a new workbook has its one sheet
    sheet.title = "Javítandó címek"
    for values in (CORRECTION_HEADERS, *rows):
        sheet.append(list(values))
    for row in sheet.iter_rows():
        for cell in row:
            cell.data_type = "s"  # "=…" in a reason stays text
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for letter, width in zip("ABCDEF", (16, 26, 34, 60, 17, 26), strict=True):
        sheet.column_dimensions[letter].width = width
    sheet.freeze_panes = "A2"
    path = Path(path)
    try:
        book.save(path)
    except OSError as error:
        raise MailboxError(
            _("cannot write the corrections sheet: {reason}").format(reason=error.strerror or error), file=path
        ) from error
    return len(rows)
