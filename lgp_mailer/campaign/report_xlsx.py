"""The committee report as an Excel workbook: one sheet per view, real numbers, native charts.

Aggregates only (it goes to a committee): counts and rates per campaign,
county, role and conference.  The ``--detail`` sheet lists municipalities,
never addresses or names.  Every text cell is stored as a string, so a
municipality or role starting with "=" is shown, never run as a formula.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from lgp_mailer.campaign.report import STAGE_LABELS, STAGES, ReportData

if TYPE_CHECKING:
    import pandas as pd
    from openpyxl.worksheet.worksheet import Worksheet

PERCENT = "0.0%"
COUNT = "#,##0"
# Sheet titles (Excel allows 31 characters and no []:*?/\).
FUNNEL, COUNTY, ROLE, SERIES, REPEAT, UNREACHED, DETAIL = (
    "Tölcsér",
    "Megyék",
    "Szerepkörök",
    "Sorozat",
    "Visszatérők",
    "El nem ért megyék",
    "Települések",
)
KEY_LABELS = {"campaign_id": "Kampány", "county": "Megye", "role": "Szerepkör"}


def stage_headers() -> list[tuple[str, str]]:
    """(column, heading) of the funnel columns: each count, then its rate over the invited."""
    columns = [("invited", STAGE_LABELS["invited"])]
    for stage in STAGES[1:]:
        columns += [(stage, STAGE_LABELS[stage]), (f"{stage}_rate", f"{STAGE_LABELS[stage]} %")]
    return columns


def write_workbook(data: ReportData, path: Path, *, detail: bool = False) -> None:
    from openpyxl import Workbook

    book = Workbook()
    first = book.active
    assert first is not None
    book.remove(first)
    funnel = _table(book, FUNNEL, data.funnel, ["campaign_id"])
    _funnel_chart(funnel, len(data.funnel))
    county = _table(book, COUNTY, data.by_county, ["campaign_id", "county"])
    _county_chart(county, len(data.by_county))
    _table(book, ROLE, data.by_role, ["campaign_id", "role"])
    _plain(
        book,
        SERIES,
        ["Kampány", "Részt vevő települések", "Új", "Visszatérő"],
        data.series[["campaign_id", "attending", "new", "returning"]].itertuples(index=False),
    )
    _plain(
        book,
        REPEAT,
        ["Konferenciák száma", "Települések"],
        data.repeat[["conferences", "municipalities"]].itertuples(index=False),
    )
    _plain(book, UNREACHED, ["Megye"], [(c,) for c in data.unreached])
    if detail:
        _plain(
            book,
            DETAIL,
            ["Település", "Megye", "Meghívva (konferencia)", "Részt vett (konferencia)"],
            data.municipalities[["municipality", "county", "invited", "attended"]].itertuples(index=False),
        )
    book.save(path)


def _table(book: Any, title: str, frame: pd.DataFrame, keys: list[str]) -> Worksheet:
    headers = [KEY_LABELS[k] for k in keys] + [h for _, h in stage_headers()]
    columns = keys + [c for c, _ in stage_headers()]
    return _plain(book, title, headers, frame[columns].itertuples(index=False), rates=len(keys))


def _plain(book: Any, title: str, headers: list[str], rows: Any, *, rates: int | None = None) -> Worksheet:
    """A sheet: bold frozen header with a filter, text as text, numbers as numbers."""
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    sheet: Worksheet = book.create_sheet(title)
    sheet.append(headers)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for values in rows:
        sheet.append([_value(v) for v in values])
    for row in sheet.iter_rows(min_row=2):
        for index, cell in enumerate(row):
            if isinstance(cell.value, str):
                cell.data_type = "s"  # a string, even when it starts with "=": never a formula
            elif rates is not None and headers[index].endswith(" %"):
                cell.number_format = PERCENT
            else:
                cell.number_format = COUNT
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{max(sheet.max_row, 1)}"
    for index, heading in enumerate(headers, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = max(12, len(heading) + 2)
    return sheet


def _value(value: object) -> object:
    """numpy numbers as Python numbers; text as it is."""
    if isinstance(value, str):
        return value
    if hasattr(value, "item"):
        return value.item()
    return value


def _funnel_chart(sheet: Worksheet, rows: int) -> None:
    """The count columns (invited, delivered, …) per campaign, as clustered bars."""
    from openpyxl.chart import BarChart, Reference

    chart = BarChart()
    chart.type = "col"
    chart.title = "Tölcsér kampányonként"
    chart.y_axis.title = "Levelek"
    for column in _count_columns(1):
        chart.add_data(Reference(sheet, min_col=column, min_row=1, max_row=rows + 1), titles_from_data=True)
    chart.set_categories(Reference(sheet, min_col=1, min_row=2, max_row=rows + 1))
    chart.width, chart.height = 24, 12
    sheet.add_chart(chart, f"A{rows + 4}")


def _county_chart(sheet: Worksheet, rows: int) -> None:
    """Invited, delivered and attended per campaign and county, as horizontal bars."""
    from openpyxl.chart import BarChart, Reference

    chart = BarChart()
    chart.type = "bar"
    chart.title = "Megyék szerint"
    counts = _count_columns(2)
    for column in (counts[0], counts[1], counts[5]):  # invited, delivered, attended
        chart.add_data(Reference(sheet, min_col=column, min_row=1, max_row=rows + 1), titles_from_data=True)
    chart.set_categories(Reference(sheet, min_col=1, max_col=2, min_row=2, max_row=rows + 1))
    chart.width, chart.height = 24, max(12, rows * 0.8)
    sheet.add_chart(chart, f"A{rows + 4}")


def _count_columns(keys: int) -> list[int]:
    """1-based column numbers of the counts, in stage order, after ``keys`` key columns."""
    return [keys + 1] + [keys + 2 + 2 * i for i in range(len(STAGES) - 1)]


__all__ = ["PERCENT", "write_workbook"]
