"""Attendees matched to the people we know: who attended, for how long, and who is nobody.

The people we know are the registrants (the form's export, as
``matching.reminder_recipients`` makes them letter-ready) and the invited
recipients (the contact sheet).  An attendee matches

1. **by address**: the report's e-mail, case-insensitive, or the same mailbox
   with a sub-address (``kiss+zoom@…`` for ``kiss@…``) when only one person has it;
2. **by name and municipality**: the name shown in the meeting (Zoom's
   "(original name)" dropped, or any part of "Kiss Ödön - Alsómocsolád")
   is a known person's name (accents, case, titles and word order ignored), and another
   part names one of that person's municipalities (``municipality_key``);
3. **by name** alone, only when exactly one known person has that name; a name
   typed with initials ("Kovács J.", "J. Kovács", "Fehérné Gy. I.") is that name
   when no whole name matches (two Kovács J.-s: nobody);
4. **by municipality**: a room or an office that joined under its place's name
   ("Polgármesteri Hivatal Őrség-próba", "Üröm-próba tárgyaló (…)", with an office or
   room word) is that municipality's one registrant, else its one invited person;
   "Őrség-próba alpolgármestere" only when that person's role is that office.

An office typed beside a name ("Nagy Andrea polgármester") is not part of the name.

Several session groups of one person (a laptop with the address, a phone as
a guest under the same name) are merged before the minutes are counted, so
overlapping sessions count once.  Attended means at least the event file's
``[followup] attendance_minutes``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from itertools import permutations

from lgp_mailer.campaign.matching import OFFICE_WORDS, match_registrations, municipality_key, reminder_recipients
from lgp_mailer.i18n import N_, _, format_number, ngettext
from lgp_mailer.roles import OFFICES, POSSESSIVES, read_role
from lgp_mailer.sheets.attendance import Attendee, Session, display_name, name_key, person_key, summarise
from lgp_mailer.sheets.recipients import Recipient
from lgp_mailer.sheets.registrations import RegistrationList

# "Kiss Ödön - Alsómocsolád", "Kiss Ödön (Alsómocsolád)": a hyphen only between spaces,
# so that "Üröm-próba" and "Kovács-Nagy" stay one part.
_PARTS = re.compile(r"\s+[-\u2013\u2014]\s+|\s*[,;/|()\[\]]\s*|\s+és\s+")


# How an attendee was matched, as the report says it (translated where shown).
_HOW = {  # surest first
    "address": N_("address"),
    "name and municipality": N_("name and municipality"),
    "name": N_("name"),
    "municipality": N_("municipality"),
}
_LISTED = {True: N_("registered"), False: N_("invited")}
# Hungarian initials are a letter or a digraph: "Zs.", "Gy.", "Dzs." (compared without accents).
_DIGRAPHS = frozenset({"cs", "dz", "dzs", "gy", "ly", "ny", "sz", "ty", "zs"})
# An office typed in a name ("Kiss Ödön polgármester", "Példafalva jegyzője") → the office.
_TITLES = {
    name_key(spelling): office
    for office, (_title, spellings) in OFFICES.items()
    for spelling in (office, *spellings)
    if len(name_key(spelling).split()) == 1
} | {name_key(possessive): office for possessive, office in POSSESSIVES.items()}
# Words that make a name a room's rather than a person's (compared without accents).
_ROOM_WORDS = frozenset(
    {"targyalo", "targyaloterem", "tanacsterem", "tanacskozo", "ulesterem", "diszterem", "terem", "iroda", "room"}
)


@dataclass(frozen=True)
class Known:
    """Someone we could write to: the letter-ready recipient, and on which list."""

    recipient: Recipient
    registered: bool


@dataclass(frozen=True)
class Presence:
    """A known person's attendance: all their matched sessions, minutes counted once."""

    known: Known
    attendee: Attendee  # merged over every session group matched to this person
    how: str  # "address", "name and municipality", "name" or "municipality"
    attended: bool
    # The registrant who joined from the invited address reminded beside her (her name): she attended too.
    stands_for: str = ""


@dataclass
class AttendanceMatch:
    threshold: int
    present: list[Presence] = field(default_factory=list)  # in report order
    unmatched: list[Attendee] = field(default_factory=list)  # in report order

    def attended(self) -> list[Presence]:
        return [p for p in self.present if p.attended]

    def attended_addresses(self) -> set[str]:
        """Who attended, and the registrants who joined from their office's invited address."""
        return {p.known.recipient.email.casefold() for p in self.attended()} | {
            p.stands_for for p in self.attended() if p.stands_for
        }


def known_people(invited: list[Recipient], registrations: RegistrationList | None) -> list[Known]:
    """Registrants first (their own words in the letter), then the invited not among them."""
    people: dict[str, Known] = {}
    if registrations is not None:
        for recipient in reminder_recipients(match_registrations(registrations, invited)):
            # An invited address reminded beside a colleague's registration (registered_as)
            # did not register itself: the recording goes to whoever registered.
            people.setdefault(recipient.email.casefold(), Known(recipient, recipient.registered_as is None))
    for recipient in invited:
        people.setdefault(recipient.email.casefold(), Known(recipient, False))
    return list(people.values())


