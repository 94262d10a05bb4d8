"""Recipient sheets → validated, normalised recipient records.

MINIMAL READER: the recipient-sheet issue replaces this with the full loader
(formats, encodings, aliases, validation, merging).  The dataclasses below are
the interface the rest of lgp-mailer relies on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from lgp_mailer.errors import RecipientsError


@dataclass(frozen=True)
class Recipient:
    """One address, and everything the letter to it needs.

    ``email`` is the normalised send address (domain lower-cased, IDNA) and is
    the ledger key; ``municipalities`` lists every municipality this address
    stands for (a joint office serves several).
    """

    email: str
    municipalities: tuple[str, ...]
    salutation: str
    county: str | None = None
    name: str | None = None
    role: str = "polgármester"
    gender: str | None = None  # "female", "male" or None when unknown
    rows: tuple[int, ...] = ()
    sheet: str | None = None


@dataclass(frozen=True)
class Finding:
    """A problem (blocks sending that row) or a warning (never changes the exit code)."""

    severity: str  # "problem" | "warning"
    problem: str
    file: str
    sheet: str | None = None
    row: int | None = None
    column: str | None = None
    value: str | None = None


@dataclass
class RecipientSheet:
    recipients: list[Recipient]
    findings: list[Finding] = field(default_factory=list)
    path: Path | None = None


def load_recipients(path: Path, *, sheet: str | None = None, columns: dict[str, str] | None = None) -> RecipientSheet:
    import openpyxl

    if not path.is_file():
        raise RecipientsError("file not found", file=path)
    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    ws = wb.worksheets[0]
    rows = ws.iter_rows(values_only=True)
    header = [str(h or "").strip().lower() for h in next(rows)]
    out = []
    for n, row in enumerate(rows, start=2):
        rec = dict(zip(header, row))
        email = str(rec.get("e-mail") or "").strip()
        if not email:
            continue
        out.append(
            Recipient(
                email=email,
                municipalities=(str(rec.get("önkormányzat") or "").strip(),),
                salutation="Tisztelt Polgármester Asszony, Polgármester Úr!",
                county=rec.get("megye"),
                name=rec.get("név"),
                rows=(n,),
            )
        )
    return RecipientSheet(out, [], path)
