"""Attendance reports from Zoom, Microsoft Teams, Webex and Google Meet → join/leave sessions.

The formats, as the platforms write them (English and Hungarian exports), as CSV
or as a workbook (.xlsx, .xls, .ods: each sheet is tried in turn):

* **Zoom's participants report** (Reports → Usage → Participants, "Export with
  meeting data"): a CSV whose meeting-information block comes first, then a
  blank line and the participant table ``Name (original name), Email, Join
  time, Leave time, Duration (minutes), Guest, …``, one row per session, dates
  such as ``03/11/2027 09:58:12 AM``.  A rejoin or a second device is one more
  row.  The Hungarian export's headers are *assumed* to be Zoom's Hungarian UI
  words: ``Név (eredeti név)``, ``E-mail``, ``Csatlakozás időpontja``,
  ``Kilépés időpontja``, ``Időtartam (perc)``, ``Vendég`` (values
  ``Igen``/``Nem``), dates ``2027.03.11. 09:58:12`` or with ``de.``/``du.``.
* **Teams' attendance report**: the ``.csv`` is UTF-16 LE with a BOM and
  tab-separated, in sections ``1. Summary``, ``2. Participants`` (one row per
  person: ``Name, First Join, Last Leave, In-Meeting Duration, Email,
  Participant ID (UPN), Role``) and ``3. In-Meeting Activities`` (one row per
  session: ``Name, Join Time, Leave Time, Duration, Email, Role``); durations
  like ``1h 52m 3s``.  Hungarian: ``1. Összegzés``, ``2. Résztvevők``
  (``Név, Első csatlakozás, Utolsó kilépés, Értekezleten töltött idő, E-mail,
  Résztvevő azonosítója (UPN), Szerepkör``) and ``3. Értekezleten belüli
  tevékenységek`` (assumed: ``Név, Csatlakozás időpontja, Kilépés időpontja,
  Időtartam, E-mail, Szerepkör``).  When section 3 is there its sessions are
  used; otherwise each person of section 2 is one session whose minutes are
  the in-meeting duration (first join to last leave would count the gaps).

* **Teams' join/leave lists** (the older attendance list, a live event's
  ``AttendeeReport.csv``): one row per join or leave, paired per person.
* **Webex** and **Google Meet** participant tables are read by the same column
  aliases as Zoom's: Webex one row per session (``Name, Email, Join Time,
  Leave Time, Duration``, durations like ``65 mins``), Meet one row per person
  (``First name, Last name, Email, Duration, Time joined, Time exited``; times
  without a date, so its ``1 hr 5 min`` duration counts).  A table whose
  header fits but names no platform is said to come from a video platform.
  All of these are read as layout ``zoom``; the sent log keeps the vendor
  (``AttendanceReport.vendor``).

Every cell is read as text; times are local (Europe/Budapest), naive here; an
ISO time with an offset is converted to Budapest time.
Summing minutes without double counting is :func:`minutes_by_person`.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from lgp_mailer.errors import RecipientsError
from lgp_mailer.i18n import N_, _
from lgp_mailer.quoting import quoted
from lgp_mailer.sheets.readers import ALL_SHEETS, WORKBOOK_SUFFIXES, detect_encoding, open_sheets

MAX_BYTES = 20 * 1024 * 1024  # a 1,000-person meeting's report is well under 1 MB
EXPECTED = N_(
    "expected a Zoom, Webex or Google Meet participants report (a header row with a name column such as "
    "'Name (original name)' and 'Join time' and 'Leave time', or a duration) or a Teams attendance report "
    "(sections '1. Summary' and '2. Participants')"
)  # translated where raised

# Column aliases, compared casefolded with spaces collapsed.  Zoom's English
# headers changed case over the years ("Join Time" → "Join time"), and older
# exports say "User Email".  Webex's and Google Meet's tables are read by the
# same aliases: one row per session (Webex) or per person (Meet, whose first and
# last names are two columns and whose times have no date: its duration counts).
_TABLE = {
    "name": (
        "name (original name)",
        "név (eredeti név)",
        "user name (original name)",
        "felhasználónév (eredeti név)",
        "name",
        "név",
        "résztvevő neve",
        "display name",
        "participant name",
        "attendee name",
        "full name",
        "teljes név",
        "megjelenítendő név",
    ),
    "first": ("first name", "keresztnév", "utónév"),
    "last": ("last name", "vezetéknév", "családnév"),
    "email": (
        "email",
        "user email",
        "e-mail",
        "e-mail-cím",
        "e-mail cím",
        "felhasználói e-mail",
        "email address",
        "attendee email",
        "participant email",
    ),
    "join": (
        "join time",
        "csatlakozás időpontja",
        "csatlakozás ideje",
        "belépés ideje",
        "belépés időpontja",
        "time joined",
        "joined",
        "joined at",
    ),
    "leave": (
        "leave time",
        "kilépés időpontja",
        "kilépés ideje",
        "távozás ideje",
        "távozás időpontja",
        "time exited",
        "left",
        "left at",
    ),
    # "Total duration": the export with "Show unique users", one row per person and no times.
    "minutes": (
        "duration (minutes)",
        "időtartam (perc)",
        "időtartam (percben)",
        "időtartam",
        "total duration (minutes)",
        "teljes időtartam (perc)",
        "duration",
        "duration (mins)",
        "attendance duration",
        "time in session (minutes)",
        "munkamenetben töltött idő (perc)",
    ),
    "guest": ("guest", "vendég", "is guest"),
    "attended": ("attended", "részt vett"),  # Zoom's webinar report lists registrants who did not come
    # Zoom's newer export lists the time spent in the waiting room as rows of their own.
    "waiting": ("in waiting room", "várakozóteremben", "a várakozóteremben"),
    "role": ("role", "szerepkör", "participant type", "résztvevő típusa"),
}
# Header words that tell the platforms apart (only for what the import says it read).
_ZOOM_WORDS = frozenset(
    {"name (original name)", "név (eredeti név)", "user name (original name)", "user email", "guest", "vendég"}
    | {"is guest", "meeting id", "webinar id"}
)
_MEET_WORDS = frozenset({"first name", "last name", "time joined", "time exited", "keresztnév", "vezetéknév", "utónév"})
_WEBEX_WORDS = frozenset(
    {"meeting number", "connection type", "attendee name", "attendee email", "participant type", "attendance duration"}
)
_TEAMS_PARTICIPANTS = {
    "name": ("name", "név"),
    "join": ("first join", "első csatlakozás"),
    "leave": ("last leave", "utolsó kilépés", "utolsó távozás"),
    # "Értekezlet időtartama": what the Hungarian download writes over each person's in-meeting time.
    "duration": (
        "in-meeting duration",
        "értekezleten töltött idő",
        "értekezletben töltött idő",
        "értekezlet időtartama",
        "az értekezleten töltött idő",
    ),
    "email": ("email", "e-mail", "e-mail-cím"),
    "upn": ("participant id (upn)", "résztvevő azonosítója (upn)", "résztvevőazonosító (upn)"),
    "role": ("role", "szerepkör"),
}
_TEAMS_ACTIVITIES = {
    "name": ("name", "név"),
    "join": ("join time", "csatlakozás időpontja", "csatlakozás ideje"),
    "leave": ("leave time", "kilépés időpontja", "kilépés ideje", "távozás időpontja", "távozás ideje"),
    "duration": ("duration", "időtartam"),
    "email": ("email", "e-mail", "e-mail-cím"),
    "role": ("role", "szerepkör"),
}
# Teams' older attendance list and a live event's AttendeeReport.csv: one row per join or
# leave ("Full Name, User Action, Timestamp"; "SessionId, ParticipantId, FullName, UserAgent,
# UtcEventTimestamp, Action, Role"), paired here into sessions.
_EVENTS = {
    "name": ("full name", "fullname", "teljes név", "name", "név"),
    "email": ("participantid", "participant id", "email", "e-mail"),
    "action": ("user action", "action", "felhasználói művelet", "művelet"),
    "time": ("timestamp", "utceventtimestamp", "időbélyeg", "időbélyegző"),
    "session": ("sessionid", "session id"),
    "role": ("role", "szerepkör"),
}
_JOINED = frozenset({"joined", "joined before", "csatlakozott", "korábban csatlakozott", "belépett"})
_LEFT = frozenset({"left", "kilépett", "távozott"})
_SECTIONS = {
    "1. summary": "summary",
    "1. összegzés": "summary",
    "2. participants": "participants",
    "2. résztvevők": "participants",
    "3. in-meeting activities": "activities",
    "3. értekezleten belüli tevékenységek": "activities",
}
_HUNGARIAN_WORDS = ("név", "résztvevők", "összegzés", "csatlakozás")
_YES = frozenset({"yes", "igen", "true", "igaz", "1"})
_NO = frozenset({"no", "nem", "false", "hamis", "0"})
_DATE_FORMATS = (
    "%m/%d/%Y %I:%M:%S %p",  # Zoom (en-US): 03/11/2027 09:58:12 AM
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%y, %I:%M:%S %p",  # Teams (en-US): 3/11/27, 1:28:03 PM
    "%m/%d/%Y, %I:%M:%S %p",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y, %H:%M:%S",
    "%Y.%m.%d. %I:%M:%S %p",  # with de./du.
    "%Y.%m.%d. %H:%M:%S",  # Hungarian: 2027.03.11. 13:28:03, 2027. 03. 11. 13:28:03
    "%Y.%m.%d. %H:%M",
    "%Y.%m.%d %H:%M:%S",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%d.%m.%Y %H:%M:%S",
    "%b %d, %Y %H:%M:%S",  # Zoom's webinar report: Jun 18, 2026 09:58:12
    "%b %d, %Y %I:%M:%S %p",
    "%b %d, %Y %I:%M %p",
)
_DAY_FIRST = re.compile(r"^\s*(\d{1,2})/(\d{1,2})/")
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}")
_BUDAPEST = ZoneInfo("Europe/Budapest")
# "1h 52m 3s" (Teams), "1 hr 5 min" (Meet), "65 mins" (Webex), "1ó 5p", "1 óra 5 perc 3 mp".
_DURATION = re.compile(
    r"^(?:(\d+)\s*(?:h|hrs?|hours?|óra|ó)\.?\s*)?"
    r"(?:(\d+)\s*(?:m|mins?|minutes?|p|perc)\.?\s*)?"
    r"(?:(\d+)\s*(?:s|secs?|seconds?|mp|másodperc)\.?\s*)?$"
)
_CLOCK = re.compile(r"^(\d+):([0-5]\d):([0-5]\d)$")  # 1:05:00, an Excel duration cell
_NUMBER = re.compile(r"^\d+(?:[.,]\d+)?$")
_TIME_ONLY = re.compile(r"^\s*(?:(?:de|du)\.\s*)?\d{1,2}[:.]\d{2}(?::\d{2})?\s*(?:[ap]\.?m\.?)?\s*$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Session:
    """One join to leave of one device, as the report gives it (local naive times)."""

    row: int  # the line of the file
    name: str
    email: str  # "" when the platform knows none (a guest)
    joined: dt.datetime | None
    left: dt.datetime | None
    minutes: float | None  # the report's own duration
    guest: bool = False
    role: str = ""
    # Teams' "2. Participants" row: the times are the first join and the last
    # leave of several sessions, so ``minutes`` (the in-meeting duration) counts.
    summed: bool = False


@dataclass(frozen=True)
class AttendanceReport:
    path: Path
    platform: str  # the layout: "zoom" (a participant table: Zoom, Webex, Meet) or "teams" (sections)
    language: str  # "en" or "hu"
    sessions: tuple[Session, ...]
    sha256: str
    summary: tuple[tuple[str, str], ...] = ()  # Zoom's meeting block / Teams' "1. Summary", as written
    # Whose export a participant table looks like: "zoom", "webex", "meet" or "other".
    source: str = ""

    @property
    def vendor(self) -> str:
        """Whose export it was, as the sent log keeps it and the import names it: the source, else the layout."""
        return self.source or self.platform


@dataclass(frozen=True)
class Attendee:
    """One person over all their sessions: minutes without double counting."""

    key: str  # lower-cased address, else "name:" + the name's key
    name: str
    email: str
    minutes: float
    sessions: int
    first_join: dt.datetime | None
    last_leave: dt.datetime | None
    guest: bool
    rows: tuple[int, ...] = ()  # the file's lines of its sessions
    written: str = ""  # the first name as the platform wrote it, "(original name)" and all


def load_attendance(path: Path | str) -> AttendanceReport:
    """Read a Zoom, Teams, Webex or Google Meet attendance export (CSV or workbook); one clear line otherwise."""
    path = Path(path)
    tables, data = _read_tables(path)
    sha = hashlib.sha256(data).hexdigest()
    for rows in tables:  # a workbook's sheets in turn: the first that is a report counts
        report = _recognise(path, rows, sha)
        if report is not None and not report.sessions:
            # Imported, it would make every registrant absent: the recording letter to all of them.
            raise RecipientsError(
                _("the report lists nobody who attended: download it again after the meeting has ended"), file=path
            )
        if report is not None:
            return report
    raise RecipientsError(_("not an attendance report: {expected}").format(expected=_(EXPECTED)), file=path)


def _recognise(path: Path, rows: list[tuple[int, list[str]]], sha: str) -> AttendanceReport | None:
    texts = [_key(" ".join(c for c in cells if c.strip())) for _, cells in rows]
    if any(t in _SECTIONS for t in texts):
        return _teams(path, rows, sha)
    for index, (_number, cells) in enumerate(rows):  # not '_': that is the translation function
        if {"name", "join", "duration"} <= set(_columns(cells, _TEAMS_PARTICIPANTS)):
            # Teams' participants table on its own (copied out, or a workbook's sheet)
            sessions = _teams_table(path, rows[index:], _TEAMS_PARTICIPANTS)
            return AttendanceReport(path, "teams", _language(cells), tuple(sessions), sha)
        events = _columns(cells, _EVENTS)
        if {"name", "action", "time"} <= set(events):
            return AttendanceReport(path, "teams", _language(cells), tuple(_event_sessions(path, rows, index)), sha)
        found = _columns(cells, _TABLE)
        if _is_table_header(found):
            return _table(path, rows, index, found, sha)
    return None


def _read_tables(path: Path) -> tuple[list[list[tuple[int, list[str]]]], bytes]:
    if not path.is_file():
        raise RecipientsError(_("file not found") if not path.exists() else _("not a file"), file=path)
    data = path.read_bytes()
    if not data.strip():
        raise RecipientsError(_("the file is empty: {expected}").format(expected=_(EXPECTED)), file=path)
    if len(data) > MAX_BYTES:
        raise RecipientsError(
            _("larger than {max_bytes} MB: not an attendance report").format(max_bytes=MAX_BYTES // 2**20), file=path
        )
    if path.suffix.lower() in WORKBOOK_SUFFIXES:  # downloaded as, or saved again as, a workbook
        with open_sheets(path, ALL_SHEETS) as sheets:
            # A name starting with "=" saved by a script is a formula without a value: keep its text.
            tables = [
                [(r.number, [c.strip() or r.formulas.get(i, "") for i, c in enumerate(r.cells)]) for r in sheet.rows]
                for sheet in sheets
            ]
        return tables, data
    return [_text_rows(path, data)], data


def _text_rows(path: Path, data: bytes) -> list[tuple[int, list[str]]]:
    try:
        encoding = detect_encoding(path)
        text = data.decode(encoding)
    except (RecipientsError, UnicodeDecodeError):
        raise RecipientsError(_("not a text file: {expected}").format(expected=_(EXPECTED)), file=path) from None
    text = text.lstrip("\ufeff")
    lines = text.splitlines()
    head = "\n".join(lines[:40])
    delimiter = "\t" if head.count("\t") > max(head.count(","), head.count(";")) else ","
    if delimiter == "," and head.count(";") > head.count(","):
        delimiter = ";"  # a report opened and re-saved by Hungarian Excel
    try:
        reader = csv.reader(lines, delimiter=delimiter, quotechar='"', strict=False)
        return [(n, [c.strip() for c in cells]) for n, cells in enumerate(reader, start=1)]
    except csv.Error as error:
        raise RecipientsError(_("broken CSV ({error})").format(error=error), file=path) from None


def _key(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).replace("\u00a0", " ").split()).casefold()


def _columns(cells: Sequence[str], aliases: Mapping[str, tuple[str, ...]]) -> dict[str, int]:
    """field → column index for a header row (the first column of each field)."""
    found: dict[str, int] = {}
    keys = [_key(c) for c in cells]
    for field, names in aliases.items():
        for name in names:
            if name in keys:
                found[field] = keys.index(name)
                break
    return found


def _language(cells: Iterable[str]) -> str:
    joined = " ".join(_key(c) for c in cells)
    return "hu" if any(word in joined for word in _HUNGARIAN_WORDS) else "en"


def _cell(cells: Sequence[str], index: int | None) -> str:
    return cells[index].strip() if index is not None and index < len(cells) else ""


def _table(
    path: Path, rows: list[tuple[int, list[str]]], header: int, cols: dict[str, int], sha: str
) -> AttendanceReport:
    """Zoom's participants (one row per session), Webex's (the same) or Meet's (one row per person).

    Zoom's webinar report holds several tables one after the other ("Host Details",
    "Panelist Details", "Attendee Details"), each under its own title and header:
    a later header row switches the columns, a title row alone is skipped."""
    summary = _pairs(rows[:header])
    sessions = []
    first = day_first(cell for _, cells in rows[header + 1 :] for cell in cells)
    heading = rows[header][1]
    keys = {_key(c) for c in heading} | {_key(k) for k, _v in summary}
    for number, cells in rows[header + 1 :]:
        found = _columns(cells, _TABLE)
        if _is_table_header(found):
            heading, cols = cells, found
            keys |= {_key(c) for c in cells}
            continue
        filled = [c for c in cells if c]
        if len(filled) <= 1 or _guest(_cell(cells, cols.get("waiting"))):  # a title; the waiting room
            continue
        if _cell(cells, cols.get("attended")).casefold() in _NO:  # a webinar's registrant who did not come
            continue
        sessions.append(_table_session(path, number, cells, cols, heading, first))
    source = (
        "zoom" if keys & _ZOOM_WORDS else "meet" if keys & _MEET_WORDS else "webex" if keys & _WEBEX_WORDS else "other"
    )
    return AttendanceReport(path, "zoom", _language(rows[header][1]), tuple(sessions), sha, summary, source)


def _is_table_header(found: Mapping[str, int]) -> bool:
    named = "name" in found or "first" in found or "last" in found
    return named and ({"join", "leave"} <= set(found) or "minutes" in found)


def _table_session(
    path: Path, number: int, cells: list[str], cols: Mapping[str, int], heading: list[str], first: bool
) -> Session:
    timeless = "minutes" in cols  # Meet's "9:58 AM" has no date: its duration counts instead
    # "Total duration" (Zoom's unique users): the times are the first join and the last leave.
    totals = timeless and _key(_cell(heading, cols["minutes"])).startswith(("total", "teljes"))
    name = _cell(cells, cols.get("name")) or " ".join(
        part for part in (_cell(cells, cols.get("first")), _cell(cells, cols.get("last"))) if part
    )
    joined, left = (
        None
        if timeless and _TIME_ONLY.match(text)
        else parse_time(text, day_first=first, column=field, file=path, row=number)
        for field in ("join", "leave")
        for text in [_cell(cells, cols.get(field))]
    )
    return Session(
        number,
        name,
        _cell(cells, cols.get("email")),
        joined,
        left,
        _minutes(_cell(cells, cols.get("minutes")), file=path, row=number),
        _guest(_cell(cells, cols.get("guest"))),
        _cell(cells, cols.get("role")),
        summed=totals,
    )


def _pairs(rows: Sequence[tuple[int, list[str]]]) -> tuple[tuple[str, str], ...]:
    """Zoom's meeting block (a header row over a value row) or Teams' key<TAB>value lines."""
    filled = [cells for _, cells in rows if any(cells)]
    if len(filled) == 2 and len(filled[0]) > 2:
        return tuple((k, v) for k, v in zip(filled[0], filled[1], strict=False) if k)
    return tuple((cells[0], cells[1] if len(cells) > 1 else "") for cells in filled if cells[0])


def _teams(path: Path, rows: list[tuple[int, list[str]]], sha: str) -> AttendanceReport:
    sections: dict[str, list[tuple[int, list[str]]]] = {}
    current = None
    for number, cells in rows:
        title = _SECTIONS.get(_key(" ".join(c for c in cells if c)))
        if title is not None:
            current = title
            sections[title] = []
        elif current is not None:
            sections[current].append((number, cells))
    if "participants" not in sections:
        raise RecipientsError(
            _("a Teams report without its '2. Participants' section: {expected}").format(expected=_(EXPECTED)),
            file=path,
        )
    language = _language(c for _, cells in rows[:1] for c in cells)
    activities = _teams_table(path, sections.get("activities", []), _TEAMS_ACTIVITIES)
    sessions = activities or _teams_table(path, sections["participants"], _TEAMS_PARTICIPANTS)
    return AttendanceReport(path, "teams", language, tuple(sessions), sha, _pairs(sections.get("summary", [])))


def _teams_table(
    path: Path, rows: list[tuple[int, list[str]]], aliases: Mapping[str, tuple[str, ...]]
) -> list[Session]:
    filled = [(n, cells) for n, cells in rows if any(cells)]
    if not filled:
        return []
    header_row, header = filled[0]
    cols = _columns(header, aliases)
    if "name" not in cols or "join" not in cols:
        raise RecipientsError(
            _("the section's header has no name and join-time columns: {expected}").format(expected=_(EXPECTED)),
            file=path,
            row=header_row,
        )
    if "upn" in aliases and "duration" not in cols:
        # First join to last leave would count the gaps; no minutes at all would thank nobody.
        raise RecipientsError(
            _(
                "the participants table has no in-meeting duration column (e.g. 'In-Meeting Duration', "
                "'Értekezlet időtartama') and the report has no '3. In-Meeting Activities' section"
            ),
            file=path,
            row=header_row,
        )
    sessions = []
    first = day_first(_cell(cells, cols.get(f)) for _, cells in filled[1:] for f in ("join", "leave"))
    for number, cells in filled[1:]:
        email = _cell(cells, cols.get("email")) or _upn(_cell(cells, cols.get("upn")))
        sessions.append(
            Session(
                number,
                _cell(cells, cols["name"]),
                email,
                parse_time(_cell(cells, cols["join"]), day_first=first, column="join", file=path, row=number),
                parse_time(_cell(cells, cols.get("leave")), day_first=first, column="leave", file=path, row=number),
                parse_duration(_cell(cells, cols.get("duration")), file=path, row=number),
                guest=not email,
                role=_cell(cells, cols.get("role")),
                summed="upn" in aliases,
            )
        )
    return sessions


def _event_sessions(path: Path, rows: list[tuple[int, list[str]]], header: int) -> list[Session]:
    """Join and leave rows paired per person (and live-event session) in time order.  A leave
    without a join ("Joined before" the list began) starts at the list's first moment; a join
    without a leave (still in when it was downloaded) ends at its last."""
    head = rows[header][1]
    cols = _columns(head, _EVENTS)
    utc = _key(head[cols["time"]]) == "utceventtimestamp"
    filled = [(n, cells) for n, cells in rows[header + 1 :] if any(cells)]
    first = day_first(_cell(cells, cols["time"]) for _, cells in filled)
    events = []
    for number, cells in filled:
        moment = parse_time(_cell(cells, cols["time"]), day_first=first, file=path, row=number, column="timestamp")
        action = _key(_cell(cells, cols["action"]))
        if moment is None or action not in _JOINED | _LEFT:
            raise RecipientsError(
                _("not a join or leave with its time: {text} (expected e.g. Joined, Left)").format(
                    text=quoted(_cell(cells, cols["action"]))
                ),
                file=path,
                row=number,
                column="action",
            )
        if utc:
            moment = moment.replace(tzinfo=dt.UTC).astimezone(_BUDAPEST).replace(tzinfo=None)
        events.append((moment, number, action in _JOINED, cells))
    events.sort(key=lambda e: (e[0], e[1]))
    if not events:
        return []
    start, end = events[0][0], events[-1][0]
    open_: dict[tuple[str, str], tuple[int, dt.datetime]] = {}
    spans: list[tuple[int, list[str], dt.datetime, dt.datetime]] = []
    for moment, number, joined, cells in events:
        email = _upn(_cell(cells, cols.get("email")))
        name = _cell(cells, cols["name"])
        who = (email.casefold() or "name:" + name_key(name), _cell(cells, cols.get("session")))
        if joined:
            open_.setdefault(who, (number, moment))  # a repeated join keeps the first
        else:
            begun = open_.pop(who, (number, start))
            spans.append((begun[0], cells, begun[1], moment))
    spans += [(number, cells, moment, end) for (number, moment), cells in _open_rows(open_, events)]
    return [
        Session(
            number,
            _cell(cells, cols["name"]),
            _upn(_cell(cells, cols.get("email"))),
            joined_at,
            left_at,
            None,
            guest=not _upn(_cell(cells, cols.get("email"))),
            role=_cell(cells, cols.get("role")),
        )
        for number, cells, joined_at, left_at in sorted(spans, key=lambda span: span[0])
    ]


def _open_rows(
    open_: Mapping[tuple[str, str], tuple[int, dt.datetime]], events: Sequence[tuple[dt.datetime, int, bool, list[str]]]
) -> list[tuple[tuple[int, dt.datetime], list[str]]]:
    by_row = {number: cells for _m, number, _j, cells in events}
    return [(begun, by_row[begun[0]]) for begun in open_.values()]


def _upn(text: str) -> str:
    return text if "@" in text else ""  # a guest's "participant ID" is not an address


def day_first(cells: Iterable[str]) -> bool:
    """Whether a report writes 18/06/2020 (en-GB) rather than 06/18/2020 (en-US): some
    day in it is above 12.  A report whose days are all 12 or less reads the same either way
    for the minutes, which are differences within one day."""
    return any(int(m[1]) > 12 for cell in cells if (m := _DAY_FIRST.match(cell)))


def parse_time(
    text: str,
    *,
    day_first: bool = False,
    file: Path | None = None,
    row: int | None = None,
    column: str = "",
) -> dt.datetime | None:
    """A report's local date and time; None for an empty cell, one clear line for garbage."""
    cleaned = " ".join(text.replace("\u202f", " ").replace("\u00a0", " ").split())
    if not cleaned or cleaned == "--":  # "--": Zoom's webinar report for a time it has not
        return None
    if _ISO.match(cleaned):  # Webex, Meet and workbook cells: 2026-06-18T07:58:12Z, …+02:00, 2026-06-18 09:58
        try:
            moment = dt.datetime.fromisoformat(cleaned.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:  # an offset is converted to Budapest time: the rest of the report is local
            return moment.astimezone(_BUDAPEST).replace(tzinfo=None) if moment.tzinfo else moment
    cleaned = re.sub(r"\b(de|du)\.\s*(.*)$", lambda m: f"{m[2]} {'AM' if m[1] == 'de' else 'PM'}", cleaned)
    cleaned = re.sub(r"(\d{4})\. ?(\d{1,2})\. ?(\d{1,2})\.?", r"\1.\2.\3.", cleaned)
    for pattern in _DATE_FORMATS:
        if day_first:
            pattern = pattern.replace("%m/%d/", "%d/%m/")
        try:
            moment = dt.datetime.strptime(cleaned, pattern)  # noqa: DTZ007 - the report's own local (Budapest) time
        except ValueError:
            continue
        if moment.year >= 2000:  # "%Y" also takes "27": that is the "%y" pattern's job
            return moment
    raise RecipientsError(
        _("not a date and time: {text} (expected e.g. 03/11/2027 09:58:12 AM)").format(text=quoted(text)),
        file=file,
        row=row,
        column=column,
    )


def parse_duration(text: str, *, file: Path | None = None, row: int | None = None) -> float | None:
    """``1h 52m 3s`` (Teams) → 112.05 minutes, ``65`` → 65 minutes, ``1:05:00`` → 65; None for an empty cell."""
    cleaned = " ".join(text.replace("\u00a0", " ").split()).casefold()
    if not cleaned:
        return None
    if _NUMBER.match(cleaned):
        return float(cleaned.replace(",", "."))
    clock = _CLOCK.match(cleaned)
    if clock:
        return int(clock[1]) * 60 + int(clock[2]) + int(clock[3]) / 60
    match = _DURATION.match(cleaned)
    if not match or not any(match.groups()):
        raise RecipientsError(
            _("not a duration: {text} (expected e.g. 1h 52m 3s)").format(text=quoted(text)),
            file=file,
            row=row,
            column="duration",
        )
    hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return hours * 60 + minutes + seconds / 60


def _minutes(text: str, *, file: Path, row: int) -> float | None:
    cleaned = text.strip()
    if not cleaned or cleaned == "--":
        return None
    if cleaned.startswith("-") and _NUMBER.match(cleaned[1:]):
        raise RecipientsError(
            _("a negative duration: {text}").format(text=quoted(text)), file=file, row=row, column="duration"
        )
    # 65, "65,5", "65 mins" (Webex), "1 hr 5 min" (Meet); not "nan" or "1e309", which float() would take
    return parse_duration(cleaned, file=file, row=row)


def _guest(text: str) -> bool:
    # Only informative (who had no account): an unexpected word must not stop an import.
    return text.strip().casefold() in _YES


# --- minutes per person -------------------------------------------------------------


def person_key(session: Session) -> str:
    """Sessions of one person: the same address (any case), else the same name (Zoom's
    "(original name)" dropped, accents and case ignored)."""
    if session.email.strip():
        return session.email.strip().casefold()
    name = name_key(display_name(session.name))
    return "name:" + name if name else f"row:{session.row}"  # nameless guests are not one person


def display_name(name: str) -> str:
    """``"Kiss Ödön (Ödön iPhone)"`` → ``"Kiss Ödön"``: Zoom shows a renamed
    participant as "new name (original name)"."""
    stripped = re.sub(r"\s*\([^()]*\)\s*$", "", name).strip()
    return stripped or name.strip()


def name_key(name: str) -> str:
    """Case, accents, punctuation and titles (dr., ifj., id., özv.) ignored."""
    decomposed = unicodedata.normalize("NFKD", name).casefold()
    bare = "".join(ch if ch.isalnum() else " " for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(w for w in bare.split() if w not in {"dr", "ifj", "id", "ozv", "prof", "phd"})


def union_minutes(intervals: Iterable[tuple[dt.datetime, dt.datetime]]) -> float:
    """Minutes covered by the intervals, overlaps counted once."""
    total = dt.timedelta()
    end: dt.datetime | None = None
    start: dt.datetime | None = None
    for a, b in sorted(intervals):
        if b < a:
            a, b = b, a
        if end is None or a > end:
            if end is not None and start is not None:
                total += end - start
            start, end = a, b
        else:
            end = max(end, b)
    if end is not None and start is not None:
        total += end - start
    return total.total_seconds() / 60


def minutes_by_person(sessions: Iterable[Session]) -> list[Attendee]:
    """One :class:`Attendee` per person (:func:`person_key`), in order of first appearance."""
    groups: dict[str, list[Session]] = {}
    for session in sessions:
        groups.setdefault(person_key(session), []).append(session)
    return [summarise(key, group) for key, group in groups.items()]


def summarise(key: str, group: Sequence[Session]) -> Attendee:
    """The sessions of one person as one :class:`Attendee`.

    Sessions with both times count as their union (a rejoin's gap is not
    attendance, two devices at once count once); a session without both
    times, or a Teams participants row, adds the report's own duration.
    """
    timed = [s for s in group if s.joined is not None and s.left is not None and not s.summed]
    minutes = union_minutes((s.joined, s.left) for s in timed if s.joined and s.left)
    summed = [s for s in group if s.summed]
    minutes += sum(s.minutes or 0.0 for s in group if s not in timed and not s.summed)
    total = sum(s.minutes or 0.0 for s in summed)
    spans = [(s.joined, s.left) for s in summed if s.joined and s.left]
    if summed and len(spans) == len(summed):  # a laptop and a phone inside its time: not both
        total = min(total, union_minutes(spans))
    minutes += total
    joins = [s.joined for s in group if s.joined is not None]
    leaves = [s.left for s in group if s.left is not None]
    return Attendee(
        key,
        next((display_name(s.name) for s in group if s.name.strip()), ""),
        next((s.email.strip() for s in group if s.email.strip()), ""),
        round(minutes, 2),
        len(group),
        min(joins) if joins else None,
        max(leaves) if leaves else None,
        all(s.guest for s in group),
        tuple(sorted({s.row for s in group})),
        next((s.name.strip() for s in group if s.name.strip()), ""),
    )


__all__ = [
    "EXPECTED",
    "AttendanceReport",
    "Attendee",
    "Session",
    "day_first",
    "display_name",
    "load_attendance",
    "minutes_by_person",
    "name_key",
    "parse_duration",
    "parse_time",
    "person_key",
    "summarise",
    "union_minutes",
]
