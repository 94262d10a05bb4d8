"""`lgp-mailer remind` end to end: the CLI in-process with a frozen clock
(time-machine) over real sockets to the scriptable aiosmtpd server, the
registration export written by the test, and the sent log checked row by row.

The shipped example conference starts on 2020-06-18 at 10:00 Budapest time,
so the reminder window is 2020-06-17 00:00 – 2020-06-18 10:00 (CEST) and
registration closes, by default, when the window opens.  The crash test runs
``python -m lgp_mailer`` as a subprocess on the 2027 conference instead,
whose window is still ahead, so that no clock needs freezing there.
"""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest
import time_machine
from test_send_cli import (
    FROM,
    FROM_HEADER,
    REPLY_TO,
    Camp,
    make_campaign,
    parse,
    rcpts,
    runner,
)

from lgp_mailer.cli import app
from lgp_mailer.ledger.store import LedgerRow, open_ledger

from sheets_factory import write_csv, write_xlsx
from smtp_server import SmtpTestServer

BUDAPEST = ZoneInfo("Europe/Budapest")
REG_HEADER = ["Időbélyeg", "E-mail-cím", "Név", "Önkormányzat", "Beosztás"]

JOIN_URL = "https://zoom.example.org/j/81234567890?pwd=lgp2020"
MEETING_ID = "812 3456 7890"
PASSCODE = "lgp2020"
REGISTRATION_URL = (
    "https://docs.google.com/forms/d/e/1FAIpQLScfpAlxYg-WOQWQdHAEqwBwUVAzKMTd6IkxiIFf5TGSFtMJ-A/viewform?usp=sf_link"
)
SUBJECT = "Csatlakozási adatok: Önkormányzati innovációk és jó gyakorlatok – 2020. június 18. (csütörtök) 10.00"
AGENDA_ROW = (
    "10.25–10.55 Dr. Dukai Miklós, helyettes államtitkár, Önkormányzati Helyettes Államtitkárság, "
    "Belügyminisztérium – Projektek az önkormányzatok szolgálatában"
)
OPENS_LINE = (
    "lgp-mailer: nothing is due yet: the reminder window opens at 2020-06-17 00:00 (Europe/Budapest); "
    "--force opens it early\n"
)

# The export as Google Forms writes it.  Kiss Ödön answered twice (he counts
# once); Balogh Réka is not on the invitation list but names a municipality
# that is; Tóth Péter's association is not on the list at all.
KISS = [
    "2020. 06. 08. 9:12:44",
    "polgarmester@alsomocsolad.example",
    "Kiss Ödön",
    "Alsómocsolád község Önkormányzata",
    "polgármester",
]
BALOGH = [
    "2020. 06. 10. 8:45:01",
    "referens@urom-proba.example",
    "Balogh Réka",
    "Üröm-próba Önkormányzata",
    "pályázati referens",
]
KISS_AGAIN = [
    "2020. 06. 12. 16:20:33",
    "polgarmester@alsomocsolad.example",
    "Kiss Ödön",
    "Alsómocsolád",
    "polgármester",
]
TOTH = ["2020. 06. 15. 7:58:12", "szervezo@egyesulet.example", "Tóth Péter", "Zöld Jövő Egyesület", "programfelelős"]
REGISTRANTS = ["polgarmester@alsomocsolad.example", "referens@urom-proba.example", "szervezo@egyesulet.example"]
# Balogh Réka registered for Üröm-próba under her own address: the invited office gets the reminder too.
UROM_INVITED = "hivatal@urom-proba.example"
REMINDED = [*REGISTRANTS, UROM_INVITED]
LATE = ["2020. 06. 17. 15:02:09", "jegyzo@kozoshivatal-bikal.example", "Fehérné Győri Ilona", "Mágocs", "jegyző"]
MORNING = [
    "2020. 06. 18. 7:21:40",
    "polgarmester@hernadszentandras.example",
    "Dr. Szűcs Erzsébet",
    "Hernádszentandrás",
    "polgármester",
]


@pytest.fixture
def server(smtp_server: SmtpTestServer) -> SmtpTestServer:
    """This module's name for the shared plain server (conftest.py): the tests read as before."""
    return smtp_server


# -- helpers ------------------------------------------------------------------------------------------


def at(*when: int):
    """Freeze the clock at a Budapest wall-clock time."""
    return time_machine.travel(datetime(*when, tzinfo=BUDAPEST), tick=False)


def write_registrations(camp: Camp, rows: list[list[str]], *, encoding: str = "utf-8") -> Path:
    """(Re)write the campaign's registration export, as a fresh download from the form would."""
    path = camp.root / "registrations" / "valaszok.csv"
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_ALL)
        writer.writerow(REG_HEADER)
        writer.writerows(rows)
    return path


def remind_campaign(
    base: Path, server: SmtpTestServer | None, rows: list[list[str]], *, event: str | None = None, **smtp: object
) -> Camp:
    """``lgp-mailer init`` a campaign whose ``registrations`` is the export written here."""
    camp = make_campaign(base, server, **smtp)
    config = camp.root / "lgp-mailer.toml"
    text = config.read_text(encoding="utf-8")
    text = re.sub(r'(?m)^registrations = ".*"', 'registrations = "registrations/valaszok.csv"', text)
    if event is not None:
        text = re.sub(r'(?m)^event = ".*"$', f'event = "events/{event}"', text)
    config.write_text(text, encoding="utf-8")
    write_registrations(camp, rows)
    return camp


