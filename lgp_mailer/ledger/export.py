"""``lgp-mailer log export FILE``: the sent log as a spreadsheet for colleagues.

One row per recipient and kind, in sheet order, with these fixed columns
(the headers never change, so colleagues' filters and lookups keep working):

| oszlop (header)               | content                                                          |
|-------------------------------|------------------------------------------------------------------|
| Kampány                       | the campaign id                                                  |
| Önkormányzat(ok)              | the municipalities the address stands for, joined by "; "        |
| Megye                         | the county (empty when the sheet gave none)                      |
| E-mail-cím                    | the address                                                      |
| Levél típusa                  | meghívó, emlékeztető or regisztrációs felhívás (see below)       |
| Állapot                       | the status in Hungarian (see below)                              |
| Message-ID                    | the message's Message-ID                                         |
| Próbálkozások                 | how many times sending was attempted                             |
| Első próbálkozás              | first attempt, Europe/Budapest local time, `ÉÉÉÉ-HH-NN óó:pp:mm` |
| Utolsó próbálkozás            | last attempt, likewise                                           |
| Utolsó SMTP-válasz            | the server's last reply (code, enhanced code and words)          |

Levél típusa (ledger kind → value): the kind's Hungarian label as
``kinds.py`` declares it (`invitation` → `meghívó`, `reminder` →
`emlékeztető`, `nudge` → `regisztrációs felhívás`); a kind this version
does not know is written as it is.

Állapot (ledger status → value):

| status       | Állapot          | meaning                                                   |
|--------------|------------------|-----------------------------------------------------------|
| `pending`    | `küldésre vár`   | not sent yet                                              |
| `sending`    | `küldés alatt`   | being sent now, or a run crashed while sending it         |
| `sent`       | `elküldve`       | the server accepted it                                    |
| `deferred`   | `később újra`    | refused for now; the next run retries it                  |
| `failed`     | `sikertelen`     | refused for good for this address                         |
| `unknown`    | `bizonytalan`    | went out, no answer came: may or may not have arrived     |
| `invalid`    | `hibás adat`     | the sheet row is not usable                               |
| `suppressed` | `letiltva`       | the address opted out                                     |

Safe to open in Excel:

* **.xlsx** (recommended): every text cell is stored as a string cell, never
  as a formula, so a municipality cell reading ``=HYPERLINK(…)`` shows
  exactly that text.  *Próbálkozások* is a number cell; times are text in the
  format above (sortable as text), not Excel dates.
* **.csv**: UTF-8 with a byte-order mark, so Excel shows the accents; fields
  separated by ``;``, which is what Excel expects with Hungarian regional
  settings (the list separator there is ``;`` because ``,`` is the decimal
  mark); CRLF line ends; no ``sep=`` line (Excel then ignores the BOM).
  A field starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
  (or their full-width forms) would be run as a formula, so it gets a leading
  apostrophe (OWASP "CSV injection").  The one exception is a plain number
  such as ``-5`` or ``+36`` (digits with an optional sign and one decimal
  point or comma), which Excel reads as a number and never runs.  Anything
  else is protected even when it is legitimate: a phone number
  ``+36 1 555 0100`` is written ``'+36 1 555 0100`` (without the apostrophe
  Excel would try to compute it).  A program reading the CSV can drop one
  leading apostrophe that is followed by one of those characters.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from lgp_mailer import kinds
from lgp_mailer.errors import ConfigError, LgpError
from lgp_mailer.i18n import _
from lgp_mailer.ledger.store import Ledger, LedgerRow

TIMEZONE = ZoneInfo("Europe/Budapest")  # Windows: from the tzdata package
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"

HEADERS = (
    "Kampány",
    "Önkormányzat(ok)",
    "Megye",
    "E-mail-cím",
    "Levél típusa",
    "Állapot",
    "Message-ID",
    "Próbálkozások",
    "Első próbálkozás",
    "Utolsó próbálkozás",
    "Utolsó SMTP-válasz",
)
STATUSES_HU = {
    "pending": "küldésre vár",
    "sending": "küldés alatt",
    "sent": "elküldve",
    "deferred": "később újra",
    "failed": "sikertelen",
    "unknown": "bizonytalan",
    "invalid": "hibás adat",
    "suppressed": "letiltva",
}
ATTEMPTS_COLUMN = HEADERS.index("Próbálkozások")

# OWASP CSV injection triggers, plus their full-width forms.
FORMULA_START = (*"=+-@\t\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(?:[.,]\d+)?")
# Characters XML 1.0 (and so .xlsx) cannot hold.
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def local_time(stamp: str | None) -> str:
    """Ledger UTC text → Europe/Budapest local time text ('' when None)."""
    if not stamp:
        return ""
    moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return moment.astimezone(TIMEZONE).strftime(TIME_FORMAT)


def export_row(row: LedgerRow) -> tuple[str | int, ...]:
    """One ledger row as the export's values, in ``HEADERS`` order."""
    return (
        row.campaign_id,
        "; ".join(row.municipalities),
        row.county or "",
        row.address,
        kinds.label(row.kind),
        STATUSES_HU.get(row.status, row.status),
        row.message_id or "",
        row.attempts,
        local_time(row.first_attempt_at),
        local_time(row.last_attempt_at),
        row.last_reply or "",
    )


