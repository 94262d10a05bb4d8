"""The one declared list of message kinds: what each kind is, in one entry.

A kind is a letter the campaign sends: the invitation, the day-before
reminder with the join link, the nudge to register, and after the conference
the thanks to attendees and the recording to registrants who missed it.  Everything that differs
between kinds is declared here, and every other module reads it from here:

* ``name``: the id in the sent log, in Message-IDs and on the command line;
* ``label``: the Hungarian name in exports (Hungarian whatever the interface language);
* ``title``: the name the interface shows (English source, marked with ``N_``
  and translated where it is shown, see :func:`title`);
* ``template``: the prefix of its three templates
  (``<template>.subject.j2``, ``.txt.j2``, ``.html.j2``);
* ``calendar_method``, ``sequence_offset``, ``join_link``: the calendar entry
  it carries (``None``: none), the offset added to the revision's SEQUENCE
  (``2 * revision``, see ``campaign.revisions``; the reminder updates the
  invitation's entry, so it adds 1), and whether the entry carries the join
  link instead of the registration link;
* ``calendar_status``: the entry's STATUS (the cancellation's is CANCELLED);
* ``revisioned``: one sent-log kind per revision of the event (``change-r2``),
  so each recipient gets each revision's notice exactly once;
* ``needs_join_url``: it cannot be sent without ``[online] join_url``;
* ``needs_recording_url``: it cannot be sent without ``[followup] recording_url``;
* ``audience``: who is due for it (one of :data:`AUDIENCES`);
* ``command``: the command that sends it, as ``status`` and hints print it.

Adding a kind means one :func:`register` call, its templates and its tests.
The registry is read at run time, so a kind registered after import (a test,
a plug-in) is as good as a shipped one.
"""

from __future__ import annotations

from dataclasses import dataclass

from lgp_mailer.errors import ConfigError
from lgp_mailer.i18n import N_, _
from lgp_mailer.quoting import quoted

# Who is due for a kind.
SHEET = "sheet"  # everyone on the contact sheet
REGISTRANTS = "registrants"  # everyone in the registration form's export
INVITED_NOT_REGISTERED = "invited_not_registered"  # invitation sent, not registered
NOTIFIED = "notified"  # sent an invitation, a reminder or a nudge of the campaign
ATTENDEES = "attendees"  # registered or invited, and attended (the attendance report)
ABSENT_REGISTRANTS = "absent_registrants"  # registered, and did not attend
AUDIENCES = (SHEET, REGISTRANTS, INVITED_NOT_REGISTERED, ATTENDEES, ABSENT_REGISTRANTS, NOTIFIED)


@dataclass(frozen=True)
class Kind:
    """One kind of message; see the module docstring for each field."""

    name: str
    label: str
    command: str
    audience: str = SHEET
    template: str = ""  # default: the name
    calendar_method: str | None = "PUBLISH"
    sequence_offset: int = 0
    calendar_status: str = "CONFIRMED"
    revisioned: bool = False
    join_link: bool = False
    needs_join_url: bool = False
    needs_recording_url: bool = False
    title: str = ""  # default: the name

    def __post_init__(self) -> None:
        if not self.name or not self.name.replace("_", "").replace("-", "").isalnum() or not self.name.isascii():
            raise ConfigError(
                _("a message kind's name must be ASCII letters, digits, '-' or '_', got {name}").format(
                    name=quoted(self.name)
                )
            )
        if self.audience not in AUDIENCES:
            raise ConfigError(
                _("message kind {name}: audience {audience} is not one of: {audiences}").format(
                    name=quoted(self.name), audience=quoted(self.audience), audiences=", ".join(AUDIENCES)
                )
            )
        if not self.template:
            object.__setattr__(self, "template", self.name)
        if not self.title:
            object.__setattr__(self, "title", self.name)

    @property
    def templates(self) -> tuple[str, str, str]:
        """The subject, plain-text and HTML template names, in that order."""
        return (f"{self.template}.subject.j2", f"{self.template}.txt.j2", f"{self.template}.html.j2")


# Declaration order is the order shown in help, lint and error messages.
KINDS: dict[str, Kind] = {}


def register(kind: Kind) -> Kind:
    """Add ``kind`` (or replace the one of the same name, keeping its place); returns it."""
    KINDS[kind.name] = kind
    return kind


