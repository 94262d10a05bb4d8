"""Rendered and composed invitations, parsed back exactly as a mail client would."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import re
from email import policy
from email.parser import BytesParser
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lgp_mailer.config import load_campaign
from lgp_mailer.errors import TemplateError
from lgp_mailer.event import load_event
from lgp_mailer.mail.build import MessageFactory
from lgp_mailer.mail.mime import Envelope, clean_header, compose, message_id, to_bytes
from lgp_mailer.mail.render import Rendered, Renderer, article, join_hu
from lgp_mailer.sheets.recipients import Recipient

REPO = Path(__file__).resolve().parent.parent
NOW = dt.datetime(2020, 6, 1, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))
MAYOR = Recipient(
    email="polgarmester@alsomocsolad.example",
    municipalities=("Alsómocsolád",),
    salutation="Tisztelt Polgármester Úr!",
    name="Kiss Ödön",
)
JOINT = Recipient(
    email="jegyzo@kozoshivatal.example",
    municipalities=("Bikal", "Mágocs", "Újfalu"),
    salutation="Tisztelt Jegyző Asszony!",
    role="jegyző",
)


@pytest.fixture(scope="module")
def campaign():
    return load_campaign(REPO / "lgp-mailer.toml")


def without_logos(path: Path):
    """The shipped event without its supporters' logos: the letter as it was before logos existed."""
    return dataclasses.replace(load_event(path), supporter_logos=())


@pytest.fixture(scope="module")
def factory(campaign):
    return MessageFactory(campaign, without_logos(campaign.event_path))


def parse(raw: bytes):
    return BytesParser(policy=policy.default).parsebytes(raw)


def decoded_parts(msg):
    msg = next(p for p in msg.walk() if p.get_content_type() == "multipart/alternative")
    # Bodies travel with CRLF line ends; compare their text with plain newlines.
    return tuple(msg.get_body((kind,)).get_content().replace("\r\n", "\n") for kind in ("plain", "html"))


def test_invitation_mime_structure_and_headers(factory):
    raw = factory.build(MAYOR, now=NOW).as_bytes()
    msg = parse(raw)
    assert msg.get_content_type() == "multipart/mixed"
    letter, calendar = msg.iter_parts()
    assert letter.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in letter.iter_parts()] == ["text/plain", "text/html"]
    assert calendar.get_content_type() == "text/calendar"
    assert calendar.get_content_disposition() == "attachment" and calendar.get_filename() == "meghivo.ics"
    assert calendar.get_param("method") == "PUBLISH"
    for part in letter.iter_parts():
        assert part.get_content_charset() == "utf-8"
        assert part["Content-Transfer-Encoding"] == "quoted-printable"
    assert str(msg["From"]) == "Legjobb Önkormányzati Gyakorlatok Programja <meghivo@lgp.example.org>"
    assert str(msg["To"]) == "Kiss Ödön <polgarmester@alsomocsolad.example>"
    assert str(msg["Reply-To"]) == "programiroda@lgp.example.org"
    assert str(msg["Subject"]) == (
        "Meghívó: Önkormányzati innovációk és jó gyakorlatok – online konferencia, 2020. június 18. (csütörtök) 10.00"
    )
    assert msg["Date"].datetime == NOW
    assert msg["MIME-Version"] == "1.0"
    assert str(msg["Message-ID"]) == message_id(
        "lgp-2020-06-18-innovaciok", "invitation", "polgarmester@alsomocsolad.example", "lgp.example.org"
    )
    assert re.fullmatch(r"<[0-9a-f]{32}\.invitation@lgp\.example\.org>", str(msg["Message-ID"]))
    assert sorted(msg.keys()) == sorted(
        [
            "From",
            "To",
            "Reply-To",
            "Subject",
            "Date",
            "Message-ID",
            "MIME-Version",
            "Content-Type",
            "List-Id",
            "List-Unsubscribe",
            "Precedence",
        ]
    )
    assert msg["List-Id"] == "<meghivok.lgp.example.org>"
    assert msg["List-Unsubscribe"] == "<mailto:programiroda@lgp.example.org?subject=leiratkozas>"
    assert msg["Precedence"] == "bulk"
    assert "List-Unsubscribe-Post" not in msg


