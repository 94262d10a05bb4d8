"""The sent log: migrations, the sync/claim/record protocol, quotas."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lgp_mailer.errors import LedgerError
from lgp_mailer.ledger.migrations import MIGRATIONS
from lgp_mailer.ledger.runlock import RunLock
from lgp_mailer.ledger.store import Entry, default_ledger_path, open_ledger

C, K = "2027-klima", "invitation"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2027, 2, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def ledger(ledger_target: Path | str, clock: Clock):
    with open_ledger(ledger_target, clock=clock) as db:
        yield db


def entries(*addresses: str) -> list[Entry]:
    return [Entry(a, seq, (f"Falu {seq}",), "Baranya", f"<{seq}@lgp.example>") for seq, a in enumerate(addresses, 1)]


def send(ledger, address: str, status: str = "sent", **reply: object) -> None:
    assert ledger.claim(C, K, address, ["pending", "deferred", "failed", "unknown"])
    ledger.record(C, K, address, status, **reply)


# -- opening and migrating -----------------------------------------------------


def test_migrations_are_recorded_and_applying_twice_is_a_no_op(tmp_path):
    path = tmp_path / "sub" / "log.sqlite3"
    with open_ledger(path) as first:
        applied = first.applied_migrations()
        first.sync(C, K, entries("a@x.example"))
    assert [(n, name) for n, name, _ in applied] == [(n, name) for n, name, _ in MIGRATIONS]
    with open_ledger(path) as again:
        assert again.applied_migrations() == applied
        assert again.counts(C, K)["pending"] == 1


def test_durability_pragmas(tmp_path: Path):  # SQLite's own; PostgreSQL's are the server's
    ledger = open_ledger(tmp_path / "log.sqlite3")
    assert ledger.db.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert ledger.db.conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert ledger.db.conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000
    ledger.close()


def test_unusable_file_is_a_ledger_error(tmp_path):
    path = tmp_path / "not-a-db.sqlite3"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(LedgerError, match=r"not-a-db\.sqlite3"):
        open_ledger(path)


def test_default_path(tmp_path):
    assert default_ledger_path({"LGP_MAILER_DB": str(tmp_path / "x.db")}) == tmp_path / "x.db"
    assert default_ledger_path({"LGP_MAILER_DB": str(tmp_path / "x.db")}, tmp_path / "y.db") == tmp_path / "x.db"
    assert default_ledger_path({}, tmp_path / "y.db") == tmp_path / "y.db"
    default = default_ledger_path({})
    assert default.name == "sent-log.sqlite3" and "lgp-mailer" in str(default)


# -- sync ------------------------------------------------------------------


def test_sync_adds_pending_and_keeps_invalid_rows(ledger):
    result = ledger.sync(
        C,
        K,
        [
            *entries("Kovacs@Falu.example", "b@x.example"),
            Entry("kovacs@", 3, ("Hibás",), invalid_reason="'kovacs@' is not an address"),
            Entry("", 4, invalid_reason="no address"),
        ],
    )
    assert (result.added, result.invalid) == (2, 2)
    rows = {r.address: r for r in ledger.rows(C, K)}
    assert rows["kovacs@"].status == "invalid" and "not an address" in rows["kovacs@"].last_reply
    assert rows[""].status == "invalid"
    assert rows["Kovacs@Falu.example"].municipalities == ("Falu 1",)
    assert ledger.counts(C, K) == {
        "pending": 2,
        "sending": 0,
        "sent": 0,
        "deferred": 0,
        "failed": 0,
        "unknown": 0,
        "invalid": 2,
        "suppressed": 0,
    }


def test_addresses_are_keyed_case_insensitively(ledger):
    ledger.sync(C, K, entries("Kovacs@Falu.example"))
    send(ledger, "kovacs@falu.example")
    ledger.sync(C, K, entries("KOVACS@FALU.EXAMPLE"))
    assert [r.status for r in ledger.rows(C, K)] == ["sent"]
    assert ledger.due(C, K) == []


def test_resorting_or_editing_the_sheet_never_causes_a_resend(ledger):
    ledger.sync(C, K, entries("a@x.example", "b@x.example", "c@x.example"))
    send(ledger, "b@x.example")
    # the sheet is re-sorted and a row inserted at the top
    ledger.sync(C, K, entries("new@x.example", "c@x.example", "b@x.example", "a@x.example"))
    assert [r.address for r in ledger.due(C, K)] == ["new@x.example", "c@x.example", "a@x.example"]
    assert ledger.get(C, K, "b@x.example").status == "sent"
    assert ledger.get(C, K, "b@x.example").message_id == "<2@lgp.example>"  # kept from the first sync


def test_sync_refreshes_only_rows_not_yet_attempted(ledger):
    ledger.sync(C, K, entries("a@x.example", "b@x.example"))
    send(ledger, "b@x.example", "failed", code=550)
    changed = [Entry("a@x.example", 1, ("Új falu",), "Tolna"), Entry("b@x.example", 2, ("Új falu",), "Tolna")]
    assert ledger.sync(C, K, changed).refreshed == 1
    assert ledger.get(C, K, "a@x.example").municipalities == ("Új falu",)
    assert ledger.get(C, K, "b@x.example").municipalities == ("Falu 2",)


def test_rows_that_left_the_sheet_are_no_longer_due(ledger):
    ledger.sync(C, K, entries("a@x.example", "b@x.example"))
    assert ledger.sync(C, K, entries("a@x.example")).absent == 1
    assert [r.address for r in ledger.due(C, K)] == ["a@x.example"]
    assert ledger.get(C, K, "b@x.example").status == "pending"  # history kept


def test_campaigns_and_kinds_are_separate(ledger):
    ledger.sync(C, K, entries("a@x.example"))
    ledger.sync(C, "reminder", entries("a@x.example"))
    ledger.sync("2028-other", K, entries("a@x.example"))
    send(ledger, "a@x.example")
    assert ledger.counts(C, "reminder")["pending"] == 1
    assert len(ledger.rows()) == 3 and len(ledger.rows(C)) == 2 and len(ledger.rows(kind=K)) == 2
    assert sorted(ledger.campaign_kinds()) == sorted([(C, K), (C, "reminder"), ("2028-other", K)])


# -- the claim/record protocol -----------------------------------------------------


def test_claim_is_atomic_and_counts_attempts(ledger, clock):
    ledger.sync(C, K, entries("a@x.example"))
    assert ledger.claim(C, K, "A@x.example", ["pending"])
    assert not ledger.claim(C, K, "a@x.example", ["pending"])
    row = ledger.get(C, K, "a@x.example")
    assert (row.status, row.attempts, row.first_attempt_at) == ("sending", 1, "2027-02-01T09:00:00.000000Z")
    clock.now += timedelta(minutes=5)
    ledger.record(C, K, "a@x.example", "deferred", 451, "4.3.0", "4.3.0 try\nlater")
    assert ledger.claim(C, K, "a@x.example", ["deferred"])
    ledger.record(C, K, "a@x.example", "sent", 250, "2.0.0", "ok")
    row = ledger.get(C, K, "a@x.example")
    assert (row.status, row.attempts, row.last_code, row.sent_at) == ("sent", 2, 250, "2027-02-01T09:05:00.000000Z")
    assert row.first_attempt_at == "2027-02-01T09:00:00.000000Z"


def test_record_needs_a_claimed_row(ledger):
    ledger.sync(C, K, entries("a@x.example"))
    with pytest.raises(LedgerError, match="was not being sent"):
        ledger.record(C, K, "a@x.example", "sent", 250)
    with pytest.raises(ValueError):
        ledger.record(C, K, "a@x.example", "invalid")


def test_reply_is_stored_as_one_line(ledger):
    ledger.sync(C, K, entries("a@x.example"))
    send(ledger, "a@x.example", "failed", code=550, enhanced="5.1.1", reply="5.1.1 user\n  unknown")
    assert ledger.get(C, K, "a@x.example").last_reply == "5.1.1 user unknown"


def test_two_connections_claim_each_row_exactly_once(ledger_target):
    path = ledger_target
    with open_ledger(path) as setup:
        setup.sync(C, K, entries(*(f"r{i}@x.example" for i in range(40))))
    wins: list[str] = []
    lock = threading.Lock()

    def run() -> None:
        with open_ledger(path) as db:
            for row in db.due(C, K):
                if db.claim(C, K, row.address, ["pending"]):
                    with lock:
                        wins.append(row.address)
                    db.record(C, K, row.address, "sent", 250)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(wins) == sorted(f"r{i}@x.example" for i in range(40))
    with open_ledger(path) as db:
        assert db.counts(C, K)["sent"] == 40


def test_recover_interrupted_needs_the_lock_and_marks_unknown(ledger):
    ledger.sync(C, K, entries("a@x.example", "b@x.example"))
    assert ledger.claim(C, K, "a@x.example", ["pending"])  # then the process "crashed"
    with pytest.raises(LedgerError, match="needs the run lock"):
        ledger.recover_interrupted(C, K)
    with RunLock(ledger, C, heartbeat_every=None):
        assert ledger.recover_interrupted(C, K) == 1
    row = ledger.get(C, K, "a@x.example")
    assert row.status == "unknown" and "outcome unknown" in row.last_reply
    assert [r.address for r in ledger.due(C, K)] == ["b@x.example"]
    assert [r.address for r in ledger.due(C, K, resend_unknown=True)] == ["a@x.example", "b@x.example"]
    assert ledger.due(C, K, resend_unknown=True)[0].message_id == "<1@lgp.example>"  # same Message-ID


def test_due_order_and_flags(ledger):
    ledger.sync(C, K, entries("a@x.example", "b@x.example", "c@x.example", "d@x.example"))
    send(ledger, "a@x.example", "failed", code=550)
    send(ledger, "b@x.example", "deferred", code=451)
    send(ledger, "c@x.example", "sent")
    assert [r.address for r in ledger.due(C, K)] == ["b@x.example", "d@x.example"]
    assert [r.address for r in ledger.due(C, K, retry_failed=True)] == ["a@x.example", "b@x.example", "d@x.example"]
    assert [r.address for r in ledger.due(C, K, retry_failed=True, limit=1)] == ["a@x.example"]


def test_sent_since_counts_all_campaigns_from_timestamps(ledger, clock):
    ledger.sync(C, K, entries("a@x.example", "b@x.example", "c@x.example"))
    ledger.sync("other", K, entries("z@x.example"))
    send(ledger, "a@x.example")
    clock.now += timedelta(hours=20)
    send(ledger, "b@x.example")
    send(ledger, "c@x.example", "unknown")
    assert ledger.claim("other", K, "z@x.example", ["pending"])
    ledger.record("other", K, "z@x.example", "sent")
    day_ago = clock.now - timedelta(hours=24)
    assert ledger.sent_since(day_ago) == 4
    assert ledger.sent_since(clock.now - timedelta(hours=1)) == 3
    with pytest.raises(ValueError):
        ledger.sent_since(datetime(2027, 1, 1))  # naive: refuse to guess the zone


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.sampled_from(["a@x.example", "A@X.example", "b@x.example", "B@x.EXAMPLE", "c@x.example"]),
        min_size=1,
        max_size=8,
    )
)
def test_any_sheet_yields_one_row_per_address(tmp_path_factory, addresses):
    with open_ledger(tmp_path_factory.mktemp("h") / "log.sqlite3") as db:
        db.sync(C, K, [Entry(a, i) for i, a in enumerate(addresses)])
        db.sync(C, K, [Entry(a, i) for i, a in enumerate(reversed(addresses))])
        assert len(db.rows(C, K)) == len({a.lower() for a in addresses})


def test_migration_failure_rolls_back_with_its_record(tmp_path, monkeypatch):
    import lgp_mailer.ledger.migrations as sentlog

    broken = [*MIGRATIONS, (99, "broken", ("CREATE TABLE extra (x)", "THIS IS NOT SQL"))]
    monkeypatch.setattr(sentlog, "MIGRATIONS", broken)
    with pytest.raises(LedgerError):
        open_ledger(tmp_path / "log.sqlite3")
    conn = sqlite3.connect(tmp_path / "log.sqlite3")
    assert [r[0] for r in conn.execute("SELECT number FROM migrations")] == [n for n, _, _ in MIGRATIONS]
    assert not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'extra'").fetchone()
    conn.close()
