"""Attendance exports as the acceptance runs may bring them: Teams' other Hungarian
header, Webex and Google Meet tables, workbooks, ISO times with an offset, durations
in every spelling; each either read exactly or refused in one line naming where."""

from __future__ import annotations

import codecs
import datetime as dt
from pathlib import Path

import openpyxl
import pytest
from attendance_files import S, write_teams, write_zoom
from test_attendance import EXPECTED_LINE, PEOPLE, _campaign, _import, _imports
from test_send_cli import one_error_line

from lgp_mailer.campaign.attendees import known_people, match_attendance
from lgp_mailer.errors import RecipientsError
from lgp_mailer.sheets.attendance import Session, load_attendance, minutes_by_person, parse_duration, parse_time
from lgp_mailer.sheets.recipients import load_recipients
from lgp_mailer.sheets.registrations import load_registrations


def _retitle_teams(path, old: str, new: str):
    text = path.read_bytes().decode("utf-16")
    path.write_bytes(codecs.BOM_UTF16_LE + text.replace(old, new).encode("utf-16-le"))
    return path


def test_hungarian_teams_participants_under_ertekezlet_idotartama_keep_their_minutes(tmp_path):
    """The Hungarian download heads the in-meeting time 'Értekezlet időtartama': without the
    activities section these minutes are all there is; read as none, nobody would be thanked."""
    path = write_teams(tmp_path / "t.csv", hungarian=True, activities=False)
    _retitle_teams(path, "Értekezleten töltött idő", "Értekezlet időtartama")
    got = {a.key: (a.minutes, a.sessions) for a in minutes_by_person(load_attendance(path).sessions)}
    assert got["polgarmester@alsomocsolad.example"] == (155.62, 1)
    assert got["polgarmester@ujfeherto-proba.example"] == (70.0, 1)
    assert got["szervezo@egyesulet.example"] == (20.0, 1)


def test_a_teams_participants_table_without_any_duration_is_refused_naming_its_header(tmp_path):
    path = write_teams(tmp_path / "t.csv", hungarian=True, activities=False)
    _retitle_teams(path, "Értekezleten töltött idő", "Valami más")
    with pytest.raises(RecipientsError) as caught:
        load_attendance(path)
    assert str(caught.value) == (
        f"{path}, row 10: the participants table has no in-meeting duration column (e.g. 'In-Meeting Duration', "
        "'Értekezlet időtartama') and the report has no '3. In-Meeting Activities' section"
    )


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2026-06-18T07:58:12Z", dt.datetime(2026, 6, 18, 9, 58, 12)),  # UTC, summer: +2 h
        ("2026-01-18T08:58:12Z", dt.datetime(2026, 1, 18, 9, 58, 12)),  # UTC, winter: +1 h
        ("2026-06-18T09:58:12+02:00", dt.datetime(2026, 6, 18, 9, 58, 12)),
        ("2026-06-18 09:58", dt.datetime(2026, 6, 18, 9, 58)),
        ("2026-06-18T09:58:12", dt.datetime(2026, 6, 18, 9, 58, 12)),  # a workbook's date cell
        ("6/18/2026 9:58 AM", dt.datetime(2026, 6, 18, 9, 58)),
        ("2026.06.18. 9:58:12", dt.datetime(2026, 6, 18, 9, 58, 12)),
    ],
)
def test_iso_times_with_an_offset_are_budapest_time(text, expected):
    assert parse_time(text) == expected


@pytest.mark.parametrize(
    "text, minutes",
    [
        ("65", 65.0),
        ("65,5", 65.5),
        ("65 mins", 65.0),
        ("1 hr 5 min", 65.0),
        ("1 h 5 min", 65.0),
        ("1ó 5p", 65.0),
        ("1 óra 5 perc 30 mp", 65.5),
        ("1:05:00", 65.0),
        ("1h 52m 3s", 112.05),
    ],
)
def test_durations_in_every_spelling(text, minutes):
    assert parse_duration(text) == minutes


def test_a_bad_iso_time_is_still_one_line_naming_the_cell():
    with pytest.raises(RecipientsError) as caught:
        parse_time("2026-13-18 09:00", file=Path("w.csv"), row=4, column="join")
    assert str(caught.value) == (
        "w.csv, row 4, column 'join': not a date and time: '2026-13-18 09:00' (expected e.g. 03/11/2027 09:58:12 AM)"
    )


