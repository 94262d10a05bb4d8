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
  it carries (``None``: none), the offset added to the event file's SEQUENCE
  (the reminder updates the invitation's entry, so it adds 1), and whether
  the entry carries the join link instead of the registration link;
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
ATTENDEES = "attendees"  # registered or invited, and attended (the attendance report)
ABSENT_REGISTRANTS = "absent_registrants"  # registered, and did not attend
AUDIENCES = (SHEET, REGISTRANTS, INVITED_NOT_REGISTERED, ATTENDEES, ABSENT_REGISTRANTS)


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
    """The kind called ``name``; a clear error naming the valid ones otherwise."""
    try:
        return KINDS[name]
    except KeyError:
        raise ConfigError(
            _("unknown message kind {name} (expected one of: {names})").format(
                name=quoted(name), names=", ".join(KINDS)
            ),
            key="kind",
        ) from None


def label(name: str) -> str:
    """The Hungarian label of ``name`` (for exports); a kind this version does not know is shown as it is."""
    kind = KINDS.get(name)
    return kind.label if kind is not None else name


def title(name: str) -> str:
    """The name of ``name`` in the interface language; a kind this version does not know is shown as it is."""
    kind = KINDS.get(name)
    return _(kind.title) if kind is not None else name


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

__all__ = [
    "ABSENT_REGISTRANTS",
    "ATTENDEES",
    "AUDIENCES",
    "INVITATION",
    "INVITED_NOT_REGISTERED",
    "KINDS",
    "NUDGE",
    "RECORDING",
    "REGISTRANTS",
    "REMINDER",
    "SHEET",
    "THANKS",
    "Kind",
    "get",
    "label",
    "names",
    "register",
    "title",
    "unregister",
]
