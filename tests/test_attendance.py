"""Attendance reports: Zoom and Teams, English and Hungarian, as the platforms write
them (attendance_files.py); the minutes per person, the match against the
registrations and the invitation list, and the import into the sent log."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from attendance_files import SESSIONS, S, write_teams, write_zoom
from test_remind_cli import BALOGH, KISS, LATE, TOTH, remind_campaign
from test_send_cli import one_error_line, runner

from lgp_mailer.campaign.attendees import known_people, match_attendance
from lgp_mailer.cli import app
from lgp_mailer.config import find_campaign
from lgp_mailer.errors import RecipientsError
from lgp_mailer.ledger.store import open_ledger
from lgp_mailer.sheets.attendance import (
    load_attendance,
    minutes_by_person,
    parse_duration,
    parse_time,
    union_minutes,
)
from lgp_mailer.sheets.recipients import load_recipients
from lgp_mailer.sheets.registrations import load_registrations

WRITERS = {
    "zoom-en": lambda p: write_zoom(p),
    "zoom-hu": lambda p: write_zoom(p, hungarian=True),
    "teams-en": lambda p: write_teams(p),
    "teams-hu": lambda p: write_teams(p, hungarian=True),
}
# (key, name, e-mail, minutes, sessions, guest) per person, in the report's order.
PEOPLE = [
    ("iroda@lgp.example.org", "LÖGY Programiroda", "iroda@lgp.example.org", 190.0, 1, False),
    ("polgarmester@alsomocsolad.example", "Kiss Ödön", "Polgarmester@Alsomocsolad.example", 155.62, 2, False),
    ("referens@urom-proba.example", "Balogh Réka", "referens@urom-proba.example", 156.0, 1, False),
    ("szervezo@egyesulet.example", "Tóth Péter", "szervezo@egyesulet.example", 20.0, 1, False),
    ("polgarmester@ujfeherto-proba.example", "Nagy Andrea", "polgarmester@ujfeherto-proba.example", 70.0, 2, False),
    ("name:szucs erzsebet hernadszentandras", "Szűcs Erzsébet - Hernádszentandrás", "", 45.0, 1, True),
    ("name:balogh reka", "Balogh Réka", "", 20.0, 1, True),
    ("name:kovacs janos", "Kovács János", "", 60.0, 1, True),
]


@pytest.mark.parametrize("form", list(WRITERS))
def test_every_export_gives_the_same_people_and_minutes(tmp_path, form):
    report = load_attendance(WRITERS[form](tmp_path / "report.csv"))
    assert (report.platform, report.language) == (form[:-3], form[-2:])
    assert len(report.sessions) == len(SESSIONS)
    got = [(a.key, a.name, a.email, a.minutes, a.sessions, a.guest) for a in minutes_by_person(report.sessions)]
    assert got == PEOPLE
    kiss = [s for s in report.sessions if s.name == "Kiss Ödön"]
    assert [(s.joined, s.left) for s in kiss] == [
        (dt.datetime(2020, 6, 18, 9, 58, 12), dt.datetime(2020, 6, 18, 10, 40, 9)),
        (dt.datetime(2020, 6, 18, 10, 42, 30), dt.datetime(2020, 6, 18, 12, 36, 10)),
    ]


def test_the_meeting_block_and_the_teams_summary_are_kept_as_written(tmp_path):
    zoom = load_attendance(write_zoom(tmp_path / "z.csv"))
    assert zoom.summary[:4] == (
        ("Meeting ID", "812 3456 7890"),
        ("Topic", "Önkormányzati innovációk és jó gyakorlatok"),
        ("Start time", "06/18/2020 09:29:41 AM"),
        ("End time", "06/18/2020 12:40:05 PM"),
    )
    teams = load_attendance(write_teams(tmp_path / "t.csv", hungarian=True))
    assert teams.summary == (
        ("Értekezlet címe", "Önkormányzati innovációk és jó gyakorlatok"),
        ("Résztvevők száma", "8"),
        ("Kezdés időpontja", "2020. 06. 18. 9:29:41"),
        ("Befejezés időpontja", "2020. 06. 18. 12:40:05"),
        ("Értekezlet időtartama", "3h 10m 24s"),
        ("Átlagos részvételi idő", "1h 29m 34s"),
    )
    raw = (tmp_path / "t.csv").read_bytes()
    assert raw[:2] == b"\xff\xfe" and "\t".join(["Név", "Első csatlakozás"]).encode("utf-16-le") in raw


def test_teams_without_the_activities_section_counts_the_in_meeting_duration(tmp_path):
    report = load_attendance(write_teams(tmp_path / "t.csv", activities=False))
    assert len(report.sessions) == 8  # one row per person
    got = {a.key: (a.minutes, a.sessions) for a in minutes_by_person(report.sessions)}
    # Kiss Ödön's first join to last leave is 157 m 58 s; he was in for 2h 35m 37s.
    assert got["polgarmester@alsomocsolad.example"] == (155.62, 1)
    assert got["polgarmester@ujfeherto-proba.example"] == (70.0, 1)


def test_overlaps_count_once_and_gaps_not_at_all():
    t = lambda h, m: dt.datetime(2020, 6, 18, h, m)  # noqa: E731
    assert union_minutes([]) == 0
    assert union_minutes([(t(10, 0), t(11, 0)), (t(10, 30), t(11, 10))]) == 70  # two devices
    assert union_minutes([(t(10, 0), t(10, 20)), (t(10, 30), t(10, 40))]) == 30  # a rejoin
    assert union_minutes([(t(10, 0), t(12, 0)), (t(10, 10), t(10, 20)), (t(11, 0), t(11, 30))]) == 120
    assert union_minutes([(t(10, 0), t(10, 20)), (t(10, 20), t(10, 40))]) == 40  # touching


def test_a_session_without_times_adds_its_duration(tmp_path):
    path = write_zoom(tmp_path / "z.csv", [S("Kiss Ödön", "kiss@falu.example", "10:00:00", "10:40:00")])
    text = path.read_bytes().decode("utf-8") + "Kiss Ödön,kiss@falu.example,,,25,No,No\r\n"
    path.write_bytes(text.encode("utf-8"))
    (person,) = minutes_by_person(load_attendance(path).sessions)
    assert (person.minutes, person.sessions) == (65.0, 2)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("03/11/2027 09:58:12 AM", dt.datetime(2027, 3, 11, 9, 58, 12)),
        ("03/11/2027 01:28:03 PM", dt.datetime(2027, 3, 11, 13, 28, 3)),
        ("3/11/27, 1:28:03\u202fPM", dt.datetime(2027, 3, 11, 13, 28, 3)),  # Teams' narrow no-break space
        ("2027.03.11. 13:28:03", dt.datetime(2027, 3, 11, 13, 28, 3)),
        ("2027. 03. 11. 9:58:12", dt.datetime(2027, 3, 11, 9, 58, 12)),
        ("2027. 03. 11. du. 1:28:03", dt.datetime(2027, 3, 11, 13, 28, 3)),
        ("", None),
    ],
)
def test_times_as_the_platforms_write_them(text, expected):
    assert parse_time(text) == expected


def test_a_day_first_report_is_read_day_first(tmp_path):
    """An en-GB Teams writes 18/06/2020: a day above 12 anywhere in the file decides."""
    path = write_teams(tmp_path / "t.csv")
    text = path.read_bytes().decode("utf-16")
    path.write_bytes(b"\xff\xfe" + text.replace("6/18/20, ", "18/06/2020, ").encode("utf-16-le"))
    report = load_attendance(path)
    assert report.sessions[1].joined == dt.datetime(2020, 6, 18, 9, 58, 12)
    assert [a.minutes for a in minutes_by_person(report.sessions)] == [p[3] for p in PEOPLE]
    assert parse_time("05/06/2020, 09:58:12", day_first=True) == dt.datetime(2020, 6, 5, 9, 58, 12)


def test_durations_and_bad_cells_name_their_row(tmp_path):
    assert parse_duration("1h 52m 3s") == 112.05
    assert parse_duration("45s") == 0.75
    assert parse_duration("52m 3s") == 52.05
    with pytest.raises(RecipientsError) as caught:
        parse_duration("kb. 2 óra", file=Path("t.csv"), row=9)
    assert str(caught.value) == "t.csv, row 9, column 'duration': not a duration: 'kb. 2 óra' (expected e.g. 1h 52m 3s)"
    path = write_zoom(tmp_path / "z.csv", [S("Kiss Ödön", "kiss@falu.example", "10:00:00", "10:40:00")])
    path.write_bytes(path.read_bytes().replace(b"06/18/2020 10:40:00 AM", b"tomorrow"))
    with pytest.raises(RecipientsError) as caught:
        load_attendance(path)
    assert str(caught.value) == (
        f"{path}, row 5, column 'leave': not a date and time: 'tomorrow' (expected e.g. 03/11/2027 09:58:12 AM)"
    )


EXPECTED_LINE = (
    "not an attendance report: "
    "expected a Zoom, Webex or Google Meet participants report (a header row with a name column such as "
    "'Name (original name)' and 'Join time' and 'Leave time', or a duration) or a Teams attendance report "
    "(sections '1. Summary' and '2. Participants')"
)


@pytest.mark.parametrize(
    "content",
    [
        "Időbélyeg,E-mail-cím,Név\r\n2020. 06. 08. 9:12:44,a@b.example,Kiss Ödön\r\n".encode(),  # a form export
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
    ],
)
def test_a_file_that_is_neither_format_is_one_line(tmp_path, content):
    path = tmp_path / "valami.csv"
    path.write_bytes(content)
    with pytest.raises(RecipientsError) as caught:
        load_attendance(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: not a")
    assert message.endswith(
        "expected a Zoom, Webex or Google Meet participants report (a header row with a name column such as "
        "'Name (original name)' and 'Join time' and 'Leave time', or a duration) or a Teams attendance report "
        "(sections '1. Summary' and '2. Participants')"
    )
    assert "\n" not in message


# -- matching ---------------------------------------------------------------------------------------


def _campaign(tmp_path: Path):
    camp = remind_campaign(tmp_path, None, [KISS, BALOGH, TOTH, LATE])
    return camp, find_campaign(camp.root)


def _people(campaign):
    invited = load_recipients(campaign.recipients_path).recipients
    return known_people(invited, load_registrations(campaign.registrations_path))


MATCHED = [
    ("polgarmester@alsomocsolad.example", 155.62, 2, "address", True, True),
    ("referens@urom-proba.example", 156.0, 2, "address", True, True),  # the phone as a guest, merged by name
    ("szervezo@egyesulet.example", 20.0, 1, "address", True, False),
    ("polgarmester@ujfeherto-proba.example", 70.0, 2, "address", False, True),
    ("polgarmester@hernadszentandras.example", 45.0, 1, "name and municipality", False, True),
]


@pytest.mark.parametrize("form", list(WRITERS))
def test_attendees_match_registrants_and_the_invited_exactly(tmp_path, form):
    _, campaign = _campaign(tmp_path)
    report = load_attendance(WRITERS[form](tmp_path / "report.csv"))
    match = match_attendance(list(report.sessions), _people(campaign), 30)
    got = [
        (p.known.recipient.email, p.attendee.minutes, p.attendee.sessions, p.how, p.known.registered, p.attended)
        for p in match.present
    ]
    assert got == MATCHED
    assert [(a.name, a.email, a.minutes, a.guest) for a in match.unmatched] == [
        ("LÖGY Programiroda", "iroda@lgp.example.org", 190.0, False),
        ("Kovács János", "", 60.0, True),
    ]
    assert match.attended_addresses() == {
        "polgarmester@alsomocsolad.example",
        "referens@urom-proba.example",
        "polgarmester@ujfeherto-proba.example",
        "polgarmester@hernadszentandras.example",
    }
    assert [
        p.known.recipient.email for p in match_attendance(list(report.sessions), _people(campaign), 160).attended()
    ] == []


def test_a_name_shared_by_two_people_needs_the_municipality(tmp_path):
    _, campaign = _campaign(tmp_path)
    people = _people(campaign)
    twice = [S("Kiss Ödön", "", "10:00:00", "11:00:00", guest=True)]
    assert (
        match_attendance([s for s in load_attendance(write_zoom(tmp_path / "a.csv", twice)).sessions], people, 30)
        .present[0]
        .how
        == "name"
    )
    from dataclasses import replace

    other = replace(
        people[0], recipient=replace(people[0].recipient, email="kiss.odon@masik.example", municipalities=("Bikal",))
    )
    sessions = list(load_attendance(write_zoom(tmp_path / "b.csv", twice)).sessions)
    assert match_attendance(sessions, [*people, other], 30).present == []  # two Kiss Ödöns: nobody
    placed = [S("Kiss Ödön (Alsómocsolád)", "", "10:00:00", "11:00:00", guest=True)]
    sessions = list(load_attendance(write_zoom(tmp_path / "c.csv", placed)).sessions)
    (found,) = match_attendance(sessions, [*people, other], 30).present
    assert (found.known.recipient.email, found.how) == ("polgarmester@alsomocsolad.example", "name and municipality")


# -- the import into the sent log ------------------------------------------------------------------


def _import(camp, path: Path, *args: str):
    return runner.invoke(
        app, ["attendance", "import", str(path), "--campaign", str(camp.root), *args], catch_exceptions=False
    )


def _imports(camp) -> list[tuple[str, str, int]]:
    with open_ledger(camp.db) as ledger:
        rows = ledger.db.conn.execute(
            "SELECT i.file_name, i.platform, count(s.row) FROM attendance_imports i"
            " LEFT JOIN attendance_sessions s ON s.import_id = i.id GROUP BY i.id ORDER BY i.id"
        ).fetchall()
    return [tuple(r) for r in rows]


def test_import_reports_the_match_and_a_second_import_changes_nothing(tmp_path):
    camp, _ = _campaign(tmp_path)
    path = write_zoom(tmp_path / "participants_81234567890.csv", hungarian=True)
    first = _import(camp, path)
    assert first.exit_code == 0, first.output
    assert first.stdout.splitlines() == [
        f"Attendance: {path}: Zoom report, Hungarian export, 10 session(s) of 8 person(s)",
        "Attended (at least 30 minutes): 4",
        "  Kiss Ödön <polgarmester@alsomocsolad.example>: 155.6 min, 2 session(s) "
        "(by address; registered; Alsómocsolád)",
        "  Balogh Réka <referens@urom-proba.example>: 156 min, 2 session(s) (by address; registered; Üröm-próba)",
        "  Nagy Andrea <polgarmester@ujfeherto-proba.example>: 70 min, 2 session(s) "
        "(by address; invited; Újfehértó-próba)",
        "  Dr. Szűcs Erzsébet <polgarmester@hernadszentandras.example>: 45 min, 1 session(s) "
        "(by name and municipality; invited; Hernádszentandrás)",
        "Joined for less than 30 minutes: 1",
        "  Tóth Péter <szervezo@egyesulet.example>: 20 min, 1 session(s) (by address; registered; Zöld Jövő Egyesület)",
        "Attendees who match nobody on the invitation or registration list: 2",
        "  LÖGY Programiroda <iroda@lgp.example.org>: 190 min, 1 session(s); row 5",
        "  Kovács János (no e-mail): 60 min, 1 session(s), guest; row 14",
    ]
    assert _imports(camp) == [("participants_81234567890.csv", "zoom", 10)]
    again = _import(camp, path)
    assert again.exit_code == 0, again.output
    lines = again.stdout.splitlines()
    assert lines[0] == f"Attendance: {path}: already imported (Zoom report, Hungarian export); nothing changed"
    assert lines[1:] == first.stdout.splitlines()[1:]  # what the report that counts says
    assert _imports(camp) == [("participants_81234567890.csv", "zoom", 10)]


def test_a_newer_file_replaces_the_older_and_an_older_one_is_refused(tmp_path):
    camp, _ = _campaign(tmp_path)
    early = write_zoom(tmp_path / "early.csv", SESSIONS[:4])
    late = write_teams(tmp_path / "late.csv")
    os.utime(early, (1_592_470_000, 1_592_470_000))
    os.utime(late, (1_592_480_000, 1_592_480_000))
    assert _import(camp, early, "--quiet").stdout == (
        f"Attendance: {early}: Zoom report, English export, 4 session(s) of 4 person(s)\n"
    )
    replaced = _import(camp, late, "--quiet")
    assert replaced.stdout == (
        f"Attendance: {late}: Microsoft Teams report, English export, 10 session(s) of "
        "8 person(s); replaces 'early.csv'\n"
    )
    assert _imports(camp) == [("early.csv", "zoom", 4), ("late.csv", "teams", 10)]
    older = write_zoom(tmp_path / "older.csv", SESSIONS[:2])
    os.utime(older, (1_592_475_000, 1_592_475_000))
    refused = _import(camp, older)
    assert refused.exit_code == 2
    assert one_error_line(refused) == (
        f"lgp-mailer: error: {older}: this file was written before the imported 'late.csv' (2020-06-18 11:33 UTC): "
        "nothing changed; pass --replace-newer to import it all the same"
    )
    assert _imports(camp) == [("early.csv", "zoom", 4), ("late.csv", "teams", 10)]
    assert _import(camp, older, "--replace-newer", "--quiet").exit_code == 0
    assert _imports(camp)[-1] == ("older.csv", "zoom", 2)
    assert _import(camp, late, "--quiet").stdout.endswith(
        "already imported (Microsoft Teams report, English export); nothing changed\n"
    )


def test_import_of_a_file_that_is_neither_format_exits_2_with_one_line(tmp_path):
    camp, _ = _campaign(tmp_path)
    result = _import(camp, camp.root / "registrations" / "valaszok.csv")  # the form's export, not a report
    assert result.exit_code == 2
    path = camp.root / "registrations" / "valaszok.csv"
    assert one_error_line(result) == f"lgp-mailer: error: {path}: {EXPECTED_LINE}"
    assert _imports(camp) == []


def test_zooms_unique_users_export_and_a_name_in_western_order(tmp_path):
    """ "Show unique users": one row per person, total minutes, no times; the profile says "Ödön Kiss"."""
    path = tmp_path / "participants_unique.csv"
    path.write_bytes(
        "\ufeffName (original name),Email,Total duration (minutes),Guest\r\n"
        "Ödön Kiss,,156,Yes\r\nTóth Péter,szervezo@egyesulet.example,20,No\r\n".encode()
    )
    report = load_attendance(path)
    assert [(s.name, s.email, s.joined, s.minutes, s.guest) for s in report.sessions] == [
        ("Ödön Kiss", "", None, 156.0, True),
        ("Tóth Péter", "szervezo@egyesulet.example", None, 20.0, False),
    ]
    _, campaign = _campaign(tmp_path)
    match = match_attendance(list(report.sessions), _people(campaign), 30)
    assert [(p.known.recipient.email, p.attendee.minutes, p.how, p.attended) for p in match.present] == [
        ("polgarmester@alsomocsolad.example", 156.0, "name", True),
        ("szervezo@egyesulet.example", 20.0, "address", False),
    ]


def test_a_registrations_file_gone_missing_still_imports_and_says_so(tmp_path):
    camp, _ = _campaign(tmp_path)
    (camp.root / "registrations" / "valaszok.csv").unlink()
    path = write_zoom(tmp_path / "z.csv")
    result = _import(camp, path)
    assert result.exit_code == 1
    assert result.stdout == f"Attendance: {path}: Zoom report, English export, 10 session(s) of 8 person(s)\n"
    assert result.stderr == (
        f"WARNING: imported, but not matched: {camp.root / 'registrations' / 'valaszok.csv'}: file not found\n"
    )
    assert _imports(camp) == [("z.csv", "zoom", 10)]
