"""Spreadsheet files → rows of cell text, one sheet at a time, streamed.

This module only knows file formats and encodings; what the columns mean is
``sheetheaders``' job.  Every reader yields :class:`RawRow` objects whose row
numbers are the ones the office sees in Excel or LibreOffice, and marks cells
that hold a formula so that a formula is never mistaken for an address.

The format comes from the extension, and for workbooks the first bytes must
agree: an .xlsx that is really a zip of photos, or random bytes, is reported
in one line instead of a library traceback.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime as dt
import itertools
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from lgp_mailer.errors import RecipientsError
from lgp_mailer.i18n import N_, _
from lgp_mailer.quoting import quoted
from lgp_mailer.sheets import limits as _limits

if TYPE_CHECKING:  # the libraries themselves load only when their format is read
    from odf.element import Element  # untyped: Any to mypy
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet
    from xlrd.book import Book  # untyped: Any to mypy

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods")
TEXT_SUFFIXES = (".csv", ".txt")
DELIMITERS = ";,\t"
ALL_SHEETS = "all"

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls (BIFF in an OLE2 container)
_ZIP_MAGIC = b"PK\x03\x04"
_ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"
# Longest first: the UTF-32-LE BOM starts with the UTF-16-LE one.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_NO_FORMULAS: dict[int, str] = {}
_NO_LINKS: dict[int, str] = {}


@dataclass(frozen=True, slots=True)
class RawRow:
    number: int  # 1-based, as the spreadsheet program numbers it
    cells: tuple[str, ...]  # cell text; "" for an empty cell
    formulas: dict[int, str] = field(default_factory=dict)  # column index → formula text
    hidden: bool = False  # hidden in Excel (a filter, or Hide): read all the same, and said
    # column index → a cell's mailto: link (an .xlsx cell that shows "e-mail" or a name and links to the address)
    links: dict[int, str] = field(default_factory=dict)

    def is_empty(self) -> bool:
        return not any(cell.strip() for cell in self.cells) and not self.formulas


@dataclass
class RawSheet:
    name: str | None  # None for a CSV file, which has no sheets
    rows: Iterator[RawRow]
    encoding: str | None = None  # the text encoding used, for CSV files
    # For a CSV file whose UTF-8 text was once read in another code page and
    # saved again ("KovÃ¡cs"): that code page's name, e.g. "Windows-1252 (cp1252)".
    garbled: str | None = None
    # The workbook's later sheets, unread, when the first non-empty one was chosen by
    # default: a recipient sheet looks in them for addresses it would otherwise lose.
    others: list[tuple[str, Iterator[RawRow]]] = field(default_factory=list)
    hidden: bool = False  # a sheet hidden in Excel, read because every sheet is ("all")


# What each reader's context manager yields: (sheet name, its rows) per sheet, and the
# names of the hidden sheets.
_Sheets = tuple[list[tuple[str, Iterator[RawRow]]], frozenset[str]]


@contextlib.contextmanager
def open_sheets(
    path: Path, sheet: str | None = None, limits: _limits.Limits = _limits.DEFAULT
) -> Iterator[list[RawSheet]]:
    """The selected sheets of ``path``: the first non-empty one, ``sheet`` by
    name, or every sheet when ``sheet == "all"``.  Closes the file afterwards.
    Sizes are checked against ``limits`` before parsing and while reading."""
    try:
        kind = file_kind(path)
        if kind == "text":
            _limits.check_csv_file(path, limits)
            yield _bounded(path, [_text_sheet(path, limits)], limits)
            return
        if kind in ("xlsx", "ods"):
            _limits.check_zip(path, limits)
        reader = {"xlsx": _xlsx_sheets, "xls": _xls_sheets, "ods": _ods_sheets}[kind]
        with reader(path) as (sheets, hidden):
            bounded = [(name, _limits.check_rows(path, name, rows, limits)) for name, rows in sheets]
            yield _select(path, bounded, sheet, hidden)
    except OSError as error:  # e.g. no permission, or a network drive gone away
        raise RecipientsError(
            _("cannot read the file ({reason})").format(reason=error.strerror or error), file=path
        ) from None


def _bounded(path: Path, sheets: list[RawSheet], limits: _limits.Limits) -> list[RawSheet]:
    for raw in sheets:
        raw.rows = _limits.check_rows(path, raw.name, raw.rows, limits)
    return sheets


def file_kind(path: Path) -> str:
    """``"text"``, ``"xlsx"``, ``"xls"`` or ``"ods"``; RecipientsError when unusable."""
    if not path.exists():
        raise RecipientsError(_("file not found"), file=path)
    if path.is_dir():
        raise RecipientsError(_("is a folder, not a spreadsheet file"), file=path)
    if not path.is_file():  # a pipe or a device (/dev/zero) would be read forever
        raise RecipientsError(_("not a regular file (a pipe, device or socket)"), file=path)
    suffix = path.suffix.lower()
    if suffix not in WORKBOOK_SUFFIXES + TEXT_SUFFIXES:
        known = ", ".join(WORKBOOK_SUFFIXES + TEXT_SUFFIXES)
        raise RecipientsError(
            _("unknown format {suffix}: use one of {known}").format(
                suffix=quoted(suffix or "(no extension)"), known=known
            ),
            file=path,
        )
    with path.open("rb") as stream:
        head = stream.read(len(_OLE_MAGIC))
    if not head:
        raise RecipientsError(_("the file is empty"), file=path)
    if suffix in TEXT_SUFFIXES:
        return "text"
    # The content decides between workbook formats: offices rename files.
    if head.startswith(_OLE_MAGIC):
        if _is_encrypted_package(path):
            raise RecipientsError(_(PROTECTED), file=path)
        return "xls"
    if head.startswith(_ZIP_MAGIC):
        return _zip_kind(path)
    raise RecipientsError(
        _("not a workbook: the {suffix} file holds neither Excel nor OpenDocument data").format(suffix=suffix),
        file=path,
    )


# An Excel file saved with a password to open is an OLE2 container holding an
# "EncryptedPackage" stream (its directory stores names in UTF-16-LE).
_ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")
PROTECTED = N_(
    "the workbook is password-protected: open it in Excel, remove the password "
    "(Fájl > Információ > Munkafüzet védelme) and save it again, or save it as CSV UTF-8"
)  # translated where raised


def _is_encrypted_package(path: Path) -> bool:
    with path.open("rb") as stream:
        tail = b""
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            if _ENCRYPTED_PACKAGE in tail + chunk:
                return True
            tail = chunk[-len(_ENCRYPTED_PACKAGE) :]
    return False


def _zip_kind(path: Path) -> str:
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            small = "mimetype" in names and archive.getinfo("mimetype").file_size < 100  # not a bomb's member
            if small and archive.read("mimetype").strip() == _ODS_MIMETYPE:
                return "ods"
    except (zipfile.BadZipFile, OSError) as error:
        raise RecipientsError(_("not a workbook: damaged zip data ({error})").format(error=error), file=path) from None
    if "xl/workbook.xml" in names or any(name.endswith("/workbook.xml") for name in names):
        return "xlsx"
    raise RecipientsError(_("not a workbook: a zip archive without a spreadsheet inside"), file=path)


def _select(
    path: Path, sheets: list[tuple[str, Iterator[RawRow]]], wanted: str | None, hidden: frozenset[str] = frozenset()
) -> list[RawSheet]:
    if wanted and wanted.strip().lower() == ALL_SHEETS:
        return [RawSheet(name, rows, hidden=name in hidden) for name, rows in sheets]
    if wanted:
        for name, rows in sheets:
            if name == wanted or name.strip().casefold() == wanted.strip().casefold():
                return [RawSheet(name, rows)]
        names = ", ".join(repr(name) for name, _ in sheets)
        raise RecipientsError(
            _("no sheet named {wanted}; the workbook has {names}").format(wanted=quoted(wanted), names=names), file=path
        )
    # The first sheet with anything in it.  A hidden sheet (an old list, lookup data) is
    # not what the user sees in Excel: it is read only when named or with "all".
    shown = [(name, rows) for name, rows in sheets if name not in hidden]
    for index, (name, rows) in enumerate(shown + [(name, rows) for name, rows in sheets if name in hidden]):
        for row in rows:
            if not row.is_empty():
                return [RawSheet(name, itertools.chain([row], rows), others=shown[index + 1 :])]
    raise RecipientsError(_("the workbook is empty: no sheet has any data"), file=path)


def cell_text(value: object) -> str:
    """A cell's value as the office would read it: 12.0 → "12", a date → "2020-06-18"."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "IGAZ" if value else "HAMIS"  # as Hungarian Excel shows them
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime) and value.time() == dt.time(0):
        return value.date().isoformat()
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value)