def _name(text: str) -> str:
    """:func:`name_key` in any word order: Zoom profiles often say "Ödön Kiss"."""
    return " ".join(sorted(w for w in name_key(text).split() if w not in _TITLES))


def _initial(word: str) -> bool:
    return len(word) == 1 or word in _DIGRAPHS


def _abbreviates(words: list[str], full: list[str]) -> bool:
    """Whether ``kovacs j`` is ``kovacs janos``: the whole words the same, each initial begins one other word."""
    rest = list(full)
    initials = []
    for word in words:
        if _initial(word):
            initials.append(word)
        elif word in rest:
            rest.remove(word)
        else:
            return False
    if not initials or len(rest) != len(initials) or len(initials) == len(words):
        return False
    return any(all(w.startswith(i) for i, w in zip(initials, order, strict=True)) for order in permutations(rest))


def _one_person(found: list[Known]) -> list[Known]:
    """A registrant and an invited entry of the same name and municipality are one person: the registrant
    (registered from a private address, on the sheet at the office's)."""
    registered = [k for k in found if k.registered]
    if len(registered) != 1 or len(found) == 1:
        return found
    (person,) = registered
    key, places = _name(person.recipient.name or ""), {municipality_key(m) for m in person.recipient.municipalities}
    same = all(
        k is person
        or (_name(k.recipient.name or "") == key and places & {municipality_key(m) for m in k.recipient.municipalities})
        for k in found
    )
    return registered if same else found


def _office_place(text: str) -> str:
    """The municipality key of a room's or an office's name, "" for anything else.

    "Polgármesteri Hivatal Őrség-próba" → "orsegproba"; "Mágocs Péter" → "" (a
    surname may be a place's name: only an office or room word makes it a place)."""
    words = name_key(text).split()
    place = [w for w in words if w not in OFFICE_WORDS and w not in _ROOM_WORDS and w not in _TITLES]
    return "".join(place) if place and len(place) < len(words) else ""


def unaliased(address: str) -> str:
    """``Kiss+zoom@Falu.example`` → ``kiss@falu.example``: a sub-address reaches the same mailbox."""
    local, at, domain = address.strip().casefold().rpartition("@")
    return local.split("+", 1)[0] + at + domain if at and local else address.strip().casefold()


class _Index:
    def __init__(self, people: list[Known]) -> None:
        self.by_address = {k.recipient.email.casefold(): k for k in people}
        self.by_mailbox: dict[str, list[Known]] = {}
        for known in people:
            self.by_mailbox.setdefault(unaliased(known.recipient.email), []).append(known)
        self.by_name: dict[str, list[Known]] = {}
        self.by_place: dict[str, list[Known]] = {}
        self.by_word: dict[str, list[Known]] = {}
        for known in people:
            key = _name(known.recipient.name or "")
            if key:
                self.by_name.setdefault(key, []).append(known)
            for word in set(key.split()):
                self.by_word.setdefault(word, []).append(known)
            for place in {municipality_key(m) for m in known.recipient.municipalities} - {""}:
                self.by_place.setdefault(place, []).append(known)

    def find(self, attendee: Attendee, names: list[str]) -> tuple[Known, str] | None:
        known = self.by_address.get(attendee.email.casefold()) if attendee.email else None
        if known is not None:
            return known, "address"
        same = self.by_mailbox.get(unaliased(attendee.email), []) if attendee.email else []
        if len(same) == 1:  # joined as kiss+zoom@…, invited as kiss@… (or the other way round)
            return same[0], "address"
        parts = [p for text in names for p in [text, display_name(text), *_PARTS.split(text)] if p and p.strip()]
        keys = {_name(p) for p in parts} - {""}
        places = ({municipality_key(p) for p in parts} | {_office_place(p) for p in parts}) - {""}
        candidates = list({id(k): k for key in keys for k in self.by_name.get(key, [])}.values())
        candidates = _one_person(candidates or self._abbreviated(keys))
        placed = [k for k in candidates if places & {municipality_key(m) for m in k.recipient.municipalities}]
        if len(placed) == 1:
            return placed[0], "name and municipality"
        if len(candidates) == 1 and not placed:
            return candidates[0], "name"
        return self._office(parts)  # nobody, or several people, of that name

    def _abbreviated(self, keys: set[str]) -> list[Known]:
        """The known people a name typed with initials stands for ("Kovács J." → Kovács János)."""
        found: dict[int, Known] = {}
        for key in keys:
            words = key.split()
            whole = [w for w in words if not _initial(w)]
            for known in self.by_word.get(whole[0], []) if whole else []:
                if _abbreviates(words, _name(known.recipient.name or "").split()):
                    found[id(known)] = known
        return list(found.values())

    def _office(self, parts: list[str]) -> tuple[Known, str] | None:
        """A room or an office of one municipality: its one registrant, else its one invited person."""
        places = {_office_place(p) for p in parts} - {""}
        found = list({id(k): k for place in places for k in self.by_place.get(place, [])}.values())
        offices = {_TITLES[w] for p in parts for w in name_key(p).split() if w in _TITLES}
        if offices:  # "Példafalva jegyzője": its notary, not its mayor
            found = [k for k in found if (role := read_role(k.recipient.role)) is not None and role.office in offices]
        registered = [k for k in found if k.registered]
        chosen = registered or found
        return (chosen[0], "municipality") if len(chosen) == 1 else None