WEBEX = (
    "Meeting Name\tMeeting Number\tName\tEmail\tRole\tJoin Time\tLeave Time\tDuration\tConnection Type\r\n"
    "Víziközmű\t2634 123 4567\tKiss Ödön\tPolgarmester@Alsomocsolad.example\tAttendee\t"
    "2020-06-18T07:58:12Z\t2020-06-18T08:40:09Z\t42 mins\tWebex App\r\n"
    "Víziközmű\t2634 123 4567\tKiss Ödön\tpolgarmester@alsomocsolad.example\tAttendee\t"
    "2020-06-18T08:42:30Z\t2020-06-18T10:36:10Z\t114 mins\tWebex App\r\n"
    "Víziközmű\t2634 123 4567\t+36 30 123 4567\t\tAttendee\t"
    "2020-06-18T08:02:00Z\t2020-06-18T10:20:00Z\t138 mins\tPhone\r\n"
)
MEET = (
    "First name,Last name,Email,Duration,Time joined,Time exited\n"
    "Kiss,Ödön,Polgarmester@Alsomocsolad.example,2 hr 35 min,9:58 AM,12:36 PM\n"
    "Tóth,Péter,szervezo@egyesulet.example,20 min,10:00 AM,10:20 AM\n"
)


def test_a_webex_export_utf16_with_utc_times_is_sessions_in_budapest_time(tmp_path):
    path = tmp_path / "webex.csv"
    path.write_bytes(codecs.BOM_UTF16_LE + WEBEX.encode("utf-16-le"))
    report = load_attendance(path)
    assert (report.platform, report.source, report.language) == ("zoom", "webex", "en")
    assert [(s.row, s.name, s.email, s.joined, s.left, s.minutes, s.role) for s in report.sessions] == [
        (2, "Kiss Ödön", "Polgarmester@Alsomocsolad.example", dt.datetime(2020, 6, 18, 9, 58, 12),
         dt.datetime(2020, 6, 18, 10, 40, 9), 42.0, "Attendee"),
        (3, "Kiss Ödön", "polgarmester@alsomocsolad.example", dt.datetime(2020, 6, 18, 10, 42, 30),
         dt.datetime(2020, 6, 18, 12, 36, 10), 114.0, "Attendee"),
        (4, "+36 30 123 4567", "", dt.datetime(2020, 6, 18, 10, 2), dt.datetime(2020, 6, 18, 12, 20), 138.0,
         "Attendee"),
    ]  # fmt: skip
    got = [(a.key, a.minutes, a.sessions) for a in minutes_by_person(report.sessions)]
    assert got == [("polgarmester@alsomocsolad.example", 155.62, 2), ("name:36 30 123 4567", 138.0, 1)]


def test_a_google_meet_export_counts_its_duration_as_its_times_have_no_date(tmp_path):
    path = tmp_path / "meet.csv"
    path.write_text(MEET, encoding="utf-8")
    report = load_attendance(path)
    assert (report.platform, report.source) == ("zoom", "meet")
    assert [(s.name, s.email, s.joined, s.left, s.minutes) for s in report.sessions] == [
        ("Kiss Ödön", "Polgarmester@Alsomocsolad.example", None, None, 155.0),
        ("Tóth Péter", "szervezo@egyesulet.example", None, None, 20.0),
    ]
    assert [(a.key, a.minutes) for a in minutes_by_person(report.sessions)] == [
        ("polgarmester@alsomocsolad.example", 155.0),
        ("szervezo@egyesulet.example", 20.0),
    ]


def test_a_time_without_a_date_and_no_duration_column_is_refused_naming_the_cell(tmp_path):
    path = tmp_path / "meet.csv"
    path.write_text("First name,Last name,Email,Time joined,Time exited\nKiss,Ödön,k@falu.example,9:58 AM,12:36 PM\n",
                    encoding="utf-8")  # fmt: skip
    with pytest.raises(RecipientsError) as caught:
        load_attendance(path)
    assert str(caught.value) == (
        f"{path}, row 2, column 'join': not a date and time: '9:58 AM' (expected e.g. 03/11/2027 09:58:12 AM)"
    )