def remind(camp: Camp, *args: str):
    return runner.invoke(app, ["remind", "--campaign", str(camp.root), *args], catch_exceptions=False)


def after_block(stdout: str) -> str:
    """The output after the block naming the inputs, which every remind run starts with."""
    lines = stdout.splitlines(keepends=True)
    assert lines[0].startswith("Campaign:      ") and lines[4].startswith("Sent log:      "), stdout
    return "".join(lines[5:])


def send(camp: Camp, *args: str):
    return runner.invoke(app, ["send", "--campaign", str(camp.root), *args], catch_exceptions=False)


def ledger(camp: Camp, kind: str) -> dict[str, LedgerRow]:
    with open_ledger(camp.db) as log:
        return {r.address: r for r in log.rows(camp.campaign_id, kind)}


def states(camp: Camp, kind: str) -> dict[str, str]:
    return {a.lower(): r.status for a, r in ledger(camp, kind).items()}


def received_by(server: SmtpTestServer) -> dict[str, EmailMessage]:
    got = Counter(rcpts(server))
    assert all(n == 1 for n in got.values()), got
    return {m.rcpt_tos[0]: parse(m.data) for m in server.received}


def bodies(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    return text.get_content().replace("\r\n", "\n"), html.get_content().replace("\r\n", "\n")


def calendar_part(message: EmailMessage) -> EmailMessage:
    parts = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    assert len(parts) == 1
    return parts[0]  # type: ignore[return-value]


def vevent(message: EmailMessage) -> tuple[icalendar.Calendar, icalendar.Event]:
    cal = icalendar.Calendar.from_ical(calendar_part(message).get_payload(decode=True))
    events = cal.walk("VEVENT")
    assert len(events) == 1
    return cal, events[0]


def assert_reminder(message: EmailMessage, camp: Camp, address: str) -> None:
    """One reminder as a registrant must get it: headers, the join details, the agenda."""
    assert message["From"] == FROM_HEADER
    assert message["Reply-To"] == REPLY_TO
    assert message["Subject"] == SUBJECT
    assert message["Message-ID"] == ledger(camp, "reminder")[address].message_id
    assert message["Message-ID"].endswith(".reminder@lgp.example.org>")
    assert message["Date"] is not None
    text, html = bodies(message)
    for part in (text, html):
        assert JOIN_URL in part
        assert f"Meeting-azonosító: {MEETING_ID}" in part  # Zoom's Hungarian label (issue 13)
        assert f"Jelkód: {PASSCODE}" in part
        assert "böngészőn keresztül is működik" in part  # nothing to install
        assert "Projektek az önkormányzatok szolgálatában" in part
    assert AGENDA_ROW in text
    assert f'href="{JOIN_URL}"' in html
    assert "Dr. Dukai Miklós" in html


# -- the window -----------------------------------------------------------------------------------------


def test_before_the_window_one_line_exit_3_and_nothing_sent(server, tmp_path):
    camp = remind_campaign(tmp_path, server, [KISS, BALOGH, TOTH])
    with at(2020, 6, 16, 23, 59, 59):
        result = remind(camp, "--day-before", "--yes")
        assert (result.exit_code, after_block(result.stdout), result.stderr) == (3, OPENS_LINE, "")
        quiet = remind(camp, "--day-before", "--yes", "--quiet", "--non-interactive")
        assert (quiet.exit_code, quiet.output) == (3, "")
    assert server.received == []
    assert ledger(camp, "reminder") == {}  # nothing claimed, nothing recorded


def test_force_opens_the_window_early_only(server, tmp_path):
    camp = remind_campaign(tmp_path, server, [KISS, BALOGH, TOTH])
    with at(2020, 6, 15, 12, 0):
        result = remind(camp, "--day-before", "--yes", "--force")
    assert result.exit_code == 0, result.output
    assert sorted(rcpts(server)) == sorted(REMINDED)


def test_inside_the_window_one_reminder_per_registrant_then_nothing(server, tmp_path):
    camp = remind_campaign(tmp_path, server, [KISS, BALOGH, KISS_AGAIN, TOTH])
    with at(2020, 6, 17, 0, 0):  # the first second of the window
        result = remind(camp, "--day-before", "--yes")
        assert result.exit_code == 0, result.output
        assert "3 registrant(s), 1 superseded answer(s)" in result.stdout
        assert "Not on the invitation list (reminded all the same): 1" in result.stdout
        assert "This run: sent 4\n" in result.stdout
        assert result.stderr == ""

        assert sorted(rcpts(server)) == sorted(REMINDED)
        assert all(m.mail_from == FROM for m in server.received)
        got = received_by(server)
        for address in REGISTRANTS:
            assert_reminder(got[address], camp, address)
        assert got[REGISTRANTS[0]]["To"] == "Kiss Ödön <polgarmester@alsomocsolad.example>"
        assert got[REGISTRANTS[1]]["To"] == "Balogh Réka <referens@urom-proba.example>"
        assert bodies(got[REGISTRANTS[0]])[0].startswith(
            "A Legjobb Önkormányzati Gyakorlatok Programja – 2020\n\nTisztelt Polgármester Úr!\n"
        )
        # The footer names the municipality each registration counted for.
        assert "címmel regisztrált a konferenciára (Alsómocsolád)" in bodies(got[REGISTRANTS[0]])[0]
        assert "címmel regisztrált a konferenciára (Üröm-próba)" in bodies(got[REGISTRANTS[1]])[0]
        assert "címmel regisztrált a konferenciára (Zöld Jövő Egyesület)" in bodies(got[REGISTRANTS[2]])[0]
        rows = ledger(camp, "reminder")
        assert {a: r.status for a, r in rows.items()} == dict.fromkeys(REMINDED, "sent")
        assert all(r.attempts == 1 and r.last_code == 250 for r in rows.values())
        assert ledger(camp, "invitation") == {}  # the invitation's rows are not touched

    with at(2020, 6, 17, 1, 0):  # the next hourly cron run
        again = remind(camp, "--day-before", "--yes")
        assert again.exit_code == 3, again.output
        assert "Nothing is due" in again.stdout
        quiet = remind(camp, "--day-before", "--yes", "--quiet", "--non-interactive")
        assert (quiet.exit_code, quiet.output) == (3, "")
    assert len(server.received) == 4
    assert states(camp, "reminder") == dict.fromkeys(REMINDED, "sent")


def test_a_registrant_added_later_gets_theirs_on_the_next_run_and_only_they(server, tmp_path):
    camp = remind_campaign(tmp_path, server, [KISS, BALOGH, TOTH])
    with at(2020, 6, 17, 9, 0):
        assert remind(camp, "--day-before", "--yes", "--quiet").exit_code == 0
    assert sorted(rcpts(server)) == sorted(REMINDED)
    write_registrations(camp, [KISS, BALOGH, TOTH, LATE])  # a fresh export with one more answer
    with at(2020, 6, 17, 16, 0):
        result = remind(camp, "--day-before", "--yes", "--quiet")
    assert result.exit_code == 0, result.output
    assert rcpts(server)[4:] == [LATE[1]]
    message = parse(server.received[4].data)
    assert_reminder(message, camp, LATE[1])
    assert "címmel regisztrált a konferenciára (Bikal, Mágocs)" in bodies(message)[0]
    assert states(camp, "reminder") == dict.fromkeys([*REMINDED, LATE[1]], "sent")


def test_the_event_morning_a_late_registrant_gets_the_link(server, tmp_path):
    camp = remind_campaign(tmp_path, server, [KISS, BALOGH, TOTH])
    with at(2020, 6, 17, 20, 0):
        assert remind(camp, "--day-before", "--yes", "--quiet").exit_code == 0
    write_registrations(camp, [KISS, BALOGH, TOTH, MORNING])
    with at(2020, 6, 18, 7, 30):
        result = remind(camp, "--day-before", "--yes", "--non-interactive")
    assert result.exit_code == 0, result.output
    assert rcpts(server)[4:] == [MORNING[1]]
    message = parse(server.received[4].data)
    assert_reminder(message, camp, MORNING[1])
    assert message["To"] == '"Dr. Szűcs Erzsébet" <polgarmester@hernadszentandras.example>'
    with at(2020, 6, 18, 9, 59):  # the last run before the start: nothing new
        assert remind(camp, "--day-before", "--yes", "--quiet").exit_code == 3
    assert len(server.received) == 5


@pytest.mark.parametrize("when", [(2020, 6, 18, 10, 0), (2020, 6, 18, 14, 0), (2020, 6, 25, 9, 0)])
def test_after_the_start_refused_even_with_force(server, tmp_path, when):
    camp = remind_campaign(tmp_path, server, [KISS, BALOGH, TOTH])
    message = "the conference started at 2020-06-18 10:00 (Europe/Budapest): reminders are no longer sent"
    with at(*when):
        plain = remind(camp, "--day-before", "--yes")
        forced = remind(camp, "--day-before", "--yes", "--force")
        quiet = remind(camp, "--day-before", "--yes", "--quiet", "--non-interactive")
    assert (plain.exit_code, after_block(plain.stdout)) == (3, f"lgp-mailer: {message}\n")
    assert forced.exit_code == 2, forced.output
    assert "Traceback" not in forced.output
    assert "refusing even with --force" in forced.output and message in forced.output
    assert (quiet.exit_code, quiet.output) == (3, "")
    assert server.received == []
    assert ledger(camp, "reminder") == {}


def test_a_window_across_the_spring_dst_change(server, tmp_path):
    """A Monday conference after the last Sunday of March: the window opens at
    00:00 CET on the Sunday (23:00 UTC on Saturday), before clocks go forward."""
    camp = remind_campaign(tmp_path, server, [KISS, BALOGH, TOTH])
    event = camp.root / "events" / "2020-06-18-innovaciok.toml"
    event.write_text(
        event.read_text(encoding="utf-8").replace("date = 2020-06-18", "date = 2021-03-29"), encoding="utf-8"
    )
    utc = ZoneInfo("UTC")
    with time_machine.travel(datetime(2021, 3, 27, 22, 59, tzinfo=utc), tick=False):
        early = remind(camp, "--day-before", "--yes")
    assert early.exit_code == 3, early.output
    assert "the reminder window opens at 2021-03-28 00:00 (Europe/Budapest)" in early.stdout
    with time_machine.travel(datetime(2021, 3, 27, 23, 0, tzinfo=utc), tick=False):
        inside = remind(camp, "--day-before", "--yes", "--quiet")
    assert inside.exit_code == 0, inside.output
    assert sorted(rcpts(server)) == sorted(REMINDED)
    _, entry = vevent(parse(server.received[0].data))
    assert entry.decoded("dtstart") == datetime(2021, 3, 29, 10, 0, tzinfo=BUDAPEST)
    assert entry.decoded("dtstart").utcoffset().total_seconds() == 2 * 3600  # CEST by then


@pytest.mark.parametrize("form", ["csv-cp1250", "xlsx"])
def test_the_export_as_excel_resaves_it_or_as_xlsx_reminds_the_same_people(server, tmp_path, form):
    camp = remind_campaign(tmp_path, server, [])
    folder = camp.root / "registrations"
    rows = [REG_HEADER, KISS, BALOGH, KISS_AGAIN, TOTH]
    if form == "xlsx":
        path = write_xlsx(folder / "valaszok.xlsx", {"Űrlapválaszok 1": rows})
    else:
        path = write_csv(folder / "valaszok-excel.csv", rows, encoding="cp1250", delimiter=";")
    with at(2020, 6, 17, 9, 0):
        result = remind(camp, "--day-before", "--yes", "--registrations", str(path))
    assert result.exit_code == 0, result.output
    assert "3 registrant(s), 1 superseded answer(s)" in result.stdout
    assert "  Üröm-próba: Balogh Réka <referens@urom-proba.example> (by municipality" in result.stdout
    assert sorted(rcpts(server)) == sorted(REMINDED)
    text, _ = bodies(parse(server.received[rcpts(server).index(REGISTRANTS[1])].data))
    assert "címmel regisztrált a konferenciára (Üröm-próba)" in text


# -- the calendar entry -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "event_file, uid, sequence",
    [
        ("2020-06-18-innovaciok.toml", None, 0),
        # The UID is the campaign's (derived from it, stable across runs); SEQUENCE comes from the
        # sent log (issue 18), no longer from the event file: 0 before any change notice.
        ("2027-03-11-klima.toml", None, 0),
    ],
)
def test_the_reminder_updates_the_invitations_calendar_entry(server, tmp_path, event_file, uid, sequence):
    camp = remind_campaign(tmp_path, server, [KISS, BALOGH, TOTH], event=event_file)
    with at(2020, 6, 1, 10, 0):
        assert send(camp, "--yes", "--quiet").exit_code == 0
    invitation = parse(server.received[0].data)
    invited = len(server.received)
    force = ["--force"] if event_file.startswith("2027") else []
    with at(2020, 6, 17, 9, 0):
        assert remind(camp, "--day-before", "--yes", "--quiet", *force).exit_code == 0
    reminder = parse(server.received[invited].data)

    cal_i, first = vevent(invitation)
    cal_r, update = vevent(reminder)
    if uid is None:
        uid = str(first["UID"])
        assert uid.endswith("@lgp.example.org")
    assert str(first["UID"]) == str(update["UID"]) == uid
    assert first.decoded("sequence") == sequence
    assert update.decoded("sequence") == sequence + 1
    for cal, message in ((cal_i, invitation), (cal_r, reminder)):
        part = calendar_part(message)
        assert str(cal["METHOD"]) == "PUBLISH"
        assert part.get_content_type() == "text/calendar"
        assert part.get_param("method") == str(cal["METHOD"])
        assert part.get_filename() == "meghivo.ics"
        assert part.get_content_disposition() == "attachment"
        assert "ORGANIZER" in cal.walk("VEVENT")[0] and "ATTENDEE" not in cal.walk("VEVENT")[0]
    # The letter stays what clients show: the calendar is not an alternative.
    assert [p.get_content_type() for p in reminder.get_payload()] == ["multipart/alternative", "text/calendar"]

    start = update.decoded("dtstart")
    assert str(update["DTSTART"].params["TZID"]) == "Europe/Budapest"
    assert str(start.tzinfo) == "Europe/Budapest"
    if event_file.startswith("2020"):
        assert start == datetime(2020, 6, 18, 10, 0, tzinfo=BUDAPEST)
        join = JOIN_URL
    else:
        assert start == datetime(2027, 3, 11, 13, 30, tzinfo=BUDAPEST)
        join = "https://teams.example.org/l/meetup-join/klima-2027"
    assert start.replace(tzinfo=None) == first.decoded("dtstart").replace(tzinfo=None)
    assert join in str(update["LOCATION"])
    assert str(update["URL"]) == join
    assert join in str(update["DESCRIPTION"])
    # The invitation does not reveal the join link; it points to registration.
    for name in ("LOCATION", "URL", "DESCRIPTION"):
        assert join not in str(first[name])


