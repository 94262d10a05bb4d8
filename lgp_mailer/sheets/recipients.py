"""Recipient sheets → validated, normalised recipient records.

``load_recipients`` streams the rows of one or more sheets (``sheetreaders``),
finds the header (``sheetheaders``), cleans and validates each cell
(``recipientcells``) and merges rows that share an address: a joint municipal
office is one recipient that covers several municipalities.  A row that
repeats an earlier row's address and municipality is merged into it, never
lost: an exact copy with a warning naming both rows, and a copy naming a
different person or role with a warning naming the greeting the first row's
person gets (the first row in sheet order wins).

Every problem becomes a :class:`Finding` with its file, sheet, row and column.
A problem on any row of an address holds that whole address back (it lands in
``RecipientSheet.rejected``), so an address is never sent half-right and then
recorded in the ledger as done.  Warnings never hold anything back.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lgp_mailer.errors import RecipientsError
from lgp_mailer.hungarian import (
    DEFAULT_ROLE,
    FEMALE,
    Contradiction,
    Salutation,
    choose_salutation,
    contradiction,
    forget_names,
    is_person,
    normalise_role,
    parse_gender,
    people_named,
    role_of,
    unclear_order,
    words_after_name,
)
from lgp_mailer.i18n import N_, _, ngettext
from lgp_mailer.quoting import quoted
from lgp_mailer.roles import INSTITUTION, UNKNOWN, read_role
from lgp_mailer.sheets.cells import (
    AddressError,
    clean_field,
    clean_text,
    forget_domains,
    has_template_marks,
    mojibake_hint,
    normalise_address,
    split_addresses,
)
from lgp_mailer.sheets.compact import SEP, SUB, Chunks, KeyIndex, Recipients, Strings, first_field
from lgp_mailer.sheets.compact import Recipient as Recipient  # where it was always imported from
from lgp_mailer.sheets.gazetteer import is_number, load_gazetteer
from lgp_mailer.sheets.gender_codes import MARK, GenderCodes, code_of
from lgp_mailer.sheets.headers import IGNORE, Header, check_mapping, find_header, garbled_header, header_key
from lgp_mailer.sheets.limits import DEFAULT, Limits
from lgp_mailer.sheets.readers import (
    ALL_SHEETS,
    RawRow,
    RawSheet,
    garbled_note,
    open_sheets,
)

# The fields merged rows may disagree on, as the warning names them in the interface language.
_FIELD_WORDS = {"name": N_("name"), "role": N_("role"), "gender": N_("gender"), "salutation": N_("salutation")}

PROBLEM, WARNING = "problem", "warning"
# A name cell of digits and separators: a date ("2020-01-01T10:00:00"), a phone number, a postcode.
_NOT_A_NAME = re.compile(r"[\d\s.,:/+()T-]*\d[\d\s.,:/+()T-]*")
MOJIBAKE = "mojibake"  # Finding.kind of a warning about garbled text
# Text fields that are cleaned and checked for mojibake and template braces.
_TEXT_FIELDS = ("municipality", "county", "name", "role", "salutation")


@dataclass(frozen=True, slots=True)
class Finding:
    """A problem (blocks sending that row) or a warning (never changes the exit code)."""

    severity: str  # "problem" | "warning"
    problem: str
    file: str
    sheet: str | None = None
    row: int | None = None
    column: str | None = None
    value: str | None = None
    # "mojibake" for text garbled by a wrong code page: a warning that still
    # makes ``check`` exit 1, because every letter would carry the garbling.
    kind: str | None = None


@dataclass(frozen=True, slots=True)
class Rejected:
    """An address (or the raw cell text) that will not be sent, and why.

    The sender records these as ``invalid`` in its ledger.
    """

    address: str
    municipalities: tuple[str, ...]
    rows: tuple[int, ...]
    reason: str


@dataclass(frozen=True, slots=True)
class RowCounts:
    """What became of every data row; ``rows == own + merged + held`` always.

    ``own``: rows that are the first row of a recipient; ``merged``: rows
    folded into an earlier row's recipient (an exact copy, a second person at
    the same office, or another municipality of a joint office); ``held``:
    rows with a problem that holds their address back.  ``recipients`` can
    exceed ``own`` only when one cell holds several addresses (``split``).
    """

    rows: int = 0
    own: int = 0
    merged: int = 0
    held: int = 0
    split: int = 0


@dataclass
class RecipientSheet:
    recipients: Sequence[Recipient]  # a loaded sheet's: ``compact.Recipients``
    findings: list[Finding] = field(default_factory=list)
    path: Path | None = None
    rejected: list[Rejected] = field(default_factory=list)
    sheets: tuple[str, ...] = ()  # the sheets read, in order (empty for CSV)
    encoding: str | None = None  # the text encoding of a CSV file
    counts: RowCounts = field(default_factory=RowCounts)

    @property
    def problems(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == PROBLEM]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == WARNING]


def load_recipients(
    path: Path | str,
    *,
    sheet: str | None = None,
    columns: dict[str, str] | None = None,
    limits: Limits = DEFAULT,
    hints: bool = True,
) -> RecipientSheet:
    """Read ``path`` (.xlsx, .xlsm, .xls, .ods, .csv, .txt) into recipients and findings.

    ``sheet``: None for the first non-empty sheet, a sheet name, or ``"all"``
    (with ``"all"`` the sheet name is the county when there is no county
    column).  ``columns`` maps header text to a field (``email``,
    ``municipality``, ``county``, ``name``, ``role``, ``gender``,
    ``salutation``, or ``ignore``).  Raises RecipientsError when the file is
    unusable as a whole.  ``hints=False`` keeps no warnings (problems stay)
    and makes no "did you mean" guesses for unknown places (difflib, about
    9 ms a name): for callers that never show the findings, such as ``send``,
    where 100,000 rows of unlisted places were 100,000 warnings held in memory.
    """
    path = Path(path)
    mapping = check_mapping(columns)
    every = sheet is not None and sheet.strip().lower() == ALL_SHEETS
    merger = _Merger(str(path))
    merger.fuzzy_limit = _FUZZY_LIMIT if hints else 0
    merger.keep_warnings = hints
    read: list[str | None] = []  # sheet names; None for a CSV file
    encoding = None
    with open_sheets(path, sheet, limits) as sheets:
        for raw in sheets:
            encoding = raw.encoding
            if raw.garbled:
                merger.warn(garbled_note(raw.garbled), raw.name, None, None, None, MOJIBAKE)
            if _read_sheet(path, raw, mapping, merger, every=every):
                read.append(raw.name)
                if raw.hidden:  # last year's list, say: its rows get letters like the rest
                    merger.warn(
                        _("this sheet is hidden in Excel, and its rows are read too"), raw.name, None, None, None
                    )
            if raw.others and read:
                _refuse_unread_addresses(path, raw.name, raw.others, mapping)
    forget_domains()  # every address is read: the memory goes to the recipients
    if not read:
        raise merger.first_error or RecipientsError(_("no data rows below the header"), file=path)
    recipients, rejected = merger.finish()
    if not hints:
        forget_names()  # the memory goes to the letters
    sheet_names = tuple(name for name in read if name is not None)
    return RecipientSheet(recipients, merger.findings, path, rejected, sheet_names, encoding, merger.counts)


def _read_sheet(
    path: Path, raw: RawSheet, mapping: dict[str, tuple[str, str]], merger: _Merger, *, every: bool
) -> bool:
    """Feed one sheet's data rows to ``merger``; False when the sheet has none."""
    try:
        header, early = find_header(raw.rows, mapping, file=path, sheet=raw.name)
        if "municipality" not in header.columns:
            if (garbled := garbled_header(header.cells, file=path, sheet=raw.name, row=header.row)) is not None:
                raise garbled
            raise RecipientsError(
                _("no municipality column (Önkormányzat or Település); map it in [columns]"),
                file=path,
                sheet=raw.name,
                row=header.row,
            )
    except RecipientsError as error:
        if not every:
            raise
        merger.first_error = merger.first_error or error
        if "empty" not in error.message:  # an instructions sheet, say: tell, but go on
            merger.warn(_("sheet skipped: {message}").format(message=error.message), raw.name, error.row, None, None)
        return False
    merger.columns.update({(raw.name, f): column.header for f, column in header.columns.items()})
    if "email" in header.guessed:
        column_header = header.columns["email"].header
        merger.warn(
            _("the column {header} is read as the e-mail column; map it in [columns] if it is not").format(
                header=quoted(column_header)
            ),
            raw.name,
            header.row,
            column_header,
            None,
        )
    if not {"name", "given_name", "gender", "salutation"} & header.columns.keys():
        # One warning for the sheet, not one per row: neutral is the only choice.
        merger.warn(_("no name or gender column: every salutation is neutral"), raw.name, header.row, None, None)
    for missing in header.unmapped:
        merger.warn(
            _("column mapping: this sheet has no column {missing}").format(missing=quoted(missing)),
            raw.name,
            header.row,
            missing,
            None,
        )
    county = raw.name if every and "county" not in header.columns else None
    mapped = {column.index for column in header.columns.values()}
    blank = tuple(i for i, cell in enumerate(header.cells) if not cell.strip() and i not in mapped)
    unread = tuple(
        i
        for i, cell in enumerate(header.cells)
        if cell.strip() and i not in mapped and mapping.get(header_key(cell), ("", ""))[1] != IGNORE
    )
    context = _RowContext(raw.name, header, county, len(header.cells), blank, unread)
    any_data = False
    hidden: list[int] = []  # data rows Excel hides
    for rows in (early, raw.rows):
        for row in rows:
            if row.is_empty():
                continue
            any_data = True
            if row.hidden:
                hidden.append(row.number)
            if (total := _total_label(row)) is not None:
                index, label = total
                column = header.cells[index].strip() if index < len(header.cells) else None
                merger.warn(_("a total row, not a recipient: skipped"), raw.name, row.number, column or None, label)
            else:
                merger.add_row(context, row)
    if hidden:  # a filtered list looks shorter in Excel than the list that is sent
        shown = ", ".join(str(n) for n in hidden[:_HIDDEN_SHOWN]) + (", …" if len(hidden) > _HIDDEN_SHOWN else "")
        merger.warn(
            ngettext(
                "{n} row is hidden in Excel (row {rows}): it is read and gets a letter too",
                "{n} rows are hidden in Excel (rows {rows}): they are read and get letters too",
                len(hidden),
            ).format(n=len(hidden), rows=shown),
            raw.name,
            hidden[0],
            None,
            None,
        )
    return any_data