# --- .xlsx / .xlsm -----------------------------------------------------------


@contextlib.contextmanager
def _xlsx_sheets(path: Path) -> Iterator[_Sheets]:
    import openpyxl  # noqa: PLC0415 - only the reader of a sheet's format loads its library

    # Two read-only passes in step: one sees formulas (data_type "f"), the
    # other the values Excel cached for them.
    try:
        formulas = openpyxl.load_workbook(path, read_only=True, data_only=False)
        values = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many types for broken files
        raise _unreadable(path, error, N_("not a readable Excel workbook ({kind}: {error})")) from None
    try:
        hidden = frozenset(ws.title for ws in formulas.worksheets if ws.sheet_state != "visible")
        yield [(ws.title, _xlsx_rows(path, ws, values[ws.title])) for ws in formulas.worksheets], hidden
    finally:
        formulas.close()
        values.close()


def _xlsx_rows(path: Path, formula_ws: ReadOnlyWorksheet, value_ws: ReadOnlyWorksheet) -> Iterator[RawRow]:
    for ws in (formula_ws, value_ws):
        ws.reset_dimensions()  # some writers record a wrong sheet size
    # types-openpyxl declares ReadOnlyWorksheet.iter_rows as Worksheet's, bound to
    # a Worksheet self: mypy then rejects the (correct) read-only sheet.
    pairs = zip(
        formula_ws.iter_rows(min_row=1, min_col=1),  # type: ignore[misc]  # stub self type, see above
        value_ws.iter_rows(min_row=1, values_only=True, min_col=1),  # type: ignore[misc]  # as above
        strict=False,
    )
    try:
        hidden, links = _row_attributes(formula_ws)
        for number, (cells, values) in enumerate(pairs, start=1):
            found = {i: _formula_text(c.value) for i, c in enumerate(cells) if getattr(c, "data_type", None) == "f"}
            texts = tuple(cell_text(v) for v in values)
            yield RawRow(number, texts, found or _NO_FORMULAS, number in hidden, links.get(number, _NO_LINKS))
    except RecipientsError:
        raise
    except Exception as error:
        raise _unreadable(path, error, N_("cannot read the workbook ({kind}: {error})")) from None


