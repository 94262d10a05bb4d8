"""Attendance reports written byte for byte the way Zoom and Teams write them.

* Zoom's participants report ("Export with meeting data"): UTF-8 with a BOM,
  comma-separated, CRLF; the meeting block, a blank line, the participant
  table with one row per session.
* Teams' attendance report: UTF-16 LE with a BOM, tab-separated, CRLF, in
  three numbered sections with a blank line between them.

One conference, the shipped example (2020-06-18, 10.00–12.35), and one set of
invented people; each test picks the writer and the language.
"""

from __future__ import annotations

import codecs
import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path

DAY = dt.date(2020, 6, 18)


@dataclass(frozen=True)
class S:
    """One session: who, from when to when (local), and whether Zoom calls them a guest."""

    name: str
    email: str
    join: str  # "HH:MM:SS"
    leave: str
    guest: bool = False

    def times(self) -> tuple[dt.datetime, dt.datetime]:
        return (
            dt.datetime.combine(DAY, dt.time.fromisoformat(self.join)),
            dt.datetime.combine(DAY, dt.time.fromisoformat(self.leave)),
        )


# The attendance of the example conference, in the order the platform lists it.
SESSIONS = [
    S("LÖGY Programiroda", "iroda@lgp.example.org", "09:30:00", "12:40:00"),  # the host: on no list
    S("Kiss Ödön", "Polgarmester@Alsomocsolad.example", "09:58:12", "10:40:09"),  # registered in lower case
    S("Balogh Réka", "referens@urom-proba.example", "09:59:00", "12:35:00"),
    S("Tóth Péter", "szervezo@egyesulet.example", "10:00:00", "10:20:00"),  # 20 minutes: under the threshold
    S("Nagy Andrea", "polgarmester@ujfeherto-proba.example", "10:00:00", "11:00:00"),  # two devices at once
    S("Szűcs Erzsébet - Hernádszentandrás", "", "10:05:00", "10:50:00", guest=True),  # invited, no address
    S("Balogh Réka (Réka iPhone)", "", "10:10:00", "10:30:00", guest=True),  # her phone, inside the laptop's time
    S("Nagy Andrea", "polgarmester@ujfeherto-proba.example", "10:30:00", "11:10:00"),
    S("Kiss Ödön", "Polgarmester@Alsomocsolad.example", "10:42:30", "12:36:10"),  # rejoined after 2 m 21 s
    S("Kovács János", "", "11:00:00", "12:00:00", guest=True),  # a guest nobody knows
]


def _zoom_time(moment: dt.datetime, hungarian: bool) -> str:
    return moment.strftime("%Y.%m.%d. %H:%M:%S") if hungarian else moment.strftime("%m/%d/%Y %I:%M:%S %p")


def _zoom_minutes(s: S) -> int:
    start, end = s.times()
    return math.ceil((end - start).total_seconds() / 60)  # Zoom rounds a session's minutes up


def write_zoom(path: Path, sessions: list[S] = SESSIONS, *, hungarian: bool = False) -> Path:
    if hungarian:
        meeting = [
            "Értekezlet-azonosító",
            "Téma",
            "Kezdés időpontja",
            "Befejezés időpontja",
            "E-mail",
            "Időtartam (perc)",
            "Résztvevők",
        ]
        header = [
            "Név (eredeti név)",
            "E-mail",
            "Csatlakozás időpontja",
            "Kilépés időpontja",
            "Időtartam (perc)",
            "Vendég",
            "Várakozóteremben",
        ]
        yes, no = "Igen", "Nem"
    else:
        meeting = ["Meeting ID", "Topic", "Start time", "End time", "Email", "Duration (minutes)", "Participants"]
        header = [
            "Name (original name)",
            "Email",
            "Join time",
            "Leave time",
            "Duration (minutes)",
            "Guest",
            "In waiting room",
        ]
        yes, no = "Yes", "No"
    start = dt.datetime.combine(DAY, dt.time(9, 29, 41))
    end = dt.datetime.combine(DAY, dt.time(12, 40, 5))
    values = [
        "812 3456 7890",
        "Önkormányzati innovációk és jó gyakorlatok",
        _zoom_time(start, hungarian),
        _zoom_time(end, hungarian),
        "iroda@lgp.example.org",
        "191",
        str(len(sessions)),
    ]
    lines = [",".join(meeting), ",".join(values), ""]
    lines.append(",".join(header))
    for s in sessions:
        join, leave = s.times()
        lines.append(
            ",".join(
                [
                    _csv_field(s.name),
                    s.email,
                    _zoom_time(join, hungarian),
                    _zoom_time(leave, hungarian),
                    str(_zoom_minutes(s)),
                    yes if s.guest else no,
                    no,
                ]
            )
        )
    path.write_bytes(("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8"))
    return path