_HIDDEN_SHOWN = 10  # hidden rows named in the warning


# The label of a sheet's total row ("Összesen:", "Mindösszesen 12 település", "Total"), as a whole
# word of the accent-free text: "Sümeg" is a town, not a sum.
_TOTAL_LABEL = re.compile(r"(?:mind ?)?osszesen|osszesites|(?:grand )?total|sum", re.IGNORECASE)


def _total_label(row: RawRow) -> tuple[int, str] | None:
    """The column and label of a total row under the data, else None: a row whose
    first cell with text starts with "Összesen" (or "Total") and holds no address,
    whose other cells are numbers or formulas.  It is nobody to write to."""
    texts = [(i, cell.strip()) for i, cell in enumerate(row.cells) if cell.strip()]
    if not texts or any("@" in cell for _i, cell in texts):
        return None
    index, label = texts[0]
    words = " ".join(header_key(word) for word in label.split())
    if index in row.formulas or not (found := _TOTAL_LABEL.match(words)) or words[found.end() :][:1].isalnum():
        return None
    rest = [cell for i, cell in texts[1:] if i not in row.formulas]
    return (index, label) if all(is_number(cell) for cell in rest) else None


def _refuse_unread_addresses(
    path: Path, read: str | None, others: list[tuple[str, Iterator[RawRow]]], mapping: dict[str, tuple[str, str]]
) -> None:
    """Without a ``sheet`` setting only the first sheet is read: a later sheet with an
    e-mail column and addresses in it (one sheet per county, say) would be lost
    without a word, so the choice is the user's."""
    found: list[tuple[str, int]] = []  # (sheet, the row of its first address)
    for name, rows in others:
        try:
            header, early = find_header(rows, mapping, file=path, sheet=name)
        except RecipientsError:
            continue  # no e-mail column: notes, a pivot table, an empty sheet
        column = header.columns["email"].index
        for row in itertools.chain(early, rows):
            if column < len(row.cells) and "@" in row.cells[column]:
                found.append((name, row.number))
                break
    if found:
        message = ngettext(
            "only the sheet {read} would be read, but the sheet {others} holds addresses too: set "
            'sheet = "all" in lgp-mailer.toml (one sheet per county) or choose one with --sheet',
            "only the sheet {read} would be read, but the sheets {others} hold addresses too: set "
            'sheet = "all" in lgp-mailer.toml (one sheet per county) or choose one with --sheet',
            len(found),
        )
        raise RecipientsError(
            message.format(read=quoted(read or ""), others=", ".join(quoted(name) for name, _row in found)),
            file=path,
            sheet=found[0][0],
            row=found[0][1],
        )


