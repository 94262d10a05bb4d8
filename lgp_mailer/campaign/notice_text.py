"""The sentences of a change notice: what changed, the old value before "helyett", the new one after.

"Az időpont megváltozott: 2027. március 11. (csütörtök) 10.00 óra helyett
2027. március 18. (csütörtök) 10.00 óra."  Letter text (Hungarian, not an
interface string); dates and times through ``hungarian`` (Babel).
"""

from __future__ import annotations

import datetime as dt

from lgp_mailer import hungarian
from lgp_mailer.campaign.changes import SLOT_KEYS, Snapshot, agenda_pairs, diff

_SLOT_WORDS = {
    "title": "címe",
    "speaker": "előadója",
    "role": "előadójának beosztása",
    "organisation": "előadójának szervezete",
}


def _moment(date: str, time: str) -> str:
    return f"{hungarian.long_date(dt.date.fromisoformat(date))} {_clock(time)} óra"


def _clock(time: str) -> str:
    return hungarian.clock(dt.time.fromisoformat(time))


def _quoted_slot(text: str) -> str:
    """``A „Köszöntő”`` at the start of a sentence; a name with its own article takes no second one."""
    if hungarian.starts_with_article(text):
        return hungarian.quote(text)
    word = hungarian.article(text)
    return f"{word[:1].upper()}{word[1:]} {hungarian.quote(text)}"


def sentences(before: Snapshot, after: Snapshot, *, joined: bool) -> list[str]:
    """One sentence per change from ``before`` to ``after``; the join link only for ``joined`` recipients."""
    changes = diff(before, after)
    fields = {c.field for c in changes}
    lines: list[str] = []
    if "title" in fields:
        # The title the recipient saved in the calendar, then the new one.
        lines.append(
            f"A konferencia címe megváltozott: {hungarian.quote(before.title)} helyett {hungarian.quote(after.title)}."
        )
    if fields & {"date", "start"}:
        lines.append(
            f"Az időpont megváltozott: {_moment(before.date, before.start)} helyett {_moment(after.date, after.start)}."
        )
    if "end" in fields:
        lines.append(f"A befejezés időpontja megváltozott: {_clock(before.end)} óra helyett {_clock(after.end)} óra.")
    if "platform" in fields:
        lines.append(f"A konferencia platformja megváltozott: {before.platform} helyett {after.platform}.")
    if "join_url" in fields and joined and after.join_url:
        if before.join_url:
            lines.append(f"A csatlakozási link megváltozott: {before.join_url} helyett {after.join_url}.")
        else:
            lines.append(f"A csatlakozási link: {after.join_url}.")
    if "registration_url" in fields:
        lines.append(f"A regisztrációs link megváltozott: {before.registration_url} helyett {after.registration_url}.")
    lines.extend(_agenda_sentences(before, after))
    return lines


def _agenda_sentences(before: Snapshot, after: Snapshot) -> list[str]:
    lines: list[str] = []
    for i, j in agenda_pairs(before.agenda, after.agenda):
        old = dict(before.agenda[i]) if i is not None else None
        new = dict(after.agenda[j]) if j is not None else None
        if old is None and new is not None:
            lines.append(f"Új programpont: {_slot(new)}.")
        elif new is None and old is not None:
            lines.append(f"Elmarad a következő programpont: {_slot(old)}.")
        elif old is not None and new is not None:
            lines.extend(_slot_sentences(old, new))
    return lines


def _slot_sentences(old: dict[str, str], new: dict[str, str]) -> list[str]:
    """One slot's changes: its times in one sentence, then each other field."""
    lines: list[str] = []
    if (old.get("start"), old.get("end")) != (new.get("start"), new.get("end")):
        name = _name(new)
        lines.append(f"{_quoted_slot(name)} programpont időpontja megváltozott: {_span(old)} helyett {_span(new)}.")
    name = _name(old)
    for key in SLOT_KEYS:
        was, now = old.get(key), new.get(key)
        if key in ("start", "end") or was == now:
            continue
        if key in _SLOT_WORDS and was and now:
            lines.append(f"{_quoted_slot(name)} programpont {_SLOT_WORDS[key]} megváltozott: {was} helyett {now}.")
        else:
            lines.append(f"{_quoted_slot(name)} programpont módosult.")
    return lines


def _span(slot: dict[str, str]) -> str:
    return f"{_clock(slot['start'])}–{_clock(slot['end'])}"


def _name(slot: dict[str, str]) -> str:
    return slot.get("title") or slot.get("speaker") or "programpont"


def _slot(slot: dict[str, str]) -> str:
    speaker = f" ({slot['speaker']})" if slot.get("speaker") and slot.get("title") else ""
    return f"{_span(slot)} {hungarian.quote(_name(slot))}{speaker}"


__all__ = ["sentences"]
