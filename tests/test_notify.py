"""Change and cancellation notices (issue 18): the diff, calendars updated in place, revisions,
crashes, the cancellation's refusal, and the add-to-calendar links."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import re
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
from lgp_mailer.campaign.changes import Snapshot, diff, snapshot
from lgp_mailer.campaign.notice_text import sentences
from lgp_mailer.cli import app
from lgp_mailer.event import load_event
from lgp_mailer.ledger.revisions import revisions
from lgp_mailer.ledger.store import open_ledger
from lgp_mailer.mail.calendar_links import calendar_links

from sheets_factory import HEADER, write_xlsx
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
    assert "change-r1 (revision 1)" in status.output and "change-r2 (revision 2)" in status.output


def test_cancellation_marks_the_entry_cancelled_and_send_and_remind_then_exit_3(camp, smtp_server):
    _, first, _ = calendar(parse(smtp_server.received[0].data))
    result = invoke(camp, "notify", "--cancel", "--yes", "--quiet")
    assert result.exit_code == 0, result.output
    assert sorted(rcpts(smtp_server)[3:]) == sorted(camp.addresses)
    event = load_event(camp.root / EVENT)
    for m in smtp_server.received[3:]:
        message = parse(m.data)
        assert str(message["Subject"]) == f"Elmarad: {event.title} – 2099. június 18. (csütörtök)"
        assert (
            f"Sajnálattal értesítjük, hogy „{event.title}” című, 2099. június 18-án tervezett konferenciánk elmarad."
        ) in " ".join(text_of(message).split())
        cal, entry, part = calendar(message)
        assert str(entry["UID"]) == str(first["UID"])
        assert entry.decoded("sequence") == 2
        assert str(entry["STATUS"]) == "CANCELLED"
        assert str(entry["SUMMARY"]) == f"ELMARAD: {event.title}"
        assert part.get_param("method") == str(cal["METHOD"]) == "PUBLISH"
        assert "calendar.google.com" not in html_of(message)
    with open_ledger(camp.db) as ledger:
        (revision,) = revisions(ledger, camp.campaign_id)
    day = dt.datetime.fromisoformat(revision.created_at.replace("Z", "+00:00")).astimezone(BUDAPEST)
    for command in (["send", "--yes"], ["remind", "--day-before", "--force", "--yes"]):
        refused = invoke(camp, *command)
        assert refused.exit_code == 3, refused.output
        assert f"cancellation notice started going out on {day:%Y-%m-%d %H:%M}" in refused.output
    assert len(smtp_server.received) == 6
    again = invoke(camp, "notify", "--cancel", "--yes", "--quiet")
    assert again.exit_code == 3, again.output  # nothing twice
    changed = invoke(camp, "notify", "--change", "--yes")
    assert changed.exit_code == 3 and "called off" in changed.output


def test_the_add_to_calendar_links_parse_back_to_the_times_and_title(camp, smtp_server):
    event = load_event(camp.root / EVENT)
    start = dt.datetime.combine(event.date, event.start, tzinfo=BUDAPEST)
    end = dt.datetime.combine(event.date, event.end, tzinfo=BUDAPEST)
    html = html_of(parse(smtp_server.received[0].data))
    links = calendar_links(event, join=False)
    for url in (links.google, links.outlook_live, links.outlook_office):
        assert f'href="{url.replace("&", "&amp;")}"' in html
    google = urlsplit(links.google)
    assert (google.scheme, google.netloc, google.path) == ("https", "calendar.google.com", "/calendar/render")
    query = parse_qs(google.query)
    assert query["text"] == [event.title]
    begin, finish = query["dates"][0].split("/")
    utc = "%Y%m%dT%H%M%S%z"
    assert dt.datetime.strptime(begin.replace("Z", "+0000"), utc) == start
    assert dt.datetime.strptime(finish.replace("Z", "+0000"), utc) == end
    assert query["details"] == [f"Regisztráció: {event.registration_url}"]
    for url, host in ((links.outlook_live, "outlook.live.com"), (links.outlook_office, "outlook.office.com")):
        parts = urlsplit(url)
        assert (parts.netloc, parts.path) == (host, "/calendar/0/action/compose")
        query = parse_qs(parts.query)
        assert query["subject"] == [event.title]
        assert query["rru"] == ["addevent"]
        assert dt.datetime.fromisoformat(query["startdt"][0]) == start
        assert dt.datetime.fromisoformat(query["enddt"][0]) == end
    joined = parse_qs(urlsplit(calendar_links(event, join=True).google).query)
    assert joined["details"] == [f"Csatlakozás: {event.join_url}"]


def test_a_sequence_key_in_the_event_file_is_an_error_naming_what_replaces_it(tmp_path):
    camp = make_campaign(tmp_path, None, rows=people(1))
    path = camp.root / EVENT
    path.write_text(
        path.read_text(encoding="utf-8").replace("[calendar]\n", "[calendar]\nsequence = 3\n"), encoding="utf-8"
    )
    result = invoke(camp, "check", "--quiet")
    assert result.exit_code == 2, result.output
    assert (
        "calendar SEQUENCE is no longer set in the event file: the sent log keeps it "
        "(each 'lgp-mailer notify --change' raises it); delete the line"
    ) in result.output
    assert "calendar.sequence" in result.output


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL to a child is POSIX-only")
def test_sigkill_during_a_notice_run_then_a_rerun_delivers_each_once_or_unknown(camp, smtp_server):
    assert isinstance(smtp_server.handler, ScriptedHandler)
    edit(camp, "date = 2099-06-18", "date = 2099-06-25")
    hold = smtp_server.handler.hold(5)  # the second notice: claimed, its DATA sent, no reply yet
    proc = subprocess.Popen(
        [sys.executable, "-m", "lgp_mailer", "notify", "--change", "--yes", "--quiet"],
        cwd=camp.root,
        env=dict(os.environ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert hold.reached.wait(WAIT)
    finally:
        proc.kill()
        proc.wait(WAIT)
    hold.release("250 2.0.0 queued")
    wait_until(lambda: len(smtp_server.handler.data_attempts) == 5, "the held notice to settle")
    second = camp.addresses[1]
    assert rows(camp, "change-r1") == {camp.addresses[0]: "sent", second: "sending", camp.addresses[2]: "pending"}

    rerun = invoke(camp, "notify", "--change", "--yes", "--quiet")
    assert rerun.exit_code == 1, rerun.output  # done, but the unknown one needs a decision
    states = rows(camp, "change-r1")
    assert states == {camp.addresses[0]: "sent", second: "unknown", camp.addresses[2]: "sent"}
    got = Counter(rcpts(smtp_server)[3:])
    assert got == Counter({camp.addresses[0]: 1, second: 1, camp.addresses[2]: 1})  # the server took it once
    with open_ledger(camp.db) as ledger:
        ids = {r.address: r.message_id for r in ledger.rows(camp.campaign_id, "change-r1")}
    for m in smtp_server.received[3:]:
        assert parse(m.data)["Message-ID"] == ids[m.rcpt_tos[0]]
    assert kinds.label("change-r1") == "módosítás (1. változat)"


def test_registrants_get_the_new_link_and_later_letters_carry_the_current_revision(camp, smtp_server, tmp_path):
    first = camp.addresses[0]
    (camp.root / "registrations" / "valaszok.csv").write_text(
        '"Időbélyeg","E-mail-cím","Név","Önkormányzat","Beosztás"\n'
        f'"2099. 06. 08. 9:12:44","{first}","Kovács Péter","Próbafalu 01","polgármester"\n',
        encoding="utf-8",
    )
    config = camp.root / "lgp-mailer.toml"
    text = config.read_text(encoding="utf-8")
    config.write_text(
        re.sub(r'(?m)^registrations = ".*"', 'registrations = "registrations/valaszok.csv"', text), encoding="utf-8"
    )
    reminded = invoke(camp, "remind", "--day-before", "--force", "--yes", "--quiet")
    assert reminded.exit_code == 0, reminded.output
    assert rcpts(smtp_server)[3:] == [first]
    old_link = load_event(camp.root / EVENT).join_url
    edit(camp, "date = 2099-06-18", "date = 2099-06-25")
    edit(camp, "?pwd=lgp2020", "?pwd=uj2099")
    new_link = load_event(camp.root / EVENT).join_url
    checked = invoke(camp, "check", "--quiet")
    assert (
        "WARNING: the event changed since 3 recipients were last sent something: "
        "run 'lgp-mailer notify --change' to tell them and update their calendars"
    ) in checked.output
    shown = invoke(camp, "preview", "--kind", "change", "--limit", "1", "--out", str(tmp_path / "pv"))
    assert shown.exit_code == 0, shown.output
    assert "change-r1 1/1" in shown.output
    assert "Az időpont megváltozott: 2099. június 18. (csütörtök) 10.00 óra helyett" in shown.output
    assert len(smtp_server.received) == 4  # the preview sent nothing and recorded no revision

    assert invoke(camp, "notify", "--change", "--yes", "--quiet").exit_code == 0
    notices = {m.rcpt_tos[0]: parse(m.data) for m in smtp_server.received[4:]}
    assert sorted(notices) == sorted(camp.addresses)
    sentence = f"A csatlakozási link megváltozott: {old_link} helyett {new_link}."
    for address, message in notices.items():
        _, entry, _ = calendar(message)
        assert entry.decoded("sequence") == 2  # above the reminder's 1
        if address == first:
            assert sentence in text_of(message)
            assert str(entry["URL"]) == new_link
        else:
            assert "csatlakozási link" not in text_of(message)
            assert new_link not in text_of(message)
            assert str(entry["URL"]) == load_event(camp.root / EVENT).registration_url

    # A recipient added after the change gets an invitation of the current revision, and no notice.
    write_xlsx(camp.root / "recipients" / "lista.xlsx", {"Lista": [HEADER, *people(4)]})
    assert invoke(camp, "send", "--yes", "--quiet").exit_code == 0
    latest = parse(smtp_server.received[-1].data)
    assert smtp_server.received[-1].rcpt_tos == ["polgarmester04@falu.example"]
    assert calendar(latest)[1].decoded("sequence") == 2
    assert "2099. június 25." in text_of(latest)
    assert invoke(camp, "notify", "--change", "--yes", "--quiet").exit_code == 3
    assert "WARNING: the event changed" not in invoke(camp, "check", "--quiet").output


def _slot(**fields: str) -> tuple[tuple[str, str], ...]:
    return tuple((key, fields[key]) for key in ("start", "end", "title", "speaker", "qa") if key in fields)


def test_each_change_is_one_sentence_old_value_before_helyett():
    before = Snapshot(
        "Klíma", "2027-03-11", "10:00", "12:00", "Zoom", None, "https://forms.example.org/a",
        (
            _slot(start="10:00", end="10:30", title="Nyitás", speaker="Kiss Anna"),
            _slot(start="10:30", end="11:00", title="Árvizek"),
            _slot(start="11:00", end="11:30", title="Kérdések", qa="true"),
            _slot(start="11:30", end="12:00", title="Zárszó"),
        ),
    )  # fmt: skip
    after = Snapshot(
        "A „Víz” napja", "2027-03-18", "10:00", "12:30", "Microsoft Teams", "https://teams.example.org/j/1",
        "https://forms.example.org/b",
        (
            _slot(start="10:00", end="10:30", title="Nyitás", speaker="Nagy Béla"),
            _slot(start="10:45", end="11:15", title="Árvizek"),
            _slot(start="11:15", end="11:30", title="Kérdések"),
        ),
    )  # fmt: skip
    assert sentences(before, after, joined=True) == [
        "A konferencia címe megváltozott: „Klíma” helyett „A »Víz« napja”.",
        "Az időpont megváltozott: 2027. március 11. (csütörtök) 10.00 óra helyett "
        "2027. március 18. (csütörtök) 10.00 óra.",
        "A befejezés időpontja megváltozott: 12.00 óra helyett 12.30 óra.",
        "A konferencia platformja megváltozott: Zoom helyett Microsoft Teams.",
        "A csatlakozási link: https://teams.example.org/j/1.",
        "A regisztrációs link megváltozott: https://forms.example.org/a helyett https://forms.example.org/b.",
        "A „Nyitás” programpont előadója megváltozott: Kiss Anna helyett Nagy Béla.",
        "Az „Árvizek” programpont időpontja megváltozott: 10.30–11.00 helyett 10.45–11.15.",
        "A „Kérdések” programpont időpontja megváltozott: 11.00–11.30 helyett 11.15–11.30.",
        "A „Kérdések” programpont módosult.",
        "Elmarad a következő programpont: 11.30–12.00 „Zárszó”.",
    ]
    unjoined = sentences(before, after, joined=False)
    assert not any("csatlakozási" in line for line in unjoined) and len(unjoined) == 10
    own = dataclasses.replace(after, agenda=(_slot(start="10:00", end="10:20", title="A jövő települése"),))
    moved = dataclasses.replace(own, agenda=(_slot(start="10:00", end="10:30", title="A jövő települése"),))
    # A slot title with its own article takes no second one ("A „A jövő …”").
    assert sentences(own, moved, joined=False) == [
        "„A jövő települése” programpont időpontja megváltozott: 10.00–10.20 helyett 10.00–10.30."
    ]
    longer = dataclasses.replace(
        before, agenda=(*before.agenda, _slot(start="12:00", end="12:15", title="Búcsú", speaker="Tóth Éva"))
    )
    assert sentences(before, longer, joined=False) == ["Új programpont: 12.00–12.15 „Búcsú” (Tóth Éva)."]


def test_notify_needs_one_flag_something_sent_and_a_dry_run_records_no_revision(smtp_server, tmp_path):
    camp = make_campaign(tmp_path, smtp_server, rows=people(2))
    neither = invoke(camp, "notify")
    assert neither.exit_code == 2 and "choose one: --change or --cancel" in neither.output
    nothing = invoke(camp, "notify", "--cancel", "--yes")
    assert nothing.exit_code == 3, nothing.output
    assert "nothing was sent for this campaign yet: there is nobody to notify" in nothing.output
    assert invoke(camp, "send", "--yes", "--quiet").exit_code == 0
    unchanged = invoke(camp, "notify", "--change", "--yes")
    assert unchanged.exit_code == 3 and "no change notice is due" in unchanged.output
    edit(camp, "date = 2099-06-18", "date = 2099-06-25")
    dry = invoke(camp, "notify", "--change", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "Revision 1 of the event: 2 recipients to notify." in dry.output
    written = sorted((camp.root / "outbox" / "change-r1").glob("*.eml"))
    assert [p.name for p in written] == ["0001-polgarmester01_falu.example.eml", "0002-polgarmester02_falu.example.eml"]
    assert "Az időpont megváltozott" in text_of(parse(written[0].read_bytes()))
    assert len(smtp_server.received) == 2
    with open_ledger(camp.db) as ledger:
        assert revisions(ledger, camp.campaign_id) == []


def test_an_address_that_left_the_sheet_is_still_told_with_a_neutral_salutation(camp, smtp_server):
    """It was invited, so its calendar holds the old date: the sent log, not the sheet, says who is told."""
    write_xlsx(camp.root / "recipients" / "lista.xlsx", {"Lista": [HEADER, *people(2)]})
    edit(camp, "date = 2099-06-18", "date = 2099-06-25")
    result = invoke(camp, "notify", "--change", "--yes", "--quiet")
    assert result.exit_code == 0, result.output
    assert sorted(rcpts(smtp_server)[3:]) == sorted(camp.addresses)
    by_address = {m.rcpt_tos[0]: parse(m.data) for m in smtp_server.received[3:]}
    gone = text_of(by_address["polgarmester03@falu.example"])
    assert gone.splitlines()[2] == "Tisztelt Hölgyem, Uram!"
    assert "Az időpont megváltozott: 2099. június 18. (csütörtök) 10.00 óra helyett" in gone
    assert text_of(by_address["polgarmester01@falu.example"]).splitlines()[2] == "Tisztelt Polgármester Úr!"
    assert rows(camp, "change-r1") == dict.fromkeys(camp.addresses, "sent")


def test_a_notice_about_a_conference_that_has_ended_is_refused(camp, smtp_server):
    # The likely cause: the campaign reads last conference's event file.
    edit(camp, "date = 2099-06-18", "date = 2020-06-18")
    event = load_event(camp.root / EVENT)
    for flag in ("--change", "--cancel", "--dry-run"):
        args = ("notify", "--change", flag) if flag == "--dry-run" else ("notify", flag, "--yes")
        refused = invoke(camp, *args)
        assert refused.exit_code == 2, refused.output
        assert refused.output.splitlines()[-1] == (
            f"lgp-mailer: error: {camp.root / EVENT}, key 'conference.date': the conference in this event file ended at "
            f"2020-06-18 {event.end:%H:%M} (Europe/Budapest): no change or cancellation notice is sent for it; "
            "check that the campaign reads this conference's event file"
        )
    assert len(smtp_server.received) == 3  # the invitations only
    assert not (camp.root / "outbox" / "change-r1").exists()
    with open_ledger(camp.db) as ledger:
        assert revisions(ledger, camp.campaign_id) == []
        assert set(rows(camp, "invitation").values()) == {"sent"}


def test_a_proof_copy_of_a_change_notice_goes_only_to_the_test_address(camp, smtp_server):
    edit(camp, "date = 2099-06-18", "date = 2099-06-25")
    proof = invoke(camp, "notify", "--change", "--test-to", "proof@hivatal.example")
    assert proof.exit_code == 0, proof.output
    assert rcpts(smtp_server)[3:] == ["proof@hivatal.example"]
    message = parse(smtp_server.received[3].data)
    assert str(message["To"]) == "proof@hivatal.example"
    text = " ".join(text_of(message).split())
    # The first recipient's own notice: the change sentence and the updated calendar entry.
    assert "Az időpont megváltozott" in text_of(message)
    assert "2099. június 25." in text
    _, entry, _ = calendar(message)
    assert entry.decoded("dtstart").date() == dt.date(2099, 6, 25)
    assert entry.decoded("sequence") == 2
    # Nothing is recorded: no revision, and the real notices are all still due.
    with open_ledger(camp.db) as ledger:
        assert revisions(ledger, camp.campaign_id) == []
    assert rows(camp, "change-r1") == {}
    sent = invoke(camp, "notify", "--change", "--yes", "--quiet")
    assert sent.exit_code == 0, sent.output
    assert sorted(rcpts(smtp_server)[4:]) == sorted(camp.addresses)


def test_a_slot_inserted_or_dropped_mid_agenda_is_one_change_not_a_shift():
    agenda = (
        _slot(start="10:00", end="10:30", title="Nyitás"),
        _slot(start="10:30", end="11:00", title="Árvizek"),
        _slot(start="11:00", end="11:30", title="Aszály"),
        _slot(start="11:30", end="12:00", title="Zárszó"),
    )
    before = Snapshot("Klíma", "2027-03-11", "10:00", "12:00", "Zoom", None, None, agenda)
    inserted = dataclasses.replace(
        before, agenda=(agenda[0], _slot(start="10:30", end="10:45", title="Köszöntő"), *agenda[1:])
    )
    assert sentences(before, inserted, joined=False) == ["Új programpont: 10.30–10.45 „Köszöntő”."]
    assert [str(c) for c in diff(before, inserted)] == ["agenda[2]: (none) -> 10:30-10:45 Köszöntő"]
    dropped = dataclasses.replace(before, agenda=(agenda[0], *agenda[2:]))
    assert sentences(before, dropped, joined=False) == ["Elmarad a következő programpont: 10.30–11.00 „Árvizek”."]
    assert [str(c) for c in diff(before, dropped)] == ["agenda[2]: 10:30-11:00 Árvizek -> (none)"]
    # Renamed in place, and a slot added after it that shifts the later times.
    renamed = dataclasses.replace(
        before,
        agenda=(
            agenda[0],
            _slot(start="10:30", end="11:00", title="Villámárvizek"),
            _slot(start="11:00", end="11:15", title="Szünet"),
            _slot(start="11:15", end="11:45", title="Aszály"),
            _slot(start="11:45", end="12:15", title="Zárszó"),
        ),
    )
    assert sentences(before, renamed, joined=False) == [
        "Az „Árvizek” programpont címe megváltozott: Árvizek helyett Villámárvizek.",
        "Új programpont: 11.00–11.15 „Szünet”.",
        "Az „Aszály” programpont időpontja megváltozott: 11.00–11.30 helyett 11.15–11.45.",
        "A „Zárszó” programpont időpontja megváltozott: 11.30–12.00 helyett 11.45–12.15.",
    ]


def test_check_asks_for_a_notice_only_when_notify_would_send_one(camp, smtp_server):
    # The join link went to nobody yet (no reminder): a new one is not a change for anyone:
    # check must not send the user to a 'notify --change' that then says nothing is due.
    edit(camp, "?pwd=lgp2020", "?pwd=uj2099")
    assert "WARNING: the event changed" not in invoke(camp, "check", "--quiet").output
    assert invoke(camp, "notify", "--change", "--yes", "--quiet").exit_code == 3
    edit(camp, "date = 2099-06-18", "date = 2099-06-25")
    assert (
        "WARNING: the event changed since 3 recipients were last sent something: "
        "run 'lgp-mailer notify --change' to tell them and update their calendars"
    ) in invoke(camp, "check", "--quiet").output
    assert invoke(camp, "notify", "--change", "--yes", "--quiet").exit_code == 0
    assert len(smtp_server.received) == 6


def test_a_new_title_alone_is_a_change_the_notice_names_with_the_old_title(camp, smtp_server):
    # The recipients saved the old title in their calendars: a renamed conference is news to them.
    edit(camp, 'title = "Önkormányzati innovációk és jó gyakorlatok"', 'title = "Az „Okos Falu” díj"')
    checked = invoke(camp, "check", "--quiet").output
    assert "WARNING: the event changed since 3 recipients were last sent something" in checked
    assert (
        "Changed since the last run" in checked
        and "title: Önkormányzati innovációk és jó gyakorlatok -> Az „Okos Falu” díj" in checked
    )
    assert invoke(camp, "notify", "--change", "--yes", "--quiet").exit_code == 0
    notices = [parse(m.data) for m in smtp_server.received[3:]]
    assert len(notices) == 3
    for message in notices:
        lines = text_of(message).splitlines()
        assert "„Az »Okos Falu« díj” című online konferenciánk adatai megváltoztak." in lines
        assert (
            "A konferencia címe megváltozott: „Önkormányzati innovációk és jó gyakorlatok” helyett "
            "„Az »Okos Falu« díj”."
        ) in lines
        assert "A konferencia címe megváltozott:" in html_of(message)
        _, entry, _ = calendar(message)
        assert str(entry["SUMMARY"]) == "Az „Okos Falu” díj"
    assert invoke(camp, "notify", "--change", "--yes", "--quiet").exit_code == 3


def _register(camp: Camp, address: str) -> None:
    (camp.root / "registrations" / "valaszok.csv").write_text(
        '"Időbélyeg","E-mail-cím","Név","Önkormányzat","Beosztás"\n'
        f'"2099. 06. 08. 9:12:44","{address}","Kovács Péter","Próbafalu 01","polgármester"\n',
        encoding="utf-8",
    )
    config = camp.root / "lgp-mailer.toml"
    text = config.read_text(encoding="utf-8")
    config.write_text(
        re.sub(r'(?m)^registrations = ".*"', 'registrations = "registrations/valaszok.csv"', text), encoding="utf-8"
    )


def test_a_reminder_is_refused_while_a_change_is_unannounced(camp, smtp_server, tmp_path):
    # Another conference's event file, or a moved date nobody was told about: the reminder would
    # give a new date (and the calendar entry move) without a word that anything changed.
    _register(camp, camp.addresses[0])
    edit(camp, "date = 2099-06-18", "date = 2099-06-25")
    refused = invoke(camp, "remind", "--day-before", "--force", "--yes", "--quiet")
    assert refused.exit_code == 2, refused.output
    assert refused.output.splitlines()[-1] == (
        f"lgp-mailer: error: {camp.root / EVENT}: the event changed (date) since 3 recipients were last sent"
        " something: a reminder would not say what changed; send 'lgp-mailer notify --change' first, or check"
        " that this is the conference's event file"
    )
    nudge = invoke(camp, "remind", "--not-registered", "--yes", "--quiet")
    assert nudge.exit_code == 2 and "send 'lgp-mailer notify --change' first" in nudge.output
    # A dry run still shows the letters; nothing was sent.
    dry = invoke(camp, "remind", "--day-before", "--force", "--dry-run", "--yes", "--quiet")
    assert dry.exit_code == 0, dry.output
    assert len(smtp_server.received) == 3
    # Once the change is announced the reminder goes, with the new date.
    assert invoke(camp, "notify", "--change", "--yes", "--quiet").exit_code == 0
    reminded = invoke(camp, "remind", "--day-before", "--force", "--yes", "--quiet")
    assert reminded.exit_code == 0, reminded.output
    assert rcpts(smtp_server)[6:] == [camp.addresses[0]]
    assert "2099. június 25." in text_of(parse(smtp_server.received[-1].data))


def test_a_join_link_set_after_the_invitations_needs_no_notice_before_the_reminder(camp, smtp_server):
    # The invitation never carried the link: setting it is the normal way to a reminder.
    # A new registration form is no fact a reminder misstates either.
    _register(camp, camp.addresses[0])
    edit(camp, "?pwd=lgp2020", "?pwd=uj2099")
    text = (camp.root / EVENT).read_text(encoding="utf-8")
    (url,) = re.findall(r'(?m)^url = "(https://[^"]*forms[^"]*)"', text)
    edit(camp, url, "https://forms.example.org/uj-urlap")
    reminded = invoke(camp, "remind", "--day-before", "--force", "--yes", "--quiet")
    assert reminded.exit_code == 0, reminded.output
    assert rcpts(smtp_server)[3:] == [camp.addresses[0]]


def test_a_revision_overtaken_before_it_finished_is_not_shown_as_due(camp, smtp_server):
    # 'notify --change --batch 1', then the event changes again: revision 2 goes to everyone,
    # and revision 1's unsent notices are never sent. status said "due now: 2 → notify --change",
    # a command that then had nothing to send.
    edit(camp, "date = 2099-06-18", "date = 2099-06-25")
    assert invoke(camp, "notify", "--change", "--yes", "--quiet", "--batch", "1").exit_code == 0
    edit(camp, 'end = "12.35"', 'end = "12.50"')
    assert invoke(camp, "notify", "--change", "--yes", "--quiet").exit_code == 0
    assert Counter(m.data.split(b".change-r", 1)[1][:1] for m in smtp_server.received[3:]) == {b"1": 1, b"2": 3}
    assert invoke(camp, "notify", "--change", "--yes", "--quiet").exit_code == 3
    status = invoke(camp, "status", "--json")
    (first,) = [e for e in json.loads(status.stdout)["campaigns"] if e["kind"] == "change-r1"]
    assert (first["due"], first["superseded_by"], first["counts"]["pending"]) == (0, "change-r2", 2)
    shown = invoke(camp, "status").output
    assert "due now: 0; 2 overtaken by revision 2 (its notice went instead: never due)" in shown
    assert "due now: 2" not in shown


def test_a_cancellation_never_carries_the_join_link_not_even_in_the_calendar(camp, smtp_server):
    # A registrant who had the link got it back in the cancellation's .ics (LOCATION, URL,
    # DESCRIPTION): an entry for a called-off meeting that still offers to join it.
    first = camp.addresses[0]
    _register(camp, first)
    assert invoke(camp, "remind", "--day-before", "--force", "--yes", "--quiet").exit_code == 0
    link, platform = load_event(camp.root / EVENT).join_url, load_event(camp.root / EVENT).platform_name
    assert invoke(camp, "notify", "--cancel", "--yes", "--quiet").exit_code == 0
    cancellations = {m.rcpt_tos[0]: parse(m.data) for m in smtp_server.received[4:]}
    assert sorted(cancellations) == sorted(camp.addresses)
    for message in cancellations.values():
        _, entry, _ = calendar(message)
        assert str(entry["STATUS"]) == "CANCELLED"
        assert link not in text_of(message) and link not in html_of(message)
        for name in ("LOCATION", "URL", "DESCRIPTION"):
            assert link not in str(entry.get(name, "")), name
        # Nor does it promise the join link "the day before" of a conference that is called off.
        assert str(entry["DESCRIPTION"]).splitlines()[1:] == ["A konferencia elmarad."]
        assert str(entry["LOCATION"]) == f"{platform} (online)" and "URL" not in entry
