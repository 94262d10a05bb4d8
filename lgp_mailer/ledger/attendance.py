"""Imported attendance reports in the sent log (migration 5), per campaign.

An import is identified by the SHA-256 of the file's bytes: importing the same
file again changes nothing.  A different file replaces the campaign's current
report (the latest import counts; earlier ones stay as history), unless it was
written before the current one, which is refused without ``replace_newer``:
an old download must not silently undo a fresh one.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Literal

from lgp_mailer.errors import ConfigError
from lgp_mailer.i18n import _
from lgp_mailer.ledger.store import Ledger, utc_iso
from lgp_mailer.quoting import quoted
from lgp_mailer.sheets.attendance import AttendanceReport, Session

Change = Literal["new", "replaced", "unchanged"]


@dataclass(frozen=True)
class StoredImport:
    id: int
    campaign_id: str
    platform: str
    language: str
    file_name: str
    sha256: str
    file_modified_at: str  # UTC ISO text
    imported_at: str
    summary: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class ImportResult:
    change: Change
    current: StoredImport
    replaced: StoredImport | None = None  # the report this import took over from


def _stored(r: object) -> StoredImport:
    row = dict(r)  # type: ignore[call-overload]
    row["summary"] = tuple(tuple(pair) for pair in json.loads(row["summary"] or "[]"))
    return StoredImport(**row)


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") if moment is not None else None


def _moment(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text) if text else None


def current_import(ledger: Ledger, campaign_id: str) -> StoredImport | None:
    """The report that counts for ``campaign_id`` (the latest import), or None."""
    with ledger.read() as db:
        r = db.execute(
            "SELECT * FROM attendance_imports WHERE campaign_id = ? ORDER BY id DESC LIMIT 1", (campaign_id,)
        ).fetchone()
    return _stored(r) if r else None


def store_report(
    ledger: Ledger,
    campaign_id: str,
    report: AttendanceReport,
    file_modified_at: dt.datetime,
    *,
    replace_newer: bool = False,
) -> ImportResult:
    """Keep ``report`` as the campaign's attendance (see the module docstring)."""
    written = utc_iso(file_modified_at)
    with ledger.transaction() as db:
        same = db.execute(
            "SELECT * FROM attendance_imports WHERE campaign_id = ? AND sha256 = ?", (campaign_id, report.sha256)
        ).fetchone()
        latest = db.execute(
            "SELECT * FROM attendance_imports WHERE campaign_id = ? ORDER BY id DESC LIMIT 1", (campaign_id,)
        ).fetchone()
        if same is not None:
            return ImportResult("unchanged", _stored(latest))
        before = _stored(latest) if latest is not None else None
        if before is not None and written < before.file_modified_at and not replace_newer:
            raise ConfigError(
                _(
                    "this file was written before the imported {file_name} ({modified} UTC): nothing changed; "
                    "pass --replace-newer to import it all the same"
                ).format(file_name=quoted(before.file_name), modified=before.file_modified_at[:16].replace("T", " ")),
                file=report.path,
            )
        import_id = db.execute(
            "INSERT INTO attendance_imports (campaign_id, platform, language, file_name, sha256, file_modified_at,"
            " imported_at, summary) VALUES (?,?,?,?,?,?,?,?) RETURNING id",
            (
                campaign_id,
                report.vendor,
                report.language,
                report.path.name,
                report.sha256,
                written,
                ledger.now(),
                json.dumps([list(pair) for pair in report.summary], ensure_ascii=False),
            ),
        ).fetchone()[0]
        db.executemany(
            "INSERT INTO attendance_sessions (import_id, row, name, email, joined, left_at, minutes, guest, role,"
            " summed) VALUES (?,?,?,?,?,?,?,?,?,?)",
            [
                (
                    import_id,
                    s.row,
                    s.name,
                    s.email,
                    _iso(s.joined),
                    _iso(s.left),
                    s.minutes,
                    int(s.guest),
                    s.role,
                    int(s.summed),
                )
                for s in report.sessions
            ],
        )
        now = _stored(db.execute("SELECT * FROM attendance_imports WHERE id = ?", (import_id,)).fetchone())
    return ImportResult("replaced" if before is not None else "new", now, before)


def sessions(ledger: Ledger, import_id: int) -> list[Session]:
    """The sessions of one import, in the report's order."""
    with ledger.read() as db:
        rows = db.execute("SELECT * FROM attendance_sessions WHERE import_id = ? ORDER BY row", (import_id,)).fetchall()
    return [
        Session(
            r["row"],
            r["name"],
            r["email"],
            _moment(r["joined"]),
            _moment(r["left_at"]),
            r["minutes"],
            bool(r["guest"]),
            r["role"],
            bool(r["summed"]),
        )
        for r in rows
    ]


__all__ = ["ImportResult", "StoredImport", "current_import", "sessions", "store_report"]
