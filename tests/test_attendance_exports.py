"""Attendance exports as the acceptance runs may bring them: Teams' other Hungarian
header, Webex and Google Meet tables, workbooks, ISO times with an offset, durations
in every spelling; each either read exactly or refused in one line naming where."""

from __future__ import annotations

import codecs
import datetime as dt
from pathlib import Path

import pytest
from attendance_files import write_teams

from lgp_mailer.errors import RecipientsError
from lgp_mailer.sheets.attendance import load_attendance, minutes_by_person, parse_duration, parse_time


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
