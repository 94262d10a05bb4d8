"""The ledger's tables beyond messages, on both backends; PostgreSQL's own rules
(exactly-once claims, passwords, a URL never printed with its password); and
``lgp-mailer ledger migrate`` from SQLite to PostgreSQL (issue 22)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from attendance_files import write_zoom
from typer.testing import CliRunner

from lgp_mailer.cli import app
from lgp_mailer.errors import LedgerError
from lgp_mailer.ledger import attendance, events, migrations, report, revisions, transfer
from lgp_mailer.ledger.backend import pg_sql, redact
from lgp_mailer.ledger.runlock import RunLock, current_lock
from lgp_mailer.ledger.status import ledger_status
from lgp_mailer.ledger.store import Entry, Ledger, open_ledger
from lgp_mailer.sheets.attendance import load_attendance

from pg_server import PASSWORD, PASSWORD_ROLE, PgServer

C, K = "konf-2027", "invitation"
SNAPSHOT = {
    "title": "Konferencia",
    "date": "2027-06-18",
    "start": "10:00",
    "end": "12:35",
    "platform": "zoom",
    "join_url": None,
    "registration_url": "https://lgp.example.org/reg",
    "agenda": "[]",
}
runner = CliRunner()


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2027, 5, 1, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


def fill(ledger: Ledger, tmp_path: Path) -> None:
    """A row in every table: messages in four statuses, a suppression, a lock,
    a calendar UID, a snapshot, a notified revision, an attendance import with its sessions."""
    ledger.sync(
        C, K, [Entry(f"r{i}@falu.example", i, (f"Falu {i}",), "Baranya", f"<{i}@lgp.example>") for i in range(6)]
    )
    for address, status in (("r0@falu.example", "sent"), ("r1@falu.example", "failed"), ("r2@falu.example", "unknown")):
        assert ledger.claim(C, K, address, ["pending"])
        ledger.record(C, K, address, status, 250 if status == "sent" else 550, None, "reply")
    assert ledger.claim(C, K, "r3@falu.example", ["pending"])  # left 'sending'
    ledger.suppress("r4@falu.example", "kérte", "manual")
    RunLock(ledger, C, heartbeat_every=None).acquire()  # never released: a crashed run's lock
    events.record_calendar_uid(ledger, C, "uid-1@lgp.example")
    events.record_snapshot(ledger, C, K, SNAPSHOT, event_path="esemeny.toml", sheet_path="cimzettek.xlsx", sheet_rows=6)
    assert revisions.record_revision(ledger, C, 1, "change", SNAPSHOT)
    report_file = load_attendance(write_zoom(tmp_path / "zoom.csv"))
    attendance.store_report(ledger, C, report_file, datetime(2027, 6, 18, 12, 0, tzinfo=UTC))


def test_every_table_works_through_the_ledger(ledger_target: Path | str, tmp_path: Path) -> None:
    with open_ledger(ledger_target, clock=Clock()) as ledger:
        fill(ledger, tmp_path)
        assert [n for n, _name, _at in ledger.applied_migrations()] == [n for n, _name, _s in migrations.MIGRATIONS]
        assert ledger.counts(C, K) == {
            "pending": 1,
            "sending": 1,
            "sent": 1,
            "deferred": 0,
            "failed": 1,
            "unknown": 1,
            "invalid": 0,
            "suppressed": 1,
        }
        assert events.calendar_uid(ledger, C) == "uid-1@lgp.example"
        assert events.record_calendar_uid(ledger, C, "uid-2@lgp.example") == "uid-1@lgp.example"
        events.record_calendar_uid(ledger, "masik", "uid-1@lgp.example")
        assert events.shared_calendar_uids(ledger) == {"uid-1@lgp.example": ["konf-2027", "masik"]}
        snapshot = events.last_snapshot(ledger, C, K)
        assert snapshot is not None and snapshot.fields == SNAPSHOT and snapshot.sheet_rows == 6
        assert events.last_snapshot(ledger, C, "reminder") is None
        # Another campaign's latest snapshot, for the links a new conference must not keep.
        later = {**SNAPSHOT, "title": "Új", "registration_url": "https://forms.example.org/uj"}
        events.record_snapshot(ledger, "masik", K, SNAPSHOT, event_path="a.toml", sheet_path=None, sheet_rows=None)
        events.record_snapshot(ledger, "masik", K, later, event_path="a.toml", sheet_path=None, sheet_rows=None)
        assert events.other_campaigns_links(ledger, C) == [
            {
                "campaign_id": "masik",
                "title": "Új",
                "date": SNAPSHOT["date"],
                "registration_url": "https://forms.example.org/uj",
                "join_url": SNAPSHOT["join_url"],
            }
        ]
        assert [c["campaign_id"] for c in events.other_campaigns_links(ledger, "masik")] == [C]
        assert events.first_snapshot_at(ledger, C, K) == snapshot.taken_at
        assert events.first_snapshot_at(ledger, C, "reminder") is None
        assert [(r.revision, r.kind) for r in revisions.revisions(ledger, C)] == [(1, "change")]
        assert not revisions.record_revision(ledger, C, 1, "change", SNAPSHOT)  # a rerun records nothing twice
        stored = attendance.current_import(ledger, C)
        assert stored is not None and (stored.id, stored.platform, stored.file_name) == (1, "zoom", "zoom.csv")
        sessions = attendance.sessions(ledger, stored.id)
        assert [s.row for s in sessions] == list(range(5, 15)) and sessions[
            1
        ].email == "Polgarmester@Alsomocsolad.example"
        assert report.campaign_ids(ledger) == [C]
        rows = report.message_rows(ledger, [C])
        assert rows[0] == (C, K, "r0@falu.example", "sent", '["Falu 0"]', "Baranya", rows[0][6], "0")
        lock = current_lock(ledger, C)
        assert lock is not None and lock["campaign_id"] == C
        assert ledger.mark_bounced(message_id="<0@lgp.example>", reason="5.1.1 user unknown").status == "failed"


def test_a_claim_is_won_by_exactly_one_of_two_connections_on_postgresql(pg_url: str) -> None:
    with open_ledger(pg_url) as first, open_ledger(pg_url) as second:
        first.sync(C, K, [Entry("a@falu.example", 0)])
        # The first claim's transaction is still open: the second waits for its row lock,
        # then re-checks the WHERE and finds the row 'sending'.
        with first.transaction(exclusive=False) as db:
            db.execute("UPDATE messages SET status = 'sending' WHERE address_key = ?", ("a@falu.example",))
            assert second.db.execute("SELECT status FROM messages").fetchone()[0] == "pending"  # not yet committed
        assert not second.claim(C, K, "a@falu.example", ["pending"])
        assert first.get(C, K, "a@falu.example").status == "sending"


def test_a_failed_migration_leaves_no_trace_on_postgresql(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = [*migrations.MIGRATIONS, (99, "broken", ("CREATE TABLE extra (x INTEGER)", "THIS IS NOT SQL"))]
    monkeypatch.setattr(migrations, "MIGRATIONS", broken)
    with pytest.raises(LedgerError, match="cannot write the sent log: syntax error"):
        open_ledger(pg_url)
    with psycopg.connect(pg_url) as conn:
        assert [r[0] for r in conn.execute("SELECT number FROM migrations ORDER BY number")] == [
            n for n, _name, _s in migrations.MIGRATIONS[:-1]
        ]
        assert conn.execute("SELECT to_regclass('extra')").fetchone() == (None,)


def test_the_schema_sorts_text_bytewise_on_both(ledger_target: Path | str) -> None:
    with open_ledger(ledger_target) as ledger:
        ledger.sync(
            C, K, [Entry(a, i) for i, a in enumerate(["b@x.example", "B@y.example", "a@z.example", "Á@x.example"])]
        )
        assert [r.address for r in ledger.rows(C, K)] == ["b@x.example", "B@y.example", "a@z.example", "Á@x.example"]
        assert [r[0] for r in ledger.db.execute("SELECT address FROM messages ORDER BY address")] == [
            "B@y.example",
            "a@z.example",
            "b@x.example",
            "Á@x.example",
        ]


# -- placeholders and passwords ---------------------------------------------------------------------


def test_placeholders_become_psycopgs_outside_quoted_text() -> None:
    assert pg_sql("SELECT '?', \"a?\" FROM t WHERE a = ? AND b LIKE 'x%' AND c % 2 = ?") == (
        "SELECT '?', \"a?\" FROM t WHERE a = %s AND b LIKE 'x%' AND c %% 2 = %s"
    )


def test_a_password_is_never_shown() -> None:
    assert redact("postgresql://lgp:titok@db.example:5432/naplo") == "postgresql://lgp:***@db.example:5432/naplo"
    assert redact("postgresql://db.example/naplo?user=lgp&password=titok") == (
        "postgresql://db.example/naplo?user=lgp&password=***"
    )
    assert redact("postgresql://lgp@db.example/naplo") == "postgresql://lgp@db.example/naplo"


def _url(pg_server: PgServer, database_url: str, password: str | None = None) -> str:
    return pg_server.url(database_url.rsplit("/", 1)[1], user=PASSWORD_ROLE, password=password)


def test_a_wrong_password_in_the_url_is_one_line_without_it(pg_server: PgServer, pg_url: str) -> None:
    url = _url(pg_server, pg_url, "nem-ez-a-jelszo")
    with pytest.raises(LedgerError) as caught:
        open_ledger(url)
    line = str(caught.value)
    assert "nem-ez-a-jelszo" not in line and "\n" not in line
    assert "password authentication failed" in line and caught.value.file == redact(url)


@pytest.mark.parametrize("source", ["env", "file", "pgpassword", "url"])
def test_the_password_comes_from_each_source(
    pg_server: PgServer, pg_url: str, source: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = _url(pg_server, pg_url)
    if source == "env":
        monkeypatch.setenv("LGP_MAILER_DB_PASSWORD", PASSWORD)
    elif source == "file":
        (tmp_path / "jelszo").write_text(PASSWORD + "\n", encoding="utf-8")
        monkeypatch.setenv("LGP_MAILER_DB_PASSWORD_FILE", str(tmp_path / "jelszo"))
    elif source == "pgpassword":  # libpq's own
        monkeypatch.setenv("PGPASSWORD", PASSWORD)
    else:
        url = _url(pg_server, pg_url, PASSWORD)
    with open_ledger(url) as ledger:
        assert ledger.db.execute("SELECT current_user").fetchone()[0] == PASSWORD_ROLE
        assert ledger_status(ledger)["database"] == redact(url) and PASSWORD not in json.dumps(ledger_status(ledger))


def test_no_password_anywhere_says_where_to_put_one(pg_server: PgServer, pg_url: str, monkeypatch) -> None:
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    with pytest.raises(LedgerError, match=r"no password supplied \(set LGP_MAILER_DB_PASSWORD, .*PGPASSWORD\)"):
        open_ledger(_url(pg_server, pg_url))


def test_the_password_command_of_the_toml_is_used(pg_server: PgServer, pg_url: str, tmp_path: Path) -> None:
    (tmp_path / "pw.py").write_text(f"print({PASSWORD!r})\n", encoding="utf-8")
    command = f'"{sys.executable}" "{tmp_path / "pw.py"}"'  # no shell: a program and its arguments
    with open_ledger(_url(pg_server, pg_url), password_command=command) as ledger:
        assert ledger.db.execute("SELECT current_user").fetchone()[0] == PASSWORD_ROLE


# -- ledger migrate ---------------------------------------------------------------------------------


def test_ledger_migrate_copies_every_row_and_verifies(tmp_path: Path, pg_url: str, pg_server: PgServer) -> None:
    source = tmp_path / "naplo.sqlite3"
    with open_ledger(source, clock=Clock()) as old:
        fill(old, tmp_path)
        before = old.rows()
        with old.transaction() as db:  # the lock's run crashed: its PID is gone (a live one refuses, below)
            db.execute("UPDATE run_locks SET pid = ?", (dead_pid(),))
    url = _url(pg_server, pg_url, PASSWORD)
    result = runner.invoke(app, ["ledger", "migrate", "--from", str(source), "--to", url], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert PASSWORD not in result.output
    assert lines[0] == f"Copied 22 rows from {source} to {redact(url)}:"
    assert [line.split(":")[0].strip() for line in lines[1:-1]] == [
        "attendance_imports",
        "campaign_calendars",
        "event_revisions",
        "event_snapshots",
        "messages",
        "relay_accounts",
        "run_locks",
        "suppressions",
        "attendance_sessions",
    ]
    assert lines[5].startswith("  messages: 6 rows, SHA-256 ")
    assert lines[-1] == "Verified: every table holds the same rows in both (counts and checksums)."
    with open_ledger(url) as new:
        after = new.rows()
        assert [(r.address, r.status, r.message_id, r.attempts, r.sent_at) for r in after] == [
            (r.address, r.status, r.message_id, r.attempts, r.sent_at) for r in before
        ]
        assert after == before
        # Ids go on after the copied ones.
        events.record_snapshot(new, C, K, SNAPSHOT, event_path="e.toml", sheet_path=None, sheet_rows=None)
        assert [r[0] for r in new.db.execute("SELECT id FROM event_snapshots ORDER BY id")] == [1, 2]
    again = runner.invoke(app, ["ledger", "migrate", "--from", str(source), "--to", url])
    assert again.exit_code == 2
    assert again.stderr.strip().splitlines() == [
        f"lgp-mailer: error: {redact(url)}: the target sent log is not empty: "
        "table attendance_imports has 1 row; nothing was copied"
    ]


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_ledger_migrate_is_refused_while_a_run_sends_from_the_sqlite_file(tmp_path: Path, pg_url: str) -> None:
    """Copied mid-send, the PostgreSQL sent log would miss what the run sends after
    the copy, and send those letters again."""
    source = tmp_path / "naplo.sqlite3"
    with open_ledger(source) as old:
        old.sync(
            C, K, [Entry(f"r{i}@falu.example", i, (f"Falu {i}",), "Baranya", f"<{i}@lgp.example>") for i in range(3)]
        )
        with RunLock(old, C, heartbeat_every=None) as live:  # this process: alive
            result = runner.invoke(app, ["ledger", "migrate", "--from", str(source), "--to", pg_url])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        f"lgp-mailer: error: {source}: campaign '{C}' is being sent from this sent log by {live.holder}"
        f" (host {live.hostname}, pid {live.pid}): migrate when that run has ended, or the letters it sends"
        " meanwhile would go again from PostgreSQL; nothing was copied"
    ]
    with open_ledger(pg_url) as new:
        assert new.rows() == []
    done = runner.invoke(app, ["ledger", "migrate", "--from", str(source), "--to", pg_url])  # the run has ended
    assert done.exit_code == 0, done.output
    with open_ledger(pg_url) as new:
        assert [r.status for r in new.rows()] == ["pending"] * 3


def test_verify_names_each_table_that_differs(tmp_path: Path, pg_url: str) -> None:
    with open_ledger(tmp_path / "naplo.sqlite3", clock=Clock()) as old, open_ledger(pg_url) as new:
        fill(old, tmp_path)
        transfer.copy_ledger(old, new)
        assert transfer.verify(old, new).ok
        new.db.execute("UPDATE messages SET status = 'sent' WHERE address_key = 'r2@falu.example'")
        new.db.execute("DELETE FROM suppressions")
        problems = transfer.verify(old, new).problems
    assert problems[0].startswith("messages: same number of rows (6) but different contents (SHA-256 ")
    assert problems[1:] == ["suppressions: 1 row in the SQLite sent log, 0 in PostgreSQL"]


def test_ledger_migrate_refuses_a_url_as_source_and_a_path_as_target(tmp_path: Path) -> None:
    result = runner.invoke(app, ["ledger", "migrate", "--to", str(tmp_path / "x.sqlite3")])
    assert result.exit_code == 2
    assert (
        result.stderr.strip() == f"lgp-mailer: error: --to must be a postgresql:// URL, not '{tmp_path / 'x.sqlite3'}'"
    )
    result = runner.invoke(
        app, ["ledger", "migrate", "--from", str(tmp_path / "nincs.sqlite3"), "--to", "postgresql://x@h/db"]
    )
    assert result.stderr.strip() == f"lgp-mailer: error: {tmp_path / 'nincs.sqlite3'}: no SQLite sent log here"


def test_claim_next_takes_due_rows_in_sheet_order(ledger_target: Path | str) -> None:
    with open_ledger(ledger_target) as ledger:
        ledger.sync(C, K, [Entry(f"r{i}@falu.example", i) for i in range(5)])
        ledger.suppress("r1@falu.example")
        first = ledger.claim_next(C, K, ["pending"], limit=2)
        assert [(r.address, r.status, r.attempts) for r in first] == [
            ("r0@falu.example", "sending", 1),
            ("r2@falu.example", "sending", 1),
        ]
        assert [r.address for r in ledger.claim_next(C, K, ["pending"], limit=5)] == [
            "r3@falu.example",
            "r4@falu.example",
        ]
        assert ledger.claim_next(C, K, ["pending"]) == []
        with pytest.raises(ValueError, match="excluding 'sending'"):
            ledger.claim_next(C, K, ["sending"])


def test_claim_next_passes_over_rows_another_sender_holds_on_postgresql(pg_url: str) -> None:
    with open_ledger(pg_url) as first, open_ledger(pg_url) as second:
        first.sync(C, K, [Entry(f"r{i}@falu.example", i) for i in range(3)])
        with first.transaction(exclusive=False) as db:  # a sender in the middle of claiming r0
            db.execute("SELECT id FROM messages WHERE seq = 0 FOR UPDATE")
            taken = second.claim_next(C, K, ["pending"])  # does not wait for the lock: skips the row
        assert [r.address for r in taken] == ["r1@falu.example"]
        assert [r.address for r in first.claim_next(C, K, ["pending"], limit=3)] == [
            "r0@falu.example",
            "r2@falu.example",
        ]


def documented_schema() -> dict[str, list[str]]:
    """The table list of migrations.py's docstring: ``* ``table``: col, col, ... .``"""
    import re

    text = " ".join((migrations.__doc__ or "").split())
    return {
        table: [c.strip() for c in columns.split(",")]
        for table, columns in re.findall(r"\* ``(\w+)``: ([\w, ]+)\.", text)
    }


