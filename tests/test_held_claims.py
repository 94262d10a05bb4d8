"""Rows claimed ahead (``Ledger.hold``): one flush for many messages, and what a crash leaves.

A held row stays ``pending`` with the boot's mark until ``start`` makes it
``sending`` right before its DATA.  A crash in the same boot leaves held rows
``pending`` (the operating system kept every start); a restart of the machine
in between turns them ``unknown`` (a power cut may have lost a start).
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from lgp_mailer.campaign.run import HOLD_AHEAD, hold_ahead, run_parallel
from lgp_mailer.campaign.session import SendOptions, SendSession
from lgp_mailer.config import load_campaign
from lgp_mailer.errors import LedgerError
from lgp_mailer.event import load_event
from lgp_mailer.ledger import claims
from lgp_mailer.ledger.runlock import RunLock
from lgp_mailer.ledger.store import Entry, Ledger, open_ledger
from lgp_mailer.sheets.recipients import Recipient
from lgp_mailer.smtp.pacing import RetryPolicy
from lgp_mailer.smtp.settings import parse_rate
from lgp_mailer.smtp.transport import SmtpTransport

C, K = "2027-klima", "invitation"
REPO = Path(__file__).resolve().parents[1]
A, B, D, E = "a@x.example", "b@x.example", "d@x.example", "e@x.example"


def entries(*addresses: str) -> list[Entry]:
    return [Entry(a, seq, (f"Falu {seq}",), "Baranya", f"<{seq}@lgp.example>") for seq, a in enumerate(addresses, 1)]


def marks(ledger: Ledger) -> dict[str, str | None]:
    return {r["address"]: r["held"] for r in ledger.db.conn.execute("SELECT address, held FROM messages")}


def states(ledger: Ledger) -> dict[str, str]:
    return {r.address: r.status for r in ledger.rows(C, K)}


@pytest.fixture
def ledger(tmp_path: Path):
    with open_ledger(tmp_path / "sent-log.sqlite3") as db:
        db.sync(C, K, entries(A, B, D, E))
        yield db


def test_only_pending_unsuppressed_rows_are_held_and_start_claims_each_once(ledger):
    assert ledger.claim(C, K, D, ["pending"])
    ledger.record(C, K, D, "deferred", 451)
    ledger.suppress(E, "asked")
    assert ledger.hold(C, K, ["A@X.example", B, D, E]) == {A, B}
    assert states(ledger) == {A: "pending", B: "pending", D: "deferred", E: "suppressed"}
    assert ledger.start(C, K, A)
    assert not ledger.start(C, K, A)  # started once: 'sending' now
    assert not ledger.start(C, K, D)  # never held: it takes a claim of its own
    row = ledger.get(C, K, A)
    assert (row.status, row.attempts, marks(ledger)[A]) == ("sending", 1, None)
    assert ledger.release_held(C, K) == 1  # B, never started
    assert not ledger.start(C, K, B)  # released: nothing may go out on that hold
    assert states(ledger)[B] == "pending" and marks(ledger)[B] is None


def test_a_row_suppressed_or_taken_after_the_hold_is_not_started(ledger):
    assert ledger.hold(C, K, [A, B]) == {A, B}
    ledger.suppress(A, "asked")
    assert ledger.claim(C, K, B, ["pending"])  # another run's own claim
    assert not ledger.start(C, K, A)
    assert not ledger.start(C, K, B)


def test_a_crash_in_the_same_boot_leaves_held_rows_pending(ledger, tmp_path):
    assert ledger.hold(C, K, [A, B, D]) == {A, B, D}
    assert ledger.start(C, K, A)  # A's DATA went out, then the process was killed
    with open_ledger(tmp_path / "sent-log.sqlite3") as after, RunLock(after, C, heartbeat_every=None):
        assert after.recover_interrupted(C, K) == 1
        assert states(after) == {A: "unknown", B: "pending", D: "pending", E: "pending"}
        assert set(marks(after).values()) == {None}


def test_a_restart_of_the_machine_turns_held_rows_unknown(ledger, tmp_path, monkeypatch):
    assert ledger.hold(C, K, [A, B]) == {A, B}
    assert ledger.start(C, K, A)
    monkeypatch.setattr(claims, "boot_id", lambda: "linux:another-boot")
    with open_ledger(tmp_path / "sent-log.sqlite3") as after, RunLock(after, C, heartbeat_every=None):
        assert after.recover_interrupted(C, K) == 2
        assert states(after) == {A: "unknown", B: "unknown", D: "pending", E: "pending"}
        assert after.get(C, K, B).last_reply == "claimed before a restart of the machine; outcome unknown"
        assert set(marks(after).values()) == {None}


def test_hold_and_record_then_start_on_both_backends(ledger_target):
    """One statement holds a group (RETURNING the keys held); one commit records a message and
    starts the next held one.  A failed record starts nothing: the transaction is undone."""
    with open_ledger(ledger_target) as db:
        db.sync(C, K, entries(A, B, D, E))
        db.suppress(E, "asked")
        assert db.claim(C, K, D, ["pending"])  # another run's claim
        assert db.hold(C, K, [A, "B@X.example", B, D, E]) == {A, B}
        assert db.start(C, K, A, sender="tok-1")
        assert db.record_then_start(C, K, A, "sent", 250, "2.0.0", "250 2.0.0 OK", B, sender="tok-1", account="r:25")
        a, b = db.get(C, K, A), db.get(C, K, B)
        assert (a.status, a.last_code, a.last_enhanced, a.last_reply, a.sent_at is not None) == (
            "sent",
            250,
            "2.0.0",
            "250 2.0.0 OK",
            True,
        )
        assert (b.status, b.attempts) == ("sending", 1)
        assert db.db.execute("SELECT sender, account, held FROM messages WHERE address = ?", (B,)).fetchone()[:] == (
            "tok-1",
            "r:25",
            None,
        )
        # Not held (D is another run's): recorded all the same, nothing started.
        assert not db.record_then_start(C, K, B, "failed", 550, "5.1.1", "550 5.1.1 unknown", D)
        assert states(db) == {A: "sent", B: "failed", D: "sending", E: "suppressed"}
        # A message that was not being sent cannot be recorded, and then nothing is started.
        assert db.hold(C, K, [A, B]) == set()
        with pytest.raises(LedgerError, match="was not being sent"):
            db.record_then_start(C, K, A, "sent", 250, None, "250 OK", D)
        assert states(db) == {A: "sent", B: "failed", D: "sending", E: "suppressed"}


def test_without_a_boot_id_nothing_is_held(ledger, monkeypatch):
    monkeypatch.setattr(claims, "boot_id", lambda: None)
    assert ledger.hold(C, K, [A, B]) == set()
    assert set(marks(ledger).values()) == {None}


def test_hold_ahead_is_about_a_seconds_worth_at_a_slow_pace():
    assert hold_ahead(SendOptions()) == HOLD_AHEAD
    assert hold_ahead(SendOptions(rates=(parse_rate("2000/day"),))) == HOLD_AHEAD  # a quota is no pace
    assert hold_ahead(SendOptions(rates=(parse_rate("600/min"),))) == 10
    assert hold_ahead(SendOptions(rates=(parse_rate("30/min"),))) == 1  # one claim a message, as before


def counted_run(
    smtp_server,
    path: Path,
    monkeypatch,
    n: int,
    connections: int,
    options: SendOptions,
    counted: tuple[str, ...] = ("hold", "claim"),
):
    """Send the shipped campaign to ``n`` made-up offices, counting the ledger's ``counted`` calls.

    Returns (report, calls, rows after the run, the recipients)."""
    campaign = load_campaign(REPO / "lgp-mailer.toml")
    people = [
        Recipient(f"hivatal{i}@telepules{i}.example", (f"Település {i}",), "Tisztelt Polgármester Úr!", rows=(i + 2,))
        for i in range(n)
    ]
    calls: list[str] = []
    for name in counted:
        real = getattr(Ledger, name)
        monkeypatch.setattr(Ledger, name, lambda self, *a, _r=real, _n=name, **k: calls.append(_n) or _r(self, *a, **k))
    sheet = SimpleNamespace(recipients=people, rejected=[])
    with open_ledger(path) as ledger:
        session = SendSession(
            campaign, ledger, K, recipients=people, event=load_event(campaign.event_path), sheet=sheet
        )
        with session:
            transport = lambda: SmtpTransport(smtp_server.settings(), local_hostname="lgp-test.localhost")  # noqa: E731
            report = run_parallel(session, transport, connections, options)
        assert set(marks(ledger).values()) == {None}  # no row is left held
        return report, calls, ledger.rows(campaign.campaign_id, K), people


def test_a_run_holds_in_groups_and_leaves_no_marks(smtp_server, tmp_path, monkeypatch):
    options = SendOptions(batch=35, retry=RetryPolicy(attempts=1))
    report, calls, rows, people = counted_run(smtp_server, tmp_path / "log.sqlite3", monkeypatch, 40, 2, options)
    assert report.count("sent") == 35
    assert calls == ["hold", "hold"]  # 32 + 8 rows (the batch stops at 35): two flushes, no claim
    assert [r.status for r in rows].count("pending") == 5
    assert sorted(m.rcpt_tos[0] for m in smtp_server.received) == sorted(p.email for p in people[:35])


def test_one_commit_records_a_message_and_starts_the_next(smtp_server, tmp_path, monkeypatch):
    """One connection, messages rendered ahead: the first message is started on its own, each
    next one in the commit that records the one before (when the queue had it at hand)."""
    options = SendOptions(retry=RetryPolicy(attempts=1))
    counted = ("hold", "start", "record", "record_then_start")
    report, calls, rows, people = counted_run(
        smtp_server, tmp_path / "log.sqlite3", monkeypatch, 40, 1, options, counted
    )
    assert report.count("sent") == 40 and [r.status for r in rows] == ["sent"] * 40
    assert calls[:3] == ["hold", "start", "record_then_start"] and calls.count("hold") == 2
    assert calls.count("start") + calls.count("record_then_start") == 40  # each message started once
    assert calls.count("record") + calls.count("record_then_start") == 40  # and recorded once
    assert calls.count("record_then_start") >= 30  # mostly chained; a message not yet at hand is not waited for
    assert [m.rcpt_tos[0] for m in smtp_server.received] == [p.email for p in people]


def test_under_a_daily_quota_every_row_is_claimed_and_counted(smtp_server, tmp_path, monkeypatch):
    """The relay account's quota is counted at each claim, so a quota turns holding off."""
    options = SendOptions(daily_quota=4, account="relay:587:iroda", retry=RetryPolicy(attempts=1))
    report, calls, rows, _people = counted_run(smtp_server, tmp_path / "log.sqlite3", monkeypatch, 6, 1, options)
    assert report.count("sent") == 4
    assert calls == ["claim"] * 4  # no hold: each row claimed, and counted, on its own
    assert [r.status for r in rows].count("pending") == 2