def neutralise(value: str) -> str:
    """A CSV field Excel will show as text, never run as a formula."""
    if value.startswith(FORMULA_START) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def _records(rows: Iterable[LedgerRow]) -> Iterator[tuple[str | int, ...]]:
    for row in rows:
        yield export_row(row)


def write_csv(path: Path, rows: Iterable[LedgerRow]) -> int:
    count = 0
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh, delimiter=";", quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
        writer.writerow(HEADERS)
        for record in _records(rows):
            writer.writerow([v if isinstance(v, int) else neutralise(v) for v in record])
            count += 1
    return count


def write_xlsx(path: Path, rows: Iterable[LedgerRow]) -> int:
    from openpyxl import Workbook  # noqa: PLC0415 - openpyxl is heavy; only the .xlsx export needs it
    from openpyxl.cell import WriteOnlyCell  # noqa: PLC0415 - as above
    from openpyxl.styles import Font  # noqa: PLC0415 - as above

    book = Workbook(write_only=True)  # streams rows: flat memory for 100,000 recipients
    sheet = book.create_sheet("Kiküldési napló")
    sheet.freeze_panes = "A2"
    widths = (28, 40, 22, 36, 18, 16, 48, 14, 20, 20, 60)
    for n, width in enumerate(widths):
        sheet.column_dimensions[chr(ord("A") + n)].width = width

    def text(value: str, bold: bool = False) -> Any:  # openpyxl's WriteOnlyCell is a factory function
        if not value:
            return WriteOnlyCell(sheet, value=None)  # an empty cell, not an empty string
        cell = WriteOnlyCell(sheet, value=_XML_ILLEGAL.sub("\ufffd", value))
        cell.data_type = "s"  # a string, even when it starts with "=": never a formula
        if bold:
            cell.font = Font(bold=True)
        return cell

    sheet.append([text(h, bold=True) for h in HEADERS])
    count = 0
    for record in _records(rows):
        sheet.append([WriteOnlyCell(sheet, value=v) if isinstance(v, int) else text(v) for v in record])
        count += 1
    book.save(path)
    return count


WRITERS = {".csv": write_csv, ".xlsx": write_xlsx}


def export_log(ledger: Ledger, path: Path, *, campaign_id: str | None = None, kind: str | None = None) -> int:
    """Write the sent log (optionally one campaign / kind) to ``path``
    (.xlsx or .csv, by its suffix); returns the number of recipient rows."""
    path = Path(path)
    writer = WRITERS.get(path.suffix.lower())
    if writer is None:
        raise ConfigError(_("the export file must end in .xlsx or .csv"), file=path)
    rows = ledger.rows(campaign_id, kind)
    try:
        return writer(path, rows)
    except OSError as error:
        raise LgpError(
            _("cannot write the export: {reason}").format(reason=error.strerror or error), file=path
        ) from error


__all__ = ["HEADERS", "STATUSES_HU", "export_log", "export_row", "local_time", "neutralise", "write_csv", "write_xlsx"]
