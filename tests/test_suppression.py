"""The organisation-wide suppression list: ledger rules, file import, and the CLI."""

from __future__ import annotations

import json
import os
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from lgp_mailer.errors import ConfigError, RecipientsError
from lgp_mailer.ledger import migrations
from lgp_mailer.ledger import store as sentlog
from lgp_mailer.ledger.store import Entry, open_ledger
from lgp_mailer.ledger.suppression import add, import_file, remove

from sheets_factory import write_xlsx

A, B, K = "2027-klima", "2027-digitalis", "invitation"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2027, 2, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)  # every event later than the one before
        return self.now


@pytest.fixture
def ledger(ledger_target: Path | str):
    with open_ledger(ledger_target, clock=Clock()) as db:
        yield db


def entries(*addresses: str, invalid: tuple[str, ...] = ()) -> list[Entry]:
    return [
        Entry(
            a,
            seq,
            (f"Falu {seq}",),
            "Baranya",
            f"<{seq}.{a}@lgp.example>",
            "no @ in the cell" if a in invalid else None,
        )
        for seq, a in enumerate(addresses, 1)
    ]


def attempt(ledger, campaign: str, address: str, status: str) -> None:
    assert ledger.claim(campaign, K, address, ["pending", "deferred", "failed", "unknown"])
    ledger.record(campaign, K, address, status, code=550 if status == "failed" else None)


def statuses(ledger, campaign: str) -> dict[str, str]:
    return {r.address: r.status for r in ledger.rows(campaign, K)}


# -- the ledger ----------------------------------------------------------------


def test_suppress_list_and_unsuppress_are_keyed_case_insensitively(ledger):
    assert ledger.suppress("Jegyzo@Falu.example", "kérte", "manual") is True
    assert ledger.suppress("jegyzo@falu.example", "again", "bounce") is False  # first entry stays
    assert ledger.is_suppressed("JEGYZO@falu.example")
    [entry] = ledger.suppressions()
    assert (entry.address, entry.address_key, entry.reason, entry.source) == (
        "Jegyzo@Falu.example",
        "jegyzo@falu.example",
        "kérte",
        "manual",
    )
    assert entry.created_at.endswith("Z") and entry.created_at.startswith("2027-02-01T09:00:")
    assert ledger.suppressions("bounce") == []
    assert ledger.unsuppress("jegyzo@FALU.example") is True
    assert ledger.unsuppress("jegyzo@falu.example") is False
    assert not ledger.is_suppressed("jegyzo@falu.example")


def test_suppress_refuses_unknown_sources_and_blank_addresses(ledger):
    with pytest.raises(ValueError, match="source"):
        ledger.suppress("a@x.example", "", "whim")
    with pytest.raises(ValueError, match="address"):
        ledger.suppress("  ", "", "manual")
    with pytest.raises((sqlite3.IntegrityError, psycopg.IntegrityError)):  # the schema guards the sources too
        ledger.db.execute("INSERT INTO suppressions VALUES ('x@y', 'x@y', '', 'other', 'now')")


def test_sync_records_suppressed_addresses_and_due_never_returns_them_across_two_campaigns(ledger):
    ledger.suppress("leiratkozott@falu.example", "unsubscribed", "unsubscribe")
    for campaign in (A, B):
        result = ledger.sync(campaign, K, entries("elso@falu.example", "Leiratkozott@Falu.example"))
        assert (result.added, result.suppressed) == (1, 1)
        assert [r.address for r in ledger.due(campaign, K, retry_failed=True, resend_unknown=True)] == [
            "elso@falu.example"
        ]
        assert ledger.counts(campaign, K)["suppressed"] == 1
        assert statuses(ledger, campaign)["Leiratkozott@Falu.example"] == "suppressed"
        assert not ledger.claim(campaign, K, "leiratkozott@falu.example", ["pending", "suppressed"])
    # Syncing again changes nothing and counts nothing new.
    assert ledger.sync(A, K, entries("elso@falu.example", "leiratkozott@falu.example")).suppressed == 0