# -- the not-registered nudge -------------------------------------------------------------------------------

INVITED = [
    "polgarmester@alsomocsolad.example",  # registered by address
    "polgarmester@hernadszentandras.example",
    "jegyzo@kozoshivatal-bikal.example",  # a colleague registered for Mágocs
    "alpolgarmester@orseg-proba.example",  # the invitation bounced
    "polgarmester@ujfeherto-proba.example",
    "hivatal@urom-proba.example",  # Balogh Réka registered for Üröm-próba
    "jegyzo@zalaszentgyorgy-proba.example",
]
NUDGED = [
    "polgarmester@hernadszentandras.example",
    "polgarmester@ujfeherto-proba.example",
    "jegyzo@zalaszentgyorgy-proba.example",
]
MAGOCS = ["2020. 06. 11. 10:00:00", "titkarsag@magocs.example", "Szabó Anna", "Mágocs Város Önkormányzata", "titkár"]


def test_nudge_goes_to_the_invited_who_did_not_register_until_registration_closes(server, tmp_path):
    camp = remind_campaign(tmp_path, server, [KISS, BALOGH, MAGOCS, TOTH])
    with at(2020, 6, 9, 10, 0):
        early = remind(camp, "--not-registered", "--yes", "--quiet")
    assert early.exit_code == 3, early.output  # no invitation sent yet: nobody to nudge
    server.handler.reply_rcpt("alpolgarmester@orseg-proba.example", "550 5.1.1 no such user")
    with at(2020, 6, 10, 10, 0):
        invite = send(camp, "--yes", "--quiet")
    assert invite.exit_code == 1, invite.output  # one failed permanently
    assert states(camp, "invitation") == {a: "failed" if "orseg" in a else "sent" for a in INVITED}
    invited = len(server.received)

    with at(2020, 6, 15, 9, 0):
        result = remind(camp, "--not-registered", "--yes")
    assert result.exit_code == 0, result.output
    assert rcpts(server)[invited:] == NUDGED
    for received in server.received[invited:]:
        message = parse(received.data)
        address = received.rcpt_tos[0]
        assert message["Subject"] == (
            "Még regisztrálhat: Önkormányzati innovációk és jó gyakorlatok – 2020. június 18. (csütörtök) 10.00"
        )
        assert message["Message-ID"] == ledger(camp, "nudge")[address].message_id
        assert message["Message-ID"].endswith(".nudge@lgp.example.org>")
        text, html = bodies(message)
        assert REGISTRATION_URL in text and f'href="{REGISTRATION_URL}"' in html
        for part in (text, html):
            assert JOIN_URL not in part and PASSCODE not in part  # the link is for registrants only
        _, entry = vevent(message)
        assert JOIN_URL not in entry.to_ical().decode()
    assert states(camp, "nudge") == dict.fromkeys(NUDGED, "sent")
    assert ledger(camp, "reminder") == {}

    with at(2020, 6, 16, 9, 0):
        again = remind(camp, "--not-registered", "--yes", "--quiet", "--non-interactive")
    assert (again.exit_code, again.output) == (3, "")

    # A late export with one more non-registrant's name: yet registration has closed.
    write_registrations(camp, [KISS])
    for when in ((2020, 6, 17, 0, 0), (2020, 6, 17, 12, 0), (2020, 6, 19, 9, 0)):
        with at(*when):
            closed = remind(camp, "--not-registered", "--yes")
            quiet = remind(camp, "--not-registered", "--yes", "--quiet", "--non-interactive")
        assert (closed.exit_code, after_block(closed.stdout)) == (
            3,
            "lgp-mailer: registration closed at 2020-06-17 00:00 (Europe/Budapest): no nudge is sent\n",
        )
        assert (quiet.exit_code, quiet.output) == (3, "")
    assert len(server.received) == invited + len(NUDGED)


