"""DKIM: the signed bytes travel unchanged over a real socket and verify with dkimpy."""

from __future__ import annotations

import base64
import dataclasses
from pathlib import Path

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from lgp_mailer.config import DkimSettings, load_campaign
from lgp_mailer.errors import ConfigError
from lgp_mailer.event import load_event
from lgp_mailer.mail.build import MessageFactory
from lgp_mailer.sheets.recipients import Recipient
from lgp_mailer.smtp.transport import SmtpTransport

from smtp_server import SmtpTestServer

REPO = Path(__file__).resolve().parent.parent
MAYOR = Recipient(
    email="polgarmester@alsomocsolad.example",
    municipalities=("Alsómocsolád",),
    salutation="Tisztelt Polgármester Úr!",
    name="Kiss Ödön",
)


@pytest.fixture(scope="module")
def keypair(tmp_path_factory):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path_factory.mktemp("dkim") / "lgp.private"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        )
    )
    public = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return path, b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)


def test_signed_invitation_verifies_after_smtp(keypair):
    key_file, record = keypair
    campaign = load_campaign(REPO / "lgp-mailer.toml")
    campaign = dataclasses.replace(campaign, dkim=DkimSettings(key_file, "lgp2026", "lgp.example.org"))
    built = MessageFactory(campaign, load_event(campaign.event_path)).build(MAYOR)
    raw = built.as_bytes()
    assert raw.startswith(b"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=lgp.example.org;")
    header = raw.split(b"\r\n\r\n", 1)[0].replace(b"\r\n ", b" ").replace(b"\r\n\t", b" ")
    h_tag = header.split(b" h=", 1)[1].split(b";", 1)[0].replace(b" ", b"")
    assert h_tag.lower().split(b":") == [
        name.lower()
        for name in (
            b"From",
            b"To",
            b"Subject",
            b"Date",
            b"Message-ID",
            b"Content-Type",
            b"MIME-Version",
            b"Reply-To",
            b"List-Id",
            b"List-Unsubscribe",
            b"List-Unsubscribe-Post",
        )
    ]
    lookups = []

    def dns(name, timeout=5):
        lookups.append(name)
        return record if name == b"lgp2026._domainkey.lgp.example.org." else None

    with SmtpTestServer() as server:
        with SmtpTransport(server.settings()) as transport:
            assert transport.send(raw, "meghivo@lgp.example.org", MAYOR.email).status == "sent"
        (received,) = server.received
    assert received.data.replace(b"\r\n", b"\n") == raw.replace(b"\r\n", b"\n")
    assert dkim.verify(received.data, dnsfunc=dns)
    assert lookups == [b"lgp2026._domainkey.lgp.example.org."]
    tampered = received.data.replace(b"Subject: ", b"Subject: X", 1)
    assert not dkim.verify(tampered, dnsfunc=dns)


def test_missing_key_file_is_a_config_error(tmp_path):
    campaign = load_campaign(REPO / "lgp-mailer.toml")
    campaign = dataclasses.replace(campaign, dkim=DkimSettings(tmp_path / "nincs.key", "s", "lgp.example.org"))
    with pytest.raises(ConfigError, match="cannot read the DKIM key"):
        MessageFactory(campaign, load_event(campaign.event_path))