def test_invitation_text_and_html_content(factory):
    text, html = decoded_parts(parse(factory.build(MAYOR, now=NOW).as_bytes()))
    assert "\nTisztelt Polgármester Úr!\n\nTisztelt Önkormányzati Szakemberek!\n" in text
    assert "\n2020. június 18. (csütörtök) 10.00 órától, ZOOM virtuális teremben\n" in text
    assert (
        "\n10.25–10.55 Dr. Dukai Miklós, helyettes államtitkár, Önkormányzati Helyettes Államtitkárság, "
        "Belügyminisztérium – Projektek az önkormányzatok szolgálatában\n"
    ) in text
    assert "\n10.55–11.05 Kérdések, válaszok, felvetések\n" in text
    assert (
        "\nA 2020. június 18-án 10.00 órától hozzávetőleg 12.35 óráig tartó konferencia tervezett programja:\n" in text
    )
    assert "\n9.30 órától technikai segítségnyújtás azoknak, akik igénylik:" in text
    assert "\nModerátor: Dr. Zongor Gábor, a Legjobb Önkormányzati Gyakorlatok programjának szakértője\n" in text
    assert (
        "\nhttps://docs.google.com/forms/d/e/1FAIpQLScfpAlxYg-WOQWQdHAEqwBwUVAzKMTd6IkxiIFf5TGSFtMJ-A/viewform?usp=sf_link\n"
        in text
    )
    assert "a következő önkormányzat kapcsolattartójaként szerepel: Alsómocsolád." in text
    # The agenda row in HTML: speaker in bold, times in their own cell.
    assert re.search(
        r"<td[^>]*>10\.25–10\.55</td><td[^>]*><strong[^>]*>Dr\. Dukai Miklós</strong>, helyettes államtitkár, "
        r"Önkormányzati Helyettes Államtitkárság, Belügyminisztérium – Projektek az önkormányzatok szolgálatában</td>",
        html,
    )
    assert "<style" not in html and 'style="' in html  # CSS inlined for Outlook and Gmail
    assert len(html.encode("utf-8")) < 102 * 1024 // 2
    for body in (text, html):
        for bad in ("None", "nan", "{{", "}}", "õ", "û", "Õ", "Û"):
            assert bad not in body


def test_encoded_lines_never_exceed_76(factory):
    raw = factory.build(JOINT, now=NOW).as_bytes()
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")
    _, _, body = raw.partition(b"\r\n\r\n")
    assert max(len(line) for line in body.split(b"\r\n")) <= 76
    assert all(byte < 128 for byte in raw)  # 7-bit clean: ő and ű travel encoded


def test_joint_office_letter_names_every_municipality(factory):
    text, html = decoded_parts(parse(factory.build(JOINT, now=NOW).as_bytes()))
    assert "\nTisztelt Jegyző Asszony!\n" in text
    assert "a következő önkormányzatok kapcsolattartójaként szerepel: Bikal, Mágocs és Újfalu." in text
    assert "a következő önkormányzatok kapcsolattartójaként szerepel: Bikal, Mágocs és Újfalu." in html
    assert str(parse(factory.build(JOINT, now=NOW).as_bytes())["To"]) == "jegyzo@kozoshivatal.example"


def test_second_conference_renders_its_own_agenda(campaign):
    other = MessageFactory(campaign, load_event(REPO / "events" / "2027-03-11-klima.toml"))
    msg = parse(other.build(MAYOR, now=NOW).as_bytes())
    text, html = decoded_parts(msg)
    assert str(msg["Subject"]) == (
        "Meghívó: Klímaalkalmazkodás és vízmegtartás a kistelepüléseken – online konferencia, "
        "2027. március 11. (csütörtök) 13.30"
    )
    assert (
        "\n13.40–14.20 Szőke Győző, polgármester, Példafalva Község Önkormányzata – "
        "Esővízgyűjtés a közintézményekben: öt év tapasztalatai\n" in text
    )
    assert "\n13.30–13.40 Megnyitó – Dr. Kardos Emőke\n" in text
    assert "Az online konferencia a Microsoft Teams alkalmazással" in text
    assert "A 2027. március 11-én 13.30 órától hozzávetőleg 15.45 óráig" in text
    assert "Zongor" not in text and "Dukai" not in html and "ZOOM" not in text
    assert re.search(r"<strong[^>]*>Dr\. Őri Lőrinc</strong>", html)


def test_html_autoescapes_sheet_values(factory):
    evil = dataclasses.replace(MAYOR, municipalities=('<script>alert(1)</script> & "Bt"',), name="<b>X</b>")
    html = factory.build(evil, now=NOW).rendered.html
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; &amp;" in html


