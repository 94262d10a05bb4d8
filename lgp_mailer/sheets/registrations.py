"""The registration form's export → registrants.

The export is the Google Forms response sheet downloaded as CSV or XLSX,
Microsoft Forms' Excel download (its fixed leading columns are known), or
any sheet with the same columns.  It is read with the recipient loader's
machinery — formats and encodings from ``readers``, the header search and
the user's ``[registration_columns]`` mapping from ``headers``, cell cleaning and
address validation from ``cells`` — with the form's own header aliases and
one more field, ``timestamp``.

A person who answers twice counts once: per address (case-insensitive) the
latest answer wins.  Matching registrants to the invitation list is
``campaign/matching.py``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from lgp_mailer.errors import RecipientsError
from lgp_mailer.i18n import _
from lgp_mailer.quoting import quoted
from lgp_mailer.sheets.cells import (
    AddressError,
    clean_field,
    clean_text,
    has_template_marks,
    mojibake_hint,
    normalise_address,
    split_addresses,
)
from lgp_mailer.sheets.headers import Header, alias_keys, check_mapping, find_header, header_key
from lgp_mailer.sheets.limits import DEFAULT, Limits
from lgp_mailer.sheets.readers import ALL_SHEETS, RawRow, RawSheet, open_sheets
from lgp_mailer.sheets.recipients import PROBLEM, WARNING, Finding

FIELDS = ("timestamp", "email", "name", "municipality", "role", "family_name", "given_name")
# The toml table that maps the export's headers (the campaign's [columns] is the contact sheet's).
TABLE = "[registration_columns]"

_ALIASES = {
    "timestamp": (
        "időbélyeg",
        "időbélyegző",
        "timestamp",
        "időpont",
        "beküldés ideje",
        "kitöltés ideje",
        "submitted at",
        "date submitted",  # LimeSurvey
        "submit date (utc)",  # Typeform
        "dátum",  # a list typed by hand
        "regisztráció időpontja",
        "regisztráció dátuma",
    ),
    "email": (
        "e-mail-cím",
        "e-mail cím",
        "email cím",
        "e-mail",
        "email",
        "e-mail címe",
        "az ön e-mail címe",
        "elektronikus levélcím",
        "email address",
        "e-mail address",
        "your email address",
        "your e-mail address",
        "mail",
    ),
    "name": ("név", "neve", "teljes név", "az ön neve", "résztvevő neve", "name", "full name", "your name"),
    "municipality": (
        "önkormányzat",
        "önkormányzat neve",
        "település",
        "település neve",
        "képviselt önkormányzat",
        "melyik önkormányzatot képviseli",
        "municipality",
        "town",
        "city",
    ),
    # A form that asks the name in two questions (Google Forms' "Vezetéknév", "Keresztnév").
    "family_name": ("vezetéknév", "vezetékneve", "családnév", "családi név", "last name", "surname", "family name"),
    "given_name": ("keresztnév", "keresztneve", "utónév", "utóneve", "first name", "given name"),
    "role": ("beosztás", "beosztása", "tisztség", "munkakör", "role", "position", "job title"),
}
_ALIAS_KEYS = alias_keys(_ALIASES)
_TEXT_FIELDS = ("name", "municipality", "role", "family_name", "given_name")
_WRONG_COLUMN_ROWS = 3  # this many answers and not one address: the e-mail column is the wrong one

# Microsoft Forms' export (English and Hungarian) starts with fixed columns: the answer's ID, start
# and completion times, then the respondent's account e-mail and name ("anonymous" when the form
# asks no sign-in), then the questions.  (As Microsoft Forms writes them in its Excel download.)
_FORMS_ID = frozenset({"id", "azonosito"})
_FORMS_START = frozenset({"starttime", "kezdesiido", "kezdesidopontja"})
_FORMS_DONE = frozenset({"completiontime", "befejezesiido", "befejezesidopontja"})


def _forms_layout(mapping: dict[str, tuple[str, str]]) -> Callable[[tuple[str, ...], dict[int, str]], dict[int, str]]:
    """Fields of a Microsoft Forms header row: the completion time is the timestamp, and the
    account's e-mail and name give way to the form's own questions asking for them, which say
    who registered (the account is the colleague who filled it in, or "anonymous").  A column
    the user mapped in ``[registration_columns]`` is left as mapped."""

    def layout(cells: tuple[str, ...], fields: dict[int, str]) -> dict[int, str]:
        keys = [header_key(cell) for cell in cells[:5]]
        if len(keys) < 5 or keys[0] not in _FORMS_ID or keys[1] not in _FORMS_START or keys[2] not in _FORMS_DONE:
            return _asked_fields(cells, fields, mapping, fixed=0)
        adjusted = _asked_fields(cells, fields, mapping, fixed=5)
        if "timestamp" not in fields.values() and keys[2] not in mapping:
            adjusted[2] = "timestamp"
        for index, field in ((3, "email"), (4, "name")):
            asking = (field,) if field == "email" else (field, "family_name", "given_name")
            asked = any(f in asking for i, f in adjusted.items() if i > 4)
            if asked and adjusted.get(index) == field and keys[index] not in mapping:
                del adjusted[index]
        return adjusted

    return layout


# A form's question is often a sentence ("Kérjük, adja meg e-mail-címét", "What is your e-mail
# address?", "Melyik településről jelentkezik?"), which no alias matches.  A header key holding
# one of a field's words asks for that field, unless it holds one of the words that rule it out:
# a consent or newsletter checkbox mentioning e-mail, a quiz's points or feedback column about
# the question, the type or size of the municipality.
_NOT_A_QUESTION = (
    *("hozzajarul", "consent", "agree", "adatkezel", "privacy", "hirlevel", "newsletter", "gdpr"),
    *("points", "pontok", "pontszam", "feedback", "visszajelzes"),  # a Microsoft Forms quiz's columns
)
_QUESTION_WORDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "email": (("email", "levelcim"), _NOT_A_QUESTION),
    "municipality": (
        ("onkormanyzat", "telepules", "municipality"),
        (*_NOT_A_QUESTION, "email", "tipus", "type", "lakos", "population", "megye", "county", "tisztseg", "beosztas"),
    ),
}


def _asked_fields(
    cells: tuple[str, ...], fields: dict[int, str], mapping: dict[str, tuple[str, str]], *, fixed: int
) -> dict[int, str]:
    """``fields`` plus the one question (past the first ``fixed`` columns) that asks for the
    e-mail address, and the one that asks for the municipality, when no column past them is
    that field by name.  Two such questions are left alone: which one holds the answer is for
    the user's ``[registration_columns]``."""
    if sum(1 for cell in cells if cell.strip()) < 2:  # a title above the table, not a header
        return fields
    if any("@" in cell for cell in cells):  # an answer ("email@…", "… Önkormányzata"), not a header
        return fields
    found = dict(fields)
    for field, (words, not_words) in _QUESTION_WORDS.items():
        if any(name == field for index, name in found.items() if index >= fixed):
            continue
        asking = []
        for index, cell in enumerate(cells):
            key = header_key(cell)
            if index < fixed or index in found or key in mapping:
                continue
            if any(word in key for word in words) and not any(word in key for word in not_words):
                asking.append(index)
        if len(asking) == 1:
            found[asking[0]] = field
    return found