def test_sync_turns_every_unsent_row_of_a_suppressed_address_into_suppressed_but_never_a_sent_one(ledger):
    names = [
        "pending@x.example",
        "deferred@x.example",
        "failed@x.example",
        "unknown@x.example",
        "invalid@x.example",
        "sent@x.example",
    ]
    ledger.sync(A, K, entries(*names, invalid=("invalid@x.example",)))
    attempt(ledger, A, "deferred@x.example", "deferred")
    attempt(ledger, A, "failed@x.example", "failed")
    attempt(ledger, A, "unknown@x.example", "unknown")
    attempt(ledger, A, "sent@x.example", "sent")
    # Suppressed behind the ledger's back (as an older version or another
    # tool would): the next sync catches up.
    now = sentlog.utc_iso(datetime(2027, 2, 1, tzinfo=UTC))
    ledger.db.executemany("INSERT INTO suppressions VALUES (?, ?, 'test', 'manual', ?)", [(n, n, now) for n in names])
    result = ledger.sync(A, K, entries(*names, invalid=("invalid@x.example",)))
    assert result.suppressed == 5
    assert statuses(ledger, A) == {n: "sent" if n.startswith("sent") else "suppressed" for n in names}
    assert ledger.due(A, K, retry_failed=True, resend_unknown=True) == []
    failed = ledger.get(A, K, "failed@x.example")
    assert (failed.attempts, failed.last_code) == (1, 550)  # history stays


def test_suppress_takes_over_unsent_rows_at_once_and_unsuppress_gives_them_back(ledger):
    ledger.sync(A, K, entries("kovacs@falu.example", "other@falu.example"))
    ledger.sync(B, K, entries("kovacs@falu.example"))
    attempt(ledger, A, "kovacs@falu.example", "unknown")
    ledger.suppress("kovacs@falu.example", "", "manual")
    assert statuses(ledger, A)["kovacs@falu.example"] == "suppressed"
    assert statuses(ledger, B)["kovacs@falu.example"] == "suppressed"
    assert ledger.counts(B, K)["suppressed"] == 1 and ledger.due(B, K) == []
    assert ledger.unsuppress("kovacs@falu.example")
    assert statuses(ledger, A)["kovacs@falu.example"] == "unknown"
    assert statuses(ledger, B)["kovacs@falu.example"] == "pending"
    assert [r.address for r in ledger.due(B, K)] == ["kovacs@falu.example"]


def test_suppressing_while_a_run_has_read_its_due_rows_stops_the_claim(ledger):
    ledger.sync(A, K, entries("a@x.example", "b@x.example"))
    due = ledger.due(A, K)
    ledger.suppress("b@x.example", "telefonon kérte", "manual")
    claimed = [r.address for r in due if ledger.claim(A, K, r.address, ["pending"])]
    assert claimed == ["a@x.example"]


def test_mark_bounced_prefers_the_message_id_over_the_latest_row_of_the_address(ledger):
    ledger.sync(A, K, entries("kovacs@falu.example"))
    ledger.sync(B, K, entries("kovacs@falu.example"))
    attempt(ledger, A, "kovacs@falu.example", "sent")
    attempt(ledger, B, "kovacs@falu.example", "sent")  # B is the latest
    a_id = ledger.get(A, K, "kovacs@falu.example").message_id
    row = ledger.mark_bounced(
        message_id=a_id.strip("<>"),
        address="kovacs@falu.example",
        reason="550 5.1.1 User unknown",
        code=550,
        enhanced="5.1.1",
    )
    assert (row.campaign_id, row.status, row.last_reply, row.last_code, row.last_enhanced) == (
        A,
        "failed",
        "550 5.1.1 User unknown",
        550,
        "5.1.1",
    )
    assert row.sent_at is not None  # the server did take it
    assert ledger.get(B, K, "kovacs@falu.example").status == "sent"
    # Without a known Message-ID: the latest sent row of the address.
    row = ledger.mark_bounced(message_id="<nobody@else>", address="KOVACS@falu.example", reason="gone")
    assert (row.campaign_id, row.status) == (B, "failed")


def test_mark_bounced_leaves_unsent_rows_and_unknown_addresses_alone(ledger):
    ledger.sync(A, K, entries("pending@x.example"))
    assert ledger.mark_bounced(address="nobody@x.example", reason="x") is None
    assert ledger.mark_bounced(address="pending@x.example", reason="x") is None
    row = ledger.mark_bounced(message_id=ledger.get(A, K, "pending@x.example").message_id, reason="x")
    assert row.status == "pending"