def _unreadable(path: Path, error: Exception, message: str) -> RecipientsError:
    """One line for a workbook openpyxl cannot read: defusedxml's refusal of a DTD or
    entity (an XML bomb, an external file) named as such, other errors on one line."""
    from defusedxml import DefusedXmlException  # noqa: PLC0415 - openpyxl's own parser's errors

    cause: BaseException | None = error
    while cause is not None and not isinstance(cause, DefusedXmlException):
        cause = cause.__cause__ or cause.__context__
    if cause is not None:
        return RecipientsError(
            _("refused: its XML declares an entity or DTD ({detail}); a genuine workbook has none").format(
                detail=" ".join(str(cause).split())
            ),
            file=path,
        )
    detail = " ".join(str(error).split())  # openpyxl's messages run over several lines
    return RecipientsError(_(message).format(kind=type(error).__name__, error=detail), file=path)


_ROW_TAG = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}row"
# A <hyperlink ref="F5" r:id="rId1"/> element of the sheet's <hyperlinks> list, and its attributes.
_LINK_ELEMENT = re.compile(rb"<(?:[\w.-]+:)?hyperlink\s([^>]*)>")
_ATTRIBUTE = re.compile(rb'([\w.:-]+)\s*=\s*"([^"]*)"')


def _row_attributes(ws: ReadOnlyWorksheet) -> tuple[frozenset[int], dict[int, dict[int, str]]]:
    """The numbers of the rows Excel hides, and the cells' mailto: links (row → column index →
    link): openpyxl's read-only rows carry neither."""
    hidden, links = _scan(ws)
    return (_hidden_rows(ws) if hidden else frozenset()), (_links(ws, links) if links else {})