def test_nudge_honours_the_event_files_registration_close(server, tmp_path):
    camp = remind_campaign(tmp_path, server, [KISS])
    event = camp.root / "events" / "2020-06-18-innovaciok.toml"
    text = event.read_text(encoding="utf-8")
    text = text.replace("[registration]\n", "[registration]\ncloses = 2020-06-12T12:00:00\n")
    event.write_text(text, encoding="utf-8")
    with at(2020, 6, 10, 10, 0):
        assert send(camp, "--yes", "--quiet").exit_code == 0
    invited = len(server.received)
    with at(2020, 6, 12, 12, 0):
        closed = remind(camp, "--not-registered", "--yes")
    assert closed.exit_code == 3
    assert "registration closed at 2020-06-12 12:00 (Europe/Budapest)" in closed.stdout
    assert len(server.received) == invited
    with at(2020, 6, 12, 11, 59):
        result = remind(camp, "--not-registered", "--yes", "--quiet")
    assert result.exit_code == 0, result.output
    assert len(server.received) == invited + 6  # all invited but Kiss Ödön
    assert "Regisztrálni 2020. június 12. (péntek) 12.00 óráig lehet." in bodies(parse(server.received[-1].data))[0]


def test_no_nudge_once_the_conference_started_even_if_registration_closes_later(server, tmp_path):
    """A registration after the start can never get the join link (reminders stop
    at the start), so a nudge to register must stop there too."""
    camp = remind_campaign(tmp_path, server, [KISS])
    event = camp.root / "events" / "2020-06-18-innovaciok.toml"
    text = event.read_text(encoding="utf-8")
    event.write_text(
        text.replace("[registration]\n", "[registration]\ncloses = 2020-06-18T18:00:00\n"), encoding="utf-8"
    )
    with at(2020, 6, 10, 10, 0):
        assert send(camp, "--yes", "--quiet").exit_code == 0
    invited = len(server.received)
    for when in ((2020, 6, 18, 10, 0), (2020, 6, 18, 11, 0)):
        with at(*when):
            late = remind(camp, "--not-registered", "--yes")
        assert (late.exit_code, after_block(late.stdout)) == (
            3,
            "lgp-mailer: the conference started at 2020-06-18 10:00 (Europe/Budapest): no nudge is sent\n",
        )
    assert len(server.received) == invited
    with at(2020, 6, 18, 8, 0):  # registration still open, the reminder window too
        result = remind(camp, "--not-registered", "--yes", "--quiet")
    assert result.exit_code == 0, result.output
    assert len(server.received) == invited + 6