@dataclass(frozen=True, slots=True)
class _RowContext:
    sheet: str | None
    header: Header
    county: str | None  # the sheet name standing in for a missing county column
    width: int = 0  # cells in the header row: a cell right of them has no header
    blank: tuple[int, ...] = ()  # columns whose header cell is empty (and not mapped)
    unread: tuple[int, ...] = ()  # columns with a header that is no field ("E-mail 2"), not mapped to ignore


class _Entry:
    """One address with more than one row while rows are being merged (the first row of an
    address is a line of ``_Merger.lines`` until a second one comes)."""

    __slots__ = (
        "copies",
        "county",
        "firsts",
        "gender_cell",
        "genders",
        "given",
        "municipalities",
        "names",
        "reasons",
        "roles",
        "row_sheets",
        "rows",
        "salutations",
        "send",
        "sheet",
    )

    def __init__(self, send: str, sheet: str | None, county: str) -> None:
        self.send, self.sheet, self.county = send, sheet, county
        self.rows: list[int] = []
        self.row_sheets: list[str | None] = []  # parallel to rows: `--sheet all` mixes sheets
        self.municipalities: list[str] = []
        # Parallel to municipalities: the first row naming it and that row's person cells.
        self.firsts: list[tuple[str | None, int, _Cells]] = []
        # Later rows naming a different person for the same municipality: warned
        # about once the greeting is known.
        self.copies: list[tuple[str | None, int, str, str, str | None, int]] = []
        # (sheet, row, value) per row: merged rows may disagree.
        self.names: list[tuple[str | None, int, str]] = []
        self.roles: list[tuple[str | None, int, str]] = []
        self.genders: list[tuple[str | None, int, str]] = []
        self.gender_cell = ""  # the first gender cell as written ("N", "férfi"), for warnings
        self.given = ""  # the first row's given-name cell, when the name is in two columns
        self.salutations: list[tuple[str | None, int, str]] = []
        self.reasons: list[str] = []


