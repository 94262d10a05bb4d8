"""One recipient → one finished message: context, render, compose.

:class:`MessageFactory` is what preview, check and send share, so the letter a
user previews is byte for byte the letter that is sent (bar Date).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from lgp_mailer import kinds
from lgp_mailer.config import Campaign
from lgp_mailer.errors import ConfigError
from lgp_mailer.event import Event
from lgp_mailer.i18n import _
from lgp_mailer.mail.attachments import checked_image
from lgp_mailer.mail.calendar_links import CalendarLinks, calendar_links
from lgp_mailer.mail.dkim import DkimSigner
from lgp_mailer.mail.ical import calendar_entry, campaign_calendar_uid
from lgp_mailer.mail.logos import supporter_logos
from lgp_mailer.mail.mime import Envelope, compose_fast, letter_bytes, message_id
from lgp_mailer.mail.render import Rendered, Renderer, join_hu
from lgp_mailer.sheets.recipients import Recipient

LOGO_CID = "logo.lgp-mailer"
OPT_OUT_KEY_ENV = "LGP_MAILER_OPT_OUT_KEY"


@dataclass(frozen=True)
class Built:
    recipient: Recipient
    message_id: str
    rendered: Rendered
    envelope: Envelope
    signer: DkimSigner | None = None

    @functools.cached_property
    def message(self) -> EmailMessage:
        """The message as objects (the gallery lists its parts): the same bytes as :meth:`as_bytes` (unsigned)."""
        return compose_fast(self.rendered, self.envelope)

    def as_bytes(self) -> bytes:
        """The bytes to send; DKIM-signed last when the campaign signs."""
        raw = letter_bytes(self.rendered, self.envelope)
        return self.signer.sign(raw) if self.signer is not None else raw

    def wire_bytes(self) -> bytes:
        """:meth:`as_bytes` with every line end CRLF, as SMTP has them (``crlf`` of it).

        ``letter_bytes`` writes CRLF already (``POLICY.linesep``) and DKIM signs
        with CRLF, so the bytes are returned as they are: ``crlf`` of a 33 KB
        letter was a tenth of its build.  Tests hold ``crlf(x) == x``.
        """
        return self.as_bytes()


class MessageFactory:
    """Builds the messages of one kind for one campaign and event."""

    def __init__(
        self,
        campaign: Campaign,
        event: Event,
        kind: str = kinds.INVITATION.name,
        *,
        renderer: Renderer | None = None,
        calendar_uid: str | None = None,
        calendar_sequence: int = 0,
    ) -> None:
        self.campaign = campaign
        self.event = event
        self.kind = kind
        if campaign.sender.logo is not None:  # a setting must not attach any file it names
            checked_image(
                campaign.sender.logo,
                campaign.root,
                campaign.limits.logo_bytes,
                key="sender.logo",
                config=campaign.config_file,
            )
        declared = kinds.get(kind)
        self.declared = declared
        # The revision's base SEQUENCE, from the sent log (campaign.revisions); the kind adds its offset.
        self.calendar_sequence = calendar_sequence
        self.renderer = renderer or Renderer(campaign.template_dirs, kind)
        self.signer = DkimSigner(campaign.dkim) if campaign.dkim is not None else None
        # The UID the sent log recorded for the campaign (a send run passes it), else derived.
        self.calendar_uid = calendar_uid or campaign_calendar_uid(campaign.campaign_id, campaign.sender.domain)
        # One entry for every letter of the run: the same bytes, one DTSTAMP.
        self.calendar = (
            calendar_entry(
                event,
                uid=self.calendar_uid,
                organizer_name=campaign.sender.name,
                organizer_email=campaign.sender.reply_to or campaign.sender.email,
                kind=declared,
                stamp=dt.datetime.now(dt.UTC),
                sequence=calendar_sequence,
            )
            if declared.calendar_method
            else None
        )
        # Read and checked once per run; a letter carries them only when its HTML shows them.
        self.logos = supporter_logos(event, campaign.root)

    def context(self, recipient: Recipient) -> Mapping[str, Any]:
        return {
            "event": self.event,
            "recipient": recipient,
            "sender": self.campaign.sender,
            "campaign_id": self.campaign.campaign_id,
            "kind": self.kind,
            "municipalities": join_hu(recipient.municipalities),
            "logo_cid": LOGO_CID if self.campaign.sender.logo else None,
            "supporter_logos": self.logos,
            # Add-to-calendar links, for the letters that carry a calendar entry (not a cancellation).
            "calendar_links": self.links(self.declared.join_link),
            # A change notice's sentences and whether it repeats the join link (campaign.revisions).
            "changes": (),
            "joined": self.declared.join_link,
        }

    def links(self, join: bool) -> CalendarLinks | None:
        """The add-to-calendar links (built once per run and variant); None for a kind without an entry."""
        if not self.declared.calendar_method or self.declared.calendar_status == "CANCELLED":
            return None
        cache: dict[bool, CalendarLinks] = self.__dict__.setdefault("_links", {})
        if join not in cache:
            cache[join] = calendar_links(self.event, join=join)
        return cache[join]

    def calendar_for(self, recipient: Recipient) -> str | None:
        """The calendar entry ``recipient``'s letter carries (the same for every letter of a plain run)."""
        return self.calendar

    def list_headers(self, recipient: Recipient) -> tuple[tuple[str, str], ...]:
        """RFC 2369/2919/8058 list headers: how to opt out, in every message.

        ``Precedence: bulk`` is kept because it is true (one letter to many)
        and RFC 3834 auto-responders honour it, so out-of-office replies do
        not flood the office; ``Auto-Submitted`` is left out because these
        are letters an office chose to send, not machine notifications.
        """
        sender = self.campaign.sender
        mailto = f"<mailto:{sender.unsubscribe_address}?subject=leiratkozas>"
        headers = [("List-Id", f"<{sender.list_identifier}>")]
        if sender.unsubscribe_url:
            url = sender.unsubscribe_url.replace("{id}", self.opt_out_id(recipient))
            headers += [
                ("List-Unsubscribe", f"{mailto}, <{url}>"),
                ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
            ]
        else:
            headers.append(("List-Unsubscribe", mailto))
        headers.append(("Precedence", "bulk"))
        return tuple(headers)

    def opt_out_id(self, recipient: Recipient) -> str:
        """An unguessable per-address token for a one-click URL's ``{id}``.

        An HMAC keyed with ``LGP_MAILER_OPT_OUT_KEY`` (a secret the unsubscribe
        page shares), so nobody can compute the link that unsubscribes someone
        else from a public address; the address itself is not revealed.
        """
        key = os.environ.get(OPT_OUT_KEY_ENV, "")
        if not key:
            raise ConfigError(
                _(
                    "sender.unsubscribe_url uses {{id}}: set {opt_out_key_env} to the secret your unsubscribe "
                    "page shares, so that the links cannot be forged"
                ).format(opt_out_key_env=OPT_OUT_KEY_ENV),
                file=self.campaign.config_file,
                key="sender.unsubscribe_url",
            )
        message = f"opt-out\x1f{recipient.email.lower()}".encode()
        return hmac.new(key.encode("utf-8"), message, hashlib.sha256).hexdigest()[:32]

    def message_id(self, recipient: Recipient, *, proof: bool = False) -> str:
        return message_id(
            self.campaign.campaign_id, self.kind, recipient.email, self.campaign.sender.domain, proof=proof
        )

    def build(
        self,
        recipient: Recipient,
        *,
        now: dt.datetime | None = None,
        proof_to: str | None = None,
        msgid: str | None = None,
    ) -> Built:
        """The finished message; ``proof_to`` readdresses a proof copy with its own Message-ID."""
        rendered = self.renderer.render(self.context(recipient))
        sender = self.campaign.sender
        mid = msgid or self.message_id(recipient, proof=proof_to is not None)
        envelope = Envelope(
            from_name=sender.name,
            from_address=sender.email,
            to_address=proof_to or recipient.email,
            to_name=None if proof_to else recipient.name,
            reply_to=sender.reply_to,
            message_id=mid,
            date=now or dt.datetime.now(dt.UTC).astimezone(),  # one Date, however often the letter is flattened
            logo=sender.logo,
            logo_cid=LOGO_CID if sender.logo else None,
            calendar=self.calendar_for(recipient),
            extra_headers=self.list_headers(recipient),
            images=tuple(image for image in self.logos if f"cid:{image.cid}" in rendered.html),
        )
        return Built(recipient, mid, rendered, envelope, self.signer)