def unregister(name: str) -> None:
    """Remove a kind registered at run time (tests use this to clean up)."""
    KINDS.pop(name, None)


def names() -> tuple[str, ...]:
    return tuple(KINDS)


def get(name: str) -> Kind:
    """The kind called ``name`` (``change-r2``: ``change``); a clear error naming the valid ones otherwise."""
    try:
        return KINDS[base_name(name)]
    except KeyError:
        raise ConfigError(
            _("unknown message kind {name} (expected one of: {names})").format(
                name=quoted(name), names=", ".join(KINDS)
            ),
            key="kind",
        ) from None


def label(name: str) -> str:
    """The Hungarian label of ``name``; a kind this version does not know is shown as it is."""
    kind = KINDS.get(base_name(name))
    if kind is None:
        return name
    revision = split_revision(name)[1]
    return f"{kind.label} ({revision}. változat)" if revision else kind.label


_REVISION = "-r"


def revision_name(kind: Kind, revision: int) -> str:
    """The sent log's kind for one revision's notices: ``change-r2``."""
    return f"{kind.name}{_REVISION}{revision}"


def split_revision(name: str) -> tuple[str, int | None]:
    """``change-r2`` -> (``change``, 2); a kind without a revision -> (name, None)."""
    base, sep, number = name.rpartition(_REVISION)
    if sep and number.isdigit() and base in KINDS and KINDS[base].revisioned:
        return base, int(number)
    return name, None


def base_name(name: str) -> str:
    return split_revision(name)[0]


def title(name: str) -> str:
    """The name of ``name`` in the interface language; a kind this version does not know is shown as it is."""
    kind = KINDS.get(base_name(name))
    if kind is None:
        return name
    revision = split_revision(name)[1]
    if revision is None:
        return _(kind.title)
    return _("{kind} (revision {n})").format(kind=_(kind.title), n=revision)


INVITATION = register(
    Kind(
        "invitation",
        "meghívó",
        "lgp-mailer send",
        title=N_("invitation"),
    )
)
REMINDER = register(
    Kind(
        "reminder",
        "emlékeztető",
        "lgp-mailer remind --day-before",
        title=N_("day-before reminder"),
        audience=REGISTRANTS,
        sequence_offset=1,
        join_link=True,
        needs_join_url=True,
    )
)
NUDGE = register(
    Kind(
        "nudge",
        "regisztrációs felhívás",
        "lgp-mailer remind --not-registered",
        title=N_("registration nudge"),
        audience=INVITED_NOT_REGISTERED,
    )
)
THANKS = register(
    Kind(
        "thanks",
        "köszönőlevél",
        "lgp-mailer followup --attended",
        title=N_("thank-you letter"),
        audience=ATTENDEES,
        calendar_method=None,
        needs_recording_url=True,
    )
)
RECORDING = register(
    Kind(
        "recording",
        "felvétel",
        "lgp-mailer followup --missed",
        title=N_("recording link"),
        audience=ABSENT_REGISTRANTS,
        calendar_method=None,
        needs_recording_url=True,
    )
)

# The notices of a changed or called-off conference (``lgp-mailer notify``).  Both update the
# entry in place: the campaign's UID, a higher SEQUENCE.  The cancellation stays PUBLISH with
# STATUS:CANCELLED (why: mail/ical.py).
CHANGE = register(
    Kind(
        "change",
        "módosítás",
        "lgp-mailer notify --change",
        title=N_("change notice"),
        audience=NOTIFIED,
        revisioned=True,
    )
)
CANCELLATION = register(
    Kind(
        "cancellation",
        "lemondás",
        "lgp-mailer notify --cancel",
        title=N_("cancellation notice"),
        audience=NOTIFIED,
        calendar_status="CANCELLED",
        revisioned=True,
    )
)

__all__ = [
    "ABSENT_REGISTRANTS",
    "ATTENDEES",
    "AUDIENCES",
    "CANCELLATION",
    "CHANGE",
    "INVITATION",
    "INVITED_NOT_REGISTERED",
    "KINDS",
    "NOTIFIED",
    "NUDGE",
    "RECORDING",
    "REGISTRANTS",
    "REMINDER",
    "SHEET",
    "THANKS",
    "Kind",
    "base_name",
    "get",
    "label",
    "names",
    "register",
    "revision_name",
    "split_revision",
    "title",
    "unregister",
]
