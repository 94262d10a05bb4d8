"""``init``: a campaign folder for a new conference, or (``--example``) a copy of the shipped example.

A new conference gets a fresh event file written from the values given
(title, date, times, platform, registration link) with an agenda marked
``KITÖLTENDŐ`` (to fill in), a fresh ``campaign_id``, and empty
``recipients/`` and ``registrations/`` folders with one README line each.
Nothing of the example conference (its sheet, registrants, UID or letter)
comes along: the toml names only the files written here.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from lgp_mailer.config import CAMPAIGN_FILE, new_campaign_id, shipped_root
from lgp_mailer.errors import ConfigError
from lgp_mailer.event import load_event
from lgp_mailer.i18n import _
from lgp_mailer.quoting import quoted

_COPIED = ("templates", "events", "recipients", "registrations", "logos")
# Marks what the office still has to write; check warns while it is there.
TO_FILL = "KITÖLTENDŐ"
SHEET_NAME = "cimlista.xlsx"
REGISTRATIONS_NAME = "regisztraciok.csv"
_READMES = {
    "recipients": f"Put the contact sheet (the municipalities' addresses) here as {SHEET_NAME}, "
    "or set 'recipients' in lgp-mailer.toml to its name.\n",
    "registrations": f"Put the registration form's export (CSV or XLSX) here as {REGISTRATIONS_NAME}, "
    "then uncomment 'registrations' in lgp-mailer.toml.\n",
    "templates": "Templates placed here (e.g. invitation.html.j2) replace the shipped ones of the same name.\n",
}


@dataclass(frozen=True)
class NewConference:
    """What ``init`` asks for a new conference."""

    title: str
    date: dt.date
    start: dt.time
    end: dt.time
    platform: str
    registration_url: str


def _empty_target(target: Path) -> Path:
    target = Path(target)
    if target.exists() and not target.is_dir():
        raise ConfigError(_("exists and is not a folder"), file=target)
    if (target / CAMPAIGN_FILE).exists():
        raise ConfigError(_("already holds a campaign; nothing was changed"), file=target / CAMPAIGN_FILE)
    if target.exists() and any(target.iterdir()):
        raise ConfigError(_("is not empty; choose a new or empty folder (nothing was changed)"), file=target)
    return target


def init_example(target: Path) -> Path:
    """Copy the shipped example (templates, events, sheet, registrations) with a fresh campaign_id."""
    target = _empty_target(target)
    source = shipped_root()
    target.mkdir(parents=True, exist_ok=True)
    for name in _COPIED:
        shutil.copytree(source / name, target / name, ignore=shutil.ignore_patterns("__pycache__"))
    text = (source / CAMPAIGN_FILE).read_text(encoding="utf-8")
    _write_toml(target, _set_campaign_id(text, new_campaign_id(f"lgp-{target.resolve().name}"), source))
    return target / CAMPAIGN_FILE


def init_campaign(target: Path, conference: NewConference) -> Path:
    """A campaign folder for ``conference``: its event file, an empty sheet folder, a fresh campaign_id."""
    _validate(conference)
    target = _empty_target(target)
    source = shipped_root()
    event_name = f"{conference.date.isoformat()}-{_slug(conference.title)}.toml"
    target.mkdir(parents=True, exist_ok=True)
    for folder, line in _READMES.items():
        (target / folder).mkdir()
        (target / folder / "README.txt").write_text(line, encoding="utf-8", newline="\n")
    (target / "events").mkdir()
    event_path = target / "events" / event_name
    event_path.write_text(event_text(conference), encoding="utf-8", newline="\n")
    load_event(event_path)  # what init writes must parse; a failure here is a bug, not the user's
    text = (source / CAMPAIGN_FILE).read_text(encoding="utf-8")
    fresh = new_campaign_id(f"lgp-{conference.date.isoformat()}-{_slug(conference.title)}")
    text = _set_campaign_id(text, fresh, source)
    text = _set_key(text, "event", f"events/{event_name}")
    text = _set_key(text, "recipients", f"recipients/{SHEET_NAME}")
    text = re.sub(
        r'(?m)^registrations = ".*?"(.*)$',
        f'# registrations = "registrations/{REGISTRATIONS_NAME}"  # the registration form\'s export, once you have it',
        text,
    )
    _write_toml(target, text)
    return target / CAMPAIGN_FILE


def _write_toml(target: Path, text: str) -> None:
    (target / CAMPAIGN_FILE).write_text(text, encoding="utf-8", newline="\n")


def _set_campaign_id(text: str, fresh: str, source: Path) -> str:
    text, count = re.subn(r'(?m)^campaign_id\s*=\s*".*"$', f'campaign_id = "{fresh}"', text)
    if count != 1:  # pragma: no cover - guards the shipped file's shape
        raise ConfigError(_("shipped campaign file has no campaign_id line"), file=source / CAMPAIGN_FILE)
    return text


def _set_key(text: str, key: str, value: str) -> str:
    text, count = re.subn(rf'(?m)^{key}\s*=\s*".*?"', f'{key} = "{value}"', text)
    if count != 1:  # pragma: no cover - guards the shipped file's shape
        raise ConfigError(_("shipped campaign file has no {key} line").format(key=key), key=key)
    return text


def _slug(title: str) -> str:
    ascii_ = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii").lower()
    words = re.sub(r"[^a-z0-9]+", " ", ascii_).split()
    return "-".join(words[:4]) or "konferencia"


def _validate(c: NewConference) -> None:
    for key, value in (("--title", c.title), ("--platform", c.platform)):
        if not value.strip() or "\n" in value:
            raise ConfigError(_("must be one non-empty line"), key=key)
    if re.match(r"(?i)^(https?://|www\.)", c.platform.strip()):
        raise ConfigError(
            _(
                "is a web address ({value}): give the platform's name (Zoom, Microsoft Teams, Webex …); "
                "its address goes in the event file's platform.url"
            ).format(value=quoted(c.platform.strip())),
            key="--platform",
        )
    if c.end <= c.start:
        raise ConfigError(
            _("the conference ends ({end:%H:%M}) before it starts ({start:%H:%M})").format(end=c.end, start=c.start),
            key="--end",
        )
    if not re.match(r"^https?://[^\s/]+\S*$", c.registration_url.strip()):
        raise ConfigError(
            _("not a web address: {registration_url}").format(registration_url=quoted(c.registration_url)),
            key="--registration-url",
        )


def _q(text: str) -> str:
    """A TOML basic string."""
    return '"' + text.strip().replace("\\", "\\\\").replace('"', '\\"') + '"'


def event_text(c: NewConference) -> str:
    """The new event file: the given values, the programme's standing data, an agenda to fill in."""
    example = load_event(shipped_root() / "events" / "2020-06-18-innovaciok.toml")
    return f"""# {c.title}: the conference file written by 'lgp-mailer init'.
# Everything the invitation says about the event comes from here.  Fill in every
# line that says {TO_FILL}; 'lgp-mailer check' warns while one is left.
# The calendar UID belongs to the campaign: do not add a [calendar] uid.

[programme]
name = {_q(example.programme_name)}
short_name = {_q(example.programme_short_name)}
year = {c.date.year}

[conference]
title = {_q(c.title)}
date = {c.date.isoformat()}
start = "{c.start:%H.%M}"
end = "{c.end:%H.%M}"

[platform]
name = {_q(c.platform)}

[registration]
url = {_q(c.registration_url)}
text = "Regisztrálni itt lehet; a csatlakozási linket a konferencia előtti napon küldjük el a regisztráltaknak:"
# closes = {c.date.isoformat()}T00:00:00   # when the form closes (local time); default: the day before

# [online]                                  # the join link, sent only to registrants the day before
# join_url = "https://..."

[contact]
office = {_q(example.contact_office)}
email = {_q(example.contact_email)}

# The agenda: one [[agenda]] per slot, in order.  Replace the {TO_FILL} lines.
[[agenda]]
start = "{c.start:%H.%M}"
end = "{c.end:%H.%M}"
title = "{TO_FILL}: a program pontjai (előadók, címek, időpontok)"
"""


def placeholder_lines(path: Path) -> list[int]:
    """The numbers of the event file's lines that still say :data:`TO_FILL` (comments aside)."""
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError):
        return []
    return [n for n, line in enumerate(lines, start=1) if TO_FILL in line and not line.lstrip().startswith("#")]


def placeholders(path: Path) -> list[str]:
    """The event file's lines that still say :data:`TO_FILL` (as ``line N``), for ``check``."""
    return [_("line {line}").format(line=n) for n in placeholder_lines(path)]