class _Merger:
    def __init__(self, file: str) -> None:
        self.file = file
        self.findings: list[Finding] = []
        self.rejected: list[Rejected] = []
        # Every address gets a number in sheet order (``keys``); its first row is a compact
        # line (``lines``) until a second row (or text a line cannot hold) makes it an _Entry.
        self.keys = KeyIndex()
        self.lines = Chunks()
        self.entries: dict[int, _Entry] = {}
        self.sheet_names = Strings()
        self.shared_rows: set[tuple[str | None, int]] = set()  # rows with several addresses in one cell
        self.columns: dict[tuple[str | None, str], str] = {}  # (sheet, field) → header, for findings
        self.first_error: RecipientsError | None = None
        self.rows_read = 0
        self.unknown_places = 0  # names not in the KSH list so far
        self.fuzzy_limit = _FUZZY_LIMIT  # unknown names that get difflib's guesses
        self.keep_warnings = True
        self.held_rows: set[tuple[str | None, int]] = set()  # rows refused before merging
        self.unread_warned: set[tuple[str | None, int]] = set()  # (sheet, column) warned of by _unread_addresses
        self.counts = RowCounts()
        self.codes = GenderCodes()  # F/N, M/F, 1/2: read per column once every row is in

    def warn(
        self,
        message: str,
        sheet: str | None,
        row: int | None,
        column: str | None,
        value: str | None,
        kind: str | None = None,
    ) -> None:
        if self.keep_warnings:
            self.findings.append(Finding(WARNING, message, self.file, sheet, row, column, value, kind))

    def problem(self, message: str, sheet: str | None, row: int | None, column: str | None, value: str | None) -> None:
        self.findings.append(Finding(PROBLEM, message, self.file, sheet, row, column, value))

    def _unheaded_addresses(self, ctx: _RowContext, row: RawRow) -> None:
        """An address in a column without a header is not read: say so, rather than lose it
        (a CSV cell "a@x; b@y" unquoted in a ;-separated file spills into the next column)."""
        from openpyxl.utils import get_column_letter  # noqa: PLC0415 - only for such a row

        for index in (*ctx.blank, *range(ctx.width, len(row.cells))):
            cell = row.cells[index] if index < len(row.cells) else ""
            if "@" in cell:
                self.warn(
                    _("an address in a column without a header is not read: put it in the e-mail cell"),
                    ctx.sheet,
                    row.number,
                    get_column_letter(index + 1),
                    clean_text(cell),
                )

    def _unread_addresses(self, ctx: _RowContext, row: RawRow) -> None:
        """A second address column ("E-mail 2", "Titkárság e-mail") is not read: said once
        a column, at its first address, so that no one believes those offices invited."""
        for index in ctx.unread:
            if index < len(row.cells) and "@" in row.cells[index] and (ctx.sheet, index) not in self.unread_warned:
                self.unread_warned.add((ctx.sheet, index))
                header = ctx.header.cells[index].strip()
                self.warn(
                    _(
                        "the column {column} holds addresses that are not read: put them in the e-mail cell, or"
                        ' map the column to "ignore" in [columns]'
                    ).format(column=quoted(header)),
                    ctx.sheet,
                    row.number,
                    header,
                    clean_text(row.cells[index]),
                )

    def add_row(self, ctx: _RowContext, row: RawRow) -> None:
        self.rows_read += 1
        values, row_problems = self._fields(ctx, row)
        if values["gender"] and (code := code_of(values["gender"])) is not None:
            column = ctx.header.columns["gender"].header
            self.codes.add(ctx.sheet, code, values["gender"], row.number, column, values["name"])
        municipality = values["municipality"]
        email_column = ctx.header.columns["email"]
        if email_column.index in row.formulas:
            formula = row.formulas[email_column.index]
            self.problem(_("a formula instead of an address"), ctx.sheet, row.number, email_column.header, formula)
            self.rejected.append(Rejected(formula, _one(municipality), (row.number,), "formula instead of an address"))
            self.held_rows.add((ctx.sheet, row.number))
            return
        if self.keep_warnings and (len(row.cells) > ctx.width or ctx.blank):
            self._unheaded_addresses(ctx, row)
        if self.keep_warnings and ctx.unread:
            self._unread_addresses(ctx, row)
        raw = row.cells[email_column.index] if email_column.index < len(row.cells) else ""
        if (link := row.links.get(email_column.index)) is not None and "@" not in raw:
            raw = self._linked(ctx, row, email_column.index, email_column.header, raw, link)
        candidates = split_addresses(raw)
        if len(candidates) > 1:
            self.shared_rows.add((ctx.sheet, row.number))
        if not candidates:
            self.problem(_("no e-mail address"), ctx.sheet, row.number, email_column.header, clean_text(raw))
            self.rejected.append(Rejected(clean_text(raw), _one(municipality), (row.number,), "no e-mail address"))
            self.held_rows.add((ctx.sheet, row.number))
            return
        for candidate in candidates:
            try:
                address = normalise_address(candidate)
            except AddressError as error:
                self.problem(str(error), ctx.sheet, row.number, email_column.header, candidate)
                self.rejected.append(Rejected(candidate, _one(municipality), (row.number,), str(error)))
                self.held_rows.add((ctx.sheet, row.number))
                continue
            self._merge(ctx, row.number, address.send, address.key, values, row_problems)

    def _linked(self, ctx: _RowContext, row: RawRow, index: int, header: str, shown: str, link: str) -> str:
        """A cell that shows a word or a name ("e-mail", "Kovács János") and links to mailto:…:
        the link is the address, said in a warning, not a problem that holds the row back."""
        self.warn(
            _("cell {ref} shows {text} and links to {link}: the link's address is used").format(
                ref=f"{_column_letters(index)}{row.number}", text=quoted(clean_text(shown)), link=link
            ),
            ctx.sheet,
            row.number,
            header,
            clean_text(shown),
        )
        return link

    def _fields(self, ctx: _RowContext, row: RawRow) -> tuple[dict[str, str], list[str]]:
        """The row's cleaned text fields, with findings for each bad cell."""
        values: dict[str, str] = {}
        problems: list[str] = []
        garbled: set[str] = set()
        for name in (*_TEXT_FIELDS, "gender", "family_name", "given_name"):
            column = ctx.header.columns.get(name)
            text = ""
            if column is not None and column.index < len(row.cells):
                text = clean_field(row.cells[column.index])
            values[name] = text
            if column is not None and column.index in row.formulas:
                self._formula(ctx, row, column.index, column.header, text, problems)
            if not text:
                continue
            assert column is not None  # text is only read from a column
            header = column.header
            if has_template_marks(text):
                self.problem(_("template braces in a cell"), ctx.sheet, row.number, header, text)
                problems.append(f"template braces in column {header!r}")
                values[name] = ""
            elif (hint := mojibake_hint(text)) is not None:
                self.warn(
                    _("looks like mojibake (wrong code page); did you mean {hint}?").format(hint=quoted(hint)),
                    ctx.sheet,
                    row.number,
                    header,
                    text,
                    MOJIBAKE,
                )
                garbled.add(name)
        if not values["name"] and (values["family_name"] or values["given_name"]):  # "Kovács" | "Anna"
            values["name"] = " ".join(part for part in (values["family_name"], values["given_name"]) if part)
        elif values["name"]:
            values["given_name"] = ""  # a name column wins: its reading decides
        if values["name"] and _NOT_A_NAME.fullmatch(values["name"]):  # a date, a phone number: no one's name
            header = ctx.header.columns["name"].header
            self.warn(
                _("a number or a date, not a name: left out of the letter"),
                ctx.sheet,
                row.number,
                header,
                values["name"],
            )
            values["name"] = ""
        if values["municipality"] and "municipality" not in garbled:
            self._settlement(ctx, row.number, values, problems)
        if not values["county"] and ctx.county:
            values["county"] = ctx.county
        if not values["municipality"] and not problems:
            column = ctx.header.columns["municipality"]
            self.problem(_("missing municipality"), ctx.sheet, row.number, column.header, "")
            problems.append("missing municipality")
        return values, problems

    def _formula(self, ctx: _RowContext, row: RawRow, index: int, header: str, text: str, problems: list[str]) -> None:
        """A formula where the letter takes text: its saved value, if any, is what would be printed."""
        ref = f"{_column_letters(index)}{row.number}"
        cell = f"cell {ref}"  # the sent log's reason stays English: it is data, not interface
        formula = row.formulas[index]
        if text:
            self.warn(
                _("cell {ref} holds a formula; its saved value {text} is used").format(ref=ref, text=quoted(text)),
                ctx.sheet,
                row.number,
                header,
                formula,
            )
        else:
            self.problem(
                _("cell {ref} holds a formula with no saved value: paste it as values").format(ref=ref),
                ctx.sheet,
                row.number,
                header,
                formula,
            )
            problems.append(f"a formula in {cell}")

    def _settlement(self, ctx: _RowContext, number: int, values: dict[str, str], problems: list[str]) -> None:
        """Check the municipality against the KSH list; fill in or check its county."""
        text = values["municipality"]
        header = ctx.header.columns["municipality"].header
        if is_number(text):
            self.problem(_("a number, not a municipality name"), ctx.sheet, number, header, text)
            problems.append(f"a number in column {header!r}")
            return
        gazetteer = load_gazetteer()
        found = gazetteer.find(text)
        if found is None:
            self.unknown_places += 1
            if self.keep_warnings:  # the guesses cost time, and only the warning shows them
                close = gazetteer.suggest(text, fuzzy=self.unknown_places <= self.fuzzy_limit)
                hint = _("; did you mean {names}?").format(names=_(" or ").join(map(quoted, close))) if close else ""
                self.warn(
                    _("not in the KSH list of settlements{hint}").format(hint=hint), ctx.sheet, number, header, text
                )
            return
        written = values["county"]
        if not written:
            values["county"] = _shared(found.county)  # filled in from the list
            return
        county = gazetteer.county(written)
        column = ctx.header.columns["county"].header
        if county is None:
            self.warn(
                _("not a county; the KSH list puts {name} in {county}").format(name=found.name, county=found.county),
                ctx.sheet,
                number,
                column,
                written,
            )
        elif county != found.county:
            self.warn(
                _("the KSH list puts {name} in {county}, not {written}").format(
                    name=found.name, county=found.county, written=county
                ),
                ctx.sheet,
                number,
                column,
                written,
            )
        else:
            values["county"] = _shared(county)  # "Csongrád megye" → "Csongrád-Csanád"

    def _merge(
        self, ctx: _RowContext, number: int, send: str, key: str, values: dict[str, str], problems: list[str]
    ) -> None:
        found = self.keys.find(key, self._key_of)
        if found < 0:
            self._first_row(ctx, number, send, key, values, problems)
            return
        entry = self.entries.get(found) or self._expand(found)
        municipality = values["municipality"]
        if municipality:
            folded = municipality.casefold()
            for index, known in enumerate(entry.municipalities):
                if known.casefold() == folded:
                    self._repeat(ctx, number, entry, entry.firsts[index], values, problems)
                    return
        self._add(entry, ctx.sheet, number, values, problems, ctx)

    def _first_row(
        self, ctx: _RowContext, number: int, send: str, key: str, values: dict[str, str], problems: list[str]
    ) -> None:
        """A new address: its row kept as one line of text, the warning about its gender cell given now."""
        gender = values["gender"]
        if gender and parse_gender(gender) is None and code_of(gender) is None:
            self._unknown_gender(ctx, number, gender)
        fields = (send, self.sheet_names.encode(ctx.sheet), str(number), *(values[f] for f in _LINE_FIELDS))
        line = SEP.join((*fields, SUB.join(problems)))
        at = len(self.lines)
        if line.count(SEP) == len(fields) and all(p and SUB not in p for p in problems):
            self.lines.append(line.encode("utf-8"))
        else:  # text that would not split back: an _Entry from the start
            self.lines.append(b"")
            entry = self.entries[at] = _Entry(send, ctx.sheet, _shared(values["county"]))
            self._add(entry, ctx.sheet, number, values, problems, None)
        self.keys.add(key, at)

    def _expand(self, at: int) -> _Entry:
        """The _Entry of address number ``at`` from its first row's line (its warnings were given then)."""
        send, sheet_number, number, *cells, problems = self.lines[at].decode("utf-8").split(SEP)
        values = dict(zip(_LINE_FIELDS, cells, strict=True))
        sheet = self.sheet_names.decode(sheet_number)
        entry = self.entries[at] = _Entry(send, sheet, _shared(values["county"]))
        self._add(entry, sheet, int(number), values, problems.split(SUB) if problems else [], None)
        return entry

    def _key_of(self, at: int) -> str:
        """Address number ``at``'s key (``cells.normalise_address``: the send address, casefolded)."""
        entry = self.entries.get(at)
        if entry is not None:
            return entry.send.casefold()
        return first_field(self.lines[at]).casefold()

    def _add(
        self,
        entry: _Entry,
        sheet: str | None,
        number: int,
        values: dict[str, str],
        problems: list[str],
        ctx: _RowContext | None,
    ) -> None:
        """A row's cells into ``entry``; ``ctx`` is None when the row is read again from its line."""
        municipality = values["municipality"]
        if values["name"]:
            entry.names.append((sheet, number, values["name"]))
            entry.given = entry.given or (values["given_name"] if len(entry.names) == 1 else "")
        if values["role"]:
            entry.roles.append((sheet, number, _shared(values["role"])))
        if values["salutation"]:
            entry.salutations.append((sheet, number, values["salutation"]))
        if values["gender"]:
            self._gender_cell(ctx, sheet, number, entry, values["gender"])
        entry.reasons.extend(problems)
        entry.rows.append(number)
        entry.row_sheets.append(sheet)
        if municipality:
            entry.municipalities.append(municipality)
            entry.firsts.append((sheet, number, _cells(values)))

    def _repeat(
        self,
        ctx: _RowContext,
        number: int,
        entry: _Entry,
        first: tuple[str | None, int, _Cells],
        values: dict[str, str],
        problems: list[str],
    ) -> None:
        """A later row with an earlier row's address and municipality: merge it, never drop it.

        An exact copy adds nothing; a copy naming someone else keeps the first
        row's person (the one in sheet order), and says so once the greeting is known.
        """
        first_sheet, first_row, first_cells = first
        first_person = _person(first_cells)
        entry.rows.append(number)
        entry.row_sheets.append(ctx.sheet)
        entry.reasons.extend(problems)
        where = _row_ref(first_sheet, first_row, ctx.sheet)
        person = _person(_cells(values))
        if person == first_person:
            column = ctx.header.columns["email"].header
            self.warn(
                _("an exact copy of {where}: merged into one recipient").format(where=where),
                ctx.sheet,
                number,
                column,
                entry.send,
            )
            return
        label = next(f for f, ours, theirs in zip(_PERSON_FIELDS, person, first_person, strict=True) if ours != theirs)
        entry.copies.append((ctx.sheet, number, label, values[label], first_sheet, first_row))

    def _gender_cell(self, ctx: _RowContext | None, sheet: str | None, number: int, entry: _Entry, text: str) -> None:
        code = code_of(text)
        gender = MARK + code if code is not None else parse_gender(text)  # a code is read once the column is
        if gender is None:
            if ctx is not None:
                self._unknown_gender(ctx, number, text)
        else:
            if not entry.genders:
                entry.gender_cell = text
            entry.genders.append((sheet, number, gender))

    def _unknown_gender(self, ctx: _RowContext, number: int, text: str) -> None:
        column = ctx.header.columns["gender"].header
        self.warn(_("gender value not recognised (use nő or férfi); the name decides"), ctx.sheet, number, column, text)

    def finish(self) -> tuple[Recipients, list[Rejected]]:
        """Every address, in sheet order, into a recipient or a rejection; the lines are freed as they are read."""
        recipients = Recipients()
        for found in self.codes.read():
            self.warn(found.message, found.sheet, found.row, found.column, found.value)
        self.keys = KeyIndex()  # no more lookups: its memory goes to the recipients' own index
        # Only rows that more than one address can claim need remembering (a held row,
        # a cell with several addresses); every other row's fate is counted at once.
        fates: dict[tuple[str | None, int], int] = dict.fromkeys(self.held_rows, _HELD)
        tally = [0, 0, 0]
        split = 0
        for at in range(len(self.lines)):
            entry = self.entries.get(at) or self._expand(at)
            del self.entries[at]
            self.lines.drop_before(at)
            held = bool(entry.reasons)
            for position, row_key in enumerate(zip(entry.row_sheets, entry.rows, strict=True)):
                fate = _HELD if held else (_OWN if position == 0 else _MERGED)
                if row_key not in fates and row_key not in self.shared_rows:
                    tally[fate] += 1
                    continue
                if fates.get(row_key, -1) == _OWN and fate == _OWN:
                    split += 1  # a second address from the same cell
                # A row is held back only when nothing of it goes out: one good address of a
                # cell makes it sent (or merged), though another address of it is held.
                fates[row_key] = max(fates.get(row_key, fate), fate, key=_FATE_RANK.__getitem__)
            if held:
                reason = "; ".join(dict.fromkeys(entry.reasons))
                self.rejected.append(Rejected(entry.send, tuple(entry.municipalities), tuple(entry.rows), reason))
            else:
                recipients.append(self._recipient(entry))
        self.lines = Chunks()
        for fate in fates.values():
            tally[fate] += 1
        self.counts = RowCounts(self.rows_read, tally[_OWN], tally[_MERGED], tally[_HELD], split)
        return recipients, _merge_rejected(self.rejected)

    def _recipient(self, entry: _Entry) -> Recipient:
        entry.genders = self.codes.resolve(entry.genders)
        name = entry.names[0][2] if entry.names else None
        role = _role(entry.roles[0][2]) if entry.roles else _office_in_name(name)
        disagreement = self._disagreement(entry)
        chosen = choose_salutation(
            role,
            name,
            gender=entry.genders[0][2] if entry.genders else None,
            explicit=entry.salutations[0][2] if entry.salutations else None,
            neutral=disagreement,
            given=entry.given or None,
        )
        if not disagreement and not entry.salutations and self.keep_warnings:  # warnings only: none kept, none made
            self._salutation_findings(entry, name, role, chosen)
        if chosen.kind == "explicit" and self.keep_warnings and not _opens_a_letter(chosen.text):
            sheet, row, text = entry.salutations[0]
            self.warn(
                _(
                    "the salutation cell is printed as written, but it does not read like one (e.g. „Tisztelt "
                    "Polgármester Úr!”): check it"
                ),
                sheet,
                row,
                self.columns.get((sheet, "salutation")),
                text,
            )
        for sheet, row, label, value, first_sheet, first_row in entry.copies:
            self.warn(
                _(
                    "the same address and municipality as {first}, with a different {label}: {first} wins, "
                    "greeting {text}"
                ).format(first=_row_ref(first_sheet, first_row, sheet), label=label, text=quoted(chosen.text)),
                sheet,
                row,
                self.columns.get((sheet, label)),
                value,
            )
        return Recipient(
            email=entry.send,
            municipalities=tuple(entry.municipalities),
            salutation=chosen.text,
            county=entry.county or None,
            name=name,
            role=role,
            gender=chosen.gender,
            rows=tuple(entry.rows),
            sheet=entry.sheet,
            salutation_kind=chosen.kind,
        )

    def _salutation_findings(self, entry: _Entry, name: str | None, role: str, chosen: Salutation) -> None:
        """Warn about what a person should look at: an unknown role, a name read
        given-name first, a gender that stays unknown."""
        row, sheet = entry.rows[0], entry.sheet
        read = role_of(role)
        written = read_role(entry.roles[0][2]) if entry.roles else None
        if written is not None and written.typo and written.title:
            self.warn(
                _("role read as {office}: check the spelling").format(office=quoted(written.title)),
                sheet,
                row,
                self.columns.get((sheet, "role")),
                entry.roles[0][2],
            )
        if read.kind == UNKNOWN:  # from the role cell, or the words after the name ("Kiss Anna ügyintéző")
            field, value = ("role", entry.roles[0][2]) if entry.roles else ("name", name or "")
            self.warn(
                _("role not recognised: salutation without a title (see README, Salutation rules)"),
                sheet,
                row,
                self.columns.get((sheet, field)),
                value,
            )
        if chosen.given_first:
            column = self.columns.get((sheet, "name"))
            self.warn(
                _("name read as given name first (Given Family order); check the name"), sheet, row, column, name or ""
            )
        gender = entry.genders[0][2] if entry.genders else None
        if (found := contradiction(role, name, gender, given=entry.given or None)) is not None:
            self._contradiction(entry, found, name or "")
        institution = read.kind == INSTITUTION and not is_person(name)
        if not is_person(name) and name:
            return  # the name cell names an office ("Polgármesteri Hivatal"): nobody to guess
        has_columns = {(sheet, "name"), (sheet, "given_name"), (sheet, "gender")} & self.columns.keys()
        if chosen.gender is None and has_columns and not institution:
            column = self.columns.get((sheet, "name")) or self.columns.get((sheet, "given_name"))
            if (people := people_named(name)) > 1:
                text = _(
                    "the name cell names {n} people of different genders: neutral salutation (one person per row)"
                ).format(n=people)
            elif not entry.given and (doubt := unclear_order(name)) is not None:
                text = _(
                    "name order unclear: {woman} is a woman's given name and {man} a man's, and either may be the "
                    "family name: neutral salutation (fill in the gender column)"
                ).format(woman=doubt[0], man=doubt[1])
            else:
                text = _("gender unknown: neutral salutation")
            self.warn(text, sheet, row, column, name or "")

    def _contradiction(self, entry: _Entry, found: Contradiction, name: str) -> None:
        """The gender column or the role's "asszony"/"úr" chose the salutation against the name."""
        by_column = found.source == "gender"
        said = entry.gender_cell if by_column else role_of(entry.roles[0][2]).word or ""
        if found.married:  # a married woman's "-né" name: only a male gender contradicts it
            text = (
                _("the gender column says male ({said}) but {given} is a married woman's name: check the salutation")
                if by_column
                else _("the role says male ({said}) but {given} is a married woman's name: check the salutation")
            )
        elif found.gender == FEMALE:
            text = (
                _("the gender column says female ({said}) but the given name {given} is male: check the salutation")
                if by_column
                else _("the role says female ({said}) but the given name {given} is male: check the salutation")
            )
        else:
            text = (
                _("the gender column says male ({said}) but the given name {given} is female: check the salutation")
                if by_column
                else _("the role says male ({said}) but the given name {given} is female: check the salutation")
            )
        column = self.columns.get((entry.sheet, "name")) or self.columns.get((entry.sheet, "given_name"))
        self.warn(text.format(said=said, given=found.given), entry.sheet, entry.rows[0], column, name)

    def _disagreement(self, entry: _Entry) -> bool:
        """Warn, and return True, when merged rows name different people, roles or genders."""
        found = False
        for label, cells, norm in (
            ("name", entry.names, lambda v: " ".join(v.casefold().split())),
            ("role", entry.roles, normalise_role),
            ("gender", entry.genders, str),
            ("salutation", entry.salutations, str),
        ):
            if not cells:
                continue
            _column, first_row, first = cells[0]  # not '_': that is the translation function
            for sheet, row, value in cells[1:]:
                if norm(value) != norm(first):
                    column = self.columns.get((sheet, label))
                    self.warn(
                        _(
                            "merged with row {first_row}, which has a different {label} ({first}): neutral salutation"
                        ).format(first_row=first_row, label=_(_FIELD_WORDS[label]), first=quoted(first)),
                        sheet,
                        row,
                        column,
                        value,
                    )
                    found = True
                    break
        return found