def test_a_zoom_report_saved_as_a_workbook_reads_like_its_csv(tmp_path):
    csv_path = write_zoom(tmp_path / "z.csv")
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Munka1"
    workbook.create_sheet("Jegyzetek").append(["Megjegyzés"])  # a second sheet: not the report
    workbook.move_sheet("Jegyzetek", offset=-1)
    header_seen = False
    for line in csv_path.read_text(encoding="utf-8-sig").splitlines():
        cells: list[object] = line.split(",")
        if header_seen and len(cells) > 4:  # Excel turns the times into dates and the minutes into numbers
            cells[2] = dt.datetime.strptime(str(cells[2]), "%m/%d/%Y %I:%M:%S %p")
            cells[3] = dt.datetime.strptime(str(cells[3]), "%m/%d/%Y %I:%M:%S %p")
            cells[4] = int(str(cells[4]))
        header_seen = header_seen or line.startswith("Name (original name)")
        sheet.append(cells)
    path = tmp_path / "z.xlsx"
    workbook.save(path)
    from_csv, from_xlsx = load_attendance(csv_path), load_attendance(path)
    assert (from_xlsx.platform, from_xlsx.source) == ("zoom", "zoom")
    strip = lambda r: [(s.row, s.name, s.email, s.joined, s.left, s.minutes, s.guest) for s in r.sessions]  # noqa: E731
    assert strip(from_xlsx) == strip(from_csv)
    assert [(a.key, a.minutes) for a in minutes_by_person(from_xlsx.sessions)] == [(p[0], p[3]) for p in PEOPLE]


def test_teams_participants_table_on_its_own_in_a_workbook(tmp_path):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Név", "Első csatlakozás", "Utolsó kilépés", "Értekezlet időtartama", "E-mail",
                  "Résztvevő azonosítója (UPN)", "Szerepkör"])  # fmt: skip
    sheet.append(["Kiss Ödön", "2026. 06. 18. 9:58:12", "2026. 06. 18. 12:36:10", "2ó 35p 37mp",
                  "polgarmester@alsomocsolad.example", "polgarmester@alsomocsolad.example", "Résztvevő"])  # fmt: skip
    path = tmp_path / "teams.xlsx"
    workbook.save(path)
    report = load_attendance(path)
    assert (report.platform, report.language) == ("teams", "hu")
    assert [(a.key, a.minutes) for a in minutes_by_person(report.sessions)] == [
        ("polgarmester@alsomocsolad.example", 155.62)
    ]


def test_a_workbook_that_is_no_report_is_one_line(tmp_path):
    workbook = openpyxl.Workbook()
    workbook.active.append(["Időbélyeg", "E-mail-cím", "Név"])
    path = tmp_path / "valami.xlsx"
    workbook.save(path)
    with pytest.raises(RecipientsError) as caught:
        load_attendance(path)
    assert str(caught.value) == f"{path}: {EXPECTED_LINE}"


def test_importing_a_webex_export_says_webex_and_keeps_its_sessions(tmp_path):
    camp, _ = _campaign(tmp_path)
    path = tmp_path / "webex.csv"
    path.write_bytes(codecs.BOM_UTF16_LE + WEBEX.encode("utf-16-le"))
    result = _import(camp, path)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[:3] == [
        f"Attendance: {path}: Webex report, English export, 3 session(s) of 2 person(s)",
        "Attended (at least 30 minutes): 1",
        "  Kiss Ödön <polgarmester@alsomocsolad.example>: 155.6 min, 2 session(s) "
        "(by address; registered; Alsómocsolád)",
    ]
    assert _imports(camp) == [("webex.csv", "webex", 3)]


def test_zooms_waiting_room_rows_are_not_attendance(tmp_path):
    """Zoom's newer export gives the time in the waiting room rows of their own ("In waiting room": Yes)."""
    path = write_zoom(tmp_path / "z.csv", [S("Kiss Ödön", "kiss@falu.example", "10:00:00", "10:40:00")])
    text = path.read_bytes().decode("utf-8")
    waiting = "Tóth Péter,toth@falu.example,06/18/2020 09:20:00 AM,06/18/2020 10:20:00 AM,60,No,Yes\r\n"
    path.write_bytes((text + waiting).encode("utf-8"))
    report = load_attendance(path)
    assert [(s.name, s.minutes) for s in report.sessions] == [("Kiss Ödön", 40.0)]


