"""Rendered text → a MIME message, with ``EmailMessage`` and one fixed policy.

The policy writes CRLF line endings, 7-bit transfer encodings and lines of at
most 76 characters, so the bytes we hand to SMTP are the bytes we tested.
Every value that can reach a header goes through :func:`clean_header`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import mimetypes
import re
import secrets
from dataclasses import dataclass
from email import policy as email_policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from lgp_mailer.render import Rendered

POLICY = email_policy.SMTP.clone(cte_type="7bit", max_line_length=76)

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]+")
_ENCODED_WORD = re.compile(r"=\?.*?\?=", re.DOTALL)


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


def compose(rendered: Rendered, envelope: Envelope) -> EmailMessage:
    """multipart/alternative (text, HTML), with the logo inline through multipart/related."""
    msg = EmailMessage(policy=POLICY)
    msg["From"] = _address(envelope.from_name, envelope.from_address)
    msg["To"] = _address(envelope.to_name, envelope.to_address)
    if envelope.reply_to:
        msg["Reply-To"] = _address(None, envelope.reply_to)
    msg["Subject"] = clean_header(rendered.subject)
    msg["Date"] = format_datetime(envelope.date or dt.datetime.now(dt.timezone.utc).astimezone())
    msg["Message-ID"] = clean_header(envelope.message_id)
    # Quoted-printable always: the stdlib would otherwise pick per message
    # from a sniff of the first ten lines, and the bytes would vary.
    msg.set_content(rendered.text, subtype="plain", charset="utf-8", cte="quoted-printable")
    msg.add_alternative(rendered.html, subtype="html", charset="utf-8", cte="quoted-printable")
    if envelope.logo is not None and envelope.logo_cid:
        html_part = msg.get_payload()[1]
        maintype, _, subtype = (mimetypes.guess_type(envelope.logo.name)[0] or "image/png").partition("/")
        html_part.add_related(
            envelope.logo.read_bytes(),
            maintype=maintype,
            subtype=subtype,
            cid=f"<{envelope.logo_cid}>",
            disposition="inline",
            filename=envelope.logo.name,
        )
    return msg


def _address(name: str | None, address: str) -> Address:
    local, _, domain = clean_header(address).rpartition("@")
    return Address(display_name=clean_header(name or ""), username=local, domain=domain)


def to_bytes(msg: EmailMessage) -> bytes:
    return msg.as_bytes(policy=POLICY)
