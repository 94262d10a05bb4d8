"""Attendance exports as the acceptance runs may bring them: Teams' other Hungarian
header, Webex and Google Meet tables, workbooks, ISO times with an offset, durations
in every spelling; each either read exactly or refused in one line naming where."""

from __future__ import annotations

import codecs

import pytest
from attendance_files import write_teams

from lgp_mailer.errors import RecipientsError
from lgp_mailer.sheets.attendance import load_attendance, minutes_by_person


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
