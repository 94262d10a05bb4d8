"""The attendance import keeps whose export it was (Zoom, Teams, Webex, Google Meet, a
participant table naming none): migration 9 widens the sent log's platform column on
both backends, an old ledger's imports survive it row for row, and the follow-up
names a Webex or Meet report as such, in English and in Hungarian."""

from __future__ import annotations

import codecs
import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hungarian import hungarian
from test_attendance import _campaign, _import, _imports
from test_attendance_exports import MEET, WEBEX
from test_remind_cli import at

from lgp_mailer.campaign.followup import targets
from lgp_mailer.errors import LedgerError
from lgp_mailer.ledger import attendance, migrations
from lgp_mailer.ledger.store import Ledger, open_ledger
from lgp_mailer.sheets.attendance import load_attendance

C = "konf-2027"
IMPORT_COLUMNS = "campaign_id, platform, language, file_name, sha256, file_modified_at, imported_at, summary"
SESSION_COLUMNS = "import_id, row, name, email, joined, left_at, minutes, guest, role, summed"
# What a schema-8 ledger holds: a Zoom import, then the Teams one that replaced it.
OLD_IMPORTS = [
    (C, "zoom", "hu", "participants.csv", "a" * 64, "2027-06-18T10:40:00.000000Z", "2027-06-18T11:00:00.000000Z",
     '[["Témakör", "Víziközmű"]]'),
    (C, "teams", "en", "AttendanceReport.csv", "b" * 64, "2027-06-18T10:45:00.000000Z",
     "2027-06-18T11:05:00.000000Z", "[]"),
]  # fmt: skip
OLD_SESSIONS = [
    (1, 5, "Kiss Ödön", "Polgarmester@Alsomocsolad.example", "2027-06-18T09:58:12", "2027-06-18T10:40:09", 41.95,
     0, "", 0),
    (1, 6, "+36 30 123 4567", "", "2027-06-18T10:02:00", None, None, 1, "", 0),
    (2, 8, "Tóth Péter", "szervezo@egyesulet.example", "2027-06-18T10:00:00", "2027-06-18T10:20:00", 20.0, 0,
     "Attendee", 1),
]  # fmt: skip
WIDENED = "CHECK (platform IN ('zoom', 'teams', 'webex', 'meet', 'other'))"
# A participant table whose header names no vendor.
OTHER = "Name,Email,Join time,Leave time\nKiss Ödön,kiss@falu.example,06/18/2020 09:58 AM,06/18/2020 10:40 AM\n"
FOLLOWUP = '\n[followup]\nattendance_minutes = 30\nrecording_url = "https://video.example.org/lgp/2020-06-18"\n'


class Clock:
    def __call__(self) -> datetime:
        return datetime(2027, 6, 19, 8, 0, tzinfo=UTC)


def _target(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Path | str:
    return tmp_path / "sent-log.sqlite3" if backend == "sqlite" else request.getfixturevalue("pg_url")


def _rows(ledger: Ledger, sql: str) -> list[tuple[Any, ...]]:
    with ledger.read() as db:
        return db.tuples(sql)


def _shape(ledger: Ledger) -> dict[str, list[tuple[Any, ...]]]:
    """The two tables' columns, indexes, constraints and foreign keys, as the database describes them."""
    if ledger.dialect == "sqlite":
        tables = ("attendance_imports", "attendance_sessions")
        return {
            "columns": [r for t in tables for r in _rows(ledger, f"SELECT '{t}', * FROM pragma_table_info('{t}')")],
            "indexes": [r for t in tables for r in _rows(ledger, f"SELECT '{t}', * FROM pragma_index_list('{t}')")],
            "index columns": _rows(ledger, "SELECT * FROM pragma_index_info('sqlite_autoindex_attendance_imports_1')"),
            "foreign keys": _rows(ledger, "SELECT * FROM pragma_foreign_key_list('attendance_sessions')"),
            "tables": _rows(ledger, "SELECT type, name, tbl_name FROM sqlite_master ORDER BY name"),
        }
    return {
        "columns": _rows(
            ledger,
            "SELECT table_name, column_name, data_type, is_nullable, column_default, is_identity, collation_name"
            " FROM information_schema.columns WHERE table_name LIKE 'attendance_%' ORDER BY table_name, column_name",
        ),
        "indexes": _rows(
            ledger, "SELECT indexname, indexdef FROM pg_indexes WHERE tablename LIKE 'attendance_%' ORDER BY 1"
        ),
        "constraints": _rows(
            ledger,
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conrelid IN ('attendance_imports'::regclass, 'attendance_sessions'::regclass)"
            " AND conname != 'attendance_imports_platform_check' ORDER BY 1, 2",
        ),
    }


def _platform_check(ledger: Ledger) -> str:
    if ledger.dialect == "sqlite":
        ((sql,),) = _rows(ledger, "SELECT sql FROM sqlite_master WHERE name = 'attendance_imports'")
        return str(sql)
    ((definition,),) = _rows(
        ledger,
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'attendance_imports_platform_check'",
    )
    return str(definition)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_schema_8_ledger_keeps_its_imports_row_for_row_through_migration_9(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = _target(backend, request, tmp_path)
    monkeypatch.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:8])  # the previous version's ledger
    with open_ledger(target, clock=Clock()) as old:
        with old.transaction() as db:
            db.executemany(f"INSERT INTO attendance_imports ({IMPORT_COLUMNS}) VALUES (?,?,?,?,?,?,?,?)", OLD_IMPORTS)
            db.executemany(
                f"INSERT INTO attendance_sessions ({SESSION_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?)", OLD_SESSIONS
            )
        before = _shape(old)
        assert "'webex'" not in _platform_check(old)
    monkeypatch.undo()

    with open_ledger(target, clock=Clock()) as new:
        assert [(n, name) for n, name, _at in new.applied_migrations()][-2:] == [
            (8, "messages_held"),
            (9, "attendance_platform_vendors"),
        ]
        assert _rows(new, "SELECT * FROM attendance_imports ORDER BY id") == [
            (i, *r) for i, r in enumerate(OLD_IMPORTS, 1)
        ]
        assert _rows(new, f"SELECT {SESSION_COLUMNS} FROM attendance_sessions ORDER BY import_id, row") == OLD_SESSIONS
        assert _shape(new) == before  # every column, index, constraint and foreign key as it was
        if backend == "sqlite":
            assert WIDENED in _platform_check(new)
            assert _rows(new, "SELECT * FROM pragma_foreign_key_check") == []
            assert _rows(new, "SELECT * FROM pragma_integrity_check") == [("ok",)]
        else:
            assert _platform_check(new) == (
                "CHECK ((platform = ANY (ARRAY['zoom'::text, 'teams'::text, 'webex'::text, 'meet'::text, "
                "'other'::text])))"
            )
        # The next import follows the old ones (SQLite's rowid, PostgreSQL's identity).
        webex = tmp_path / "webex.csv"
        webex.write_bytes(codecs.BOM_UTF16_LE + WEBEX.encode("utf-16-le"))
        stored = attendance.store_report(new, C, load_attendance(webex), datetime(2027, 6, 18, 11, 0, tzinfo=UTC))
        assert (stored.change, stored.current.id, stored.current.platform) == ("replaced", 3, "webex")
        assert stored.replaced is not None and stored.replaced.platform == "teams"
        assert [s.row for s in attendance.sessions(new, 1)] == [5, 6]


