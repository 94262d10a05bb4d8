"""``preview``: render every message without sending, into ``.eml``/``.html`` files and a gallery."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

import jinja2

from lgp_mailer import kinds as registry
from lgp_mailer.config import Campaign
from lgp_mailer.campaign.spool import build_processes, map_chunks, write_previews
from lgp_mailer.errors import ConfigError
from lgp_mailer.event import Event, load_event
from lgp_mailer.mail.build import Built, MessageFactory
from lgp_mailer.sheets.recipients import Finding, Recipient, RecipientSheet, load_recipients

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
    items: list[PreviewItem] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    first: Built | None = None

    @property
    def label(self) -> str:
        """The kind's Hungarian label, for the gallery."""
        return registry.label(self.kind)

    @property
    def rendered(self) -> int:
        return sum(1 for i in self.items if i.problem is None)

    @property
    def failed(self) -> int:
        return sum(1 for i in self.items if i.problem is not None)

    @property
    def sheet_problems(self) -> int:
        return sum(1 for f in self.findings if f.severity == "problem")


def load_inputs(campaign: Campaign) -> tuple[Event, RecipientSheet]:
    event = load_event(campaign.event_path)
    sheet = load_recipients(campaign.recipients_path, sheet=campaign.sheet, columns=dict(campaign.columns) or None)
    return event, sheet


def select(recipients: list[Recipient], *, email: str | None = None, limit: int | None = None) -> list[Recipient]:
    """``--email`` picks one recipient (case-insensitively); ``--limit`` keeps the first N."""
    if email is not None:
        wanted = email.strip().lower()
        chosen = [r for r in recipients if r.email.lower() == wanted]
        if not chosen:
            raise ConfigError(f"no recipient with address {email!r} in the sheet", key="--email")
        return chosen
    return recipients[:limit] if limit is not None else recipients


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
    factory = MessageFactory(campaign, event, kind)
    chosen = select(sheet.recipients, email=email, limit=limit)
    # The shipped campaign may sit in a read-only site-packages: preview here instead.
    default = Path.cwd() / "preview" if campaign.shipped else campaign.preview_dir
    out = Path(out_dir or default or Path.cwd() / "preview")
    _prepare(out)
    report = PreviewReport(campaign, event, kind, out, out / "index.html", findings=list(sheet.findings))
    # Built by worker processes when there are enough letters; they write the files.
    work = ((str(out / f"{n:04d}-{_slug(r.email)}"), r) for n, r in enumerate(chosen, start=1))
    for chunk, results in map_chunks(factory, write_previews, work, (now,), processes=build_processes(len(chosen))):
        for (stem, recipient), result in zip(chunk, results, strict=True):
            if result.problem is not None:
                report.items.append(PreviewItem(recipient, None, None, None, problem=result.problem))
                continue
            eml, html = Path(f"{stem}.eml"), Path(f"{stem}.html")
            report.items.append(PreviewItem(recipient, result.subject, eml, html))
            if report.first is None:  # shown on screen: built once more here
                report.first = factory.build(recipient, now=now)
    report.index.write_text(_gallery(report), encoding="utf-8", newline="\n")
    return report


def _prepare(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise ConfigError("preview folder is a file", file=out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create preview folder: {exc.strerror or exc}", file=out) from None
    # Remove only our own earlier output, so a shorter list leaves no stale letters.
    for old in out.iterdir():
        if old.is_file() and _OUR_FILES.match(old.name):
            old.unlink()


def _slug(address: str) -> str:
    ascii_ = unicodedata.normalize("NFKD", address).encode("ascii", "ignore").decode("ascii").lower()
    return re.sub(r"[^a-z0-9._-]+", "_", ascii_)[:60] or "recipient"


_GALLERY = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string(
    """<!DOCTYPE html>
<html lang="hu"><head><meta charset="utf-8"><title>Előnézet – {{ r.event.title }}</title>
<style>body{font-family:Arial,sans-serif;margin:24px;color:#1f2937}table{border-collapse:collapse;width:100%}
td,th{border-bottom:1px solid #e5e7eb;padding:6px 8px;text-align:left;vertical-align:top;font-size:14px}
th{background:#f3f4f6}.bad{color:#b91c1c}</style></head><body>
<h1>Előnézet: {{ r.event.title }}</h1>
<p>Kampány: {{ r.campaign.campaign_id }} · üzenet típusa: {{ r.label }} · {{ r.rendered }} levél elkészült,
{{ r.failed }} hibás · a címlista {{ r.sheet_problems }} hibás sort tartalmaz.</p>
<table><thead><tr><th>#</th><th>Önkormányzat</th><th>Cím</th><th>Megszólítás</th><th>Tárgy</th><th>Fájlok</th></tr></thead><tbody>
{% for item in r.items %}<tr><td>{{ loop.index }}</td><td>{{ item.recipient.municipalities|join(", ") }}</td>
<td>{{ item.recipient.email }}</td><td>{{ item.recipient.salutation }}</td>
{% if item.problem %}<td class="bad" colspan="2">{{ item.problem }}</td>
{% else %}<td>{{ item.subject }}</td><td><a href="{{ item.html.name }}">HTML</a> · <a href="{{ item.eml.name }}">EML</a></td>{% endif %}</tr>
{% endfor %}</tbody></table></body></html>
"""
)


def _gallery(report: PreviewReport) -> str:
    return _GALLERY.render(r=report)


def lint_campaign(
    campaign: Campaign, kinds: tuple[str, ...] | None = None, *, email: str | None = None, spamassassin: bool = True
) -> list:
    """Lint the first recipient's message (or ``email``'s) of each kind (default: every declared kind)."""
    from lgp_mailer.mail.lint import lint_message

    event, sheet = load_inputs(campaign)
    recipient = select(sheet.recipients, email=email, limit=1)
    if not recipient:
        raise ConfigError("the sheet has no valid recipient to lint a message for", file=campaign.recipients_path)
    reports = []
    for kind in registry.names() if kinds is None else kinds:
        if registry.get(kind).needs_join_url and not event.join_url:
            continue  # no join link, no reminder: remind refuses to send one
        built = MessageFactory(campaign, event, kind).build(recipient[0])
        reports.append(lint_message(built.as_bytes(), kind, spamassassin=spamassassin))
    return reports


def text_part(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    return part.get_content() if part is not None else ""