def _csv_field(text: str) -> str:
    """Quoted the way Zoom quotes a name holding a comma or a quote."""
    return '"' + text.replace('"', '""') + '"' if "," in text or '"' in text else text


def _teams_time(moment: dt.datetime, hungarian: bool) -> str:
    if hungarian:
        return f"{moment:%Y. %m. %d.} {moment.hour}:{moment:%M:%S}"
    hour = moment.hour % 12 or 12
    return f"{moment.month}/{moment.day}/{moment:%y}, {hour}:{moment:%M:%S} {moment:%p}"


def teams_duration(seconds: float) -> str:
    seconds = int(seconds)
    h, m, s = seconds // 3600, seconds // 60 % 60, seconds % 60
    return " ".join(part for part in (f"{h}h" if h else "", f"{m}m" if m or h else "", f"{s}s") if part)


def _union_seconds(spans: list[tuple[dt.datetime, dt.datetime]]) -> float:
    total, end, start = 0.0, None, None
    for a, b in sorted(spans):
        if end is None or a > end:
            if end is not None:
                total += (end - start).total_seconds()
            start, end = a, b
        else:
            end = max(end, b)
    return total + ((end - start).total_seconds() if end is not None else 0)


def write_teams(path: Path, sessions: list[S] = SESSIONS, *, hungarian: bool = False, activities: bool = True) -> Path:
    """Teams lists a person once in "2. Participants" (first join, last leave, in-meeting
    time) and every join in "3. In-Meeting Activities"; guests have no e-mail."""
    if hungarian:
        titles = ("1. Összegzés", "2. Résztvevők", "3. Értekezleten belüli tevékenységek")
        summary_keys = (
            "Értekezlet címe",
            "Résztvevők száma",
            "Kezdés időpontja",
            "Befejezés időpontja",
            "Értekezlet időtartama",
            "Átlagos részvételi idő",
        )
        people_header = [
            "Név",
            "Első csatlakozás",
            "Utolsó kilépés",
            "Értekezleten töltött idő",
            "E-mail",
            "Résztvevő azonosítója (UPN)",
            "Szerepkör",
        ]
        activity_header = ["Név", "Csatlakozás időpontja", "Kilépés időpontja", "Időtartam", "E-mail", "Szerepkör"]
        organiser, attendee = "Szervező", "Résztvevő"
    else:
        titles = ("1. Summary", "2. Participants", "3. In-Meeting Activities")
        summary_keys = (
            "Meeting title",
            "Attended participants",
            "Start time",
            "End time",
            "Meeting duration",
            "Average attendance time",
        )
        people_header = [
            "Name",
            "First Join",
            "Last Leave",
            "In-Meeting Duration",
            "Email",
            "Participant ID (UPN)",
            "Role",
        ]
        activity_header = ["Name", "Join Time", "Leave Time", "Duration", "Email", "Role"]
        organiser, attendee = "Organizer", "Attendee"
    people: dict[str, list[S]] = {}
    for s in sessions:
        people.setdefault(s.email.lower() or s.name, []).append(s)
    start = dt.datetime.combine(DAY, dt.time(9, 29, 41))
    end = dt.datetime.combine(DAY, dt.time(12, 40, 5))
    durations = [_union_seconds([s.times() for s in group]) for group in people.values()]
    lines = [titles[0]]
    for key, value in zip(
        summary_keys,
        [
            "Önkormányzati innovációk és jó gyakorlatok",
            str(len(people)),
            _teams_time(start, hungarian),
            _teams_time(end, hungarian),
            teams_duration((end - start).total_seconds()),
            teams_duration(sum(durations) / len(durations)),
        ],
        strict=True,
    ):
        lines.append(f"{key}\t{value}")
    lines += ["", titles[1], "\t".join(people_header)]
    for group, seconds in zip(people.values(), durations, strict=True):
        first = min(s.times()[0] for s in group)
        last = max(s.times()[1] for s in group)
        role = organiser if group[0].email == "iroda@lgp.example.org" else attendee
        upn = group[0].email or f"8:teamsvisitor:{len(lines):04d}"  # a guest's ID is no address
        lines.append(
            "\t".join(
                [
                    group[0].name,
                    _teams_time(first, hungarian),
                    _teams_time(last, hungarian),
                    teams_duration(seconds),
                    group[0].email,
                    upn,
                    role,
                ]
            )
        )
    if activities:
        lines += ["", titles[2], "\t".join(activity_header)]
        for s in sessions:
            join, leave = s.times()
            role = organiser if s.email == "iroda@lgp.example.org" else attendee
            lines.append(
                "\t".join(
                    [
                        s.name,
                        _teams_time(join, hungarian),
                        _teams_time(leave, hungarian),
                        teams_duration((leave - join).total_seconds()),
                        s.email,
                        role,
                    ]
                )
            )
    path.write_bytes(codecs.BOM_UTF16_LE + ("\r\n".join(lines) + "\r\n").encode("utf-16-le"))
    return path