@pytest.mark.parametrize(("platform", "stored"), [("webex", True), ("meet", True), ("other", True), ("skype", False)])
def test_the_platform_column_takes_the_known_vendors_only(
    ledger_target: Path | str, platform: str, stored: bool
) -> None:
    row = (C, platform, "en", f"{platform}.csv", platform.ljust(64, "0"), "2027-06-18T10:40:00.000000Z", "x", "[]")
    with open_ledger(ledger_target) as ledger:
        if stored:
            with ledger.transaction() as db:
                db.execute(f"INSERT INTO attendance_imports ({IMPORT_COLUMNS}) VALUES (?,?,?,?,?,?,?,?)", row)
            current = attendance.current_import(ledger, C)
            assert current is not None and current.platform == platform
            return
        with pytest.raises(LedgerError) as refused, ledger.transaction() as db:
            db.execute(f"INSERT INTO attendance_imports ({IMPORT_COLUMNS}) VALUES (?,?,?,?,?,?,?,?)", row)
        assert attendance.current_import(ledger, C) is None
    cause = refused.value.__cause__
    if isinstance(ledger_target, Path):
        assert type(cause) is sqlite3.IntegrityError
        assert str(cause) == "CHECK constraint failed: platform IN ('zoom', 'teams', 'webex', 'meet', 'other')"
    else:
        assert type(cause) is psycopg.errors.CheckViolation and isinstance(cause, psycopg.IntegrityError)
        assert str(cause).splitlines()[0] == (
            'new row for relation "attendance_imports" violates check constraint "attendance_imports_platform_check"'
        )


def test_webex_meet_and_other_imports_are_kept_and_named_by_their_vendor(tmp_path: Path) -> None:
    camp, campaign = _campaign(tmp_path)
    campaign.event_path.write_text(campaign.event_path.read_text(encoding="utf-8") + FOLLOWUP, encoding="utf-8")
    webex, meet, other = tmp_path / "webex.csv", tmp_path / "meet.csv", tmp_path / "resztvevok.csv"
    webex.write_bytes(codecs.BOM_UTF16_LE + WEBEX.encode("utf-16-le"))
    meet.write_text(MEET, encoding="utf-8")
    other.write_text(OTHER, encoding="utf-8")
    for later, minutes in ((meet, 1), (other, 2)):  # the later downloads
        os.utime(later, (webex.stat().st_mtime + 60 * minutes,) * 2)
    shown: list[str] = []
    for path, hour in ((webex, 14), (meet, 15), (other, 16)):
        with at(2020, 6, 18, hour, 0):
            assert _import(camp, path, "--quiet").exit_code == 0
            shown.append(targets(campaign, None, attended=True).report_lines[0])
            with hungarian(tmp_path / "locale"):
                shown.append(targets(campaign, None, attended=True).report_lines[0])
    assert _imports(camp) == [("webex.csv", "webex", 3), ("meet.csv", "meet", 2), ("resztvevok.csv", "other", 1)]
    assert shown == [
        "Attendance: webex.csv (Webex report, English export), imported 2020-06-18 12:00 UTC",
        "Részvétel: webex.csv (Webex-kimutatás, angol nyelvű export), beolvasva: 2020-06-18 12:00 UTC",
        "Attendance: meet.csv (Google Meet report, English export), imported 2020-06-18 13:00 UTC",
        "Részvétel: meet.csv (Google Meet-kimutatás, angol nyelvű export), beolvasva: 2020-06-18 13:00 UTC",
        "Attendance: resztvevok.csv (Video platform report, English export), imported 2020-06-18 14:00 UTC",
        "Részvétel: resztvevok.csv (Videokonferencia-platform-kimutatás, angol nyelvű export), "
        "beolvasva: 2020-06-18 14:00 UTC",
    ]