def test_zooms_total_duration_counts_over_first_join_to_last_leave(tmp_path):
    """With "Total duration" the times are the first join and the last leave: the gaps are not attendance."""
    path = tmp_path / "unique.csv"
    path.write_text(
        "Name (original name),Email,Join time,Leave time,Total duration (minutes),Guest\n"
        "Kiss Ödön,kiss@falu.example,06/18/2026 09:58:00 AM,06/18/2026 12:36:00 PM,40,No\n",
        encoding="utf-8",
    )
    (person,) = minutes_by_person(load_attendance(path).sessions)
    assert (person.minutes, person.first_join, person.last_leave) == (
        40.0,
        dt.datetime(2026, 6, 18, 9, 58),
        dt.datetime(2026, 6, 18, 12, 36),
    )


def test_a_report_that_lists_nobody_is_refused_not_stored(tmp_path):
    """Stored, it would make every registrant absent: 'followup --missed' would write to all of them."""
    camp, _ = _campaign(tmp_path)
    path = tmp_path / "participants.csv"
    path.write_text("Name (original name),Email,Join time,Leave time,Duration (minutes),Guest\n", encoding="utf-8")
    result = _import(camp, path)
    assert result.exit_code == 2
    assert one_error_line(result) == (
        f"lgp-mailer: error: {path}: the report lists nobody who attended: "
        "download it again after the meeting has ended"
    )
    assert _imports(camp) == []


TEAMS_LIST = (
    "Full Name\tUser Action\tTimestamp\r\n"
    "LÖGY Programiroda\tJoined\t6/18/2026, 9:30:00 AM\r\n"
    "Kiss Ödön\tJoined before\t6/18/2026, 9:58:12 AM\r\n"
    "Tóth Péter\tLeft\t6/18/2026, 10:20:00 AM\r\n"  # in before the list began
    "Kiss Ödön\tLeft\t6/18/2026, 10:40:09 AM\r\n"
    "Kiss Ödön\tJoined\t6/18/2026, 10:42:30 AM\r\n"
    "Kiss Ödön\tLeft\t6/18/2026, 12:36:10 PM\r\n"
    "LÖGY Programiroda\tLeft\t6/18/2026, 12:40:00 PM\r\n"
)
LIVE_EVENT = (
    "SessionId,ParticipantId,FullName,UserAgent,UtcEventTimestamp,Action,Role\r\n"
    "a1,polgarmester@alsomocsolad.example,Kiss Ödön,Mozilla/5.0,6/18/2026 7:58:12 AM,Joined,Attendee\r\n"
    "b2,polgarmester@alsomocsolad.example,Kiss Ödön,Teams iOS,6/18/2026 8:10:00 AM,Joined,Attendee\r\n"
    "b2,polgarmester@alsomocsolad.example,Kiss Ödön,Teams iOS,6/18/2026 8:30:00 AM,Left,Attendee\r\n"
    "a1,polgarmester@alsomocsolad.example,Kiss Ödön,Mozilla/5.0,6/18/2026 8:40:09 AM,Left,Attendee\r\n"
    "c3,8:teamsvisitor:77,Szűcs Erzsébet,Mozilla/5.0,6/18/2026 8:05:00 AM,Joined,Attendee\r\n"
)


def test_teams_older_attendance_list_pairs_joins_and_leaves(tmp_path):
    path = tmp_path / "meetingAttendanceList.csv"
    path.write_bytes(codecs.BOM_UTF16_LE + TEAMS_LIST.encode("utf-16-le"))
    report = load_attendance(path)
    assert report.platform == "teams"
    got = [(a.name, a.minutes, a.sessions, a.first_join, a.last_leave) for a in minutes_by_person(report.sessions)]
    t = lambda h, m, s=0: dt.datetime(2026, 6, 18, h, m, s)  # noqa: E731
    assert got == [
        ("LÖGY Programiroda", 190.0, 1, t(9, 30), t(12, 40)),
        ("Kiss Ödön", 155.62, 2, t(9, 58, 12), t(12, 36, 10)),
        ("Tóth Péter", 50.0, 1, t(9, 30), t(10, 20)),  # from the list's first moment
    ]


