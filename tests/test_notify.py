"""Change and cancellation notices (issue 18): the diff, calendars updated in place, revisions,
crashes, the cancellation's refusal, and the add-to-calendar links."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from test_send_cli import Camp, parse, people, rcpts, runner
from test_send_crash import WAIT, make_campaign, wait_until

from lgp_mailer import kinds
from lgp_mailer.campaign.changes import diff, snapshot
from lgp_mailer.cli import app
from lgp_mailer.event import load_event
from lgp_mailer.ledger.store import open_ledger
from lgp_mailer.mail.calendar_links import calendar_links
from smtp_server import ScriptedHandler, SmtpTestServer

BUDAPEST = ZoneInfo("Europe/Budapest")
EVENT = "events/2020-06-18-innovaciok.toml"


def invoke(camp: Camp, *args: str):
    return runner.invoke(app, [*args, "--campaign", str(camp.root)], catch_exceptions=False)


def edit(camp: Camp, old: str, new: str) -> None:
    path = camp.root / EVENT
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def calendar(message) -> tuple[Calendar, object, object]:
    part = next(p for p in message.walk() if p.get_content_type() == "text/calendar")
    cal = Calendar.from_ical(part.get_content())
    (entry,) = cal.walk("VEVENT")
    return cal, entry, part


def text_of(message) -> str:
    return message.get_body(("plain",)).get_content()


def html_of(message) -> str:
    return message.get_body(("html",)).get_content()


def rows(camp: Camp, kind: str) -> dict[str, str]:
    with open_ledger(camp.db) as ledger:
        return {r.address: r.status for r in ledger.rows(camp.campaign_id, kind)}


@pytest.fixture
def camp(smtp_server: SmtpTestServer, tmp_path: Path) -> Camp:
    camp = make_campaign(tmp_path, smtp_server, rows=people(3))
    result = invoke(camp, "send", "--yes", "--quiet")
    assert result.exit_code == 0, result.output
    return camp


def test_the_diff_lists_exactly_the_changed_fields(tmp_path):
    camp = make_campaign(tmp_path, None, rows=people(1))
    before = snapshot(load_event(camp.root / EVENT))
    edit(camp, "date = 2099-06-18", "date = 2099-06-25")
    edit(camp, "?pwd=lgp2020", "?pwd=uj2099")
    after_event = load_event(camp.root / EVENT)
    after = snapshot(after_event)
    assert [c.field for c in diff(before, after)] == ["date", "join_url"]
    assert [(c.before, c.after) for c in diff(before, after)] == [
        ("2099-06-18", "2099-06-25"),
        ("https://zoom.example.org/j/81234567890?pwd=lgp2020", "https://zoom.example.org/j/81234567890?pwd=uj2099"),
    ]


def test_change_notices_update_every_calendar_and_each_revision_goes_once(camp, smtp_server):
    invitation = parse(smtp_server.received[0].data)
    _, first, _ = calendar(invitation)
    edit(camp, "date = 2099-06-18", "date = 2099-06-25")
    result = invoke(camp, "notify", "--change", "--yes", "--quiet")
    assert result.exit_code == 0, result.output
    notices = [parse(m.data) for m in smtp_server.received[3:]]
    assert sorted(rcpts(smtp_server)[3:]) == sorted(camp.addresses)
    event = load_event(camp.root / EVENT)
    for message in notices:
        assert str(message["Subject"]).startswith(f"Módosítás: {event.title} – 2099. június 25.")
        assert (
            "Az időpont megváltozott: 2099. június 18. (csütörtök) 10.00 óra helyett "
            "2099. június 25. (csütörtök) 10.00 óra."
        ) in text_of(message)
        cal, entry, part = calendar(message)
        assert str(entry["UID"]) == str(first["UID"])
        assert entry.decoded("sequence") == 2 > first.decoded("sequence") == 0
        assert entry.decoded("dtstart") == dt.datetime.combine(dt.date(2099, 6, 25), event.start, tzinfo=BUDAPEST)
        assert str(entry.decoded("dtstart").tzinfo) == "Europe/Budapest"
        assert part.get_param("method") == str(cal["METHOD"]) == "PUBLISH"
    assert rows(camp, "change-r1") == dict.fromkeys(camp.addresses, "sent")

    # A rerun sends nothing twice.
    again = invoke(camp, "notify", "--change", "--yes", "--quiet")
    assert again.exit_code == 3, again.output
    assert len(smtp_server.received) == 6

    # A second revision is a second notice, with a higher SEQUENCE still.
    edit(camp, 'end = "12.35"', 'end = "12.50"')
    second = invoke(camp, "notify", "--change", "--yes", "--quiet")
    assert second.exit_code == 0, second.output
    assert len(smtp_server.received) == 9
    for m in smtp_server.received[6:]:
        message = parse(m.data)
        _, entry, _ = calendar(message)
        assert entry.decoded("sequence") == 4
        assert "A befejezés időpontja megváltozott:" in text_of(message)
        assert "Az időpont megváltozott" not in text_of(message)
    assert rows(camp, "change-r2") == dict.fromkeys(camp.addresses, "sent")
    status = invoke(camp, "status")
    assert "módosítás (1. változat)" in status.output and "módosítás (2. változat)" in status.output
