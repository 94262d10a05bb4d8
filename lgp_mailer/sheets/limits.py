"""Size limits a spreadsheet must keep, checked before and while it is parsed.

A sheet comes from an office, a registration form or an e-mail attachment, so
its size is not ours to trust: a 1 MB .xlsx can unzip to gigabytes, and a
100 MB CSV keeps ``check`` busy for minutes.  Each limit is cheap to check:

* the bytes of a CSV file, from the file system, before it is read;
* every zip member of an .xlsx/.ods, from the zip directory, before any member
  is opened: its uncompressed size, its compression ratio, and the total.
  Python's zipfile never yields more than the directory declares (a lying
  entry fails its CRC check), so the directory is a safe upper bound;
* rows, columns and cell length, while the rows stream by.

The defaults fit the largest real sheet (3,200 municipalities) many times
over; a campaign can raise them in its toml's ``[limits]`` table.  Every
error is one line naming the file, the limit and its toml key.
"""

from __future__ import annotations

import csv
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Protocol, TypeVar

from lgp_mailer.errors import RecipientsError
from lgp_mailer.i18n import _, format_number, ngettext

MIB = 1024 * 1024
# Members smaller than this are exempt from the ratio: a few KiB of repeated
# XML (styles, an empty sheet) compress unevenly and cannot hurt.
RATIO_EXEMPT_BYTES = 1 * MIB
EXCEL_ROWS = 1_048_576  # rows of one Excel worksheet


@dataclass(frozen=True)
class Limits:
    """The ``[limits]`` table of ``lgp-mailer.toml``; field names are its keys."""

    csv_bytes: int = 50 * MIB
    rows: int = 200_000
    columns: int = 200
    cell_chars: int = 32_767  # Excel's own limit for one cell
    zip_ratio: int = 100  # uncompressed : compressed, per zip member
    unpacked_bytes: int = 200 * MIB  # every zip member together (and so each one)
    logo_bytes: int = 1 * MIB  # an image attached to every message

    @classmethod
    def toml_keys(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))


DEFAULT = Limits()


class _Row(Protocol):  # readers.RawRow; readers imports this module, so not imported here
    @property
    def number(self) -> int: ...

    @property
    def cells(self) -> tuple[str, ...]: ...


RowT = TypeVar("RowT", bound=_Row)


def _size(n: int) -> str:
    if n >= MIB:
        return _("{size} MiB").format(size=format_number(round(n / MIB)))
    return ngettext("{size} byte", "{size} bytes", n).format(size=format_number(n))


def _characters(n: int) -> str:
    return ngettext("{count} character", "{count} characters", n).format(count=format_number(n))


def _over(path: Path, what: str, limit: str, key: str, **where: int | str | None) -> RecipientsError:
    return RecipientsError(
        _("{what}, over the limit of {limit} (raise [limits] {key} in lgp-mailer.toml if the file is genuine)").format(
            what=what, limit=limit, key=key
        ),
        file=path,
        **where,  # type: ignore[arg-type]
    )


def check_csv_file(path: Path, limits: Limits = DEFAULT) -> None:
    """Before a CSV file is read: its size, and the csv module's own cell limit."""
    size = path.stat().st_size
    if size > limits.csv_bytes:
        raise _over(path, _("the file is {size}").format(size=_size(size)), _size(limits.csv_bytes), "csv_bytes")
    # The csv module stops at its own (process-wide) field limit; one more
    # than ours, so a long cell reaches check_rows or csv_cell_error.
    csv.field_size_limit(max(limits.cell_chars + 1, 1024))


def csv_cell_error(path: Path, row: int, error: csv.Error, limits: Limits = DEFAULT) -> RecipientsError | None:
    """The one line for the csv module's "field larger than field limit", else None."""
    if "field larger than field limit" not in str(error):
        return None
    return _over(
        path,
        _("a cell is too long"),
        _characters(limits.cell_chars),
        "cell_chars",
        row=row,
    )


def check_zip(path: Path, limits: Limits = DEFAULT) -> None:
    """Before any member of a workbook is opened: sizes and ratios from its directory."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError) as error:
        raise RecipientsError(_("not a workbook: damaged zip data ({error})").format(error=error), file=path) from None
    total = 0
    for member in members:
        total += member.file_size
        if member.file_size > RATIO_EXEMPT_BYTES:
            ratio = member.file_size / max(member.compress_size, 1)
            if ratio > limits.zip_ratio:
                raise _over(
                    path,
                    _("the part {filename} unpacks {ratio} times its size ({file_size})").format(
                        filename=member.filename, ratio=format_number(round(ratio)), file_size=_size(member.file_size)
                    ),
                    _("{zip_ratio}:1").format(zip_ratio=limits.zip_ratio),
                    "zip_ratio",
                )
        if total > limits.unpacked_bytes:
            raise _over(
                path,
                _("the workbook unpacks to over {total}").format(total=_size(total)),
                _size(limits.unpacked_bytes),
                "unpacked_bytes",
            )


def check_rows(path: Path, sheet: str | None, rows: Iterator[RowT], limits: Limits = DEFAULT) -> Iterator[RowT]:
    """``rows``, stopping with one line at the first row, column or cell over a limit."""
    count = 0
    for seen, row in enumerate(rows, start=1):
        # Empty rows do not count (a stray space in row 1,048,576 of a 3,200-row sheet makes
        # a million of them), but they are bounded too: an Excel sheet has 1,048,576 rows.
        count += any(row.cells)
        if count > limits.rows or seen > limits.rows + EXCEL_ROWS:
            raise _over(
                path,
                _("more than {rows} rows").format(rows=format_number(limits.rows)),
                _("{rows} rows").format(rows=format_number(limits.rows)),
                "rows",
                sheet=sheet,
            )
        used = len(row.cells)
        while used and not row.cells[used - 1]:
            used -= 1  # formatted but empty cells at the end of a row do not count
        if used > limits.columns:
            raise _over(
                path,
                _("{used} columns").format(used=used),
                _("{columns} columns").format(columns=limits.columns),
                "columns",
                sheet=sheet,
                row=row.number,
            )
        cells = row.cells[:used]
        if cells and max(map(len, cells)) > limits.cell_chars:  # one pass in C for the usual row
            index, cell = next((i, c) for i, c in enumerate(cells) if len(c) > limits.cell_chars)
            raise _over(
                path,
                _("cell {index} holds {count} characters").format(index=index + 1, count=format_number(len(cell))),
                _characters(limits.cell_chars),
                "cell_chars",
                sheet=sheet,
                row=row.number,
            )
        yield row


__all__ = ["DEFAULT", "MIB", "Limits", "check_csv_file", "check_rows", "check_zip", "csv_cell_error"]