def test_a_teams_live_event_report_in_utc_pairs_per_session_in_budapest_time(tmp_path):
    path = tmp_path / "AttendeeReport.csv"
    path.write_text(LIVE_EVENT, encoding="utf-8")
    report = load_attendance(path)
    got = [(a.key, a.minutes, a.sessions, a.first_join, a.last_leave) for a in minutes_by_person(report.sessions)]
    t = lambda h, m, s=0: dt.datetime(2026, 6, 18, h, m, s)  # noqa: E731
    assert got == [
        ("polgarmester@alsomocsolad.example", 41.95, 2, t(9, 58, 12), t(10, 40, 9)),  # the phone inside the laptop
        ("name:szucs erzsebet", 35.15, 1, t(10, 5), t(10, 40, 9)),  # still in at the last event
    ]


def test_an_unknown_action_names_its_row_and_column(tmp_path):
    path = tmp_path / "list.csv"
    path.write_text("Full Name,User Action,Timestamp\nKiss Ödön,Muted,6/18/2026 9:58 AM\n", encoding="utf-8")
    with pytest.raises(RecipientsError) as caught:
        load_attendance(path)
    assert str(caught.value) == (
        f"{path}, row 2, column 'action': not a join or leave with its time: 'Muted' (expected e.g. Joined, Left)"
    )


def test_a_report_of_another_day_is_refused_unless_asked_for(tmp_path):
    """Last month's download imported by mistake would thank last month's attendees."""
    camp, _ = _campaign(tmp_path)  # the conference is on 2020-06-18
    path = tmp_path / "webex.csv"
    path.write_bytes(codecs.BOM_UTF16_LE + WEBEX.replace("2020-06-18T", "2020-05-12T").encode("utf-16-le"))
    refused = _import(camp, path)
    assert refused.exit_code == 2
    assert one_error_line(refused) == (
        f"lgp-mailer: error: {path}: the report's meeting was on 2020-05-12, the conference in the event file is on "
        "2020-06-18: a report of another meeting? Nothing imported; pass --other-day to import it all the same"
    )
    assert _imports(camp) == []
    taken = _import(camp, path, "--other-day")
    assert taken.exit_code == 0, taken.output
    assert _imports(camp) == [("webex.csv", "webex", 3)]


def _session(row: int, name: str, email: str, join: str, leave: str) -> Session:
    day = dt.date(2020, 6, 18)
    return Session(
        row,
        name,
        email,
        dt.datetime.combine(day, dt.time.fromisoformat(join)),
        dt.datetime.combine(day, dt.time.fromisoformat(leave)),
        None,
    )


def test_a_sub_address_matches_its_mailbox_and_nameless_guests_stay_apart(tmp_path):
    _, campaign = _campaign(tmp_path)
    people = known_people(
        load_recipients(campaign.recipients_path).recipients, load_registrations(campaign.registrations_path)
    )
    sessions = [
        _session(2, "Ödön laptop", "Polgarmester+Zoom@Alsomocsolad.example", "10:00:00", "11:00:00"),
        _session(3, "", "", "10:00:00", "10:50:00"),  # two dial-ins the platform gave no name
        _session(4, "", "", "11:00:00", "11:20:00"),
    ]
    match = match_attendance(sessions, people, 30)
    assert [(p.known.recipient.email, p.how, p.attendee.minutes) for p in match.present] == [
        ("polgarmester@alsomocsolad.example", "address", 60.0)
    ]
    assert [(a.key, a.minutes) for a in match.unmatched] == [("row:3", 50.0), ("row:4", 20.0)]


def test_teams_participants_rows_of_one_person_count_no_more_than_their_span(tmp_path):
    """Without the activities section the laptop's and the phone's in-meeting times cannot be
    united; their sum is capped by the time from the first join to the last leave."""
    path = write_teams(tmp_path / "t.csv", activities=False)
    got = {a.key: a.minutes for a in minutes_by_person(load_attendance(path).sessions)}
    assert got["name:balogh reka"] == 20.0  # the phone alone
    laptop = Session(1, "Balogh Réka", "", dt.datetime(2020, 6, 18, 9, 59), dt.datetime(2020, 6, 18, 12, 35), 156.0,
                     summed=True)  # fmt: skip
    phone = Session(2, "Balogh Réka", "", dt.datetime(2020, 6, 18, 10, 10), dt.datetime(2020, 6, 18, 10, 30), 20.0,
                    summed=True)  # fmt: skip
    (person,) = minutes_by_person([laptop, phone])
    assert person.minutes == 156.0