def match_attendance(sessions: list[Session], people: list[Known], threshold: int) -> AttendanceMatch:
    """Group the sessions by person, match each group, merge the groups of one known person."""
    groups: dict[str, list[Session]] = {}
    for session in sessions:
        groups.setdefault(person_key(session), []).append(session)
    index = _Index(people)
    merged: dict[str, tuple[Known, str, list[Session]]] = {}
    result = AttendanceMatch(threshold)
    for key, group in groups.items():
        attendee = summarise(key, group)
        found = index.find(attendee, list(dict.fromkeys(s.name for s in group if s.name.strip())))
        if found is None:
            result.unmatched.append(attendee)
            continue
        known, how = found
        address = known.recipient.email.casefold()
        if address in merged:
            earlier = merged[address]
            strongest = min(earlier[1], how, key=list(_HOW).index)  # the surest of the two says how
            merged[address] = (known, strongest, earlier[2] + group)
        else:
            merged[address] = (known, how, list(group))
    everyone = {k.recipient.email.casefold(): k for k in people}
    for address, (known, how, group) in merged.items():
        attendee = summarise(address, group)
        stands_for = _stands_for(known, group, everyone)
        result.present.append(Presence(known, attendee, how, attendee.minutes >= threshold, stands_for))
    return result


def _stands_for(known: Known, group: list[Session], everyone: dict[str, Known]) -> str:
    """The registrant an invited address was reminded for, when the one who joined from it bears her name."""
    registrant = everyone.get((known.recipient.registered_as or "").casefold())
    if registrant is None or not registrant.registered or not registrant.recipient.name:
        return ""
    names = {_name(display_name(s.name)) for s in group} | {_name(known.recipient.name or "")}
    return registrant.recipient.email.casefold() if _name(registrant.recipient.name) in names else ""


def _minutes(value: float) -> str:
    """``155.8`` → "155.8 min", in Hungarian "155,8 perc" (a decimal comma)."""
    return _("{minutes} min").format(minutes=format_number(round(value, 1)))


def format_attendance(match: AttendanceMatch) -> list[str]:
    """Plain lines: who attended, who joined for less, who matches nobody."""
    lines = [
        _("Attended (at least {threshold} minutes): {count}").format(
            threshold=match.threshold, count=len(match.attended())
        )
    ]
    short = [p for p in match.present if not p.attended]
    for presence in match.attended():
        lines.append(_presence(presence))
    lines.append(
        _("Joined for less than {threshold} minutes: {count}").format(threshold=match.threshold, count=len(short))
    )
    lines += [_presence(p) for p in short]
    lines.append(
        _("Attendees who match nobody on the invitation or registration list: {count}").format(
            count=len(match.unmatched)
        )
    )
    for attendee in match.unmatched:
        # As the platform wrote it ("Kovács J. (iPad)", not "Kovács J."), and on which rows: to be found in the file.
        name = _shown(attendee.written or attendee.name)
        email = _shown(attendee.email)
        who = f"{name} <{email}>" if email else _("{name} (no e-mail)").format(name=name)
        guest = _(", guest") if attendee.guest else ""
        rows = ", ".join(str(r) for r in attendee.rows)
        lines.append(
            _("  {who}: {minutes}, {sessions} session(s){guest}").format(
                who=who, minutes=_minutes(attendee.minutes), sessions=attendee.sessions, guest=guest
            )
            + ("; " + ngettext("row {rows}", "rows {rows}", len(attendee.rows)).format(rows=rows) if rows else "")
        )
    return lines


def _shown(text: str) -> str:
    """A name a guest typed, safe for the screen: terminal escapes and bidi overrides blanked."""
    return text if text.isprintable() else "".join(c if c.isprintable() else " " for c in text)


def _presence(presence: Presence) -> str:
    recipient, attendee = presence.known.recipient, presence.attendee
    who = f"{recipient.name} <{recipient.email}>" if recipient.name else recipient.email
    listed = _(_LISTED[presence.known.registered])
    return _("  {who}: {minutes}, {sessions} session(s) (by {how}; {listed}; {municipalities})").format(
        who=who,
        minutes=_minutes(attendee.minutes),
        sessions=attendee.sessions,
        how=_(_HOW[presence.how]) if presence.how in _HOW else presence.how,
        listed=listed,
        municipalities=", ".join(recipient.municipalities),
    )


__all__ = [
    "AttendanceMatch",
    "Known",
    "Presence",
    "format_attendance",
    "known_people",
    "match_attendance",
    "unaliased",
]
