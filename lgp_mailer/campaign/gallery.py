"""The preview gallery: a review table of every letter, and one page per letter.

``index.html`` holds the rows as JSON inside the page (no ``fetch()``: Chromium
blocks it on ``file://``) and ``gallery.js`` filters, sorts, pages and exports
them.  Each letter page shows the envelope, the attachments (the calendar
entry summarised) and the HTML letter in a sandboxed iframe, with its
``cid:`` images written beside it under ``files/``.  Every word shown comes
from gallery_text.py, in the interface language.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import shutil
from collections.abc import Container, Iterable
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import jinja2

from lgp_mailer.campaign.gallery_text import table, text
from lgp_mailer.mail.build import Built
from lgp_mailer.sheets.recipients import Finding, Recipient

ASSETS = Path(__file__).resolve().parent / "gallery_assets"
FILES = "files"  # attachments and inline images, once each, named by content
SHOWN_HEADERS = (
    ("h_from", "From"),
    ("h_to", "To"),
    ("h_reply_to", "Reply-To"),
    ("h_subject", "Subject"),
    ("h_date", "Date"),
    ("h_list_unsubscribe", "List-Unsubscribe"),
)
_OUR_FILES = re.compile(r"^[0-9a-f]{16}-[A-Za-z0-9._-]+$")
_CID_SRC = re.compile(r"""(?P<q>["'])cid:(?P<cid>[^"'\s]+)(?P=q)""")
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(ASSETS), encoding="utf-8"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_ENV.globals["t"] = text


def script_json(value: object) -> str:
    """JSON that is safe inside a ``<script>`` element: no ``</script>``, ``<!--`` or JS line breaks."""
    raw = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return (
        raw.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


RowKey = tuple[str | None, int]  # a recipient's sheet and first row: what its findings are matched by


def row_key(recipient: Recipient) -> RowKey | None:
    """The key of ``recipient``'s findings in :func:`warnings_for` (None: not from a sheet row)."""
    return (recipient.sheet, recipient.rows[0]) if recipient.rows else None


def warnings_for(
    recipients: Iterable[Recipient], findings: Iterable[Finding], *, only: Container[RowKey] | None = None
) -> tuple[dict[RowKey, list[str]], list[Finding]]:
    """Each recipient's findings as lines (matched by sheet and row), keyed by :func:`row_key`, and the
    findings no letter has.  Only recipients with a finding get an entry (with ``only``: of those keys,
    the letters being built), and none is kept: a sheet of 100,000 rows is read once, a recipient at a time."""
    findings = list(findings)
    wanted: dict[RowKey, list[int]] = {}
    for index, finding in enumerate(findings):
        if finding.row is not None:
            wanted.setdefault((finding.sheet, finding.row), []).append(index)
    matched = bytearray(len(findings))  # a byte a finding, not a dict entry: a sheet may have one a row
    kept: dict[int, RowKey] = {}  # finding index → its recipient's key, for the recipients in ``only``
    for recipient in recipients if wanted else ():
        key = row_key(recipient)
        if key is None:
            continue
        for row in recipient.rows:
            for index in wanted.pop((recipient.sheet, row), ()):  # the first recipient with the row has it
                matched[index] = 1
                if only is None or key in only:
                    kept[index] = key
    lines: dict[RowKey, list[str]] = {}
    for index, key in sorted(kept.items()):  # in the findings' order, as the check lists them
        lines.setdefault(key, []).append(describe(findings[index]))
    return lines, [finding for finding, found in zip(findings, matched, strict=True) if not found]


def describe(finding: Finding) -> str:
    """``14. sor · Név: gender unknown: neutral salutation`` (the check's own words)."""
    where = [text("row", row=finding.row)] if finding.row is not None else []
    if finding.sheet:
        where.insert(0, finding.sheet)
    head = " · ".join(where)
    column = f"{finding.column}: " if finding.column else ""
    return f"{head} · {column}{finding.problem}" if head else f"{column}{finding.problem}"


@functools.lru_cache(maxsize=1024)  # From, Reply-To, Subject, List-Unsubscribe repeat in every letter
def _decoded(raw: str) -> str:
    """A header as a mail client shows it: encoded words decoded, folding undone."""
    from email.header import decode_header, make_header  # noqa: PLC0415 - only for the letter pages

    return str(make_header(decode_header(" ".join(raw.split()))))


@functools.lru_cache(maxsize=16)
def calendar_summary(data: bytes) -> tuple[tuple[str, str], ...]:
    """(label key, value) pairs of the entry's first event: summary, start, end, UID, SEQUENCE, METHOD."""
    import icalendar  # noqa: PLC0415 - only for the letter pages

    calendar = icalendar.Calendar.from_ical(data)
    event = next((c for c in calendar.walk("VEVENT")), None)
    if event is None:
        return ()
    pairs: list[tuple[str, str]] = [("cal_summary", str(event.get("SUMMARY", "")))]
    for key, name in (("cal_start", "DTSTART"), ("cal_end", "DTEND")):
        prop = event.get(name)
        if prop is not None:
            when = prop.dt
            zone = getattr(when, "tzinfo", None)
            pairs.append((key, f"{when:%Y-%m-%d %H:%M}" + (f" ({zone})" if zone is not None else "")))
    pairs += [
        ("cal_uid", str(event.get("UID", ""))),
        ("cal_sequence", str(event.get("SEQUENCE", 0))),
        ("cal_method", str(calendar.get("METHOD", ""))),
    ]
    return tuple(pairs)


@dataclass(frozen=True)
class Attachment:
    label: str  # "calendar" or "inline_image"
    filename: str
    href: str
    content_type: str
    size: int
    summary: tuple[tuple[str, str], ...] = ()


Links = tuple[str | None, str | None]  # a letter page's previous and next page


@dataclass
class Gallery:
    """The rows of the review table and the letter pages; the pages may be written by other processes."""

    out: Path
    kind_label: str
    total: int
    rows: list[list[Any]] = field(default_factory=list)
    _files: dict[str, str] = field(default_factory=dict)  # sha256 → href
    _parts: dict[int, tuple[object, Attachment, dict[str, str]]] = field(default_factory=dict)

    def prepare(self) -> None:
        """Remove our earlier attachment files; the rest of the folder is preview.py's."""
        folder = self.out / FILES
        if folder.is_dir():
            for old in folder.iterdir():
                if old.is_file() and _OUR_FILES.match(old.name):
                    old.unlink()

    def row(
        self, n: int, recipient: Recipient, warnings: list[str], subject: str, href: str, problem: str | None = None
    ) -> None:
        """One row of the table (``href``: the letter's page, empty when it was not built)."""
        self.rows.append(
            [
                n,
                ", ".join(recipient.municipalities),
                recipient.county or "",
                recipient.name or "",
                recipient.role,
                recipient.salutation,
                recipient.email,
                subject,
                self.kind_label,
                warnings,
                href,
                problem or "",
            ]
        )

    def page(self, n: int, recipient: Recipient, warnings: list[str], built: Built, href: str, links: Links) -> None:
        """The letter's review page, linked to the pages of the letters before and after it."""
        context = self._letter_context(n, recipient, warnings, built)
        html = _ENV.get_template("letter.html.j2").render(previous=links[0], next=links[1], total=self.total, **context)
        (self.out / href).write_text(html, encoding="utf-8", newline="\n")

    def relink(self, n: int, href: str, written: Links, wanted: Links) -> None:
        """Point a page written with ``written`` neighbours at ``wanted`` (a letter between them failed)."""
        page = self.out / href
        old, new = (self._pager(n, links).encode("utf-8") for links in (written, wanted))
        data = page.read_bytes()
        assert old in data, f"{href} has no pager to relink"
        page.write_bytes(data.replace(old, new, 1))  # the pager comes first: nothing of the letter's before it

    def _pager(self, n: int, links: Links) -> str:
        return _ENV.get_template("pager.html.j2").render(n=n, total=self.total, previous=links[0], next=links[1])

    def finish(self, *, title: str, campaign_id: str, rendered: int, failed: int, unmatched: list[Finding]) -> Path:
        for name in ("gallery.css", "gallery.js", "letter.js"):
            shutil.copyfile(ASSETS / name, self.out / name)
        warned = sum(1 for row in self.rows if row[9] or row[11])
        columns = [
            "n",
            "municipalities",
            "county",
            "name",
            "role",
            "salutation",
            "email",
            "subject",
            "kind",
            "warnings",
        ]
        index = self.out / "index.html"
        index.write_text(
            _ENV.get_template("index.html.j2").render(
                title=title,
                campaign_id=campaign_id,
                kind_label=self.kind_label,
                columns=columns,
                summary=text("summary", rendered=rendered, failed=failed, warned=warned),
                notes=[describe(f) for f in unmatched[:200]],
                more_notes=max(0, len(unmatched) - 200),
                data_json=script_json({"columns": columns, "rows": self.rows}),
                text_json=script_json(table()),
            ),
            encoding="utf-8",
            newline="\n",
        )
        return index

    def _letter_context(self, n: int, recipient: Recipient, warnings: list[str], built: Built) -> dict[str, Any]:
        message = built.message
        attachments, cids = self._attachments(message)
        letter = _CID_SRC.sub(lambda m: f"{m['q']}{cids.get(m['cid'], 'cid:' + m['cid'])}{m['q']}", built.rendered.html)
        raw = {name.lower(): value for name, value in message.raw_items()}
        envelope = [
            (label, name, _decoded(str(raw[name.lower()]))) for label, name in SHOWN_HEADERS if name.lower() in raw
        ]
        return {
            "n": n,
            "recipient": recipient,
            "warnings": warnings,
            "envelope": envelope,
            "attachments": attachments,
            "letter_html": letter,
            "letter_text": built.rendered.text,
            "subject": built.rendered.subject,
        }

    def _attachments(self, message: EmailMessage) -> tuple[list[Attachment], dict[str, str]]:
        found: list[Attachment] = []
        cids: dict[str, str] = {}
        for part in message.walk():
            if part.is_multipart() or (part.get_content_maintype() == "text" and part.get_filename() is None):
                continue
            # The calendar and image parts are one shared object per run (mime.py): decode each once.
            seen = self._parts.get(id(part))
            if seen is not None and seen[0] is part:
                found.append(seen[1])
                cids.update(seen[2])
                continue
            before = len(found), dict(cids)
            data = part.get_payload(decode=True)
            if not isinstance(data, bytes):
                continue
            filename = part.get_filename() or "melleklet"
            href = self._file(data, filename)
            cid = str(part.get("Content-ID", "")).strip().strip("<>")
            if cid:
                cids[cid] = href
            calendar = part.get_content_type() == "text/calendar"
            found.append(
                Attachment(
                    "calendar" if calendar else "inline_image",
                    filename,
                    href,
                    part.get_content_type(),
                    len(data),
                    calendar_summary(data) if calendar else (),
                )
            )
            self._parts[id(part)] = (part, found[before[0]], {k: v for k, v in cids.items() if k not in before[1]})
        return found, cids

    def _file(self, data: bytes, filename: str) -> str:
        digest = hashlib.sha256(data).hexdigest()
        href = self._files.get(digest)
        if href is None:
            name = f"{digest[:16]}-{_SAFE_NAME.sub('_', filename)[:60]}"
            folder = self.out / FILES
            folder.mkdir(exist_ok=True)
            if not (folder / name).exists():  # named by content: another process may have written it
                (folder / name).write_bytes(data)
            href = self._files[digest] = f"{FILES}/{name}"
        return href