# A row's fate, in the order that decides when one row has several addresses:
# held back beats the first row of a recipient, which beats merged.
_MERGED, _OWN, _HELD = 0, 1, 2
_FATE_RANK = {_HELD: 0, _MERGED: 1, _OWN: 2}  # a row's fate when its addresses differ: the best one
# difflib costs ~3 ms a name: past this many unknown names (a sheet of
# invented places) only the cheap "a listed name plus something" hint is given.
_FUZZY_LIMIT = 100
_PERSON_FIELDS = ("name", "role", "gender", "salutation", "county")
_Person = tuple[str, str, str, str, str]
_Cells = tuple[str, ...]  # a row's cells of _PERSON_FIELDS, as cleaned
# The cells of a row that the compact line of an address's first row keeps (after address, sheet, row).
_LINE_FIELDS = ("municipality", "county", "name", "role", "gender", "salutation", "given_name")


def _cells(values: dict[str, str]) -> _Cells:
    return tuple(values[f] for f in _PERSON_FIELDS)


def _person(cells: _Cells) -> _Person:
    """Who a row names, compared without case or spacing differences."""
    name, role, gender, salutation_text, county = (" ".join(c.casefold().split()) for c in cells)
    coded = code_of(gender)  # "F" and "M" are two people in an M/F column
    return (name, _role(role) if role else "", coded or parse_gender(gender) or gender, salutation_text, county)


