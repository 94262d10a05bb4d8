"""Build recipient sheets in every supported format inside a test's tmp_path.

Each writer takes rows as lists of cell values (None = empty cell); a string
starting with "=" becomes a formula in formats that have formulas.
"""

from __future__ import annotations

from pathlib import Path

HEADER = ["Megye", "Önkormányzat", "Név", "Beosztás", "Nem", "E-mail"]


def write_xlsx(path: Path, sheets: dict[str, list[list]]) -> Path:
    import openpyxl

    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets.items():
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(row)
    workbook.save(path)
    return path


def write_xls(path: Path, sheets: dict[str, list[list]]) -> Path:
    import xlwt

    book = xlwt.Workbook(encoding="utf-8")
    for title, rows in sheets.items():
        sheet = book.add_sheet(title)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if value is not None:
                    sheet.write(r, c, value)
    book.save(str(path))
    return path


def write_ods(path: Path, sheets: dict[str, list[list]]) -> Path:
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import Table, TableCell, TableRow
    from odf.text import P

    document = OpenDocumentSpreadsheet()
    for title, rows in sheets.items():
        table = Table(name=title)
        for row in rows:
            table_row = TableRow()
            for value in row:
                if value is None:
                    cell = TableCell()
                elif isinstance(value, str) and value.startswith("="):
                    cell = TableCell(formula="of:" + value, valuetype="string")
                elif isinstance(value, (int, float)):
                    cell = TableCell(valuetype="float", value=value)
                else:
                    cell = TableCell(valuetype="string")
                    for line in value.split("\n"):
                        cell.addElement(P(text=line))
                table_row.addElement(cell)
            table.addElement(table_row)
        document.spreadsheet.addElement(table)
    document.save(str(path))
    return path


def csv_text(rows: list[list], delimiter: str = ";") -> str:
    """Rows joined the way Excel writes them: quotes only where needed, CRLF."""
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerows([["" if v is None else v for v in row] for row in rows])
    return buffer.getvalue()


def write_csv(path: Path, rows: list[list], *, encoding: str = "utf-8", delimiter: str = ";") -> Path:
    # "utf-8-sig" and "utf-16" write their BOM, as Excel does.
    path.write_bytes(csv_text(rows, delimiter).encode(encoding))
    return path


def report_lines(stdout: str) -> list[str]:
    """``check``'s report: its lines up to its "Result:" line.  After it come the
    registrations' match report and the input block (issue 12)."""
    lines = stdout.splitlines()
    end = next(n for n, line in enumerate(lines) if line.startswith("Result:"))
    return lines[: end + 1]