def _scan(ws: ReadOnlyWorksheet) -> tuple[bool, bytes]:
    """A byte scan: whether a row may be hidden, and the XML from the first hyperlink on (the
    list follows the rows). Most sheets hide nothing and link nothing: no XML is parsed then."""
    tail, hidden, links = b"", False, bytearray()
    with ws._get_source() as source:  # type: ignore[attr-defined]  # the sheet's XML stream: no public one
        for chunk in iter(lambda: source.read(1 << 20), b""):
            hidden = hidden or b' hidden="' in tail + chunk
            if links or b"hyperlink" in tail + chunk:
                links += chunk if links else tail + chunk
            tail = chunk[-16:]
    return hidden, bytes(links)


def _hidden_rows(ws: ReadOnlyWorksheet) -> frozenset[int]:
    """The numbers of the rows Excel hides: the sheet's XML is read once more for the rows' own attributes."""
    from openpyxl.xml.functions import iterparse  # noqa: PLC0415 - defusedxml's, as openpyxl parses

    found: set[int] = set()
    number = 0
    with ws._get_source() as source:  # type: ignore[attr-defined]  # as above
        for _event, element in iterparse(source):
            if element.tag != _ROW_TAG:
                continue
            number = int(element.get("r") or number + 1)
            if element.get("hidden") in ("1", "true"):
                found.add(number)
            element.clear()  # its cells too: a sheet of 100,000 rows is never held
    return frozenset(found)


def _links(ws: ReadOnlyWorksheet, xml: bytes) -> dict[int, dict[int, str]]:
    """The mailto: links of the sheet's <hyperlink> elements, by row and column index."""
    targets = _mailto_targets(ws)
    links: dict[int, dict[int, str]] = {}
    if not targets:  # web links only
        return links
    for element in _LINK_ELEMENT.finditer(xml):
        attributes = dict(_ATTRIBUTE.findall(element.group(1)))
        ref = attributes.get(b"ref", b"").decode("ascii", "replace")
        rel = next((value for key, value in attributes.items() if key.endswith(b":id")), b"")
        _add_link(links, ref, targets.get(rel.decode("ascii", "replace")))
    return links


def _mailto_targets(ws: ReadOnlyWorksheet) -> dict[str, str]:
    """The sheet's relationships that are mailto: links, by id."""
    from openpyxl.packaging.relationship import get_dependents, get_rels_path  # noqa: PLC0415 - as above

    archive: zipfile.ZipFile = ws.parent._archive  # type: ignore[attr-defined]  # the open zip: no public one
    path: str = get_rels_path(ws._worksheet_path)  # type: ignore[attr-defined,no-untyped-call]  # untyped; as above
    if path not in archive.namelist():
        return {}
    relationships = get_dependents(archive, path)
    return {rel.Id: rel.Target for rel in relationships if rel.Id and (rel.Target or "").lower().startswith("mailto:")}


def _add_link(links: dict[int, dict[int, str]], ref: str, target: str | None) -> None:
    """Every cell of ``ref`` ("F5", or a range "F5:F9") links to ``target``."""
    from openpyxl.utils.cell import range_boundaries  # noqa: PLC0415 - as above

    if not target or not ref:
        return
    try:
        first_col, first_row, last_col, last_row = range_boundaries(ref)
    except ValueError:  # a damaged ref links nothing
        return
    if first_col is None or first_row is None or last_col is None or last_row is None:
        return  # a whole row or column: no link of one cell
    if (last_row - first_row + 1) * (last_col - first_col + 1) > _LINKED_CELLS:
        return  # a hostile or odd range: no address cell is that
    for row in range(first_row, last_row + 1):
        for column in range(first_col, last_col + 1):
            links.setdefault(row, {})[column - 1] = target


_LINKED_CELLS = 10_000  # cells one hyperlink element may cover


def _formula_text(value: object) -> str:
    text = getattr(value, "text", value)  # ArrayFormula keeps its text in .text
    return str(text) if text is not None else "="


# --- .xls --------------------------------------------------------------------


