"""The supporters' logos: declared in the event file, read only from the campaign folder, sent inline (CID)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
import subprocess
import sys
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest

from lgp_mailer.config import load_campaign
from lgp_mailer.errors import EventError
from lgp_mailer.event import SupporterLogo, load_event
from lgp_mailer.mail.build import MessageFactory
from lgp_mailer.sheets.recipients import Recipient

REPO = Path(__file__).resolve().parent.parent
NOW = dt.datetime(2020, 6, 1, 9, 0, tzinfo=dt.UTC)
MAYOR = Recipient(
    email="polgarmester@alsomocsolad.example",
    municipalities=("Alsómocsolád",),
    salutation="Tisztelt Polgármester Úr!",
    name="Kiss Ödön",
)
PNG = b"\x89PNG\r\n\x1a\n"


def parse(raw: bytes):
    return BytesParser(policy=policy.default).parsebytes(raw)


@pytest.fixture(scope="module")
def campaign():
    return load_campaign(REPO / "lgp-mailer.toml")


def test_the_shipped_invitation_carries_three_inline_logos(campaign):
    event = load_event(campaign.event_path)
    assert [(logo.file, logo.alt) for logo in event.supporter_logos] == [
        ("logos/pelda-tamogato-1.png", "1. támogató logója (példa)"),
        ("logos/pelda-tamogato-2.png", "2. támogató logója (példa)"),
        ("logos/pelda-tamogato-3.png", "3. támogató logója (példa)"),
    ]
    msg = parse(MessageFactory(campaign, event).build(MAYOR, now=NOW).as_bytes())
    letter, calendar = msg.iter_parts()
    assert (letter.get_content_type(), calendar.get_content_type()) == ("multipart/alternative", "text/calendar")
    text, related = letter.iter_parts()
    assert (text.get_content_type(), related.get_content_type()) == ("text/plain", "multipart/related")
    html, *images = related.iter_parts()
    assert [(i["Content-ID"], i.get_content_type(), i.get_content_disposition(), i.get_filename()) for i in images] == [
        (f"<tamogato-{n}.lgp-mailer>", "image/png", "inline", f"pelda-tamogato-{n}.png") for n in (1, 2, 3)
    ]
    assert [i.get_content() for i in images] == [
        (REPO / "logos" / f"pelda-tamogato-{n}.png").read_bytes() for n in (1, 2, 3)
    ]
    body = html.get_content()
    for n in (1, 2, 3):
        assert f'<img src="cid:tamogato-{n}.lgp-mailer" alt="{n}. támogató logója (példa)" height="48"' in body


def test_without_logos_only_the_image_paragraph_differs(campaign):
    event = load_event(campaign.event_path)
    with_logos = MessageFactory(campaign, event).build(MAYOR, now=NOW)
    without = MessageFactory(campaign, dataclasses.replace(event, supporter_logos=())).build(MAYOR, now=NOW)
    assert without.rendered.text == with_logos.rendered.text
    html = with_logos.rendered.html
    start = html.rindex("<p", 0, html.index('<img src="cid:tamogato-1'))
    end = html.index("</p>", start) + len("</p>")
    assert html[:start] + html[end:] == without.rendered.html
    assert "cid:" not in without.rendered.html
    assert parse(without.as_bytes()).get_body(("html",)).get_content_type() == "text/html"  # no related part


def test_reminders_do_not_carry_logos_their_html_does_not_show(campaign):
    msg = parse(MessageFactory(campaign, load_event(campaign.event_path), "nudge").build(MAYOR, now=NOW).as_bytes())
    assert not [p for p in msg.walk() if p.get_content_maintype() == "image"]


def _campaign_with(tmp_path: Path, campaign, file: str, data: bytes | None = None):
    root = tmp_path / "kampany"
    root.mkdir(exist_ok=True)
    if data is not None:
        (root / file).parent.mkdir(parents=True, exist_ok=True)
        (root / file).write_bytes(data)
    event = dataclasses.replace(
        load_event(campaign.event_path), supporter_logos=(SupporterLogo(file, "Példa", "supporters.logos[1]"),)
    )
    return dataclasses.replace(campaign, root=root), event


@pytest.mark.parametrize(
    ("file", "data", "message"),
    [
        ("../kivul.png", None, "kivul.png is outside the campaign folder"),
        ("logos/nincs.png", None, "logo file not found"),
        ("logos/szoveg.png", b"not an image at all", "szoveg.png is not a PNG, JPEG or GIF image"),
        (
            "logos/nagy.png",
            PNG + b"\0" * 200_000,
            f"nagy.png is {len(PNG) + 200_000:,} bytes, over the limit of 102,400 (a supporter's logo)",
        ),
    ],
)
def test_bad_logos_are_one_clear_error(tmp_path, campaign, file, data, message):
    (tmp_path / "kivul.png").write_bytes(PNG + b"\0" * 8)
    chosen, event = _campaign_with(tmp_path, campaign, file, data)
    with pytest.raises(EventError) as caught:
        MessageFactory(chosen, event)
    assert caught.value.key == "supporters.logos[1].file"
    assert message in str(caught.value)


@pytest.mark.skipif(os.name == "nt", reason="symlinks need privileges on Windows")
def test_a_symlink_out_of_the_campaign_folder_is_refused(tmp_path, campaign):
    secret = tmp_path / "titok.png"
    secret.write_bytes(PNG + b"\0" * 8)
    chosen, event = _campaign_with(tmp_path, campaign, "logos/link.png")
    (chosen.root / "logos").mkdir()
    (chosen.root / "logos" / "link.png").symlink_to(secret)
    # The message names where the link really points: that is what is being refused.
    with pytest.raises(EventError, match=f"{re.escape(str(secret))} is outside the campaign folder"):
        MessageFactory(chosen, event)


def test_a_jpeg_and_a_gif_are_typed_by_their_bytes(tmp_path, campaign):
    chosen, event = _campaign_with(tmp_path, campaign, "a.png", b"\xff\xd8\xff\xe0" + b"\0" * 16)
    assert MessageFactory(chosen, event).logos[0].subtype == "jpeg"
    chosen, event = _campaign_with(tmp_path, campaign, "b.jpg", b"GIF89a" + b"\0" * 16)
    assert MessageFactory(chosen, event).logos[0].subtype == "gif"


def test_event_file_logo_entries_need_file_and_alt(tmp_path):
    text = (REPO / "events" / "2020-06-18-innovaciok.toml").read_text(encoding="utf-8")
    broken = tmp_path / "esemeny.toml"
    broken.write_text(text.replace('alt = "2. támogató logója (példa)"\n', ""), encoding="utf-8")
    with pytest.raises(EventError) as caught:
        load_event(broken)
    assert (caught.value.key, caught.value.message) == ("supporters.logos[2].alt", "missing key")


def test_a_nul_in_a_logo_file_is_an_event_error_not_a_traceback(tmp_path):
    text = (REPO / "events" / "2020-06-18-innovaciok.toml").read_text(encoding="utf-8")
    broken = tmp_path / "esemeny.toml"
    assert 'file = "logos/pelda-tamogato-2.png"' in text
    broken.write_text(
        text.replace('file = "logos/pelda-tamogato-2.png"', 'file = "logos/x.png\\u0000"'), encoding="utf-8"
    )
    with pytest.raises(EventError) as caught:
        load_event(broken)
    assert (caught.value.key, caught.value.message) == (
        "supporters.logos[2].file",
        "a path cannot hold a NUL character (U+0000)",
    )


def test_the_placeholder_logos_are_what_the_script_draws(tmp_path):
    subprocess.run([sys.executable, str(REPO / "tests" / "placeholder_logos.py"), str(tmp_path)], check=True)
    for path in sorted((REPO / "logos").glob("*.png")):
        assert (tmp_path / path.name).read_bytes() == path.read_bytes(), path.name


def test_fast_composition_with_logos_equals_the_stdlib_one(campaign):
    """compose_fast builds the related part itself; the bytes must be add_related's (boundaries aside)."""
    from test_messages import _same_but_boundary

    from lgp_mailer.mail.mime import POLICY, Envelope, compose, compose_fast, to_bytes

    factory = MessageFactory(campaign, load_event(campaign.event_path))
    built = factory.build(MAYOR, now=NOW)
    envelope = Envelope(
        from_name=campaign.sender.name,
        from_address=campaign.sender.email,
        to_address=MAYOR.email,
        to_name=MAYOR.name,
        reply_to=campaign.sender.reply_to,
        message_id=built.message_id,
        date=NOW,
        calendar=factory.calendar,
        extra_headers=factory.list_headers(MAYOR),
        images=factory.logos,
    )
    reference = compose(built.rendered, envelope).as_bytes(policy=POLICY)
    assert _same_but_boundary(to_bytes(compose_fast(built.rendered, envelope)), reference)
    assert _same_but_boundary(built.as_bytes(), reference)
