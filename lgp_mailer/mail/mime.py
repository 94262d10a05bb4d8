"""Rendered text → a MIME message, with ``EmailMessage`` and one fixed policy.

The policy writes CRLF line endings, 7-bit transfer encodings and lines of at
most 76 characters, so the bytes we hand to SMTP are the bytes we tested.
Every value that can reach a header goes through :func:`clean_header`.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import io
import mimetypes
import re
import secrets
from dataclasses import dataclass
from email import policy as email_policy
from email import quoprimime
from email.charset import Charset
from email.generator import BytesGenerator, Generator
from email.header import Header
from email.message import EmailMessage, Message, MIMEPart
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from lgp_mailer.mail.ical import FILENAME, method_of
from lgp_mailer.mail.render import Rendered

# A named int: the policy's own attribute is typed "int | None".
MAX_LINE = 76
POLICY = email_policy.SMTP.clone(cte_type="7bit", max_line_length=MAX_LINE)

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]+")
_ENCODED_WORD = re.compile(r"=\?[^?]*\?[A-Za-z]?\?[^?]*\?=|=\?.*?\?=", re.DOTALL)
_UTF8 = Charset("utf-8")
_ATOMS = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~ -]+$")  # RFC 5322 atext and spaces: no quoting needed


def clean_header(value: str) -> str:
    """Make a value safe for a header: no CR/LF or other controls, no ``=?…?=`` encoded words.

    Python's own header folding had injection bugs (CVE-2024-6923 in 3.11.7
    and later ones), so we never rely on it to neutralise data.
    """
    value = _CONTROL.sub(" ", str(value))
    previous = None
    while previous != value:  # "=?=?x?=?=" must not reassemble after one pass
        previous = value
        value = _ENCODED_WORD.sub("", value).replace("=?", "").replace("?=", "")
    return " ".join(value.split())


def message_id(campaign_id: str, kind: str, address: str, domain: str, *, proof: bool = False) -> str:
    """Stable Message-ID of (campaign, kind, address) at the sender's domain.

    A resend after a crash keeps its Message-ID, so a receiving server or the
    recipient's client can recognise the duplicate.  The address is hashed, so
    the ID reveals nothing of it.  A proof copy gets a fresh random ID.
    """
    key = "\x1f".join((campaign_id, kind, address.strip().lower()))
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
    if proof:
        digest = f"proof.{digest[:12]}.{secrets.token_hex(8)}"
    return f"<{digest}.{kind}@{domain.lower()}>"


@dataclass(frozen=True)
class InlineImage:
    """An image the HTML shows through ``cid:`` (a supporter's logo), checked already."""

    cid: str  # without angle brackets
    data: bytes
    subtype: str  # png, jpeg or gif
    filename: str
    alt: str
    maintype: str = "image"  # the sender's logo is typed by its file name, as compose() does


@dataclass(frozen=True)
class Envelope:
    """Who the message is from and to, already validated and normalised."""

    from_name: str
    from_address: str
    to_address: str
    to_name: str | None = None
    reply_to: str | None = None
    message_id: str = ""
    date: dt.datetime | None = None
    logo: Path | None = None
    logo_cid: str | None = None
    calendar: str | None = None  # an iCalendar entry (the kind's METHOD), attached as meghivo.ics
    extra_headers: tuple[tuple[str, str], ...] = ()  # List-Id, List-Unsubscribe...: ASCII only
    images: tuple[InlineImage, ...] = ()  # more inline images beside the logo (multipart/related)


def compose(rendered: Rendered, envelope: Envelope) -> EmailMessage:
    """multipart/alternative (text, HTML), the logo inline through multipart/related, and
    the calendar entry as an attachment (multipart/mixed around the rest)."""
    msg = EmailMessage(policy=POLICY)
    _address_headers(msg, rendered, envelope)
    msg["Date"] = format_datetime(envelope.date or dt.datetime.now(dt.UTC).astimezone())
    msg["Message-ID"] = clean_header(envelope.message_id)
    _extra_headers(msg, envelope)
    # Quoted-printable always: the stdlib would otherwise pick per message
    # from a sniff of the first ten lines, and the bytes would vary.
    msg.set_content(rendered.text, subtype="plain", charset="utf-8", cte="quoted-printable")
    msg.add_alternative(rendered.html, subtype="html", charset="utf-8", cte="quoted-printable")
    if envelope.logo is not None and envelope.logo_cid:
        html_part = msg.get_payload()[1]  # type: ignore[index]  # multipart: a list, [text, html]
        assert isinstance(html_part, MIMEPart)
        maintype, _, subtype = (mimetypes.guess_type(envelope.logo.name)[0] or "image/png").partition("/")
        html_part.add_related(
            envelope.logo.read_bytes(),
            maintype=maintype,
            subtype=subtype,
            cid=f"<{envelope.logo_cid}>",
            disposition="inline",
            filename=envelope.logo.name,
        )
    html_side: EmailMessage = msg.get_payload()[1]  # type: ignore[index,assignment]  # a multipart's payload is its parts
    for image in envelope.images:
        html_side.add_related(
            image.data,
            maintype="image",
            subtype=image.subtype,
            cid=f"<{image.cid}>",
            disposition="inline",
            filename=image.filename,
        )
    _attach_calendar(msg, envelope)
    return msg


def _attach_calendar(msg: EmailMessage, envelope: Envelope) -> None:
    # An attachment beside the letter, not a third alternative: see ical.py
    # for what Outlook, Gmail and Apple Mail do with each placement.
    if envelope.calendar is None:
        return
    msg.add_attachment(
        envelope.calendar,
        subtype="calendar",
        charset="utf-8",
        cte="base64",
        filename=FILENAME,
        params={"method": method_of(envelope.calendar)},
    )


@functools.lru_cache(maxsize=8192)
def _qp_line(line: bytes) -> str:
    return quoprimime.body_encode(line.decode("latin-1") + "\n", MAX_LINE)


def _quoted_printable(text: str) -> str:
    """Exactly what ``set_content(cte="quoted-printable")`` stores, one cached line at a time.

    The stdlib encodes each source line independently, so the invitation's
    hundred-odd shared lines are encoded once per run, not once per letter.
    """
    lines = text.encode("utf-8").splitlines()
    if not lines:
        return quoprimime.body_encode("\n", MAX_LINE)
    return "".join(map(_qp_line, lines))


@functools.cache
def _part_headers(subtype: str, whole_message: bool) -> tuple[Any, ...]:
    # Parsed once and shared: re-parsing a raw Content-Type costs ~50 µs each
    # time the generator asks for it, several times a letter.
    fields = [("Content-Type", f'text/{subtype}; charset="utf-8"'), ("Content-Transfer-Encoding", "quoted-printable")]
    if whole_message:  # set_content on a whole message adds this; match it byte for byte
        fields.append(("MIME-Version", "1.0"))
    return tuple(POLICY.header_factory(name, value) for name, value in fields)


def _text_part(cls: type[MIMEPart], subtype: str, payload: str) -> MIMEPart:
    """A text part around ``payload``, already quoted-printable (see :func:`_quoted_printable`)."""
    part = cls(policy=POLICY)
    for header in _part_headers(subtype, cls is EmailMessage):
        part.set_raw(header.name, header)  # no registry lookup: the header is parsed already
    part.set_payload(payload)
    return part


def compose_fast(rendered: Rendered, envelope: Envelope) -> EmailMessage:
    """The same message as :func:`compose`, built without re-parsing or re-encoding shared parts.

    ``set_content`` parses every header it writes and QP-encodes the whole
    body; for 3,000 letters that differ in a few lines this dominated the run.
    A test proves the bytes equal :func:`compose`'s (boundaries aside).
    """
    msg = EmailMessage(policy=POLICY)
    for name, value in _headers(rendered, envelope):
        msg.set_raw(name, value)
    text, html = _quoted_printable(rendered.text), _quoted_printable(rendered.html)
    msg.set_payload(_body(text, html, envelope.calendar, _related_images(envelope)))
    return msg


def _headers(rendered: Rendered, envelope: Envelope) -> list[tuple[str, Any]]:
    """The message's own headers, in compose()'s order; the parsed ones are shared by every letter."""
    fields: list[tuple[str, Any]] = _address_fields(rendered, envelope)
    fields.append(("Date", format_datetime(envelope.date or dt.datetime.now(dt.UTC).astimezone())))
    fields.append(("Message-ID", clean_header(envelope.message_id)))
    # ASCII, checked as _extra_headers in compose() checks it.
    fields += [(name, _ascii_header(name, value)) for name, value in envelope.extra_headers]
    fields.append(("MIME-Version", _MIME_VERSION))
    fields.append(("Content-Type", _multipart("alternative" if envelope.calendar is None else "mixed")))
    return fields


def _body(text: str, html: str, calendar: str | None, images: tuple[InlineImage, ...]) -> list[Message[str, str] | str]:
    """The parts under the message's own headers; ``text`` and ``html`` are QP payloads."""
    letter: list[Message[str, str] | str] = [_text_part(MIMEPart, "plain", text), _html_side(html, images)]
    if calendar is None:
        return letter
    # What add_attachment makes of it: the letter moves into its own part.
    alternative = EmailMessage(policy=POLICY)
    alternative.set_raw("Content-Type", _multipart("alternative"))
    alternative.set_payload(letter)
    return [alternative, _calendar_part(calendar)]


def _related_images(envelope: Envelope) -> tuple[InlineImage, ...]:
    """The inline images in compose()'s order: the sender's logo first, then the supporters' logos."""
    if envelope.logo is None or not envelope.logo_cid:
        return envelope.images
    stat = envelope.logo.stat()
    return (_logo(envelope.logo, envelope.logo_cid, stat.st_mtime_ns, stat.st_size), *envelope.images)


@functools.lru_cache(maxsize=8)
def _logo(path: Path, cid: str, mtime_ns: int, size: int) -> InlineImage:
    # Read once per run (the stat in the key notices a changed file), typed as compose() types it.
    maintype, _, subtype = (mimetypes.guess_type(path.name)[0] or "image/png").partition("/")
    return InlineImage(cid=cid, data=path.read_bytes(), subtype=subtype, filename=path.name, alt="", maintype=maintype)


_MIME_VERSION = POLICY.header_factory("MIME-Version", "1.0")


def _html_side(html: str, images: tuple[InlineImage, ...]) -> MIMEPart:
    """The HTML part, or what add_related makes of it: multipart/related around it and the images."""
    if not images:
        return _text_part(EmailMessage, "html", html)
    related = EmailMessage(policy=POLICY)
    related.set_raw("MIME-Version", _MIME_VERSION)  # kept from the HTML part add_related turned multipart
    related.set_raw("Content-Type", _multipart("related"))
    related.set_payload([_text_part(MIMEPart, "html", html), *map(_image_part, images)])
    return related


@functools.lru_cache(maxsize=32)
def _image_part(image: InlineImage) -> EmailMessage:
    # Built once per run by the stdlib, exactly as add_related builds it; every letter shares it.
    part = EmailMessage(policy=POLICY)
    part.set_content(
        image.data,
        maintype=image.maintype,
        subtype=image.subtype,
        cid=f"<{image.cid}>",
        disposition="inline",
        filename=image.filename,
    )
    return part


_BOUNDARIES: dict[str, str] = {}  # subtype -> the boundary its parts use in this process


@functools.cache
def _multipart(subtype: str) -> Any:
    # The stdlib makes a boundary at flatten time and scans the whole letter
    # for it (a fresh regex per letter).  Our bodies are all QP or base64,
    # which can never hold a line "--=====...", so one boundary drawn the
    # stdlib's way serves every letter of the run (RFC 2046 asks uniqueness
    # only within a message), and its parsed header is shared.  Each subtype's
    # differs from the others' (nested parts must not share one), even when
    # ``random`` was reseeded between two draws, as hypothesis does in tests.
    boundary = Generator._make_boundary()  # type: ignore[attr-defined]  # private, missing from typeshed
    while boundary in _BOUNDARIES.values():
        boundary = Generator._make_boundary()  # type: ignore[attr-defined]
    _BOUNDARIES[subtype] = boundary
    return POLICY.header_factory("Content-Type", f'multipart/{subtype}; boundary="{boundary}"')


@functools.lru_cache(maxsize=8)
def _calendar_part(calendar: str) -> EmailMessage:
    # One part for every letter of a run: the generator only reads it.
    part = EmailMessage(policy=POLICY)
    part.set_content(
        calendar,
        subtype="calendar",
        charset="utf-8",
        cte="base64",
        filename=FILENAME,
        params={"method": method_of(calendar)},
    )
    return part


def _ascii_header(name: str, value: str) -> str:
    value = clean_header(value)
    if not value.isascii():
        raise ValueError(f"{name} must be ASCII")
    return value


def _address_headers(msg: EmailMessage, rendered: Rendered, envelope: Envelope) -> None:
    for name, value in _address_fields(rendered, envelope):
        msg.set_raw(name, value)


def _address_fields(rendered: Rendered, envelope: Envelope) -> list[tuple[str, Any]]:
    # Headers with free text are encoded and folded here and stored raw: the
    # stdlib's refolding drops the space between two encoded words at some
    # line positions ("innovációk és" → "innovációkés"; fixed upstream only in
    # 2026, gh-144156), which would garble a Hungarian subject.
    fields: list[tuple[str, Any]] = [
        ("From", _address("From", envelope.from_name, envelope.from_address)),
        ("To", _address("To", envelope.to_name, envelope.to_address)),
    ]
    if envelope.reply_to:
        fields.append(("Reply-To", _address("Reply-To", None, envelope.reply_to)))
    fields.append(("Subject", _encode("Subject", clean_header(rendered.subject))))
    return fields


def _extra_headers(msg: EmailMessage, envelope: Envelope) -> None:
    for name, value in envelope.extra_headers:
        msg[name] = _ascii_header(name, value)


@functools.lru_cache(maxsize=256)  # the subject is the same in every letter of a kind
def _encode(name: str, value: str) -> str:
    charset = "us-ascii" if value.isascii() else "utf-8"
    return Header(value, charset, maxlinelen=MAX_LINE, header_name=name).encode(linesep=POLICY.linesep)


@functools.lru_cache(maxsize=256)  # From and Reply-To repeat in every letter
def _address(header: str, name: str | None, address: str) -> str:
    """``Name <addr>``; a name with anything beyond plain atoms becomes ONE encoded word.

    Encoding (rather than quoting) keeps commas and quotes from a spreadsheet
    out of the address syntax.  One word, because decoders disagree about the
    space between two encoded words inside a phrase; a name too long to fit
    the header's first line as one word is left out rather than risk the
    stdlib refolding (and garbling) it.
    """
    address = clean_header(address).replace(" ", "")
    if "@" not in address or any(c in address for c in '<>,;"()[]\\'):
        raise ValueError(f"not a plain address: {address!r}")
    name = clean_header(name or "")
    if not name:
        return address
    phrase = name if _ATOMS.match(name) else _UTF8.header_encode(name)
    if len(phrase) > min(75, MAX_LINE - len(header) - 2) or len(address) + 3 > MAX_LINE:
        return address
    # Fold before the address when the line would pass the limit.
    joint = " " if len(header) + 2 + len(phrase) + 1 + len(address) + 2 <= MAX_LINE else POLICY.linesep + " "
    return f"{phrase}{joint}<{address}>"


_FOLDED: dict[tuple[object, ...], bytes] = {}


def _fold(policy: Any, name: str, value: Any) -> bytes:
    """``policy.fold_binary(name, value)``, remembered for parsed header objects.

    Parsed header objects (the shared part headers) fold to the same bytes
    every time, and folding a parse tree is slow.
    """
    if not hasattr(value, "name"):
        return policy.fold_binary(name, value)  # type: ignore[no-any-return]
    # Keyed by what folding depends on, not by the policy object: the
    # generator clones its policy for every message it flattens.
    key = (policy.linesep, policy.max_line_length, getattr(policy, "utf8", False), policy.cte_type, name, str(value))
    folded = _FOLDED.get(key)
    if folded is None:
        if len(_FOLDED) > 1024:
            _FOLDED.clear()
        folded = _FOLDED[key] = policy.fold_binary(name, value)
    return folded


def _line_ends(lines: str, newline: str) -> str:
    # The stdlib splits on CRLF, CR or LF and writes each line with the
    # policy's line end; replacing every line break does the same in C.
    normal = lines.replace("\r\n", "\n").replace("\r", "\n") if "\r" in lines else lines
    return normal if newline == "\n" else normal.replace("\n", newline)


class _Generator(BytesGenerator):
    """BytesGenerator that writes a body in one call instead of one per line.

    The stdlib writes (and ASCII-encodes) every body line separately, which
    was half the cost of a letter; joining first gives identical bytes.
    """

    def _write_headers(self, msg: Message[str, str]) -> None:
        policy = self.policy
        assert policy is not None  # to_bytes always passes POLICY
        for name, value in msg.raw_items():
            self._fp.write(_fold(policy, name, value))  # type: ignore[attr-defined]  # the stdlib's private stream, as its own code uses
        self.write(self._NL)  # type: ignore[attr-defined]  # the policy's line end, private

    def _write_lines(self, lines: str) -> None:
        if lines:
            self.write(_line_ends(lines, self._NL))  # type: ignore[attr-defined]  # the policy's line end, private


def to_bytes(msg: EmailMessage) -> bytes:
    """``msg.as_bytes(policy=POLICY)``, faster; a test holds the two equal."""
    out = io.BytesIO()
    _Generator(out, mangle_from_=False, policy=POLICY).flatten(msg, unixfrom=False)
    return out.getvalue()


def letter_bytes(rendered: Rendered, envelope: Envelope) -> bytes:
    """``to_bytes(compose_fast(rendered, envelope))``, without building or walking a message per letter.

    Every letter of a run has the same parts but for its two QP bodies: the
    stdlib generator flattens that skeleton once (:func:`_skeleton`), and a
    letter is its own headers, folded by the policy, around the skeleton's
    pieces with its bodies between them.  A test holds the bytes equal.
    """
    head, between, tail = _skeleton(envelope.calendar, _related_images(envelope))
    newline = POLICY.linesep
    return b"".join(
        (
            _header_block(_headers(rendered, envelope)),
            head,
            _line_ends(_quoted_printable(rendered.text), newline).encode("ascii"),
            between,
            _line_ends(_quoted_printable(rendered.html), newline).encode("ascii"),
            tail,
        )
    )


def _header_block(fields: list[tuple[str, Any]]) -> bytes:
    # What the generator writes above a message's body: each header folded, then an empty line.
    return b"".join(_fold(POLICY, name, value) for name, value in fields) + POLICY.linesep.encode("ascii")


def _marks(n: int) -> tuple[str, str]:
    # QP writes "=" only before two hex digits or a line end, so "=L" is never
    # in a QP body; the skeleton's other text (a logo's file name) is checked.
    return f"=L{n}-text=L", f"=L{n}-html=L"


@functools.lru_cache(maxsize=16)
def _skeleton(calendar: str | None, images: tuple[InlineImage, ...]) -> tuple[bytes, bytes, bytes]:
    """The body of every letter of one shape, flattened by the stdlib, cut where the two bodies go."""
    content_type = ("Content-Type", _multipart("alternative" if calendar is None else "mixed"))
    fields = _header_block([content_type])
    for n in range(1000):
        text, html = (mark.encode("ascii") for mark in _marks(n))
        msg = EmailMessage(policy=POLICY)
        msg.set_raw(*content_type)
        msg.set_payload(_body(*_marks(n), calendar, images))
        flat = to_bytes(msg)
        assert flat.startswith(fields)  # the body does not depend on the headers above it
        body = flat[len(fields) :]
        if body.count(text) == 1 and body.count(html) == 1:
            head, _, rest = body.partition(text)
            between, found, tail = rest.partition(html)
            assert found  # the text part comes first
            return head, between, tail
        # A mark appeared in the skeleton's own text: draw another.
    raise AssertionError("no mark absent from the skeleton")  # pragma: no cover - a thousand file names