@contextlib.contextmanager
def _xls_sheets(path: Path) -> Iterator[_Sheets]:
    import xlrd  # noqa: PLC0415 - as above

    # xlrd 2 reads cached values only: formulas in .xls cannot be detected.
    try:
        book = xlrd.open_workbook(str(path), on_demand=True)
    except Exception as error:
        if "encrypted" in str(error).lower():  # an .xls with a password (BIFF FILEPASS)
            raise RecipientsError(_(PROTECTED), file=path) from None
        raise RecipientsError(_("not a readable .xls workbook ({error})").format(error=error), file=path) from None
    try:
        yield [(name, _xls_rows(book, index)) for index, name in enumerate(book.sheet_names())], frozenset()
    finally:
        book.release_resources()


def _xls_rows(book: Book, index: int) -> Iterator[RawRow]:
    import xlrd  # noqa: PLC0415 - as above

    sheet = book.sheet_by_index(index)
    for r in range(sheet.nrows):
        texts = []
        for cell in sheet.row(r):
            if cell.ctype == xlrd.XL_CELL_DATE:
                texts.append(cell_text(xlrd.xldate_as_datetime(cell.value, book.datemode)))
            elif cell.ctype == xlrd.XL_CELL_ERROR:
                texts.append(xlrd.error_text_from_code.get(cell.value, "#ERROR"))
            elif cell.ctype == xlrd.XL_CELL_BOOLEAN:
                texts.append(cell_text(bool(cell.value)))
            else:
                texts.append(cell_text(cell.value))
        yield RawRow(r + 1, tuple(texts), _NO_FORMULAS)


# --- .ods --------------------------------------------------------------------


@contextlib.contextmanager
def _ods_sheets(path: Path) -> Iterator[_Sheets]:
    from odf.opendocument import load  # noqa: PLC0415 - as above
    from odf.table import Table  # noqa: PLC0415 - as above

    try:
        document = load(str(path))
        tables = document.spreadsheet.getElementsByType(Table)
    except Exception as error:
        raise _unreadable(path, error, N_("not a readable OpenDocument spreadsheet ({error})")) from None
    from odf.namespaces import TABLENS  # noqa: PLC0415 - as above

    sheets = [
        (table.attributes.get((TABLENS, "name"), f"Sheet{i + 1}"), _ods_rows(table)) for i, table in enumerate(tables)
    ]
    yield sheets, frozenset()


def _ods_rows(table: Element) -> Iterator[RawRow]:
    from odf.namespaces import TABLENS  # noqa: PLC0415 - as above
    from odf.table import TableRow  # noqa: PLC0415 - as above

    number = 1
    for row in table.getElementsByType(TableRow):
        repeat = _repeat(row.attributes.get((TABLENS, "number-rows-repeated")))
        cells, formulas, links = _ods_cells(row)
        if not cells and not formulas:
            number += repeat  # LibreOffice pads sheets with a million empty rows
            continue
        for _copy in range(repeat):  # not '_': that is the translation function
            yield RawRow(number, cells, formulas or _NO_FORMULAS, links=links or _NO_LINKS)
            number += 1


def _repeat(value: str | None) -> int:
    """A number-*-repeated attribute; a damaged one ("abc", "-3") counts once, not a traceback."""
    return int(value) if value is not None and value.isascii() and value.isdigit() and int(value) > 0 else 1


_ODS_COLUMNS = 16_384  # columns of a LibreOffice (and Excel) sheet


def _ods_cells(row: Element) -> tuple[tuple[str, ...], dict[int, str], dict[int, str]]:
    from odf.namespaces import TABLENS  # noqa: PLC0415 - as above

    texts: list[str] = []
    formulas: dict[int, str] = {}
    links: dict[int, str] = {}
    pending_empty = 0  # trailing empty cells are repeated thousands of times
    for cell in row.childNodes:
        if cell.qname[1] not in ("table-cell", "covered-table-cell"):
            continue
        repeat = _repeat(cell.attributes.get((TABLENS, "number-columns-repeated")))
        text = _ods_cell_text(cell)
        formula = cell.attributes.get((TABLENS, "formula"))
        if not text and not formula:
            pending_empty += repeat
            continue
        # A hostile number-columns-repeated="400000000" must not become a list of that length:
        # past a real sheet's width the row is over the columns limit anyway.
        texts.extend([""] * min(pending_empty, _ODS_COLUMNS))
        pending_empty = 0
        link = _ods_mailto(cell) if "@" not in text else None
        for _copy in range(min(repeat, 1024)):
            if formula:
                formulas[len(texts)] = formula
            if link:
                links[len(texts)] = link
            texts.append(text)
    return tuple(texts), formulas, links