def test_a_bounced_row_stays_failed_until_the_next_sync_makes_it_suppressed(ledger):
    ledger.sync(A, K, entries("kovacs@falu.example"))
    attempt(ledger, A, "kovacs@falu.example", "unknown")
    ledger.suppress("kovacs@falu.example", "550 5.1.1", "bounce")  # unknown → suppressed
    row = ledger.mark_bounced(address="kovacs@falu.example", reason="550 5.1.1 User unknown")
    assert row.status == "failed"
    ledger.sync(A, K, entries("kovacs@falu.example"))
    assert ledger.get(A, K, "kovacs@falu.example").status == "suppressed"
    assert ledger.due(A, K, retry_failed=True) == []
    assert ledger.unsuppress("kovacs@falu.example")
    assert ledger.get(A, K, "kovacs@falu.example").status == "failed"


def test_a_ledger_made_before_the_suppression_list_is_migrated_in_place(tmp_path):
    path = tmp_path / "old.sqlite3"
    old = sqlite3.connect(path)  # what a ledger of the previous version holds
    old.execute("CREATE TABLE migrations (number INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)")
    for number, name, statements in migrations.MIGRATIONS[:2]:
        for sql in statements:
            old.execute(sql)
        old.execute("INSERT INTO migrations VALUES (?, ?, '2026-01-01T00:00:00.000000Z')", (number, name))
    old.executemany(
        "INSERT INTO messages (campaign_id, kind, address, address_key, seq, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, 'x', 'x')",
        [(A, K, "a@x.example", "a@x.example", 1), (A, K, "b@x.example", "b@x.example", 2)],
    )
    old.commit()
    old.close()
    with open_ledger(path) as new:
        assert [n for n, _, _ in new.applied_migrations()] == [n for n, _, _ in migrations.MIGRATIONS]
        assert new.counts(A, K)["pending"] == 2
        new.suppress("b@x.example", "", "manual")
        assert [r.address for r in new.due(A, K)] == ["a@x.example"]
        assert new.unsuppress("b@x.example") and new.get(A, K, "b@x.example").status == "pending"


# -- the core: add, remove, import ---------------------------------------------


def test_add_validates_and_normalises_like_the_recipient_sheet(ledger):
    assert add(ledger, " mailto:Kovacs@Példa.example ", "kérte") == ("Kovacs@xn--plda-bpa.example", True)
    assert ledger.is_suppressed("kovacs@xn--plda-bpa.example")
    with pytest.raises(ConfigError, match="not an address"):
        add(ledger, "kovacs@")
    with pytest.raises(ConfigError, match="one address"):
        add(ledger, "a@x.example; b@x.example")
    assert remove(ledger, "KOVACS@példa.example") == ("KOVACS@xn--plda-bpa.example", True)


def test_import_xlsx_with_header_reason_column_formula_and_bad_cells(ledger, tmp_path):
    path = write_xlsx(
        tmp_path / "leiratkozottak.xlsx",
        {
            "Lista": [
                ["Leiratkozottak 2027"],
                ["Település", "E-mail cím", "Megjegyzés"],
                ["Alsófalu", "hivatal@alsofalu.example", "levélben kérte"],
                ["Felsőfalu", "Jegyző <jegyzo@felsofalu.example>; titkarsag@felsofalu.example", None],
                ["Középfalu", '=CONCAT("a","@b.example")', None],
                ["Kisfalu", "kovacs@", None],
                [None, None, None],
                ["Nagyfalu", "hivatal@alsofalu.example", None],
            ]
        },
    )
    ledger.sync(A, K, entries("jegyzo@felsofalu.example"))
    report = import_file(ledger, path, reason="import")
    assert report.added == ["hivatal@alsofalu.example", "jegyzo@felsofalu.example", "titkarsag@felsofalu.example"]
    assert report.already == ["hivatal@alsofalu.example"]
    assert [(r.row, r.why.split(":")[0]) for r in report.rejected] == [
        (5, "a formula, not an address"),
        (6, "not an address"),
    ]
    by_address = {e.address: e for e in ledger.suppressions()}
    assert by_address["hivatal@alsofalu.example"].reason == "levélben kérte"
    assert by_address["titkarsag@felsofalu.example"].reason == "import"
    assert {e.source for e in by_address.values()} == {"import"}
    assert ledger.get(A, K, "jegyzo@felsofalu.example").status == "suppressed"


