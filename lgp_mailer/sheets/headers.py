"""Which column is which: header aliases, the user's mapping, and the header row.

Offices title their columns in many ways ("E-mail", "Email cím", "Település
neve", "Vármegye").  A header is compared by a key that ignores case,
accents, whitespace and punctuation, so "E-mail-cím" and "email cim" match.
Anything else is mapped in the campaign's ``[columns]`` table or with
``--column "Header=field"``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from lgp_mailer.errors import RecipientsError
from lgp_mailer.i18n import _
from lgp_mailer.quoting import quoted
from lgp_mailer.sheets.cells import mojibake_hint
from lgp_mailer.sheets.readers import RawRow

# family_name and given_name: a name in two columns, joined into name in that order.
FIELDS = ("email", "municipality", "county", "name", "role", "gender", "salutation", "family_name", "given_name")
IGNORE = "ignore"  # a mapping value that makes a column be skipped
HEADER_SEARCH_ROWS = 20  # title rows above the header are tolerated up to here

_ALIASES = {
    "email": (
        "email",
        "e-mail",
        "e-mail cím",
        "email cím",
        "e-mail-cím",
        "e-mail címe",
        "e-mail címek",
        "emailek",
        "e-cím",
        "elektronikus levélcím",
        "email address",
        "e-mail address",
        "mail",
    ),
    "municipality": (
        "önkormányzat",
        "önkormányzat neve",
        "település",
        "település neve",
        "helység",
        "város",
        "község",
        "municipality",
        "town",
        "city",
        "settlement",
    ),
    "county": ("megye", "megye neve", "vármegye", "county"),
    "name": (
        "név",
        "teljes név",
        "polgármester neve",
        "jegyző neve",
        "vezető neve",
        "címzett",
        "címzett neve",
        "kapcsolattartó",
        "kapcsolattartó neve",
        "name",
        "full name",
        "contact",
        "contact name",
    ),
    "family_name": ("vezetéknév", "vezeték név", "családnév", "családi név", "last name", "surname", "family name"),
    "given_name": ("keresztnév", "kereszt név", "utónév", "utónevek", "first name", "given name", "forename"),
    "role": ("beosztás", "tisztség", "munkakör", "role", "position", "job title"),
    "gender": ("nem", "neme", "gender", "sex"),
    "salutation": ("megszólítás", "salutation", "greeting"),
}


def header_key(text: str) -> str:
    """``"E-mail-cím "`` → ``"emailcim"``: no case, accents, spaces or punctuation."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    return "".join(ch for ch in decomposed.casefold() if ch.isalnum() and not unicodedata.combining(ch))


def alias_keys(aliases: dict[str, tuple[str, ...]]) -> dict[str, str]:
    """An alias table (field → header texts) as header key → field, for :func:`find_header`."""
    return {header_key(alias): field for field, texts in aliases.items() for alias in texts}


_ALIAS_KEYS = alias_keys(_ALIASES)
# The e-mail column's names, for the other sheets that have one (the suppression import).
EMAIL_ALIASES: tuple[str, ...] = _ALIASES["email"]


@dataclass(frozen=True)
class Column:
    index: int
    header: str  # as written in the sheet, for findings


@dataclass(frozen=True)
class Header:
    row: int  # the header's row number
    columns: dict[str, Column]  # logical field → column
    unmapped: tuple[str, ...]  # headers of the user mapping that this sheet lacks
    cells: tuple[str, ...] = ()  # the header row as written
    guessed: tuple[str, ...] = ()  # fields found by a guess (:func:`_guess_email`), to be told


def check_mapping(columns: dict[str, str] | None, fields: tuple[str, ...] = FIELDS) -> dict[str, tuple[str, str]]:
    """The user mapping as header key → (header, field); RecipientsError for a field not in ``fields``."""
    mapping: dict[str, tuple[str, str]] = {}
    for header, field in (columns or {}).items():
        name = (field or "").strip().lower()
        if name not in (*fields, IGNORE):
            raise RecipientsError(
                _("column mapping {header} = {field}: the field must be one of {fields} or {ignore}").format(
                    header=quoted(header), field=quoted(field), fields=", ".join(fields), ignore=IGNORE
                )
            )
        mapping[header_key(header)] = (header, name)
    return mapping


# A gender header often explains its codes: "Nem (F/N)", "Neme (1 = férfi, 2 = nő)", "Gender (M/F)".
_EXPLAINED = re.compile(r"\s*\([^)]*\)\s*$")


def _fields_of(cells: Iterable[str], mapping: dict[str, tuple[str, str]], aliases: dict[str, str]) -> dict[int, str]:
    found = {}
    for index, cell in enumerate(cells):
        key = header_key(cell)
        field = mapping[key][1] if key in mapping else aliases.get(key)
        if field is None and key not in mapping and aliases.get(header_key(_EXPLAINED.sub("", cell))) == "gender":
            field = "gender"
        if field and field != IGNORE:
            found[index] = field
    return found