def _ods_mailto(cell: Element) -> str | None:
    """The cell's first mailto: link (<text:a xlink:href="mailto:…">), if any."""
    from odf.namespaces import XLINKNS  # noqa: PLC0415 - as above
    from odf.text import A  # noqa: PLC0415 - as above

    for anchor in cell.getElementsByType(A):
        href = str(anchor.attributes.get((XLINKNS, "href"), ""))
        if href.lower().startswith("mailto:"):
            return href
    return None


def _ods_cell_text(cell: Element) -> str:
    from odf import teletype  # noqa: PLC0415 - as above
    from odf.namespaces import OFFICENS  # noqa: PLC0415 - as above
    from odf.text import P  # noqa: PLC0415 - as above

    kind = cell.attributes.get((OFFICENS, "value-type"))
    if kind in ("float", "percentage", "currency"):
        return cell_text(float(cell.attributes.get((OFFICENS, "value"), "0")))
    if kind == "date":
        date: str = cell.attributes.get((OFFICENS, "date-value"), "")  # odfpy keeps attribute values as str
        return date[:10]
    return "\n".join(teletype.extractText(p) for p in cell.getElementsByType(P))


# --- .csv / .txt ---------------------------------------------------------------


def detect_encoding(path: Path) -> str:
    """The BOM's encoding; else UTF-8 if the whole file decodes strictly; else cp1250.

    No statistical guessing: it misfires on short files.
    """
    with path.open("rb") as stream:
        head = stream.read(4)
        for bom, encoding in _BOMS:
            if head.startswith(bom):
                return encoding
        stream.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")("strict")
        utf8, bad_cp1250, offset = True, None, 0
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            if b"\x00" in chunk:
                raise RecipientsError(_("binary data, not a text (CSV) file"), file=path)
            if utf8:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    utf8 = False  # keep scanning: NUL bytes, and cp1250's five unused bytes
            if bad_cp1250 is None:
                try:
                    chunk.decode("cp1250")
                except UnicodeDecodeError as error:
                    bad_cp1250 = (chunk[error.start], offset + error.start)
            offset += len(chunk)
        if utf8:
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                utf8 = False
    if utf8:
        return "utf-8"
    _refuse_mac_central_european(path)
    if bad_cp1250 is not None:
        byte, where = bad_cp1250
        raise RecipientsError(
            _("neither UTF-8 nor Windows-1250 text (byte 0x{byte:02x} at offset {where})").format(
                byte=byte, where=where
            ),
            file=path,
        )
    return "cp1250"


# --- code pages that read without an error but wrongly ------------------------

_HUNGARIAN = frozenset("áéíóöőúüűÁÉÍÓÖŐÚÜŰ")
_TYPOGRAPHY = frozenset("„”“’‘–—…€°§×·«»\u00a0")  # noqa: RUF001 - the real sign; non-ASCII, yet not a sign of a wrong code page
_SAVE_AS_UTF8 = N_("save it as CSV UTF-8 (mentse CSV UTF-8 formátumban)")  # translated where shown
_SAMPLE = 1 << 20


def hungarian_score(text: str) -> int:
    """Hungarian accented letters minus other non-ASCII characters: the right reading scores highest."""
    score = 0
    for ch in text:
        if ch >= "\x80" and ch not in _TYPOGRAPHY:
            score += 1 if ch in _HUNGARIAN else -1
    return score


def _refuse_mac_central_european(path: Path) -> None:
    """A Mac's "Central European" text reads as Windows-1250 without an error, garbled ("Kov‡cs")."""
    with path.open("rb") as stream:
        sample = stream.read(_SAMPLE)
    mac = sample.decode("mac-latin2", errors="replace")
    if hungarian_score(mac) > max(0, hungarian_score(sample.decode("cp1250", errors="replace"))):
        raise RecipientsError(
            _("the text is Mac Central European (mac-latin2), not UTF-8: {save_as_utf8}").format(
                save_as_utf8=_(_SAVE_AS_UTF8)
            ),
            file=path,
        )