# -- usage errors ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("flags", [[], ["--day-before", "--not-registered"]])
def test_one_of_the_two_modes_is_required(tmp_path, flags):
    camp = remind_campaign(tmp_path, None, [KISS])
    result = remind(camp, *flags, "--yes")
    assert result.exit_code == 2
    assert "choose one: --day-before or --not-registered" in result.output
    assert "Traceback" not in result.output


def test_no_join_link_is_a_configuration_error(server, tmp_path):
    camp = remind_campaign(tmp_path, server, [KISS])
    event = camp.root / "events" / "2020-06-18-innovaciok.toml"
    text = re.sub(r"(?ms)^\[online\]\n.*?(?=^\[calendar\])", "", event.read_text(encoding="utf-8"))
    assert "join_url" not in text
    event.write_text(text, encoding="utf-8")
    with at(2020, 6, 17, 9, 0):
        result = remind(camp, "--day-before", "--yes")
    assert result.exit_code == 2
    assert "no join link: add [online] join_url to the event file" in result.output
    assert server.received == []


# -- answers that cannot be used ---------------------------------------------------------------------------------

TYPO = ["2020. 06. 16. 11:30:00", "kovacs@", "Kovács Ilona", "Újfehértó-próba", "jegyző"]


def test_a_registration_with_an_unusable_address_is_reported_not_dropped_silently(server, tmp_path):
    camp = remind_campaign(tmp_path, server, [KISS, TYPO, BALOGH])
    with at(2020, 6, 17, 9, 0):
        result = remind(camp, "--day-before", "--yes", "--quiet")
    assert result.exit_code == 0, result.output
    assert sorted(rcpts(server)) == sorted([*REGISTRANTS[:2], UROM_INVITED])
    path = camp.root / "registrations" / "valaszok.csv"
    assert result.stderr == (
        f"WARNING: {path}, row 3, column 'E-mail-cím': 'kovacs@': not an address: There must be something after "
        "the @-sign.: this registrant gets no reminder\n"
    )
    with at(2020, 6, 17, 10, 0):  # every run says so, cron mails it until someone fixes the export
        again = remind(camp, "--day-before", "--yes", "--quiet", "--non-interactive")
    assert again.exit_code == 3
    assert again.stdout == "" and "row 3" in again.stderr


