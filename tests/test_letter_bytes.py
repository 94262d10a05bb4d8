"""letter_bytes fills a skeleton the stdlib flattened once: its bytes must be the generator's, letter by letter."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import re
import shutil
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from lgp_mailer import kinds
from lgp_mailer.campaign.changes import snapshot
from lgp_mailer.campaign.revisions import NoticeFactory, NoticePlan
from lgp_mailer.config import DkimSettings, load_campaign
from lgp_mailer.event import load_event
from lgp_mailer.mail import mime
from lgp_mailer.mail.build import Built, MessageFactory
from lgp_mailer.mail.mime import POLICY, compose, compose_fast, letter_bytes, to_bytes
from lgp_mailer.mail.render import Rendered
from lgp_mailer.sheets.recipients import Recipient
from lgp_mailer.smtp.wire import crlf

REPO = Path(__file__).resolve().parent.parent
NOW = dt.datetime(2020, 6, 1, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))
NAMES = (
    "Kiss Ödön",
    "Győrffy Ősz Műkő Ünőné",
    None,
    "",
    'Kovács, Ödön "Öcsi"',
    "=?utf-8?q?Hamis_N=C3=A9v?= Béla",
    "Dr. Szentgyörgyvölgyi-Hosszúhetényi Ödönné Pálffy-Esterházy Márta Erzsébet Őrsike",
    "Nagy Ernő Ferenc Ágoston Béla Károly Lajos Mihály Ödön Pál",
    "Plain Name",
    "Tóth, Ilona",
)
PEOPLE = tuple(
    Recipient(
        email=f"hivatal{n}@telepules{n}.example",
        municipalities=("Őriszentpéter " * (n % 3 + 1),) if n % 2 else ("Bikal", "Mágocs", "Újfalu"),
        salutation=("Tisztelt Polgármester Úr!", "Tisztelt Jegyző Asszony!")[n % 2],
        name=name,
        role=("polgármester", "jegyző")[n % 2],
    )
    for n, name in enumerate(NAMES)
)
_BOUNDARY = re.compile(rb"={15}\d+==")


def _same_but_boundary(a: bytes, b: bytes) -> bool:
    return _BOUNDARY.sub(b"B", a) == _BOUNDARY.sub(b"B", b)


def _shape(msg: EmailMessage) -> list[tuple[object, ...]]:
    """Every part's type, headers and decoded content, as a mail client reads them."""
    return [
        (
            part.get_content_type(),
            [(name, str(value)) for name, value in part.items() if "boundary" not in str(value)],
            None if part.is_multipart() else part.get_content(),
        )
        for part in msg.walk()
    ]


def _assert_letters(factory: MessageFactory, people: tuple[Recipient, ...] = PEOPLE) -> list[Built]:
    built_ones = []
    for recipient in people:
        built = factory.build(recipient, now=NOW)
        raw = letter_bytes(built.rendered, built.envelope)
        assert raw == to_bytes(compose_fast(built.rendered, built.envelope))  # the current path, exactly
        assert raw == to_bytes(built.message)
        reference = compose(built.rendered, built.envelope).as_bytes(policy=POLICY)  # the stdlib alone
        assert _same_but_boundary(raw, reference)
        parsed = BytesParser(policy=policy.default).parsebytes(raw)
        assert parsed.defects == []
        assert _shape(parsed) == _shape(BytesParser(policy=policy.default).parsebytes(reference))  # type: ignore[arg-type]
        texts = [p.get_content() for p in parsed.walk() if p.get_content_maintype() == "text" and not p["Content-ID"]]
        # QP ends the last line, and the parser keeps the CRLFs.
        assert [t.replace("\r\n", "\n").rstrip("\n") for t in texts[:2]] == [
            built.rendered.text.rstrip("\n"),
            built.rendered.html.rstrip("\n"),
        ]
        if factory.signer is None:
            assert built.as_bytes() == raw
        assert built.wire_bytes() == crlf(built.as_bytes())  # the spool sends them without a crlf pass
        built_ones.append(built)
    return built_ones


@pytest.fixture(scope="module")
def campaign():
    return load_campaign(REPO / "lgp-mailer.toml")


def _own_subject(tmp_path: Path, campaign):
    """A campaign whose subject names each recipient: a Subject header that differs per letter and folds."""
    own = tmp_path / "templates"
    own.mkdir()
    (own / "invitation.subject.j2").write_text(
        "Meghívó {{ recipient.name or 'Önnek' }} részére, {{ municipalities }}: {{ event.title }}\n", encoding="utf-8"
    )
    return dataclasses.replace(campaign, template_dirs=(own, *campaign.template_dirs))


def test_invitations_with_and_without_supporter_logos(campaign):
    event = load_event(campaign.event_path)
    built = _assert_letters(MessageFactory(campaign, event))
    assert all(b.envelope.images and b.envelope.calendar for b in built)
    _assert_letters(MessageFactory(campaign, dataclasses.replace(event, supporter_logos=())))


