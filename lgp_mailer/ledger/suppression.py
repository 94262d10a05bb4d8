"""The organisation-wide suppression list: who is never written to again.

The list lives in the sent log (``Ledger.suppress`` and friends, in ``bounces.py``), so
it applies to every campaign of the office.  This module is the core of
``lgp-mailer suppress add|remove|list|import``: it validates addresses the
way the recipient sheet does (``recipientcells.normalise_address``), and
reads an import file (CSV or a workbook with an e-mail column, or a bare list
of addresses without a header) with the sheet readers.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from lgp_mailer.errors import ConfigError, RecipientsError
from lgp_mailer.i18n import _
from lgp_mailer.ledger.store import Ledger, Suppression
from lgp_mailer.quoting import quoted
from lgp_mailer.sheets.cells import AddressError, clean_text, normalise_address, split_addresses
from lgp_mailer.sheets.headers import EMAIL_ALIASES, alias_keys, check_mapping, find_header
from lgp_mailer.sheets.readers import RawRow, open_sheets

# (the address cell as written, the reason cell if the sheet has one)
_Cells = tuple[str, str | None]

IMPORT_FIELDS = ("email", "reason")
IMPORT_ALIASES = {
    "email": EMAIL_ALIASES,  # the contact sheet's names for the e-mail column
    "reason": ("ok", "indok", "indoklás", "megjegyzés", "reason", "note", "comment"),
}


@dataclass(frozen=True)
class Rejected:
    row: int
    text: str
    why: str


@dataclass
class ImportReport:
    path: Path
    added: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)  # were on the list before
    rejected: list[Rejected] = field(default_factory=list)


def normalised(address: str) -> str:
    """The address as the ledger keys it; ConfigError when it is not one."""
    candidates = split_addresses(address)
    if len(candidates) != 1:
        raise ConfigError(_("expected one address, got {address}").format(address=quoted(address)), key="address")
    try:
        return normalise_address(candidates[0]).send
    except AddressError as error:
        raise ConfigError(
            _("{candidates}: {error}").format(candidates=quoted(candidates[0]), error=error), key="address"
        ) from None


def add(ledger: Ledger, address: str, reason: str = "", source: str = "manual") -> tuple[str, bool]:
    """Suppress one address; (address as stored, True when new on the list)."""
    send = normalised(address)
    return send, ledger.suppress(send, reason, source)


def remove(ledger: Ledger, address: str) -> tuple[str, bool]:
    """Lift a suppression; its rows get back their earlier status."""
    candidates = split_addresses(address)
    # A stored entry may predate today's validation rules: remove it by key as well.
    send = normalised(address) if candidates else address.strip()
    return send, ledger.unsuppress(send) or ledger.unsuppress(address.strip())


def listing(ledger: Ledger, source: str | None = None) -> list[Suppression]:
    return ledger.suppressions(source)


def import_file(
    ledger: Ledger,
    path: Path,
    *,
    reason: str = "",
    sheet: str | None = None,
    column: str | None = None,
    source: str = "import",
) -> ImportReport:
    """Suppress every address of a CSV/XLSX/XLS/ODS file.

    The e-mail column is found by its header (as in the recipient sheet, or
    named with ``column``); a file of bare addresses with no header is read
    cell by cell.  A "reason"/"Indok"/"Megjegyzés" column gives each row its
    own reason, else ``reason`` applies.  Unusable cells are reported with
    their row, never silently dropped.
    """
    path = Path(path)
    report = ImportReport(path)
    mapping = check_mapping({column: "email"} if column else None, IMPORT_FIELDS)
    with open_sheets(path, sheet) as sheets:
        for raw in sheets:
            for row, cells in _address_cells(raw.rows, mapping, path, raw.name):
                _import_row(ledger, report, row, cells, reason, source)
    return report


def _address_cells(
    rows: Iterable[RawRow], mapping: dict[str, tuple[str, str]], path: Path, sheet: str | None
) -> Iterator[tuple[RawRow, _Cells]]:
    """(row, (email cell, reason cell)) for every data row."""
    rows = iter(rows)
    try:
        header, seen = find_header(rows, mapping, file=path, sheet=sheet, aliases=alias_keys(IMPORT_ALIASES))
    except RecipientsError:
        if mapping:
            raise
        # No header at all?  Then the first rows hold addresses themselves.
        header = None
    if header is None:
        yield from _headerless(path, sheet)
        return
    email = header.columns["email"].index
    why = header.columns["reason"].index if "reason" in header.columns else None
    for row in [*seen, *rows]:
        if row.is_empty():
            continue
        if email in row.formulas:
            yield row, (f"={row.formulas[email].lstrip('=')}", None)
            continue
        yield row, (_cell(row, email), _cell(row, why) if why is not None else None)


def _headerless(path: Path, sheet: str | None) -> Iterator[tuple[RawRow, _Cells]]:
    with open_sheets(path, sheet) as again:
        rows = [row for raw in again for row in raw.rows if not row.is_empty()]
    if not rows or not any("@" in cell for cell in rows[0].cells):
        raise RecipientsError(
            _("no e-mail column: name it 'E-mail', or list bare addresses one per row"), file=path, sheet=sheet
        )
    for row in rows:
        for index, cell in enumerate(row.cells):
            if index in row.formulas:
                yield row, (f"={row.formulas[index].lstrip('=')}", None)
            elif cell.strip():
                yield row, (cell, None)


def _cell(row: RawRow, index: int) -> str:
    return row.cells[index] if index < len(row.cells) else ""


def _import_row(ledger: Ledger, report: ImportReport, row: RawRow, cells: _Cells, reason: str, source: str) -> None:
    text, row_reason = cells
    if text.startswith("="):
        report.rejected.append(Rejected(row.number, text, _("a formula, not an address")))
        return
    candidates = split_addresses(text)
    if not candidates:
        if clean_text(text):
            report.rejected.append(Rejected(row.number, text, _("no address in the cell")))
        return
    for candidate in candidates:
        try:
            send = normalise_address(candidate).send
        except AddressError as error:
            report.rejected.append(Rejected(row.number, candidate, str(error)))
            continue
        new = ledger.suppress(send, clean_text(row_reason) or reason, source)
        (report.added if new else report.already).append(send)
