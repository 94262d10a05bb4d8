"""The conference file (``events/*.toml``): load, validate, and expose as frozen data.

Everything the invitation says about a conference comes from this file; the
templates only arrange it.  Validation names the file and the dotted key
(``agenda[3].start``) so that an office can fix a typo without reading code.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lgp_mailer import address_reasons
from lgp_mailer.errors import EventError
from lgp_mailer.hungarian import article, starts_with_article
from lgp_mailer.i18n import _
from lgp_mailer.quoting import quoted

QA_TITLE = "Kérdések, válaszok, felvetések"


@dataclass(frozen=True)
class Paragraph:
    text: str
    url: str | None = None


@dataclass(frozen=True)
class Slot:
    start: dt.time
    end: dt.time
    title: str
    speaker: str | None = None
    role: str | None = None
    organisation: str | None = None
    qa: bool = False

    @property
    def presenter(self) -> bool:
        """A talk whose speaker is introduced (bold name, role, organisation, then title)."""
        return bool(self.speaker and (self.role or self.organisation))


@dataclass(frozen=True)
class SupporterLogo:
    """One ``[[supporters.logos]]`` entry: an image in the campaign folder and its alt text.

    ``file`` stays as written; mail/logos.py resolves it inside the campaign
    folder, which this module does not know.
    """

    file: str
    alt: str
    key: str  # "supporters.logos[1]", for error messages


@dataclass(frozen=True)
class Event:
    path: Path
    programme_name: str
    programme_short_name: str
    year: int
    title: str
    subtitle: str | None
    date: dt.date
    start: dt.time
    end: dt.time
    about: tuple[str, ...]
    platform_name: str
    platform_url: str | None
    platform_note: str | None
    help_start: dt.time | None
    help_text: str | None
    moderator_name: str | None
    moderator_role: str | None
    registration_url: str
    registration_text: str
    greeting: str | None
    intro: tuple[Paragraph, ...]
    body: tuple[Paragraph, ...]
    committee_lead: str | None
    committee_members: tuple[str, ...]
    committee_text: str | None
    agenda: tuple[Slot, ...]
    supporters_lead: str | None
    supporters: tuple[str, ...]
    contact_office: str
    contact_email: str
    contact_phone: str | None
    registration_closes: dt.datetime | None = None
    join_url: str | None = None
    meeting_id: str | None = None
    passcode: str | None = None
    calendar_uid: str | None = None
    title_article: str | None = None  # conference.title_article: "a" or "az", when the rule reads the title wrong
    supporter_logos: tuple[SupporterLogo, ...] = ()
    # [followup]: after the conference (lgp-mailer followup).
    attendance_minutes: int = 30  # who counts as "attended": at least this many minutes in the meeting
    recording_url: str | None = None
    slides_url: str | None = None
    recording_passcode: str | None = None

    @property
    def ends_at(self) -> dt.datetime:
        """Naive local (Europe/Budapest) end: follow-ups go only after it."""
        return dt.datetime.combine(self.date, self.end)

    @property
    def platform_kind(self) -> str:
        """``zoom``, ``teams`` or ``other``, from the platform's name: the reminder's wording follows it."""
        name = self.platform_name.casefold()
        return "zoom" if "zoom" in name else "teams" if "teams" in name else "other"

    @property
    def article_before_title(self) -> str:
        """``a``/``az`` before the title: the event file's choice, else by pronunciation;
        empty when the title starts with its own article (``Az „Okos Falu” díj``)."""
        if self.title_article:
            return self.title_article
        return "" if starts_with_article(self.title) else article(self.title)

    @property
    def title_lead(self) -> str:
        """What goes before the quoted title in a sentence: ``"az "``, ``"a "`` or nothing."""
        return f"{self.article_before_title} " if self.article_before_title else ""

    @property
    def starts_at(self) -> dt.datetime:
        """Naive local (Europe/Budapest) start; zone handling lives with the reminder window."""
        return dt.datetime.combine(self.date, self.start)

    @property
    def registration_deadline(self) -> dt.datetime | None:
        """``registration.closes`` as a letter may promise it: never after the start (naive local).

        A registration after the start gets no join link (reminders stop there), so
        "Regisztrálni … óráig lehet" must not name a later moment.
        """
        if self.registration_closes is None:
            return None
        return min(self.registration_closes, self.starts_at)


# key -> (required, kind); kinds: str, int, date, time, bool, strs, paras, url, email, article
_SCHEMA: dict[str, dict[str, tuple[bool, str]]] = {
    "programme": {"name": (True, "str"), "short_name": (False, "str"), "year": (True, "int")},
    "conference": {
        "title": (True, "str"),
        "subtitle": (False, "str"),
        "date": (True, "date"),
        "start": (True, "time"),
        "end": (True, "time"),
        "about": (False, "strs"),
        # The article before the title when the pronunciation rule gets it
        # wrong, e.g. an acronym read as a word: title_article = "a" for "SZTAKI".
        "title_article": (False, "article"),
    },
    "platform": {"name": (True, "str"), "url": (False, "url"), "note": (False, "str")},
    "technical_help": {"start": (True, "time"), "text": (True, "str")},
    "moderator": {"name": (True, "str"), "role": (False, "str")},
    "registration": {"url": (True, "url"), "text": (True, "str"), "closes": (False, "datetime")},
    # The join details go only to registrants, in the day-before reminder.
    "online": {"join_url": (True, "url"), "meeting_id": (False, "str"), "passcode": (False, "str")},
    "calendar": {"uid": (False, "str")},
    # After the conference: the thanks to attendees and the recording to the registrants who missed it.
    "followup": {
        "attendance_minutes": (False, "int"),
        "recording_url": (False, "url"),
        "slides_url": (False, "url"),
        "recording_passcode": (False, "str"),
    },
    "letter": {"greeting": (False, "str"), "intro": (False, "paras"), "body": (False, "paras")},
    "steering_committee": {"lead": (True, "str"), "members": (True, "strs"), "text": (False, "str")},
    "supporters": {"lead": (False, "str"), "names": (True, "strs")},
    "contact": {"office": (True, "str"), "email": (True, "email"), "phone": (False, "str")},
}
_REQUIRED_TABLES = ("programme", "conference", "platform", "registration", "contact")
_SLOT_SCHEMA: dict[str, tuple[bool, str]] = {
    "start": (True, "time"),
    "end": (True, "time"),
    "title": (False, "str"),
    "speaker": (False, "str"),
    "role": (False, "str"),
    "organisation": (False, "str"),
    "qa": (False, "bool"),
}
_TIME_RE = re.compile(r"^\s*(\d{1,2})[.:](\d{2})\s*$")


def _shown(value: Any) -> str:
    """A wrong value as the user wrote it: a TOML date or time as written, not as Python's repr."""
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return quoted(value)