def _opens_a_letter(text: str) -> bool:
    """A salutation as a letter's first line: two words or more, not in capitals, ending in "!"
    or "," ("Tisztelt Polgármester Úr!", "Kedves Ödön!", "Dear Mayor,"); not "Kiss Anna" or "Úr"."""
    return len(text.split()) >= 2 and text.endswith(("!", ",")) and text != text.upper()


def _column_letters(index: int) -> str:
    """0 → "A", 27 → "AB": the column as the spreadsheet program labels it."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _row_ref(sheet: str | None, row: int, here: str | None) -> str:
    if sheet == here:
        return _("row {row}").format(row=row)
    return _("sheet {sheet}, row {row}").format(sheet=quoted(sheet), row=row)


def _merge_rejected(rejected: list[Rejected]) -> list[Rejected]:
    """One entry per address (compared case-insensitively), as the ledger keys them."""
    merged: dict[str, Rejected] = {}
    for item in rejected:
        key = item.address.casefold()
        if key in merged:
            old = merged[key]
            item = Rejected(
                old.address,
                tuple(dict.fromkeys(old.municipalities + item.municipalities)),
                old.rows + item.rows,
                "; ".join(dict.fromkeys(old.reason.split("; ") + item.reason.split("; "))),
            )
        merged[key] = item
    return list(merged.values())


@functools.lru_cache(maxsize=4096)
def _shared(text: str) -> str:
    """One string object per distinct county or role: 200,000 rows repeat them."""
    return text


@functools.lru_cache(maxsize=1024)
def _role(text: str) -> str:
    return normalise_role(text)


def _office_in_name(name: str | None) -> str:
    """An empty role cell is the mayor's, unless the name cell names an office or a job after
    the name: "Jegyző", "Polgármester Asszony", "dr. Kiss Anna jegyző" are not the mayor, and
    neither is "Kiss Anna ügyintéző" (an unknown role: no title, and check says so)."""
    if not name:
        return DEFAULT_ROLE
    after = words_after_name(name)
    if not after:
        return DEFAULT_ROLE
    read = read_role.__wrapped__(after)  # not cached: a sheet's names are each read once
    if read is None or read.kind == INSTITUTION:
        return DEFAULT_ROLE
    return read.canonical


def _one(municipality: str) -> tuple[str, ...]:
    return (municipality,) if municipality else ()