def test_the_exports_own_headers_are_mapped_in_registration_columns(server, tmp_path):
    """The errors say to map the export's columns in a toml table: that table must exist and be
    read by check and remind alike (the campaign's [columns] is the contact sheet's)."""
    camp = remind_campaign(tmp_path, server, [])
    path = camp.root / "registrations" / "valaszok.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(
            [
                ["Beküldve", "Elérhetőség", "Képviselt szervezet"],
                [KISS[0], KISS[1], KISS[3]],
                [BALOGH[0], BALOGH[1], BALOGH[3]],
            ]
        )
    with at(2020, 6, 17, 9, 0):
        unmapped = remind(camp, "--day-before", "--yes", "--quiet")
    assert unmapped.exit_code == 2 and rcpts(server) == []
    assert unmapped.stderr == (f"lgp-mailer: error: {path}: no header row with an e-mail column in the first 20 rows\n")
    config = camp.root / "lgp-mailer.toml"
    text = config.read_text(encoding="utf-8")
    table = '[registration_columns]\n"Beküldve" = "timestamp"\n"Elérhetőség" = "email"\n"Képviselt szervezet" = "municipality"\n'
    config.write_text(text.replace("[sender]\n", table + "\n[sender]\n", 1), encoding="utf-8")
    with at(2020, 6, 17, 9, 0):
        check = runner.invoke(app, ["check", "--campaign", str(camp.root), "--quiet"])
        result = remind(camp, "--day-before", "--yes", "--quiet")
    assert check.exit_code == 0, check.output
    assert "Registered for a municipality on the invitation list: 2" in check.stdout.splitlines()
    assert result.exit_code == 0, result.output
    assert sorted(rcpts(server)) == sorted([*REGISTRANTS[:2], UROM_INVITED])


def test_check_names_a_registration_that_will_get_no_reminder(server, tmp_path):
    """``check`` before the day must say what remind will say: a registrant with no usable address."""
    camp = remind_campaign(tmp_path, server, [KISS, TYPO])
    with at(2020, 6, 16, 9, 0):
        result = runner.invoke(app, ["check", "--campaign", str(camp.root), "--quiet"])
    path = camp.root / "registrations" / "valaszok.csv"
    assert (
        f"WARNING: {path}, row 3, column 'E-mail-cím': 'kovacs@': not an address: There must be something after "
        "the @-sign.: this registrant gets no reminder"
    ) in result.stdout.splitlines(), result.output