_TEMPLATE_BRACES = ("{{", "}}", "{%", "%}")  # what render.py refuses in a letter
# The words render.py also refuses, as a missing value's trace ("None" pasted from an export).
_MISSING_WORDS = re.compile(r"\b(?:None|[Nn]a[Nn]|undefined)\b")


class _Reader:
    """Checks one file's values against the schema; every error names file and key."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def error(self, key: str, message: str) -> EventError:
        return EventError(message, file=self.path, key=key)

    def table(self, data: dict[str, Any], name: str, schema: dict[str, tuple[bool, str]]) -> dict[str, Any]:
        if name == "calendar" and "sequence" in data:
            raise self.error(
                "calendar.sequence",
                _(
                    "the calendar SEQUENCE is no longer set in the event file: the sent log keeps it "
                    "(each 'lgp-mailer notify --change' raises it); delete the line"
                ),
            )
        unknown = sorted(set(data) - set(schema))
        if unknown:
            key = f"{name}.{unknown[0]}" if name else unknown[0]
            raise self.error(key, _("unknown key (a typo? expected one of: {schema})").format(schema=", ".join(schema)))
        out: dict[str, Any] = {}
        for key, (required, kind) in schema.items():
            full = f"{name}.{key}" if name else key
            if key not in data:
                if required:
                    raise self.error(full, _("missing key"))
                out[key] = None
                continue
            out[key] = self.value(full, data[key], kind)
        return out

    def value(self, key: str, value: Any, kind: str) -> Any:
        if kind in ("str", "url"):
            if not isinstance(value, str) or not value.strip():
                raise self.error(key, _("must be a non-empty text, not {value}").format(value=_shown(value)))
            text = " ".join(value.split())
            if any(brace in text for brace in _TEMPLATE_BRACES):
                # The letter prints values, never runs them; the render's guard would then
                # blame the templates for a "{{" that came from this file.
                message = _("template braces in a value: {value}; write it without {{{{ }}}} or {{% %}}")
                raise self.error(key, message.format(value=_shown(value)))
            missing = _MISSING_WORDS.search(text)
            if missing:
                # Named here, or the render's guard blames the templates for it.
                message = _(
                    "{word} in a value reads as a missing value in the letter: {value}; "
                    "write the real value (or delete the line, if the key may be left out)"
                )
                raise self.error(key, message.format(word=quoted(missing.group()), value=_shown(value)))
            if kind == "url" and not re.match(r"^https?://[^\s/]+", text):
                raise self.error(key, _("not a web address: {value}").format(value=_shown(value)))
            return text
        if kind == "email":
            return self.email(key, self.value(key, value, "str"))
        if kind == "article":
            if not isinstance(value, str) or value.strip().lower() not in ("a", "az"):
                raise self.error(key, _('must be "a" or "az", not {value}').format(value=_shown(value)))
            return value.strip().lower()
        if kind == "int":
            if isinstance(value, bool) or not isinstance(value, int):
                raise self.error(key, _("must be a whole number, not {value}").format(value=_shown(value)))
            return value
        if kind == "bool":
            if not isinstance(value, bool):
                raise self.error(key, _("must be true or false, not {value}").format(value=_shown(value)))
            return value
        if kind == "datetime":
            if isinstance(value, dt.datetime) and value.tzinfo is None:
                return value
            raise self.error(
                key,
                _("bad date and time {value}: write local time as 2020-06-17T00:00:00 (no quotes)").format(
                    value=_shown(value)
                ),
            )
        if kind == "date":
            if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
                raise self.error(
                    key, _("bad date {value}: write it as 2020-06-18 (no quotes)").format(value=_shown(value))
                )
            return value
        if kind == "time":
            return self.time(key, value)
        if kind == "strs":
            if not isinstance(value, list) or not value:
                raise self.error(key, _("must be a non-empty list of texts"))
            return tuple(self.value(f"{key}[{i + 1}]", v, "str") for i, v in enumerate(value))
        if kind == "paras":
            if not isinstance(value, list):
                raise self.error(key, _("must be a list of paragraphs"))
            return tuple(self.paragraph(f"{key}[{i + 1}]", v) for i, v in enumerate(value))
        raise AssertionError(kind)

    def time(self, key: str, value: Any) -> dt.time:
        if isinstance(value, dt.time):
            return value.replace(second=0, microsecond=0)
        match = _TIME_RE.match(value) if isinstance(value, str) else None
        if match:
            hour, minute = int(match[1]), int(match[2])
            if hour < 24 and minute < 60:
                return dt.time(hour, minute)
        raise self.error(key, _('bad time {value}: write it as "10.00" or "9.30"').format(value=_shown(value)))

    def email(self, key: str, value: str) -> str:
        """The office's address: the letters print it and link it (mailto:)."""
        from email_validator import EmailNotValidError, validate_email  # noqa: PLC0415 - email_validator loads dnspython; only when an event is read

        try:
            validate_email(value, check_deliverability=False)
        except EmailNotValidError as exc:
            raise self.error(
                key,
                _("{value} is not an e-mail address: {exc}").format(
                    value=quoted(value), exc=address_reasons.reason(exc)
                ),
            ) from None
        return value

    def paragraph(self, key: str, value: Any) -> Paragraph:
        if isinstance(value, str):
            return Paragraph(self.value(key, value, "str"))
        if isinstance(value, dict):
            fields = self.table(value, key, {"text": (True, "str"), "url": (False, "url")})
            return Paragraph(fields["text"], fields["url"])
        raise self.error(key, _("a paragraph is a text or { text = ..., url = ... }"))