@dataclass(frozen=True, slots=True)
class Registrant:
    email: str  # normalised send address (as Recipient.email)
    name: str | None
    municipality: str | None  # as typed in the form
    role: str | None
    registered_at: dt.datetime | None  # from "Időbélyeg", naive local time as exported
    row: int
    sheet: str | None = None  # None for a CSV file
    given: str | None = None  # the given-name answer, when the form asks the name in two questions


@dataclass
class RegistrationList:
    registrants: list[Registrant]  # one per address, the latest answer; in row order
    findings: list[Finding]
    path: Path
    modified_at: dt.datetime  # the file's mtime, UTC-aware
    duplicates: int = 0  # answers superseded by a later one

    def age_hours(self, now: dt.datetime) -> float:
        """Hours since the file was written; ``now`` must be timezone-aware."""
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        return (now - self.modified_at).total_seconds() / 3600

    @property
    def problems(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == PROBLEM]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == WARNING]


@dataclass(frozen=True, slots=True)
class _Answer:
    order: int  # position in the file(s), for "the later row wins"
    email: str
    key: str
    values: dict[str, str]
    stamp: str  # the timestamp cell as written
    row: int
    sheet: str | None


def load_registrations(
    path: Path | str, *, columns: dict[str, str] | None = None, sheet: str | None = None, limits: Limits = DEFAULT
) -> RegistrationList:
    """Read a registration export (.csv, .txt, .xlsx, .xlsm, .xls, .ods).

    ``columns`` maps header text to ``timestamp``, ``email``, ``name``,
    ``municipality``, ``role`` or ``ignore``; ``sheet`` is a sheet name,
    ``"all"``, or None for the first non-empty sheet.  Raises RecipientsError
    (exit 2) when the file is unusable as a whole, e.g. has no e-mail column.
    A header without data rows is not an error: nobody has registered yet.
    """
    path = Path(path)
    mapping = check_mapping(columns, FIELDS)
    every = sheet is not None and sheet.strip().lower() == ALL_SHEETS
    reader = _Reader(str(path))
    with open_sheets(path, sheet, limits) as sheets:
        # Before reading: the age then never claims the data is newer than it is.
        mtime = path.stat().st_mtime
        for raw in sheets:
            reader.read_sheet(path, raw, mapping, every=every)
    if every and not reader.sheets_read:
        raise reader.first_error or RecipientsError(_("no sheet has a registration header"), file=path)
    registrants, duplicates = reader.finish()
    modified = dt.datetime.fromtimestamp(mtime, tz=dt.UTC)
    return RegistrationList(registrants, reader.findings, path, modified, duplicates)