def double_encoding(text: str) -> str | None:
    """The code page UTF-8 ``text`` was once misread in and saved again from, or None.

    "KovÃ¡cs" is "Kovács" through Windows-1252; "Kov√°cs" through Mac Roman.
    """
    if hungarian_score(text) > 0 or all(ch < "\x80" for ch in text):
        return None
    for codec, label in (("cp1252", "Windows-1252 (cp1252)"), ("mac-roman", "Mac Roman")):
        try:
            repaired = _encode_as_read(text, codec).decode("utf-8")
        except UnicodeError:
            continue
        if hungarian_score(repaired) > hungarian_score(text):
            return label
    return None


def _encode_as_read(text: str, codec: str) -> bytes:
    """``text`` back to the bytes it was read from; Windows keeps cp1252's five unused bytes as C1 controls."""
    try:
        return text.encode(codec)
    except UnicodeEncodeError:
        if codec != "cp1252":
            raise
    return b"".join(ch.encode("latin-1") if "\x80" <= ch <= "\x9f" else ch.encode(codec) for ch in text)


def garbled_note(label: str) -> str:
    return _(
        "the text looks like UTF-8 that was opened as {label} and saved again, so every accent is garbled: "
        "{save_as_utf8} from the original"
    ).format(label=label, save_as_utf8=_(_SAVE_AS_UTF8))


def sniff_delimiter(sample: str) -> str:
    """``;``, ``,`` or tab: csv.Sniffer restricted to those, checked against the header line."""
    lines = [line for line in sample.splitlines() if line.strip()][:20]
    if lines and lines[0].lower().startswith("sep=") and len(lines[0].strip()) == 5:
        return lines[0].strip()[4]  # Excel's own hint line, e.g. "sep=;"
    header = next((line for line in lines if "mail" in line.lower()), lines[0] if lines else "")
    try:
        sniffed = csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        sniffed = None
    if sniffed and sniffed in header:
        return sniffed
    # The Sniffer fails on short or irregular files: count in the header line.
    counts = {d: header.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])  # ties: ";" first, Hungarian Excel's choice
    return best if counts[best] else (sniffed or ";")


def _text_sheet(path: Path, limits: _limits.Limits = _limits.DEFAULT) -> RawSheet:
    encoding = detect_encoding(path)
    with path.open(encoding=encoding, errors="replace", newline="") as stream:
        sample = stream.read(64 * 1024)
    delimiter = sniff_delimiter(sample.rpartition("\n")[0] or sample)
    garbled = double_encoding(sample.rpartition("\n")[0] or sample) if encoding.startswith("utf-8") else None
    return RawSheet(None, _csv_rows(path, encoding, delimiter, limits), encoding, garbled)


def _is_sep_line(cells: list[str]) -> bool:
    """Excel's "sep=;" first line, split by that very separator into "sep=" and ""."""
    return 1 <= len(cells) <= 2 and cells[0].strip().lower() in ("sep=", "sep=;", "sep=,") and not "".join(cells[1:])


def _csv_rows(path: Path, encoding: str, delimiter: str, limits: _limits.Limits = _limits.DEFAULT) -> Iterator[RawRow]:
    with path.open(encoding=encoding, newline="") as stream:
        reader = csv.reader(stream, delimiter=delimiter, quotechar='"', doublequote=True, strict=True)
        number, hint = 0, 0
        try:
            for number, cells in enumerate(reader, start=1):
                if number == 1 and _is_sep_line(cells):
                    hint = 1  # Excel reads it as the separator and shows the next line as row 1
                    continue
                yield RawRow(number - hint, tuple(cells), _NO_FORMULAS)
        except csv.Error as error:
            if too_long := _limits.csv_cell_error(path, number + 1 - hint, error, limits):
                raise too_long from None
            raise RecipientsError(
                _("broken CSV ({error}); check for an unclosed quote").format(error=error),
                file=path,
                row=number + 1 - hint,
            ) from None
        except UnicodeDecodeError as error:
            raise RecipientsError(
                _("neither UTF-8 nor Windows-1250 text (byte 0x{byte:02x})").format(byte=error.object[error.start]),
                file=path,
                row=number + 1 - hint,
            ) from None


__all__ = [
    "ALL_SHEETS",
    "PROTECTED",
    "RawRow",
    "RawSheet",
    "cell_text",
    "detect_encoding",
    "double_encoding",
    "file_kind",
    "garbled_note",
    "hungarian_score",
    "open_sheets",
    "sniff_delimiter",
]