MIB = 1024 * 1024
# A conference file is a few KiB; TOML parsing and then rendering every letter with a
# 50 MB value took minutes and gigabytes, so a larger file is refused before parsing.
EVENT_BYTES = 1 * MIB


def load_event(path: Path) -> Event:
    """Read and validate a conference file, raising :class:`EventError` on any problem."""
    path = Path(path)
    if not path.is_file():
        raise EventError(_("event file not found") if not path.exists() else _("not a file"), file=path)
    try:
        with path.open("rb") as stream:
            raw = stream.read(EVENT_BYTES + 1)  # never the whole of a hostile or wrong file
    except OSError as exc:
        raise EventError(_("cannot read: {reason}").format(reason=exc.strerror or exc), file=path) from None
    if len(raw) > EVENT_BYTES:
        raise EventError(
            _("over {size} MiB: not a conference file (one is a few KiB)").format(size=EVENT_BYTES // MIB), file=path
        )
    try:
        # utf-8-sig: Windows Notepad starts UTF-8 files with a BOM, which TOML refuses.
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise EventError(_("not UTF-8 text; save the event file as UTF-8"), file=path) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _toml_error(path, text, exc) from None
    return _build(_Reader(path), data)


_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column \d+\)$")
# key = "text "inner" text": a straight quotation mark inside a text ends the text.
_STRAIGHT_INSIDE = re.compile(r'^\s*[\w.-]+\s*=\s*"[^"\\]*"[^"#]*\S[^"#]*"')