def test_subjects_that_vary_per_recipient_and_the_sender_logo(tmp_path, campaign):
    shutil.copytree(REPO / "logos", tmp_path / "logos")  # the supporters' logos beside the sender's
    logo = tmp_path / "fejlec logo.png"
    logo.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    chosen = _own_subject(tmp_path, dataclasses.replace(campaign, root=tmp_path))
    chosen = dataclasses.replace(chosen, sender=dataclasses.replace(chosen.sender, logo=logo))
    built = _assert_letters(MessageFactory(chosen, load_event(campaign.event_path)))
    assert len({b.rendered.subject for b in built}) == len(PEOPLE)
    raw = built[6].as_bytes()
    assert b"Subject: =?utf-8?" in raw and b"\r\n =?utf-8?" in raw.split(b"\r\nDate:")[0]  # folded
    logo.write_bytes(b"\x89PNG\r\n\x1a\n" + b"changed")  # a new file is read again, not served from the cache
    assert (
        b"\r\n\r\niVBORw0KGgpjaGFuZ2Vk\r\n"
        in MessageFactory(chosen, load_event(campaign.event_path)).build(PEOPLE[0], now=NOW).as_bytes()
    )


def test_kinds_without_a_calendar_and_one_click_unsubscribe(campaign, monkeypatch):
    monkeypatch.setenv("LGP_MAILER_OPT_OUT_KEY", "titok")
    sender = dataclasses.replace(campaign.sender, unsubscribe_url="https://lgp.example.org/leiratkozas?id={id}")
    chosen = dataclasses.replace(campaign, sender=sender)
    event = load_event(campaign.event_path)
    event = dataclasses.replace(event, recording_url="https://video.example.org/lgp-2020")
    built = _assert_letters(MessageFactory(chosen, event, kinds.RECORDING.name))
    assert all(b.envelope.calendar is None for b in built)
    tokens = {dict(b.envelope.extra_headers)["List-Unsubscribe"] for b in built}
    assert len(tokens) == len(PEOPLE)


def test_a_change_notice_with_two_calendar_entries(campaign):
    event = load_event(campaign.event_path)
    plan = NoticePlan(
        kind=kinds.CHANGE,
        revision=2,
        new=True,
        snapshot=snapshot(event),
        recipients=list(PEOPLE),
        changes={p.email: ("Az időpont 10:00 helyett 11:00.", "A helyszín: Pécs, „Kossuth” tér.") for p in PEOPLE[::2]},
        joined=frozenset(p.email for p in PEOPLE[:5]),
    )
    built = _assert_letters(NoticeFactory(campaign, event, plan, calendar_uid=None))
    assert len({b.envelope.calendar for b in built}) == 2


def test_dkim_signs_the_same_bytes(tmp_path, campaign):
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    key_file = tmp_path / "lgp.private"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        )
    )
    public = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)
    signed = dataclasses.replace(campaign, dkim=DkimSettings(key_file, "lgp2026", "lgp.example.org"))
    for built in _assert_letters(MessageFactory(signed, load_event(campaign.event_path)), PEOPLE[:4]):
        raw = built.as_bytes()
        assert raw.startswith(b"DKIM-Signature: ")
        assert raw.endswith(to_bytes(compose_fast(built.rendered, built.envelope)))
        assert dkim.verify(raw, dnsfunc=lambda name, timeout=5: record, minkey=1024)


def test_the_marks_cannot_occur_in_a_quoted_printable_body():
    """QP writes "=" only before two hex digits or a line end: every byte, every line length."""
    text = "".join(map(chr, range(256))) + "=L0-text=L =L0-html=L\r\n\t x=\n" + "é=" * 60
    encoded = mime._quoted_printable(text)

    assert re.fullmatch(r"(?:[^=\r]|=[0-9A-F]{2}|=\n)*", encoded)
    for mark in mime._marks(0):
        assert mark not in encoded and mark.startswith("=L")


def test_a_mark_in_a_file_name_draws_another(campaign):
    event = load_event(campaign.event_path)
    logo = dataclasses.replace(MessageFactory(campaign, event).logos[0], filename="=L0-text=L.png")
    mime._skeleton.cache_clear()
    tail = mime._skeleton(None, (logo,))[2]
    assert b'filename="=L0-text=L.png"' in tail  # so the marks of n=0 were not used
    rendered = Rendered("Tárgy", "szöveg =L0-html=L\n", "<p>=L1-text=L</p>\n")
    envelope = mime.Envelope("", "a@b.example", "c@d.example", message_id="<m@b.example>", date=NOW, images=(logo,))
    assert letter_bytes(rendered, envelope) == to_bytes(compose_fast(rendered, envelope))


def test_nested_multiparts_never_share_a_boundary_even_if_random_repeats():
    import random

    from lgp_mailer.mail import mime

    mime._multipart.cache_clear()
    try:
        random.seed(7)
        mixed = mime._multipart("mixed").params["boundary"]
        random.seed(7)  # as hypothesis does between two examples
        alternative = mime._multipart("alternative").params["boundary"]
        random.seed(7)
        related = mime._multipart("related").params["boundary"]
        assert len({mixed, alternative, related}) == 3
    finally:
        mime._multipart.cache_clear()