def test_logo_goes_inline_through_multipart_related(tmp_path, campaign):
    logo = tmp_path / "logo.png"
    logo.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    # Only an image inside the campaign folder may be attached (issue 15): the folder is tmp_path here.
    with_logo = dataclasses.replace(campaign, root=tmp_path, sender=dataclasses.replace(campaign.sender, logo=logo))
    msg = parse(MessageFactory(with_logo, without_logos(campaign.event_path)).build(MAYOR, now=NOW).as_bytes())
    letter, calendar = msg.iter_parts()
    assert calendar.get_content_type() == "text/calendar"
    html_side = list(letter.iter_parts())[1]
    assert html_side.get_content_type() == "multipart/related"
    html, image = list(html_side.iter_parts())
    assert html.get_content_type() == "text/html" and 'src="cid:logo.lgp-mailer"' in html.get_content()
    assert image.get_content_type() == "image/png"
    assert image["Content-ID"] == "<logo.lgp-mailer>"
    assert image.get_content_disposition() == "inline"
    assert image.get_content() == logo.read_bytes()


def test_one_click_unsubscribe_when_an_https_url_is_configured(campaign, monkeypatch):
    import hashlib
    import hmac

    from lgp_mailer.errors import ConfigError

    sender = dataclasses.replace(
        campaign.sender,
        unsubscribe="leiratkozas@lgp.example.org",
        unsubscribe_url="https://lgp.example.org/leiratkozas?id={id}",
    )
    factory = MessageFactory(dataclasses.replace(campaign, sender=sender), load_event(campaign.event_path))
    with pytest.raises(ConfigError, match="set LGP_MAILER_OPT_OUT_KEY"):
        factory.build(MAYOR, now=NOW)  # an unkeyed token could be forged from the public address
    monkeypatch.setenv("LGP_MAILER_OPT_OUT_KEY", "titkos-kulcs")
    msg = parse(factory.build(MAYOR, now=NOW).as_bytes())
    token = factory.opt_out_id(MAYOR)
    expected = hmac.new(b"titkos-kulcs", b"opt-out\x1fpolgarmester@alsomocsolad.example", hashlib.sha256).hexdigest()
    assert token == expected[:32]
    assert " ".join(str(msg["List-Unsubscribe"]).split()) == (
        f"<mailto:leiratkozas@lgp.example.org?subject=leiratkozas>, <https://lgp.example.org/leiratkozas?id={token}>"
    )
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert max(len(line) for line in factory.build(MAYOR, now=NOW).as_bytes().split(b"\r\n")) <= 78


def test_invitation_carries_the_calendar_entry(factory):
    from icalendar import Calendar

    msg = parse(factory.build(MAYOR, now=NOW).as_bytes())
    part = next(p for p in msg.walk() if p.get_content_type() == "text/calendar")
    cal = Calendar.from_ical(part.get_content())
    assert str(cal["METHOD"]) == part.get_param("method") == "PUBLISH"
    (entry,) = cal.walk("VEVENT")
    # The campaign's UID (derived from its campaign_id), not one from the event file.
    digest = hashlib.sha256(b"lgp-2020-06-18-innovaciok\x1fcalendar").hexdigest()[:24]
    assert str(entry["UID"]) == f"{digest}@lgp.example.org"
    assert int(entry["SEQUENCE"]) == 0
    start = entry.decoded("DTSTART")
    assert start == dt.datetime(2020, 6, 18, 10, 0, tzinfo=ZoneInfo("Europe/Budapest"))
    assert str(start.tzinfo) == "Europe/Budapest" and start.utcoffset() == dt.timedelta(hours=2)
    assert entry.decoded("DTEND").time() == dt.time(12, 35)
    assert str(entry["ORGANIZER"]) == "mailto:programiroda@lgp.example.org" and "ATTENDEE" not in entry
    assert str(entry["URL"]) == factory.event.registration_url
    (tz,) = cal.walk("VTIMEZONE")
    assert str(tz["TZID"]) == "Europe/Budapest"
    assert {c.decoded("DTSTART").year for c in tz.walk() if c.name in ("STANDARD", "DAYLIGHT")} == {2020}
    assert "zoom.example.org/j/" not in part.get_content()  # the join link is only for registrants