def test_a_workbook_name_saved_as_a_formula_keeps_its_text(tmp_path):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Name (original name)", "Email", "Join time", "Leave time", "Duration (minutes)", "Guest"])
    sheet.append(["=Kiss Ödön", "", "2020-06-18 10:00:00", "2020-06-18 10:40:00", 40, "Yes"])  # openpyxl: a formula
    path = tmp_path / "z.xlsx"
    workbook.save(path)
    assert [s.name for s in load_attendance(path).sessions] == ["=Kiss Ödön"]


ZOOM_WEBINAR = (
    "Attendee Report,\r\n"
    'Report Generated:,"Jun 19, 2020 09:00:00"\r\n'
    "Topic,Webinar ID,Actual Start Time,Actual Duration (minutes),# Registered,Unique Viewers\r\n"
    'Önkormányzati innovációk,812 3456 7890,"Jun 18, 2020 09:29:41",191,3,2\r\n'
    "Host Details,\r\n"
    "Attended,User Name (Original Name),Email,Join Time,Leave Time,Time in Session (minutes),Is Guest\r\n"
    'Yes,LÖGY Programiroda,iroda@lgp.example.org,"Jun 18, 2020 09:30:00","Jun 18, 2020 12:40:00",190,No\r\n'
    "Panelist Details,\r\n"
    "Attended,User Name (Original Name),Email,Join Time,Leave Time,Time in Session (minutes),Is Guest\r\n"
    "Attendee Details,\r\n"
    "Attended,User Name (Original Name),First Name,Last Name,Email,Registration Time,Approval Status,"
    "Join Time,Leave Time,Time in Session (minutes),Is Guest,Country/Region Name\r\n"
    'Yes,Kiss Ödön,Ödön,Kiss,polgarmester@alsomocsolad.example,"Jun 08, 2020 09:12:44",approved,'
    '"Jun 18, 2020 09:58:12","Jun 18, 2020 10:40:09",42,No,Hungary\r\n'
    'Yes,Kiss Ödön,Ödön,Kiss,polgarmester@alsomocsolad.example,"Jun 08, 2020 09:12:44",approved,'
    '"Jun 18, 2020 10:42:30","Jun 18, 2020 12:36:10",114,No,Hungary\r\n'
    'No,Tóth Péter,Péter,Tóth,szervezo@egyesulet.example,"Jun 09, 2020 14:03:10",approved,--,--,--,--,Hungary\r\n'
)


def test_a_zoom_webinar_report_reads_every_table_and_skips_who_did_not_come(tmp_path):
    path = tmp_path / "attendee_report.csv"
    path.write_bytes(("\ufeff" + ZOOM_WEBINAR).encode("utf-8"))
    report = load_attendance(path)
    assert (report.platform, report.source) == ("zoom", "zoom")
    assert [(s.row, s.name, s.email, s.minutes) for s in report.sessions] == [
        (7, "LÖGY Programiroda", "iroda@lgp.example.org", 190.0),
        (12, "Kiss Ödön", "polgarmester@alsomocsolad.example", 42.0),
        (13, "Kiss Ödön", "polgarmester@alsomocsolad.example", 114.0),
    ]
    assert [(a.key, a.minutes) for a in minutes_by_person(report.sessions)] == [
        ("iroda@lgp.example.org", 190.0),
        ("polgarmester@alsomocsolad.example", 155.62),
    ]


@pytest.mark.parametrize("text", ["nan", "inf", "1e309", "-5"])
def test_a_minutes_cell_that_is_no_duration_names_its_row(tmp_path, text):
    path = tmp_path / "z.csv"
    path.write_text(
        f"Name (original name),Email,Duration (minutes)\nKiss Ödön,kiss@falu.example,{text}\n", encoding="utf-8"
    )
    with pytest.raises(RecipientsError) as caught:
        load_attendance(path)
    what = "a negative duration" if text == "-5" else "not a duration"
    assert str(caught.value).startswith(f"{path}, row 2, column 'duration': {what}: '{text}'")