def test_a_nudge_run_reports_an_unusable_registration(server, tmp_path):
    camp = remind_campaign(tmp_path, server, [TYPO])
    with at(2020, 6, 10, 10, 0):
        assert send(camp, "--yes", "--quiet").exit_code == 0
    invited = len(server.received)
    with at(2020, 6, 12, 9, 0):
        result = remind(camp, "--not-registered", "--yes", "--quiet")
    assert result.exit_code == 0, result.output
    assert "row 3" not in result.stderr and "row 2, column 'E-mail-cím': 'kovacs@'" in result.stderr
    assert result.stderr.endswith(": this answer does not count as a registration\n")
    # Újfehértó-próba is nudged: the answer that named it has no usable address.
    assert "polgarmester@ujfeherto-proba.example" in rcpts(server)[invited:]


# -- a proof copy -----------------------------------------------------------------------------------------------


def test_a_proof_copy_is_a_registrants_reminder(server, tmp_path):
    camp = remind_campaign(tmp_path, server, [BALOGH])  # the only registrant
    with at(2020, 6, 17, 9, 0):
        result = remind(camp, "--day-before", "--test-to", "proof@lgp.example.org")
    assert result.exit_code == 0, result.output
    assert rcpts(server) == ["proof@lgp.example.org"]
    assert ledger(camp, "reminder") == {}  # a proof is never recorded
    text, _ = bodies(parse(server.received[0].data))
    assert JOIN_URL in text
    assert "Proof of the message to referens@urom-proba.example sent to proof@lgp.example.org" in result.stdout
    assert "a referens@urom-proba.example címmel regisztrált a konferenciára (Üröm-próba)" in text


# -- a crash and a rerun (subprocess, real clock) -----------------------------------------------------------------

WAIT = 120.0  # an upper bound on waiting for an event; see test_send_crash.py


def _registrants(n: int) -> list[list[str]]:
    return [
        [
            f"2027. 03. 0{1 + i % 5}. 10:{i:02d}:00",
            f"resztvevo{i:02d}@telepules.example",
            f"Kovács Anna {i}",
            f"Próbafalu {i:02d}",
            "jegyző",
        ]
        for i in range(1, n + 1)
    ]


def _remind_process(camp: Camp, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "lgp_mailer", "remind", "--day-before", "--force", "--yes", *extra],
        cwd=camp.root,
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    )


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL to a child is POSIX-only")
@pytest.mark.parametrize("server_took_it", [True, False])
def test_a_crash_then_a_rerun_delivers_each_reminder_once_or_reports_unknown(server, tmp_path, server_took_it):
    rows = _registrants(5)
    a = [r[1] for r in rows]
    camp = remind_campaign(tmp_path, server, rows, event="2027-03-11-klima.toml")
    hold = server.handler.hold(3)
    proc = _remind_process(camp)
    assert hold.reached.wait(WAIT)
    proc.kill()  # SIGKILL: no cleanup, no record, the lock left behind
    proc.communicate(timeout=WAIT)
    hold.release("250 2.0.0 queued as 3" if server_took_it else "451 4.3.0 not queued")
    deadline = time.monotonic() + WAIT
    while len(server.handler.data_attempts) < 3:
        assert time.monotonic() < deadline, "the held message never settled"
        time.sleep(0.005)
    assert states(camp, "reminder") == {a[0]: "sent", a[1]: "sent", a[2]: "sending", a[3]: "pending", a[4]: "pending"}

    # The rerun in-process (the real clock; the 2027 window needs --force): the
    # killed run's lock names a dead process, so it is taken over.
    rerun = remind(camp, "--day-before", "--force", "--yes")
    assert rerun.exit_code == 1, rerun.output  # done, but the interrupted one needs a decision
    assert "Traceback" not in rerun.output
    assert "Recovered:  1 message interrupted by a crash is now 'unknown'" in rerun.stdout
    assert states(camp, "reminder") == {**dict.fromkeys(a, "sent"), a[2]: "unknown"}
    assert rcpts(server) == (a if server_took_it else a[:2] + a[3:])
    got = Counter(rcpts(server))
    rows_now = ledger(camp, "reminder")
    for address, row in rows_now.items():
        assert got[address] == (1 if row.status == "sent" else int(server_took_it)), address
    for received in server.received:
        message = parse(received.data)
        assert message["Message-ID"] == rows_now[received.rcpt_tos[0]].message_id
        assert "https://teams.example.org/l/meetup-join/klima-2027" in bodies(message)[0]

    again = remind(camp, "--day-before", "--force", "--yes")
    # A plain rerun never resends an unknown one; it exits 1, not 3, while that decision waits (issue 15).
    assert again.exit_code == 1, again.output
    assert again.stderr == f"Outstanding: unknown 1 ({a[2]})\n"
    assert "Sent log:   sent 4, unknown 1\n" in again.stdout
    resend = remind(camp, "--day-before", "--force", "--yes", "--resend-unknown")
    assert resend.exit_code == 0, resend.output
    assert states(camp, "reminder") == dict.fromkeys(a, "sent")
    copies = [m for m in server.received if m.rcpt_tos == [a[2]]]
    assert len(copies) == (2 if server_took_it else 1)
    assert {parse(m.data)["Message-ID"] for m in copies} == {rows_now[a[2]].message_id}