def find_header(
    rows: Iterator[RawRow],
    mapping: dict[str, tuple[str, str]],
    *,
    file: Path,
    sheet: str | None,
    aliases: dict[str, str] | None = None,
    layout: Callable[[tuple[str, ...], dict[int, str]], dict[int, str]] | None = None,
    table: str = "[columns]",
) -> tuple[Header, list[RawRow]]:
    """Find the header among the first rows; return it and the rows read past it.

    The header is the first row with an e-mail column and at least one other
    known column; failing that, the first row with an e-mail column alone.
    ``aliases`` (from :func:`alias_keys`) replaces the recipient sheet's
    header aliases, e.g. for a registration form's export; ``layout`` adjusts
    the fields found in a row (cells, column index → field) for an export
    whose fixed columns it knows.  ``table`` names the toml table the errors tell the user to
    map a column in.
    """
    aliases = _ALIAS_KEYS if aliases is None else aliases
    seen: list[RawRow] = []
    for row in rows:
        seen.append(row)
        if len(seen) >= HEADER_SEARCH_ROWS:
            break
    candidates = [(row, _fields_of(row.cells, mapping, aliases)) for row in seen]
    if layout is not None:
        candidates = [(row, layout(tuple(row.cells), fields)) for row, fields in candidates]
    chosen = next((c for c in candidates if "email" in c[1].values() and len(c[1]) > 1), None)
    chosen = chosen or next((c for c in candidates if "email" in c[1].values()), None)
    guessed: tuple[str, ...] = ()
    if chosen is None and aliases is _ALIAS_KEYS:  # the contact sheet's own headers, not a form's
        chosen = next((g for row, fields in candidates if (g := _guess_email(row, fields, mapping))), None)
        guessed = ("email",) if chosen else ()
    if chosen is None:
        raise _no_email_column(candidates, file=file, sheet=sheet, table=table)
    row, fields = chosen
    columns = _columns(row, fields, file=file, sheet=sheet, table=table)
    header = Header(row.number, columns, _unmapped(row, mapping), row.cells, guessed)
    return header, [later for later in seen if later.number > row.number]


def _guess_email(
    row: RawRow, fields: dict[int, str], mapping: dict[str, tuple[str, str]]
) -> tuple[RawRow, dict[int, str]] | None:
    """A header row with no e-mail column by name, but one whose header says "e-mail" among other
    words ("Hivatali e-mail cím", "Polgármester e-mail címe", "E-mail 1"): that column, when it is
    the only such cell and the row has another known column.  Two such cells ("E-mail 1",
    "E-mail 2") are the user's choice: no guess."""
    if not fields:
        return None
    maybe = [
        index
        for index, cell in enumerate(row.cells)
        if "email" in (key := header_key(cell)) and index not in fields and key not in mapping
    ]
    if len(maybe) != 1:
        return None
    return row, {**fields, maybe[0]: "email"}


def garbled_header(cells: Iterable[str], *, file: Path, sheet: str | None, row: int) -> RecipientsError | None:
    """An encoding diagnosis when a header cell is mojibake ("TelepÃ¼lÃ©s"), else None."""
    for cell in cells:
        hint = mojibake_hint(cell) if cell else None
        if hint is not None or "\ufffd" in cell:
            meant = _(" (meant {hint}?)").format(hint=quoted(hint)) if hint else ""
            return RecipientsError(
                _(
                    "the header {header}{meant} is garbled: the file's text encoding was misread; save it as "
                    "CSV UTF-8 (mentse CSV UTF-8 formátumban)"
                ).format(header=quoted(cell.strip()), meant=meant),
                file=file,
                sheet=sheet,
                row=row,
            )
    return None


def _no_email_column(
    candidates: list[tuple[RawRow, dict[int, str]]], *, file: Path, sheet: str | None, table: str
) -> RecipientsError:
    if not any(not row.is_empty() for row, _ in candidates):
        return RecipientsError(_("the sheet is empty"), file=file, sheet=sheet)
    for row, _fields in candidates:  # not '_': that is the translation function
        if (garbled := garbled_header(row.cells, file=file, sheet=sheet, row=row.number)) is not None:
            return garbled
    best_row, best = max(candidates, key=lambda c: len(c[1]))
    if best:
        found = ", ".join(repr(best_row.cells[i]) for i in best)
        several = [cell for cell in best_row.cells if "email" in header_key(cell)]
        if len(several) > 1:  # "E-mail 1", "E-mail 2": which one is the user's to say
            return RecipientsError(
                _("{count} columns could be the e-mail column ({columns}): map the one to send to in {table}").format(
                    count=len(several), columns=", ".join(map(repr, several)), table=table
                ),
                file=file,
                sheet=sheet,
                row=best_row.number,
            )
        return RecipientsError(
            _("no e-mail column (found {found}); name it 'E-mail' or map it in {table}").format(
                found=found, table=table
            ),
            file=file,
            sheet=sheet,
            row=best_row.number,
        )
    return RecipientsError(
        _("no header row with an e-mail column in the first {header_search_rows} rows").format(
            header_search_rows=HEADER_SEARCH_ROWS
        ),
        file=file,
        sheet=sheet,
    )


def _columns(row: RawRow, fields: dict[int, str], *, file: Path, sheet: str | None, table: str) -> dict[str, Column]:
    columns: dict[str, Column] = {}
    for index, field in fields.items():
        header = row.cells[index].strip()
        if field in columns:
            first = columns[field].header
            raise RecipientsError(
                _(
                    "columns {first} and {header} both mean {field}; map one of them in {table} (e.g. "
                    '{toml_key} = "{ignore}")'
                ).format(
                    first=quoted(first),
                    header=quoted(header),
                    field=field,
                    table=table,
                    toml_key=repr(header),
                    ignore=IGNORE,
                ),
                file=file,
                sheet=sheet,
                row=row.number,
            )
        columns[field] = Column(index, header)
    return columns


def _unmapped(row: RawRow, mapping: dict[str, tuple[str, str]]) -> tuple[str, ...]:
    present = {header_key(cell) for cell in row.cells}
    return tuple(header for key, (header, _) in mapping.items() if key not in present)
