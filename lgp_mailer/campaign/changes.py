"""The event as a send run saw it (a normalised snapshot) and what changed since, field by field.

A snapshot keeps only what a recipient acts on or saved: the title, the date,
the times, the platform, the two links and the agenda.  Every value is text in one fixed form
(ISO date, ``HH:MM`` times, the agenda as a list of slots), so two snapshots
compare key by key and a change notice can say exactly what moved.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from typing import Any

from lgp_mailer.event import Event
from lgp_mailer.i18n import _

# The compared fields, in the order a notice names them.
FIELDS = ("title", "date", "start", "end", "platform", "join_url", "registration_url", "agenda")
SLOT_KEYS = ("start", "end", "title", "speaker", "role", "organisation", "qa")


@dataclass(frozen=True)
class Snapshot:
    """One event, normalised.  ``agenda`` is a tuple of slots, each a tuple of (key, text) pairs."""

    title: str
    date: str
    start: str
    end: str
    platform: str
    join_url: str | None
    registration_url: str
    agenda: tuple[tuple[tuple[str, str], ...], ...]

    def agenda_json(self) -> str:
        """The agenda as the sent log stores it: a JSON list of objects, keys in a fixed order."""
        return json.dumps([dict(slot) for slot in self.agenda], ensure_ascii=False)

    def as_row(self) -> dict[str, str | None]:
        """The fields as the sent log stores them (``ledger.events.SNAPSHOT_FIELDS``)."""
        return {
            "title": self.title, "date": self.date, "start": self.start, "end": self.end, "platform": self.platform,
            "join_url": self.join_url, "registration_url": self.registration_url, "agenda": self.agenda_json(),
        }  # fmt: skip

    @classmethod
    def from_row(cls, row: dict[str, str | None]) -> Snapshot:
        slots: list[dict[str, Any]] = json.loads(row["agenda"] or "[]")
        return cls(
            title=row["title"] or "",
            date=row["date"] or "",
            start=row["start"] or "",
            end=row["end"] or "",
            platform=row["platform"] or "",
            join_url=row["join_url"],
            registration_url=row["registration_url"] or "",
            agenda=tuple(tuple((key, str(value)) for key, value in slot.items()) for slot in slots),
        )


@dataclass(frozen=True)
class Change:
    field: str  # "date", "start", "agenda[2].start", "agenda[4]" (a slot added or removed)
    before: str | None
    after: str | None

    def __str__(self) -> str:
        none = _("(none)")
        return f"{self.field}: {self.before or none} -> {self.after or none}"


def snapshot(event: Event) -> Snapshot:
    """The normalised form of ``event``'s recipient-facing facts."""
    agenda = tuple(
        tuple((key, _text(getattr(slot, key))) for key in SLOT_KEYS if getattr(slot, key) not in (None, False))
        for slot in event.agenda
    )
    return Snapshot(
        title=event.title,
        date=event.date.isoformat(),
        start=f"{event.start:%H:%M}",
        end=f"{event.end:%H:%M}",
        platform=event.platform_name,
        join_url=event.join_url,
        registration_url=event.registration_url,
        agenda=agenda,
    )


def _text(value: object) -> str:
    if value is True:
        return "true"
    if hasattr(value, "strftime"):
        return f"{value:%H:%M}"
    return str(value)


def diff(before: Snapshot, after: Snapshot) -> list[Change]:
    """What changed from ``before`` to ``after``, in :data:`FIELDS` order; agenda slot by slot."""
    changes: list[Change] = []
    for name in FIELDS:
        if name == "agenda":
            changes.extend(_agenda_diff(before.agenda, after.agenda))
            continue
        old, new = getattr(before, name), getattr(after, name)
        if old != new:
            changes.append(Change(name, old, new))
    return changes


Slot = tuple[tuple[str, str], ...]


def agenda_pairs(before: tuple[Slot, ...], after: tuple[Slot, ...]) -> list[tuple[int | None, int | None]]:
    """The old and new agenda's slot indexes, paired by the slot's name (its title, else its speaker).

    difflib aligns the two lists, so a slot inserted or dropped mid-agenda is one
    added or removed slot, not a shift that changes every slot after it.  Slots
    that differ in name at the same place of the alignment are paired in order
    (a renamed slot); the rest of such a stretch is added or removed.
    """
    old, new = [_identity(slot) for slot in before], [_identity(slot) for slot in after]
    pairs: list[tuple[int | None, int | None]] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        common = min(i2 - i1, j2 - j1) if tag in ("equal", "replace") else 0
        pairs += [(i1 + k, j1 + k) for k in range(common)]
        pairs += [(i, None) for i in range(i1 + common, i2)]
        pairs += [(None, j) for j in range(j1 + common, j2)]
    return pairs


def _identity(slot: Slot) -> str:
    fields = dict(slot)
    return " ".join((fields.get("title") or fields.get("speaker") or "").casefold().split())


def _agenda_diff(before: tuple[Slot, ...], after: tuple[Slot, ...]) -> list[Change]:
    changes: list[Change] = []
    for i, j in agenda_pairs(before, after):
        old = dict(before[i]) if i is not None else None
        new = dict(after[j]) if j is not None else None
        field = f"agenda[{(j if j is not None else i or 0) + 1}]"
        if old is None or new is None:
            changes.append(Change(field, _slot_line(old), _slot_line(new)))
            continue
        for key in SLOT_KEYS:
            if old.get(key) != new.get(key):
                changes.append(Change(f"{field}.{key}", old.get(key), new.get(key)))
    return changes


def _slot_line(slot: dict[str, str] | None) -> str | None:
    if slot is None:
        return None
    return f"{slot.get('start')}-{slot.get('end')} {slot.get('title', '')}".strip()