# -- a mistyped registration (issue 12) ---------------------------------------------------------------------

# The mayor of Alsómocsolád registered with a typo in her address: matched by name, not by address.
TYPED_WRONG = [
    "2020. 06. 09. 10:00:00",
    "polgarmester@alsomocsolad.exmaple",
    "Kiss Ödön",
    "Alsómocsolád község Önkormányzata",
    "polgármester",
]


def test_a_mistyped_registration_reminds_both_addresses_once_and_names_the_pair(server, tmp_path):
    camp = remind_campaign(tmp_path, server, [TYPED_WRONG, TOTH])
    with at(2020, 6, 17, 9, 0):
        check = runner.invoke(app, ["check", "--campaign", str(camp.root), "--quiet"])
        first = remind(camp, "--day-before", "--yes")
    with at(2020, 6, 17, 10, 0):
        again = remind(camp, "--day-before", "--yes")
    pair = (
        "  Alsómocsolád: polgarmester@alsomocsolad.exmaple (registered, row 2) and "
        "polgarmester@alsomocsolad.example (invited)"
    )
    for result in (check, first):
        lines = result.stdout.splitlines()
        i = lines.index("Registered under another address than the invitation's (the reminder goes to both): 1")
        assert lines[i + 1] == pair
        j = lines.index("Not on the invitation list (reminded all the same): 1")
        assert lines[j + 1] == "  Tóth Péter <szervezo@egyesulet.example> for 'Zöld Jövő Egyesület' (row 3)"
    assert first.exit_code == 0 and again.exit_code == 3, first.output + again.output
    reminded = ["polgarmester@alsomocsolad.exmaple", "polgarmester@alsomocsolad.example", "szervezo@egyesulet.example"]
    assert sorted(rcpts(server)) == sorted(reminded)  # each address exactly once, over both runs
    rows = ledger(camp, "reminder")
    assert {a: (r.status, r.attempts) for a, r in rows.items()} == dict.fromkeys(reminded, ("sent", 1))
    got = received_by(server)
    assert (
        "Ezt a levelet azért kapta, mert Alsómocsolád nevében a polgarmester@alsomocsolad.exmaple címmel "
        "regisztráltak a konferenciára, meghívónkat pedig erre a címre küldtük."
    ) in bodies(got[reminded[1]])[0]
    assert (
        "Ezt a levelet azért kapta, mert a polgarmester@alsomocsolad.exmaple címmel regisztrált a konferenciára "
        "(Alsómocsolád)."
    ) in bodies(got[reminded[0]])[0]


def test_no_registrant_yet_says_so_instead_of_everything_is_sent(server, tmp_path):
    # The form's export before anyone answered (a header only): "every recipient has been
    # sent to … Next: everything is sent" said the opposite of what happened.
    camp = remind_campaign(tmp_path, server, [])
    path = camp.root / "registrations" / "valaszok.csv"
    with at(2020, 6, 17, 9, 0):
        result = remind(camp, "--day-before", "--yes")
        quiet = remind(camp, "--day-before", "--yes", "--quiet", "--non-interactive")
    assert result.exit_code == 3, result.output
    assert after_block(result.stdout).splitlines()[-1] == (
        f"lgp-mailer: nobody has registered yet: {path} lists no registrant; nothing to remind"
        " (download a fresh export of the form)"
    )
    assert "everything is sent" not in result.output
    assert (quiet.exit_code, quiet.output) == (3, "")
    assert server.received == [] and ledger(camp, "reminder") == {}


def test_last_conferences_registrations_are_named_before_they_are_reminded(server, tmp_path):
    """A folder made from the last conference keeps its form's export: every answer is older
    than this campaign's first invitation. remind and check say so, naming the file."""
    old = [["2020. 03. 02. 9:12:44", *KISS[1:]], ["2020. 03. 04. 8:45:01", *BALOGH[1:]]]
    camp = remind_campaign(tmp_path, server, old)
    with at(2020, 6, 5, 10, 0):
        assert send(camp, "--yes", "--quiet").exit_code == 0
    warning = (
        f"WARNING: {camp.root / 'registrations' / 'valaszok.csv'}: every registration (2, the latest at "
        "2020-03-04 08:45) is older than this campaign's first invitation (2020-06-05 10:00): is it the last "
        "conference's export? Download this form's answers"
    )
    with at(2020, 6, 17, 10, 0):
        check = runner.invoke(app, ["check", "--campaign", str(camp.root)])
        result = remind(camp, "--day-before", "--yes")
    assert warning in check.stdout.splitlines() + check.stderr.splitlines()
    assert warning in result.stdout.splitlines() + result.stderr.splitlines()
    # This form's export, with one answer after the invitation: nothing to say.
    write_registrations(camp, [*old, TOTH])
    with at(2020, 6, 17, 11, 0):
        again = remind(camp, "--day-before", "--yes")
    assert "every registration" not in again.output