class _Reader:
    def __init__(self, file: str) -> None:
        self.file = file
        self.findings: list[Finding] = []
        self.answers: list[_Answer] = []
        self.stamp_columns: dict[str | None, str] = {}  # sheet → timestamp header
        self.sheets_read = 0
        self.first_error: RecipientsError | None = None

    def note(
        self,
        severity: str,
        message: str,
        sheet: str | None,
        row: int | None,
        column: str | None,
        value: str | None,
    ) -> None:
        self.findings.append(Finding(severity, message, self.file, sheet, row, column, value))

    def read_sheet(self, path: Path, raw: RawSheet, mapping: dict[str, tuple[str, str]], *, every: bool) -> None:
        try:
            header, early = find_header(
                raw.rows,
                mapping,
                file=path,
                sheet=raw.name,
                aliases=_ALIAS_KEYS,
                layout=_forms_layout(mapping),
                table=TABLE,
            )
        except RecipientsError as error:
            if not every:
                raise
            self.first_error = self.first_error or error
            if "empty" not in error.message:
                self.note(
                    WARNING,
                    _("sheet skipped: {message}").format(message=error.message),
                    raw.name,
                    error.row,
                    None,
                    None,
                )
            return
        self.sheets_read += 1
        for missing in header.unmapped:
            self.note(
                WARNING,
                _("column mapping: this sheet has no column {missing}").format(missing=quoted(missing)),
                raw.name,
                header.row,
                missing,
                None,
            )
        if "timestamp" in header.columns:
            self.stamp_columns[raw.name] = header.columns["timestamp"].header
        else:
            self.note(
                WARNING,
                _("no timestamp column (Időbélyeg): of two answers the later row wins"),
                raw.name,
                header.row,
                None,
                None,
            )
        read = anonymous = addressed = 0
        for rows in (early, raw.rows):
            for row in rows:
                if not row.is_empty():
                    read += 1
                    cell = clean_text(_cell(header, row, "email"))
                    anonymous += cell.casefold() == "anonymous"
                    addressed += "@" in cell
                    self.add_row(raw.name, header, row)
        if read and anonymous == read:
            # An open Microsoft Forms form whose address question was not found: one line, not a
            # problem per row that quietly leaves every registrant without the join link.
            raise RecipientsError(
                _(
                    "'anonymous' on every row (a form without sign-in): map the question asking for the address "
                    "in {table}, e.g. {example}"
                ).format(table=TABLE, example='"Az Ön e-mail-címe" = "email"'),
                file=path,
                sheet=raw.name,
                column=header.columns["email"].header,
            )
        if read >= _WRONG_COLUMN_ROWS and not addressed:
            # The column taken for the address holds none (a yes/no question about e-mail news,
            # say): the wrong column, not a file of typos.
            raise RecipientsError(
                _("no row has an address in this column: map the column with the addresses in {table}").format(
                    table=TABLE
                ),
                file=path,
                sheet=raw.name,
                column=header.columns["email"].header,
            )

    def add_row(self, sheet: str | None, header: Header, row: RawRow) -> None:
        values = {name: self._text(sheet, header, row, name) for name in _TEXT_FIELDS}
        stamp = _cell(header, row, "timestamp")
        email = header.columns["email"]
        if email.index in row.formulas:
            self.note(
                PROBLEM,
                _("a formula instead of an address"),
                sheet,
                row.number,
                email.header,
                row.formulas[email.index],
            )
            return
        raw = _cell(header, row, "email")
        if not split_addresses(raw):
            self.note(PROBLEM, _("no e-mail address"), sheet, row.number, email.header, clean_text(raw))
            return
        candidate = single_address(raw)
        if candidate is None:
            # A public form: "a@x, victim@y" must not send the join link to victim@y.
            self.note(
                PROBLEM,
                _("one registration, one address: give a bare address or one 'Name <address>'; not mailed"),
                sheet,
                row.number,
                email.header,
                clean_text(raw),
            )
            return
        try:
            address = normalise_address(candidate)
        except AddressError as error:
            self.note(PROBLEM, str(error), sheet, row.number, email.header, candidate)
            return
        order = len(self.answers)
        self.answers.append(_Answer(order, address.send, address.key, values, stamp, row.number, sheet))

    def _text(self, sheet: str | None, header: Header, row: RawRow, name: str) -> str:
        text = clean_field(_cell(header, row, name))
        column = header.columns[name].header if name in header.columns else None
        if text and has_template_marks(text):
            # The answer still counts; only this cell is not used in the letter.
            self.note(WARNING, _("template braces in a cell: the value is not used"), sheet, row.number, column, text)
            return ""
        if text and (hint := mojibake_hint(text)) is not None:
            self.note(
                WARNING,
                _("looks like mojibake (wrong code page); did you mean {hint}?").format(hint=quoted(hint)),
                sheet,
                row.number,
                column,
                text,
            )
        return text

    def finish(self) -> tuple[list[Registrant], int]:
        day_first = _slash_day_first(a.stamp for a in self.answers)
        stamps: dict[int, dt.datetime | None] = {}
        for answer in self.answers:
            stamps[answer.order] = when = parse_timestamp(answer.stamp, day_first=day_first)
            if when is None and answer.sheet in self.stamp_columns:
                message = _("timestamp not recognised") if answer.stamp.strip() else _("no timestamp")
                self.note(
                    WARNING,
                    _("{message}: row order decides between this address's answers").format(message=message),
                    answer.sheet,
                    answer.row,
                    self.stamp_columns[answer.sheet],
                    answer.stamp.strip(),
                )
        groups: dict[str, list[_Answer]] = {}
        for answer in self.answers:
            groups.setdefault(answer.key, []).append(answer)
        winners = [_latest(group, stamps) for group in groups.values()]
        winners.sort(key=lambda a: a.order)
        registrants = [_registrant(a, stamps[a.order]) for a in winners]
        return registrants, len(self.answers) - len(winners)