def _toml_error(path: Path, text: str, exc: tomllib.TOMLDecodeError) -> EventError:
    """The parser's complaint with its line as the error's ``line``, and a hint for the common case."""
    match = _TOML_POSITION.search(str(exc))
    line = int(match[1]) if match else None
    message = _("not valid TOML: {exc}").format(exc=_TOML_POSITION.sub("", str(exc)))
    lines = text.splitlines()
    if line is not None and 0 < line <= len(lines) and _STRAIGHT_INSIDE.match(lines[line - 1]):
        message += "; " + _('a " inside a text ends it: write the inner quotation marks as „…”')
    return EventError(message, file=path, line=line)


def _build(r: _Reader, data: dict[str, Any]) -> Event:
    unknown = sorted(set(data) - set(_SCHEMA) - {"agenda"})
    if unknown:
        raise r.error(
            unknown[0], _("unknown table (a typo? expected: {tables})").format(tables=", ".join([*_SCHEMA, "agenda"]))
        )
    for name in _REQUIRED_TABLES:
        if name not in data:
            raise r.error(name, _("missing table"))
    t: dict[str, dict[str, Any]] = {}
    logos: tuple[SupporterLogo, ...] = ()
    for name, schema in _SCHEMA.items():
        raw = data.get(name)
        if raw is not None and not isinstance(raw, dict):
            raise r.error(name, _("must be a table ([name])"))
        if name == "supporters" and raw is not None and "logos" in raw:
            raw = dict(raw)
            logos = _logos(r, raw.pop("logos"))
        t[name] = r.table(raw, name, schema) if raw is not None else dict.fromkeys(schema)
    conf = t["conference"]
    if conf["end"] <= conf["start"]:
        message = _("ends ({end:%H:%M}) before it starts ({start:%H:%M})").format(end=conf["end"], start=conf["start"])
        if conf["end"] < conf["start"]:  # most likely an evening that runs past midnight
            message += "; " + _("a conference ends on the day it starts: one past midnight cannot be written")
        raise r.error("conference.end", message)
    if re.match(r"(?i)^(https?://|www\.)", t["platform"]["name"]):
        # The letter says "a {name} alkalmazással" and "{name} virtuális teremben".
        raise r.error(
            "platform.name",
            _(
                "is a web address ({value}): name the platform here (Zoom, Microsoft Teams, Webex …) "
                "and put the address in platform.url"
            ).format(value=quoted(t["platform"]["name"])),
        )
    help_start = t["technical_help"]["start"]
    if help_start is not None and help_start > conf["start"]:
        raise r.error("technical_help.start", _("technical help must open before the conference starts"))
    agenda = _agenda(r, data.get("agenda"))
    threshold = t["followup"]["attendance_minutes"]
    length = dt.datetime.combine(conf["date"], conf["end"]) - dt.datetime.combine(conf["date"], conf["start"])
    if threshold is not None and not 0 <= threshold <= length.total_seconds() // 60:
        raise r.error(
            "followup.attendance_minutes",
            _("must be between 0 and the conference's length ({total_seconds} minutes), not {threshold}").format(
                total_seconds=int(length.total_seconds() // 60), threshold=threshold
            ),
        )
    letter, committee, supporters = t["letter"], t["steering_committee"], t["supporters"]
    return Event(
        path=r.path,
        programme_name=t["programme"]["name"],
        programme_short_name=t["programme"]["short_name"] or t["programme"]["name"],
        year=t["programme"]["year"],
        title=conf["title"],
        subtitle=conf["subtitle"],
        date=conf["date"],
        start=conf["start"],
        end=conf["end"],
        about=conf["about"] or (),
        platform_name=t["platform"]["name"],
        platform_url=t["platform"]["url"],
        platform_note=t["platform"]["note"],
        help_start=help_start,
        help_text=t["technical_help"]["text"],
        moderator_name=t["moderator"]["name"],
        moderator_role=t["moderator"]["role"],
        registration_url=t["registration"]["url"],
        registration_text=t["registration"]["text"],
        greeting=letter["greeting"],
        intro=letter["intro"] or (),
        body=letter["body"] or (),
        committee_lead=committee["lead"],
        committee_members=committee["members"] or (),
        committee_text=committee["text"],
        agenda=agenda,
        supporters_lead=supporters["lead"],
        supporters=supporters["names"] or (),
        contact_office=t["contact"]["office"],
        contact_email=t["contact"]["email"],
        contact_phone=t["contact"]["phone"],
        registration_closes=t["registration"]["closes"],
        join_url=t["online"]["join_url"],
        meeting_id=t["online"]["meeting_id"],
        passcode=t["online"]["passcode"],
        calendar_uid=t["calendar"]["uid"],
        title_article=conf["title_article"],
        attendance_minutes=30 if threshold is None else threshold,
        recording_url=t["followup"]["recording_url"],
        slides_url=t["followup"]["slides_url"],
        recording_passcode=t["followup"]["recording_passcode"],
        supporter_logos=logos,
    )


def _logos(r: _Reader, raw: Any) -> tuple[SupporterLogo, ...]:
    """``[[supporters.logos]]``: each with ``file`` (inside the campaign folder) and ``alt`` text."""
    if not isinstance(raw, list):
        raise r.error("supporters.logos", _("must be a list of [[supporters.logos]] tables with file and alt"))
    logos = []
    for i, item in enumerate(raw, start=1):
        key = f"supporters.logos[{i}]"
        if not isinstance(item, dict):
            raise r.error(key, _("must be a table with file and alt"))
        fields = r.table(item, key, {"file": (True, "str"), "alt": (True, "str")})
        if "\0" in fields["file"]:  # pathlib would raise ValueError
            raise r.error(f"{key}.file", _("a path cannot hold a NUL character (U+0000)"))
        logos.append(SupporterLogo(fields["file"], fields["alt"], key))
    return tuple(logos)


def _agenda(r: _Reader, raw: Any) -> tuple[Slot, ...]:
    if raw is None:
        raise r.error("agenda", _("missing: add at least one [[agenda]] slot"))
    if not isinstance(raw, list) or not raw:
        raise r.error("agenda", _("must be a list of [[agenda]] slots"))
    slots: list[Slot] = []
    for i, item in enumerate(raw, start=1):
        key = f"agenda[{i}]"
        if not isinstance(item, dict):
            raise r.error(key, _("must be a table"))
        f = r.table(item, key, _SLOT_SCHEMA)
        qa = bool(f["qa"])
        title = f["title"] or (QA_TITLE if qa else None)
        if title is None:
            raise r.error(f"{key}.title", _("missing key (only a qa = true slot may leave out its title)"))
        if f["end"] <= f["start"]:
            raise r.error(
                f"{key}.end",
                _("slot ends ({end:%H:%M}) before it starts ({start:%H:%M})").format(end=f["end"], start=f["start"]),
            )
        if slots and f["start"] < slots[-1].end:
            raise r.error(
                f"{key}.start",
                _(
                    "slot starts at {start:%H:%M}, before the previous slot ends ({end:%H:%M}): slots overlap "
                    "or go backwards"
                ).format(start=f["start"], end=slots[-1].end),
            )
        slots.append(Slot(f["start"], f["end"], title, f["speaker"], f["role"], f["organisation"], qa))
    return tuple(slots)