def test_import_a_bare_list_of_addresses_and_a_named_column(ledger, tmp_path):
    bare = tmp_path / "lista.csv"
    bare.write_text("a@x.example\nB@X.example\n\nnot-an-address\n", encoding="utf-8")
    report = import_file(ledger, bare)
    assert report.added == ["a@x.example", "B@x.example"]
    assert [r.row for r in report.rejected] == [4]
    named = tmp_path / "named.csv"
    named.write_text("Kinek;Ki\nc@x.example;Kovács\n", encoding="utf-8")
    assert import_file(ledger, named, column="Kinek").added == ["c@x.example"]
    headed_wrong = tmp_path / "wrong.csv"
    headed_wrong.write_text("Kinek;Ki\nc@x.example;Kovács\n", encoding="utf-8")
    with pytest.raises(RecipientsError, match="no e-mail column"):
        import_file(ledger, headed_wrong)


# -- the CLI -------------------------------------------------------------------

runner = CliRunner()


def cli(*args: str):
    from lgp_mailer.cli import app

    return runner.invoke(app, list(args), catch_exceptions=False)


def test_cli_add_list_remove_import(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = cli("suppress", "add", "jegyzo@falu.example", "Polgarmester@Falu.example", "--reason", "telefonon kérte")
    assert result.exit_code == 0, result.output
    assert "jegyzo@falu.example: suppressed" in result.output
    assert "already on the list" in cli("suppress", "add", "JEGYZO@falu.example").output
    assert cli("suppress", "add", "kovacs@").exit_code == 2
    listed = json.loads(cli("suppress", "list", "--json").stdout)
    assert [(e["address"], e["source"], e["reason"]) for e in listed] == [
        ("jegyzo@falu.example", "manual", "telefonon kérte"),
        ("Polgarmester@falu.example", "manual", "telefonon kérte"),
    ]
    table = cli("suppress", "list").output
    assert "jegyzo@falu.example\tmanual\t" in table and "2 suppressed addresses." in table
    assert cli("suppress", "list", "--source", "nope").exit_code == 2
    result = cli("suppress", "remove", "jegyzo@falu.example", "nobody@falu.example")
    assert result.exit_code == 1 and "removed from the list" in result.output and "was not on the list" in result.output
    sheet = tmp_path / "lista.csv"
    sheet.write_text("E-mail\nuj@falu.example\nrossz@\n", encoding="utf-8")
    result = cli("suppress", "import", str(sheet))
    assert result.exit_code == 1
    assert "1 address suppressed, 0 already on the list, 1 cell not usable." in result.output
    assert "row 3" in result.output
    entry = json.loads(cli("suppress", "list", "--json", "--source", "import").stdout)[0]
    assert (entry["address"], entry["reason"]) == ("uj@falu.example", "import: lista.csv")


def test_every_suppress_and_bounces_command_has_help_text():
    for group in ("suppress", "bounces"):
        result = cli(group, "--help")
        assert result.exit_code == 0
        for command in {"suppress": ("add", "remove", "list", "import"), "bounces": ("import", "export")}[group]:
            text = cli(group, command, "--help").output
            assert "Usage:" in text and len(text.split("\n\n")[1].strip()) > 20, (group, command)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_pipe_or_a_device_is_refused_not_read_forever(tmp_path, monkeypatch):
    # A named pipe with no writer blocked 'suppress import' for ever; /dev/zero said "binary data"
    # only after reading it. Neither is a regular file: one line, exit 2, nothing opened.
    monkeypatch.chdir(tmp_path)
    pipe = tmp_path / "lista.csv"
    os.mkfifo(pipe)
    zero = tmp_path / "nulla.csv"
    zero.symlink_to("/dev/zero")
    for path in (pipe, zero):
        result = cli("suppress", "import", str(path))
        assert result.exit_code == 2
        assert result.stderr.strip() == f"lgp-mailer: error: {path}: not a regular file (a pipe, device or socket)"
