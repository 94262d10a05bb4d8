"""Registrants matched to the invitation list: who counts as registered.

A registrant matches an invited recipient by address first, then by
municipality name compared by :func:`municipality_key`.  A reminder goes to
every registrant, on the list or not (:func:`reminder_recipients`); the
match also tells who among the invited has not registered yet.

This is a campaign decision over two sets of records (``sheets.registrations``
loads the form, ``sheets.recipients`` the invitation list), so it lives here
and not with either loader.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

from lgp_mailer.hungarian import DEFAULT_ROLE, choose_salutation, normalise_role
from lgp_mailer.i18n import N_, _
from lgp_mailer.quoting import quoted
from lgp_mailer.sheets.recipients import Recipient
from lgp_mailer.sheets.registrations import Registrant, RegistrationList

# How a registrant was matched, as the match report says it (translated where shown).
_HOW = {"address": N_("address"), "municipality": N_("municipality")}
# What a reminder names as the municipality of a registrant who gave none and
# is not on the invitation list: the templates write
# "…regisztrált a konferenciára ({{ municipalities }})", and an honest
# "(önkormányzat megadása nélkül)" beats an empty "()" or an invented name.
NO_MUNICIPALITY = "önkormányzat megadása nélkül"

# Words that name the office rather than the place, compared without accents.
_OFFICE_WORDS = frozenset(
    {
        "kozseg",
        "kozsegi",
        "nagykozseg",
        "nagykozsegi",
        "varos",
        "varosi",
        "megyei",
        "jogu",
        "onkormanyzat",
        "onkormanyzata",
        "onkormanyzati",
        "onkormanyzatanak",
        "polgarmesteri",
        "hivatal",
        "hivatala",
        "kozos",
        "korjegyzoseg",
        "jegyzoseg",
        # Abbreviations typed on forms: "Önk.", "Önkorm.", "PH"/"Pmh." (Polgármesteri Hivatal).
        "onk",
        "onkorm",
        "ph",
        "pmh",
    }
)
OFFICE_WORDS = _OFFICE_WORDS  # for the attendance match: an office's name is not a person's
_SEVERAL = re.compile(r"[,;/+&]|\s+és\s+|\s+-\s+", re.IGNORECASE)


def municipality_key(name: str) -> str:
    """``"Alsómocsolád Község Önkormányzata"`` → ``"alsomocsolad"``.

    Case, accents, punctuation, whitespace and the words that name the office
    ("község", "nagyközség", "város", "Önkormányzata", "Polgármesteri Hivatal",
    "Közös Önkormányzati Hivatal"…) are dropped.  Hungarian place names are
    one word, so a standalone "Város" is never part of one ("Városlőd" stays).
    An empty key means "no place named".
    """
    decomposed = unicodedata.normalize("NFKD", name or "").casefold()
    bare = "".join(ch if ch.isalnum() else " " for ch in decomposed if not unicodedata.combining(ch))
    return "".join(word for word in bare.split() if word not in _OFFICE_WORDS)


@dataclass(frozen=True)
class Match:
    registrant: Registrant
    recipient: Recipient | None  # the invitation recipient matched, None when not on the list
    how: str | None  # "address", "municipality" or None
    # By municipality: the other recipients that cover the same municipality.
    # Which of them the registrant stands for cannot be told, so all count as registered.
    others: tuple[Recipient, ...] = ()
    # The municipalities matched, as the invitation list spells them.
    municipalities: tuple[str, ...] = ()


@dataclass
class MatchReport:
    matches: list[Match]

    def registered_addresses(self) -> set[str]:
        """Lower-cased invitation addresses counted as registered (by address or municipality)."""
        found = set()
        for match in self.matches:
            for recipient in (match.recipient, *match.others):
                if recipient is not None:
                    found.add(recipient.email.casefold())
        return found

    def not_on_list(self) -> list[Registrant]:
        return [m.registrant for m in self.matches if m.recipient is None]


def match_registrations(registrations: RegistrationList, recipients: list[Recipient]) -> MatchReport:
    """By address first; then by :func:`municipality_key` against each recipient's municipalities.

    A joint office's recipient covers every municipality it lists.  A form
    answer naming several municipalities ("Mágocs, Bikal") matches each of
    them.  An adjective form ("alsómocsoládi") is tried without its "-i" when
    the name itself is not on the list.
    """
    by_address = {r.email.casefold(): r for r in recipients}
    by_key: dict[str, list[tuple[Recipient, str]]] = {}
    for recipient in recipients:
        for municipality in recipient.municipalities:
            key = municipality_key(municipality)
            if key:
                by_key.setdefault(key, []).append((recipient, municipality))
    matches = []
    for registrant in registrations.registrants:
        same = by_address.get(registrant.email.casefold())
        if same is not None:
            matches.append(Match(registrant, same, "address", (), same.municipalities))
            continue
        found = _by_municipality(registrant.municipality or "", by_key)
        if not found:
            matches.append(Match(registrant, None, None))
            continue
        chosen = list(dict.fromkeys(r for r, _ in found))
        names = tuple(dict.fromkeys(m for _, m in found))
        matches.append(Match(registrant, chosen[0], "municipality", tuple(chosen[1:]), names))
    return MatchReport(matches)


def _by_municipality(text: str, by_key: dict[str, list[tuple[Recipient, str]]]) -> list[tuple[Recipient, str]]:
    parts = [text] + [p for p in _SEVERAL.split(text) if p.strip()]
    for keys in ([municipality_key(p) for p in parts[:1]], [municipality_key(p) for p in parts[1:]]):
        found = [hit for key in keys for hit in _lookup(key, by_key)]
        if found:
            return found
    return []


def _lookup(key: str, by_key: dict[str, list[tuple[Recipient, str]]]) -> list[tuple[Recipient, str]]:
    if not key:
        return []
    if key in by_key:
        return by_key[key]
    if key.endswith("i") and key[:-1] in by_key:
        return by_key[key[:-1]]
    return []


def reminder_recipients(report: MatchReport) -> list[Recipient]:
    """Every registrant as a Recipient to remind, in the registration list's order, each address once.

    A registrant matched by municipality under another address brings the invited
    address along (:func:`invited_elsewhere`): the reminder goes to both.

    - ``municipalities``: by address, the matched recipient's; by municipality,
      the matched ones as the invitation list spells them; else the text the
      registrant typed; else :data:`NO_MUNICIPALITY` (never empty).
    - name and role from the form.  Only an address match falls back to the
      recipient's name, role and salutation: a municipality match may be a
      colleague, who must not get someone else's name or title.
    - salutation from the role and the name's gender (neutral when unknown).
    """
    chosen: dict[str, Recipient] = {}
    for match in report.matches:
        for recipient in (_reminder(match), *invited_elsewhere(match)):
            chosen.setdefault(recipient.email.casefold(), recipient)  # each address once
    return list(chosen.values())


def invited_elsewhere(match: Match) -> tuple[Recipient, ...]:
    """The invited addresses of a registrant matched by municipality under another address.

    The registrant may have mistyped the address, or be a colleague: either way the invited
    address must not go without the join link, so the reminder goes to both.
    """
    if match.how != "municipality":
        return ()
    own = match.registrant.email.casefold()
    return tuple(
        dataclasses.replace(r, registered_as=match.registrant.email)
        for r in (match.recipient, *match.others)
        if r is not None and r.email.casefold() != own
    )


def _reminder(match: Match) -> Recipient:
    registrant, recipient = match.registrant, match.recipient
    same = recipient if match.how == "address" else None  # the same person, by address
    municipalities = match.municipalities or (registrant.municipality or NO_MUNICIPALITY,)
    if same is not None and not registrant.name and not registrant.role:
        gender, text, kind = same.gender, same.salutation, same.salutation_kind
        name, role = same.name, same.role
    else:
        name = registrant.name or (same.name if same is not None else None)
        role = normalise_role(registrant.role) if registrant.role else (same.role if same is not None else DEFAULT_ROLE)
        given = registrant.given if registrant.name else None  # "Kovács" | "Anna": the given name decides
        text, kind, gender, _reason = choose_salutation(role, name, given=given)
    return Recipient(
        email=registrant.email,
        municipalities=municipalities,
        salutation=text,
        county=recipient.county if recipient is not None else None,
        name=name,
        role=role,
        gender=gender,
        rows=(registrant.row,),
        sheet=registrant.sheet,
        salutation_kind=kind,
    )


# --- The report --------------------------------------------------------------------


def finding_lines(registrations: RegistrationList, *, day_before: bool) -> list[tuple[bool, str]]:
    """Each finding of the export as (is a problem, line): which answers cannot be used, and what
    that costs.  A problem row (no usable address) drops a registrant, so it is a WARNING line."""
    cost = _("this registrant gets no reminder") if day_before else _("this answer does not count as a registration")
    lines = []
    for finding in registrations.findings:
        parts = [finding.file]
        if finding.sheet:
            parts.append(_("sheet {name}").format(name=quoted(finding.sheet)))
        if finding.row is not None:
            parts.append(_("row {n}").format(n=finding.row))
        if finding.column:
            parts.append(_("column {name}").format(name=quoted(finding.column)))
        where = ", ".join(parts)
        value = f" {quoted(finding.value)}:" if finding.value else ""
        if finding.severity == "problem":
            lines.append((True, _("WARNING: {line}").format(line=f"{where}:{value} {finding.problem}: {cost}")))
        else:
            lines.append((False, _("Note: {line}").format(line=f"{where}:{value} {finding.problem}")))
    return lines


def format_match_report(
    report: MatchReport, registrations: RegistrationList, now: dt.datetime, *, max_age_hours: float
) -> list[str]:
    """Plain lines: the file and its age, who registered for which municipality,
    who is not on the list, and a WARNING line when the file is too old."""
    age = registrations.age_hours(now)
    written = registrations.modified_at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    counts = _("{count} registrant(s), {duplicates} superseded answer(s)").format(
        count=len(registrations.registrants), duplicates=registrations.duplicates
    )
    lines = [
        _("Registrations: {path}: {counts}; file written {written}, {age:.1f} hour(s) ago").format(
            path=registrations.path, counts=counts, written=written, age=age
        )
    ]
    matched = [(m, m.recipient) for m in report.matches if m.recipient is not None]
    matched.sort(key=lambda pair: _sort_key(pair[0].municipalities))
    lines.append(_("Registered for a municipality on the invitation list: {count}").format(count=len(matched)))
    for match, invited in matched:
        also = (
            _("; also counts for {addresses}").format(addresses=", ".join(r.email for r in match.others))
            if match.others
            else ""
        )
        lines.append(
            _("  {municipalities}: {registrant} (by {how}, invitation to {email}{also})").format(
                municipalities=", ".join(match.municipalities),
                registrant=_who(match.registrant),
                how=_(_HOW[match.how]) if match.how in _HOW else match.how,
                email=invited.email,
                also=also,
            )
        )
    pairs = [(m, invited_elsewhere(m)) for m in report.matches if invited_elsewhere(m)]
    lines.append(
        _("Registered under another address than the invitation's (the reminder goes to both): {count}").format(
            count=len(pairs)
        )
    )
    for match, invited_list in pairs:
        lines.append(
            _("  {municipalities}: {email} (registered, row {row}) and {invited} (invited)").format(
                municipalities=", ".join(match.municipalities),
                email=match.registrant.email,
                row=match.registrant.row,
                invited=", ".join(r.email for r in invited_list),
            )
        )
    missing = report.not_on_list()
    lines.append(_("Not on the invitation list (reminded all the same): {count}").format(count=len(missing)))
    for registrant in missing:
        typed = (
            _(" for {municipality}").format(municipality=quoted(registrant.municipality))
            if registrant.municipality
            else _(", no municipality given")
        )
        lines.append(
            _("  {registrant}{typed} (row {row})").format(registrant=_who(registrant), typed=typed, row=registrant.row)
        )
    if age > max_age_hours:
        lines.append(
            _(
                "WARNING: the registration file is {age:.1f} hours old (limit {max_age_hours:g}): export "
                "it again, or late registrants miss their reminder"
            ).format(age=age, max_age_hours=max_age_hours)
        )
    return lines


def _who(registrant: Registrant) -> str:
    return f"{registrant.name} <{registrant.email}>" if registrant.name else registrant.email


def _sort_key(municipalities: tuple[str, ...]) -> str:
    return municipality_key(municipalities[0]) if municipalities else ""


__all__ = [
    "NO_MUNICIPALITY",
    "OFFICE_WORDS",
    "Match",
    "MatchReport",
    "format_match_report",
    "invited_elsewhere",
    "match_registrations",
    "municipality_key",
    "reminder_recipients",
]