def test_proof_copy_has_its_own_message_id(factory):
    proof = factory.build(MAYOR, now=NOW, proof_to="en@iroda.example")
    real = factory.build(MAYOR, now=NOW)
    assert proof.message_id != real.message_id and ".proof." not in real.message_id
    assert str(parse(proof.as_bytes())["To"]) == "en@iroda.example"


def test_message_id_is_stable_case_insensitive_and_hides_the_sender():
    a = message_id("camp", "invitation", "Kiss@Example.org", "lgp.example.org")
    assert a == message_id("camp", "invitation", "kiss@example.org", "lgp.example.org")
    assert a != message_id("camp", "reminder", "kiss@example.org", "lgp.example.org")
    assert a != message_id("camp2", "invitation", "kiss@example.org", "lgp.example.org")
    assert "meghivo" not in a and "kiss" not in a


def test_broken_and_missing_templates_are_clear_errors(tmp_path, campaign):
    for name, body in {
        "invitation.subject.j2": "{{ event.title }",
        "invitation.txt.j2": "x",
        "invitation.html.j2": "x",
    }.items():
        (tmp_path / name).write_text(body, encoding="utf-8")
    with pytest.raises(TemplateError, match="template syntax error") as caught:
        Renderer([tmp_path])
    assert caught.value.file.endswith("invitation.subject.j2") and caught.value.line == 1
    assert ", line 1: template syntax error" in str(caught.value)
    (tmp_path / "invitation.subject.j2").write_text("{{ event.titel }}", encoding="utf-8")
    with pytest.raises(TemplateError, match="titel") as caught:
        MessageFactory(campaign, load_event(campaign.event_path), renderer=Renderer([tmp_path])).build(MAYOR)
    assert caught.value.file.endswith("invitation.subject.j2")
    (tmp_path / "invitation.subject.j2").write_text("Tárgy {{ recipient.county }}", encoding="utf-8")
    with pytest.raises(TemplateError, match="missing"):
        MessageFactory(campaign, load_event(campaign.event_path), renderer=Renderer([tmp_path])).build(MAYOR)
    with pytest.raises(TemplateError, match="template not found"):
        Renderer([tmp_path / "nowhere"])


def test_hungarian_helpers():
    assert join_hu(["Bikal"]) == "Bikal"
    assert join_hu(["Bikal", "Mágocs"]) == "Bikal és Mágocs"
    assert join_hu(["A", "B", "C"]) == "A, B és C"
    assert [article(w) for w in ("ZOOM", "Egyesület", "Őrség", "iroda@x.hu", "Microsoft")] == [
        "a",
        "az",
        "az",
        "az",
        "a",
    ]


def test_clean_header_removes_line_breaks_and_encoded_words():
    assert clean_header("Tárgy\r\nBcc: x@example.org") == "Tárgy Bcc: x@example.org"
    assert clean_header("a =?utf-8?q?=0D=0ABcc:_x?= b") == "a b"
    assert clean_header("=?=?x?=?=") == ""
    assert clean_header("x\u2028y\x00z") == "x y z"


# Arbitrary text laced with the pieces an injection is made of.
header_text = st.lists(
    st.text(st.characters(codec="utf-8", categories=("L", "N", "P", "S", "Z", "Cc")), max_size=12)
    | st.sampled_from(["\r", "\n", "\r\n", "=?", "?=", "=?utf-8?q?=0D=0A?=", ":", "Bcc: evil@example.org", "ő", "ű"]),
    max_size=8,
).map("".join)


@settings(max_examples=150, deadline=None)
@given(subject=header_text, to_name=header_text, from_name=header_text)
def test_no_data_can_inject_a_header(subject, to_name, from_name):
    rendered = Rendered(subject=subject or "x", text="szöveg\n", html="<p>szöveg</p>\n")
    envelope = Envelope(
        from_name=from_name,
        from_address="meghivo@lgp.example.org",
        to_address="polgarmester@falu.example",
        to_name=to_name,
        message_id="<a@lgp.example.org>",
        date=NOW,
    )
    msg = parse(to_bytes(compose(rendered, envelope)))
    assert sorted(msg.keys()) == sorted(["From", "To", "Subject", "Date", "Message-ID", "MIME-Version", "Content-Type"])
    assert msg["To"].addresses[0].addr_spec == "polgarmester@falu.example"
    assert msg["From"].addresses[0].addr_spec == "meghivo@lgp.example.org"
    for name in ("Subject", "To", "From"):
        value = str(msg[name])
        assert "\r" not in value and "\n" not in value and "=?" not in value
    # What was written is what a client shows: no lost or added space, no mojibake.
    assert str(msg["Subject"]) == clean_header(subject or "x")
    for name, given_name in (("To", to_name), ("From", from_name)):
        shown = msg[name].addresses[0].display_name
        assert shown in (clean_header(given_name), "")  # exact, or left out when too long
        assert shown or len(clean_header(given_name).encode()) > 20 or not clean_header(given_name)
    assert msg.defects == []