def test_the_schema_is_documented_in_one_place_and_matches_both_backends(ledger_target: Path | str) -> None:
    with open_ledger(ledger_target) as ledger:
        if ledger.dialect == "sqlite":
            tables = [r[0] for r in ledger.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            actual = {t: [r[1] for r in ledger.db.execute(f'PRAGMA table_info("{t}")')] for t in tables}
        else:
            found = ledger.db.execute(
                "SELECT table_name, column_name FROM information_schema.columns"
                " WHERE table_schema = 'public' ORDER BY table_name, ordinal_position"
            ).fetchall()
            actual = {}
            for table, column in found:
                actual.setdefault(table, []).append(column)
    assert actual == documented_schema()


def test_config_shows_a_database_url_without_its_password(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LGP_MAILER_DB", "postgresql://lgp:titok@db.pelda.example/naplo")
    result = runner.invoke(app, ["config"])
    assert result.exit_code == 0, result.output
    (line,) = [line for line in result.stdout.splitlines() if line.startswith("sent log")]
    assert line.split() == ["sent", "log", "postgresql://lgp:***@db.pelda.example/naplo", "[env", "LGP_MAILER_DB]"]
    assert "titok" not in result.output


def test_the_toml_may_name_a_postgresql_database(tmp_path: Path, pg_url: str) -> None:
    from lgp_mailer.config import load_campaign

    toml = (Path(__file__).resolve().parent.parent / "lgp-mailer.toml").read_text(encoding="utf-8")
    (tmp_path / "lgp-mailer.toml").write_text(
        f'database = "{pg_url}"\ndatabase_password_command = "true"\n' + toml, encoding="utf-8"
    )
    campaign = load_campaign(tmp_path / "lgp-mailer.toml")
    assert (campaign.database, campaign.database_password_command) == (pg_url, "true")


# -- a whole send on PostgreSQL -----------------------------------------------------------------------


@pytest.mark.usefixtures("before_the_example_conference")
def test_send_in_batches_and_on_two_connections_with_a_postgresql_sent_log(
    smtp_server, pg_server: PgServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from test_send_cli import ADDRESSES, make_campaign, rcpts, send

    url = pg_server.create_ledger_database()
    monkeypatch.setenv("LGP_MAILER_DB", url)
    # No rows are held ahead on PostgreSQL (nor under a quota): each is claimed, with its quota count.
    monkeypatch.setattr(Ledger, "hold", lambda *args: pytest.fail("a row was held on PostgreSQL"))
    camp = make_campaign(tmp_path, smtp_server, daily_quota=6)
    first = send(camp, "--yes", "--batch", "2")
    assert first.exit_code == 0, first.output
    second = send(camp, "--yes", "--connections", "2")
    assert second.exit_code == 1, second.output  # the quota stops it
    assert second.stderr == "Stopped: the daily quota of 6 messages is used up; the next run goes on\n"
    assert sorted(rcpts(smtp_server)) == sorted(ADDRESSES[:6])
    with open_ledger(url) as ledger:
        rows = {r.address: r for r in ledger.rows(camp.campaign_id, "invitation")}
        assert ledger.counts(camp.campaign_id, "invitation")["sent"] == 6
        assert current_lock(ledger, camp.campaign_id) is None  # released
    sent = [r for r in rows.values() if r.status == "sent"]
    assert sorted(r.address for r in sent) == sorted(ADDRESSES[:6])
    assert {m.data.split(b"Message-ID: ")[1].split(b"\r\n")[0].decode() for m in smtp_server.received} == {
        r.message_id for r in sent
    }


def test_the_password_is_asked_for_at_a_terminal_once(pg_server: PgServer, pg_url: str, monkeypatch) -> None:
    from lgp_mailer.ledger import pgauth

    asked: list[str] = []
    monkeypatch.setattr("getpass.getpass", lambda prompt: asked.append(prompt) or PASSWORD)
    url = _url(pg_server, pg_url)
    db = pgauth.connect(url, None, interactive=True)
    try:
        assert db.execute("SELECT current_user").fetchone()[0] == PASSWORD_ROLE
    finally:
        db.close()
    assert asked == [f"Password of the sent log {url}: "]


def test_the_keyring_gives_the_password_for_user_at_host(pg_server: PgServer, pg_url: str, monkeypatch) -> None:
    from lgp_mailer.ledger import pgauth

    looked_up: list[tuple[str, str]] = []
    monkeypatch.setattr(pgauth, "from_keyring", lambda service, user: looked_up.append((service, user)) or PASSWORD)
    with open_ledger(_url(pg_server, pg_url)) as ledger:
        assert ledger.db.execute("SELECT current_user").fetchone()[0] == PASSWORD_ROLE
    assert looked_up == [("lgp-mailer-db", f"{PASSWORD_ROLE}@127.0.0.1")]


def test_an_empty_or_missing_password_file_is_one_line(tmp_path: Path) -> None:
    from lgp_mailer.errors import CredentialsError
    from lgp_mailer.ledger import pgauth

    with pytest.raises(CredentialsError, match="cannot read the database password file: No such file") as caught:
        pgauth.connect_password(
            "postgresql://lgp@db.example/naplo", {"LGP_MAILER_DB_PASSWORD_FILE": str(tmp_path / "nincs")}, None
        )
    assert caught.value.file == str(tmp_path / "nincs")
    (tmp_path / "ures").write_text("\n", encoding="utf-8")
    with pytest.raises(CredentialsError, match="the database password file is empty"):
        pgauth.connect_password(
            "postgresql://lgp@db.example/naplo", {"LGP_MAILER_DB_PASSWORD_FILE": str(tmp_path / "ures")}, None
        )


def test_without_psycopg_a_postgresql_sent_log_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if the [postgresql] extra were not installed
    with pytest.raises(LedgerError) as caught:
        open_ledger("postgresql://lgp@127.0.0.1:1/naplo")
    assert str(caught.value) == "a PostgreSQL sent log needs psycopg: pip install 'lgp-mailer[postgresql]'"


def test_a_read_only_postgresql_sent_log_is_a_storage_error(pg_server: PgServer) -> None:
    from lgp_mailer.storage import StorageError

    url = pg_server.create_ledger_database()
    with open_ledger(url) as ledger:
        ledger.sync(C, K, [Entry("a@falu.example", 0)])
        pg_server.execute(f"ALTER DATABASE {url.rsplit('/', 1)[1]} SET default_transaction_read_only = on")
        with open_ledger(url) as reader:  # a new session: read-only (a standby, or a locked-down database)
            assert reader.counts(C, K)["pending"] == 1
            with pytest.raises(StorageError) as caught:
                reader.claim(C, K, "a@falu.example", ["pending"])
    assert str(caught.value) == (
        f"{url}: the PostgreSQL sent log is read-only: cannot execute UPDATE in a read-only transaction"
    )