def _latest(group: list[_Answer], stamps: dict[int, dt.datetime | None]) -> _Answer:
    """The latest answer: by timestamp, ties by row; by row alone when any timestamp is missing.

    Timestamps cannot order an answer that has none, so then the file's order
    (which is the order Google Forms received them) decides for all of them.
    """
    if all(stamps[a.order] is not None for a in group):
        return max(group, key=lambda a: (stamps[a.order], a.order))
    return group[-1]


def _registrant(answer: _Answer, when: dt.datetime | None) -> Registrant:
    values = answer.values
    split = " ".join(part for part in (values["family_name"], values["given_name"]) if part)
    return Registrant(
        email=answer.email,
        name=values["name"] or split or None,
        given=None if values["name"] else values["given_name"] or None,
        municipality=values["municipality"] or None,
        role=values["role"] or None,
        registered_at=when,
        row=answer.row,
        sheet=answer.sheet,
    )


_BARE = re.compile(r"^(?:mailto:\s*)?([^\s<>,;\"]*@[^\s<>,;\"]*)$", re.IGNORECASE)
_NAMED = re.compile(r"^([^<>@]*)<\s*(?:mailto:\s*)?([^\s<>,;\"]*@[^\s<>,;\"]*)\s*>$", re.IGNORECASE)