def _same_but_boundary(a: bytes, b: bytes) -> bool:
    boundary = re.compile(rb"={15}\d+==")
    return boundary.sub(b"B", a) == boundary.sub(b"B", b)


def test_fast_composition_equals_straightforward_composition(factory):
    """compose_fast and to_bytes are optimisations: the bytes must be exactly compose()'s."""
    from lgp_mailer.mail.mime import compose_fast

    people = [
        MAYOR,
        JOINT,
        dataclasses.replace(MAYOR, name=None, email="x@y.example"),
        dataclasses.replace(
            JOINT, salutation="Tisztelt Polgármester Asszony, Polgármester Úr!", municipalities=("Őriszentpéter " * 12,)
        ),
    ]
    for recipient in people:
        built = factory.build(recipient, now=NOW)
        envelope = Envelope(
            from_name="Legjobb Önkormányzati Gyakorlatok Programja",
            from_address="meghivo@lgp.example.org",
            to_address=recipient.email,
            to_name=recipient.name,
            reply_to="programiroda@lgp.example.org",
            message_id=built.message_id,
            date=NOW,
            calendar=factory.calendar,
            extra_headers=factory.list_headers(recipient),
        )
        reference = compose(built.rendered, envelope).as_bytes(
            policy=policy.SMTP.clone(cte_type="7bit", max_line_length=76)
        )
        assert _same_but_boundary(to_bytes(compose_fast(built.rendered, envelope)), reference)
        assert _same_but_boundary(built.as_bytes(), reference)


@settings(max_examples=60, deadline=None)
@given(text=st.text(st.characters(codec="utf-8"), max_size=300))
def test_fast_quoted_printable_matches_the_stdlib(text):
    from lgp_mailer.mail.mime import compose_fast

    rendered = Rendered(subject="Tárgy", text=text, html=text)
    envelope = Envelope(
        from_name="", from_address="a@b.example", to_address="c@d.example", message_id="<m@b.example>", date=NOW
    )
    assert _same_but_boundary(to_bytes(compose_fast(rendered, envelope)), to_bytes(compose(rendered, envelope)))


def test_a_half_broken_tag_never_reaches_a_letter(tmp_path, campaign):
    for name, body in {
        "invitation.subject.j2": "Meghívó",
        "invitation.txt.j2": "Kedves { recipient.name }}!\n",
        "invitation.html.j2": "<p>x</p>",
    }.items():
        (tmp_path / name).write_text(body, encoding="utf-8")
    factory = MessageFactory(campaign, load_event(campaign.event_path), renderer=Renderer([tmp_path]))
    with pytest.raises(TemplateError, match="rendered text contains '}}'"):
        factory.build(MAYOR)


def test_an_accented_sender_domain_travels_as_punycode(tmp_path):
    from lgp_mailer.errors import ConfigError

    text = (REPO / "lgp-mailer.toml").read_text(encoding="utf-8")
    text = text.replace('email = "meghivo@lgp.example.org"', 'email = "meghivo@lgp-példa.example"')
    config = tmp_path / "lgp-mailer.toml"
    config.write_text(
        text.replace('event = "', f'event = "{(REPO).as_posix()}/').replace(
            'recipients = "', f'recipients = "{REPO.as_posix()}/'
        ),
        encoding="utf-8",
    )
    campaign = load_campaign(config)
    assert campaign.sender.email == "meghivo@xn--lgp-plda-f1a.example"
    msg = parse(MessageFactory(campaign, without_logos(campaign.event_path)).build(MAYOR, now=NOW).as_bytes())
    assert msg["List-Id"] == "<meghivok.xn--lgp-plda-f1a.example>"
    assert str(msg["Message-ID"]).endswith(".invitation@xn--lgp-plda-f1a.example>")
    config.write_text(
        text.replace("[sender]", '[sender]\nunsubscribe_url = "https://lgp.example.org/leiratkozás"'), encoding="utf-8"
    )
    with pytest.raises(ConfigError, match="percent-encode"):
        load_campaign(config)