def test_the_boot_is_told_by_the_boot_time_where_linux_has_no_boot_id(monkeypatch):
    import psutil

    class NoProc(type(Path())):  # type: ignore[misc]
        def read_text(self, *args: object, **kwargs: object) -> str:
            raise FileNotFoundError(str(self))

    monkeypatch.setattr(claims, "Path", NoProc)
    assert claims.boot_id.__wrapped__() == f"boot:{round(psutil.boot_time() / 10)}"
    monkeypatch.setattr(psutil, "boot_time", lambda: 1 / 0)
    assert claims.boot_id.__wrapped__() is None


def test_a_hold_finds_its_rows_by_address_not_by_walking_every_pending_row(ledger):
    """At the start of a national campaign every row is pending: a hold that searched the
    (campaign, kind, status) index walked all of them, once per group of 32 messages."""
    statements: list[str] = []
    ledger.db.conn.set_trace_callback(statements.append)
    try:
        assert ledger.hold(C, K, [A, B, D, E]) == {A, B, D, E}  # 3+ addresses: the plan that walked
    finally:
        ledger.db.conn.set_trace_callback(None)
    (update,) = [s for s in statements if s.lstrip().upper().startswith("UPDATE MESSAGES SET HELD")]
    plan = [row[3] for row in ledger.db.conn.execute("EXPLAIN QUERY PLAN " + update)]
    searches = [step for step in plan if " messages " in f" {step} "]
    assert searches == [
        "SEARCH messages USING INDEX sqlite_autoindex_messages_1 (campaign_id=? AND kind=? AND address_key=?)"
    ]