def single_address(cell: str) -> str | None:
    """The address of a cell holding exactly a bare address or one ``Name <address>``, else None.

    Unlike the contact sheet (``cells.split_addresses``), a registration is one
    person: a second address or text around the address is not guessed at.
    """
    # A separator or full stop typed after the one address ("kiss@x.example;") is not a second one.
    text = clean_text(cell).rstrip(";,. ")
    bare = _BARE.match(text)
    if bare:
        return bare.group(1)
    named = _NAMED.match(text)
    return named.group(2) if named else None


def _cell(header: Header, row: RawRow, name: str) -> str:
    column = header.columns.get(name)
    if column is None or column.index >= len(row.cells):
        return ""
    return row.cells[column.index]


# --- Timestamps ---------------------------------------------------------------
#
# Google Forms / Sheets write the timestamp in the spreadsheet's locale:
# Hungarian "2020. 06. 10. 10:15:32", the responses CSV "2020/06/10 10:15:32
# DU CEST" (de./du. = a.m./p.m.), US English "6/10/2020 10:15:32", and XLSX
# gives a datetime cell that the reader writes as "2020-06-10 10:15:32".  A
# trailing zone name is dropped: the result is the local wall-clock time.

_YEAR_FIRST = re.compile(r"(\d{4})\s*[./-]\s*(\d{1,2})\s*[./-]\s*(\d{1,2})\.?(?:[\sT,]+(.*))?")
_YEAR_LAST = re.compile(r"(\d{1,2})\s*([./-])\s*(\d{1,2})\s*[./-]\s*(\d{4})\.?(?:[\s,]+(.*))?")
_MARKER = r"am|pm|a\.\s?m\.|p\.\s?m\.|de\.?|du\.?"  # de./du.: délelőtt/délután
_TIME = re.compile(
    rf"(?:(de|du)\.?\s*)?(\d{{1,2}})[:.](\d{{2}})(?:[:.](\d{{2}})(?:[.,]\d+)?)?\s*({_MARKER})?\s*(.*)",
    re.IGNORECASE,
)
_ZONE = re.compile(r"(?:z|[a-z]{2,5}|(?:gmt|utc)?\s*[+-]\d{1,2}(?::?\d{2})?)", re.IGNORECASE)


def parse_timestamp(text: str, *, day_first: bool = False) -> dt.datetime | None:
    """A form timestamp as a naive local datetime, or None when not recognised.

    ``day_first`` decides "10/06/2020" (slashes, year last): day first when
    True, else month first as Google's US-English export writes it.  Dotted
    and dashed dates with the year last are always day first.
    """
    text = clean_text(text)
    if match := _YEAR_FIRST.fullmatch(text):
        year, month, day, rest = int(match[1]), int(match[2]), int(match[3]), match[4]
    elif match := _YEAR_LAST.fullmatch(text):
        first, second, year, rest = int(match[1]), int(match[3]), int(match[4]), match[5]
        month_first = match[2] == "/" and not day_first
        month, day = (first, second) if month_first else (second, first)
    else:
        return None
    clock = _clock(rest or "")
    if clock is None:
        return None
    try:
        return dt.datetime(year, month, day, *clock)  # noqa: DTZ001 - the sheet's wall-clock time, as typed
    except ValueError:  # month 13, 31 June, hour 25
        return None


def _clock(text: str) -> tuple[int, int, int] | None:
    if not text:
        return (0, 0, 0)
    match = _TIME.fullmatch(text)
    if match is None or (match[1] and match[5]) or (match[6] and not _ZONE.fullmatch(match[6])):
        return None
    hour, minute, second = int(match[2]), int(match[3]), int(match[4] or 0)
    marker = (match[1] or match[5] or "").lower()
    if marker:
        if not 1 <= hour <= 12:
            return None
        afternoon = marker.startswith(("p", "du"))
        hour = hour % 12 + (12 if afternoon else 0)
    return hour, minute, second


def _slash_day_first(stamps: Iterable[str]) -> bool:
    """True when some "a/b/yyyy" stamp has a > 12: the file writes the day first."""
    for stamp in stamps:
        match = _YEAR_LAST.fullmatch(clean_text(stamp))
        if match and match[2] == "/" and int(match[1]) > 12:
            return True
    return False


__all__ = ["FIELDS", "Registrant", "RegistrationList", "load_registrations", "parse_timestamp", "single_address"]
