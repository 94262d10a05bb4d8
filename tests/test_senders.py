"""Several senders on one campaign (issue 22): leases, per-sender recovery,
the shared daily quota, ``--join`` and ``status``; on the ledger's interface.

The multi-process runs against the SMTP test server are in test_multi_sender.py.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from test_send_cli import make_campaign, one_error_line, send
from typer.testing import CliRunner

import lgp_mailer.cli.status  # noqa: F401  (registers 'status' on the app)
from lgp_mailer.cli import app
from lgp_mailer.errors import ExitCode, LedgerError, LockedError
from lgp_mailer.ledger.export import local_time
from lgp_mailer.ledger.runlock import RunLock, senders
from lgp_mailer.ledger.status import kind_status
from lgp_mailer.ledger.store import Entry, Ledger, QuotaUsedUp, open_ledger, utc_iso

C = "lgp-2027-03-11-proba"
K = "invitation"
ACCOUNT = "smtp.example.org:587:iroda@example.org"


class Clock:
    """The sent log's clock, starting now, when the test starts: a lease is also judged by its PID's
    start time (a reused PID started after it), and `status` by the real time since its heartbeat."""

    def __init__(self) -> None:
        self.start = self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def target(ledger_target: Path | str) -> Path | str:
    """The sent log on each backend (conftest's ``ledger_target``)."""
    return ledger_target


@pytest.fixture
def ledger(target: Path | str, clock: Clock) -> Iterator[Ledger]:
    with open_ledger(target, clock=clock) as db:
        db.sync(C, K, [Entry(f"p{i}@falu.example", i, (f"Falu {i}",), "Baranya", f"<{i}@lgp>") for i in range(8)])
        yield db


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def lease(ledger: Ledger, token: str, *, pid: int, hostname: str = socket.gethostname(), age: float = 0) -> None:
    """Another sender's lease, as its own process would have written it."""
    when = utc_iso(ledger.clock() - timedelta(seconds=age))
    with ledger.transaction() as db:
        db.execute(
            "INSERT INTO run_locks (campaign_id, holder, pid, hostname, token, acquired_at, heartbeat_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (C, f"kolléga@{hostname}", pid, hostname, token, when, when),
        )


def statuses(ledger: Ledger) -> dict[str, str]:
    return {r.address: r.status for r in ledger.rows(C, K)}


def test_a_plain_second_sender_is_refused_and_a_joining_one_takes_a_lease_beside(ledger: Ledger, clock: Clock) -> None:
    first = RunLock(ledger, C, heartbeat_every=None).acquire()
    with pytest.raises(LockedError) as caught:
        RunLock(ledger, C, heartbeat_every=None).acquire()
    assert str(caught.value) == (
        f"{ledger.path}: campaign {C!r} is being sent by {first.holder} (pid {first.pid}) since"
        f" {utc_iso(clock.start)}, last heartbeat {utc_iso(clock.start)}; to send alongside it from a PostgreSQL sent log, use --join"
    )
    host, pid, random_part = first.token.split(":")
    assert (host, pid, len(random_part)) == (socket.gethostname(), str(os.getpid()), 32)  # who, and which run
    second = RunLock(ledger, C, heartbeat_every=None, join=True).acquire()
    assert [lock["token"] for lock in second.joined] == [first.token]
    assert [s["token"] for s in senders(ledger, C)] == sorted([first.token, second.token])  # same acquired_at
    first.release()
    assert [s["token"] for s in senders(ledger, C)] == [second.token]
    with pytest.raises(LockedError):  # a plain run still waits for the joined one
        RunLock(ledger, C, heartbeat_every=None).acquire()
    second.heartbeat()
    second.release()
    assert senders(ledger, C) == []


def test_a_joining_sender_clears_dead_leases_and_recovers_only_their_rows(ledger: Ledger) -> None:
    live, dead, far = "live-token", "dead-token", "far-token"
    lease(ledger, live, pid=os.getppid())  # alive, and started before its lease
    lease(ledger, dead, pid=dead_pid())
    lease(ledger, far, pid=1, hostname="masik-gep", age=11 * 60)  # no heartbeat for 11 minutes
    for i, token in enumerate([live, live, dead, far]):
        assert ledger.claim(C, K, f"p{i}@falu.example", ["pending"], sender=token)
    assert ledger.claim(C, K, "p4@falu.example", ["pending"])  # claimed before senders were recorded
    with RunLock(ledger, C, heartbeat_every=None, join=True) as mine:
        assert sorted(s["token"] for s in senders(ledger, C)) == sorted([live, mine.token])
        assert ledger.recover_interrupted(C, K, mine.token) == 3
        assert statuses(ledger) == {
            "p0@falu.example": "sending",
            "p1@falu.example": "sending",
            "p2@falu.example": "unknown",
            "p3@falu.example": "unknown",
            "p4@falu.example": "unknown",
            **{f"p{i}@falu.example": "pending" for i in range(5, 8)},
        }
        # Only a lease holder may recover, and the live sender's rows are still its own to record.
        with pytest.raises(LedgerError, match="needs the run lock"):
            ledger.recover_interrupted(C, K, "nobody")
        ledger.record(C, K, "p0@falu.example", "sent", 250, "2.0.0", "250 ok")


def test_the_daily_quota_is_the_relay_accounts_whoever_sends(ledger: Ledger, clock: Clock) -> None:
    """Two senders, two campaigns' worth of claims, one account: 3 a day in all."""
    other = "smtp.example.org:587:masik@example.org"
    assert ledger.claim(C, K, "p0@falu.example", ["pending"], sender="a", account=ACCOUNT, daily_quota=3)
    ledger.record(C, K, "p0@falu.example", "sent", 250, None, "ok")
    clock.now += timedelta(hours=1)
    assert ledger.claim(C, K, "p1@falu.example", ["pending"], sender="b", account=ACCOUNT, daily_quota=3)
    assert ledger.claim(C, K, "p2@falu.example", ["pending"], sender="a", account=ACCOUNT, daily_quota=3)
    ledger.record(C, K, "p2@falu.example", "deferred", 451, None, "later")  # not handed over: frees its slot
    assert ledger.claim(C, K, "p3@falu.example", ["pending"], sender="b", account=ACCOUNT, daily_quota=3)
    # p0 sent, p1 in flight, p3 in flight: full for both senders, and the row stays as it was.
    with pytest.raises(QuotaUsedUp, match=f"the daily quota of 3 messages of {ACCOUNT} is used up"):
        ledger.claim(C, K, "p4@falu.example", ["pending"], sender="a", account=ACCOUNT, daily_quota=3)
    assert ledger.get(C, K, "p4@falu.example").status == "pending"
    assert ledger.sent_since(clock.now - timedelta(days=1), ACCOUNT) == 3
    # Another account of the same relay has its own quota.
    assert ledger.claim(C, K, "p4@falu.example", ["pending"], sender="a", account=other, daily_quota=1)
    assert ledger.sent_since(clock.now - timedelta(days=1), other) == 1
    # 24 hours after p0 was sent, its slot is free again.
    clock.now = clock.start + timedelta(days=1, seconds=1)
    assert ledger.first_sent_since(clock.now - timedelta(days=1), ACCOUNT) == clock.start + timedelta(hours=1)
    assert ledger.claim(C, K, "p5@falu.example", ["pending"], sender="a", account=ACCOUNT, daily_quota=3)


def test_status_names_every_sender_and_its_rows_in_flight(
    ledger: Ledger, clock: Clock, target: Path | str, monkeypatch, tmp_path: Path
) -> None:
    lease(ledger, "their-token", pid=os.getppid(), hostname="iroda-pc2", age=60)
    assert ledger.claim(C, K, "p0@falu.example", ["pending"], sender="their-token")
    with RunLock(ledger, C, heartbeat_every=None, join=True) as mine:
        for i in (1, 2):
            assert ledger.claim(C, K, f"p{i}@falu.example", ["pending"], sender=mine.token)
        figures = kind_status(ledger, C, K)
        assert figures["in_flight"] == 3 and [b["status"] for b in figures["blocked"]] == []
        assert [(s["hostname"], s["in_flight"]) for s in figures["senders"]] == [
            ("iroda-pc2", 1),
            (socket.gethostname(), 2),
        ]
        assert "token" not in figures["senders"][0]
        monkeypatch.setenv("LGP_MAILER_DB", str(target))
        monkeypatch.chdir(tmp_path)
        result = CliRunner().invoke(app, ["status", "--campaign-id", C])
        assert result.exit_code == 0, result.output
        here = socket.gethostname()
        then = local_time(utc_iso(clock.start - timedelta(seconds=60)))[:16]  # Europe/Budapest, to the minute
        assert (
            f"  being sent now by kolléga@iroda-pc2 (host iroda-pc2, pid {os.getppid()}) since {then},"
            f" 1 message in flight, last heartbeat {then}"
        ) in result.stdout.splitlines()
        assert any(
            line.startswith(f"  being sent now by {mine.holder} (host {here}, pid {os.getpid()}) since ")
            and ", 2 messages in flight, last heartbeat " in line
            for line in result.stdout.splitlines()
        ), result.stdout
        printed = json.loads(CliRunner().invoke(app, ["status", "--json", "--campaign-id", C]).stdout)
        assert [s["in_flight"] for s in printed["campaigns"][0]["senders"]] == [1, 2]


def test_join_is_refused_on_a_sqlite_sent_log_in_one_line(tmp_path: Path, before_the_example_conference) -> None:
    camp = make_campaign(tmp_path, None)
    result = send(camp, "--join", "--yes")
    assert result.exit_code == ExitCode.USAGE
    assert one_error_line(result) == (
        f"lgp-mailer: error: {camp.db}: --join needs a sent log that several senders can share:"
        " a PostgreSQL server (LGP_MAILER_DB=postgresql://…); this one is a SQLite file"
    )


def test_a_joining_sender_starts_at_a_random_row_wraps_round_and_passes_over_rows_taken_since(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """So that senders mostly work on different rows, and build no letter another has claimed."""
    from types import SimpleNamespace

    from test_parallel import REPO
    from test_parallel import people as recipients

    from lgp_mailer.campaign import session as session_module
    from lgp_mailer.campaign.session import SendOptions, SendSession
    from lgp_mailer.config import load_campaign
    from lgp_mailer.event import load_event

    campaign = load_campaign(REPO / "lgp-mailer.toml")
    people = recipients(8)
    sheet = SimpleNamespace(recipients=people, rejected=[])
    monkeypatch.setattr(session_module.random, "randrange", lambda n: 4 if n == 8 else pytest.fail(f"randrange({n})"))
    with SendSession(
        campaign, ledger, K, recipients=people, event=load_event(campaign.event_path), sheet=sheet, join=True
    ) as joined:
        campaign_id = campaign.campaign_id
        assert ledger.claim(campaign_id, K, people[6].email, ["pending"], sender="someone-else")
        rows = joined.due_rows(SendOptions(), page=2)
        assert next(rows).seq == 5  # after the pivot
        assert ledger.claim(campaign_id, K, people[1].email, ["pending"], sender="someone-else")  # taken meanwhile
        assert [r.seq for r in rows] == [7, 0, 2, 3, 4]
    with SendSession(
        campaign, ledger, K, recipients=people, event=load_event(campaign.event_path), sheet=sheet
    ) as plain:
        assert [r.seq for r in plain.due_rows(SendOptions(), page=2)] == [0, 2, 3, 4, 5, 7]


def test_a_sender_joining_a_synced_campaign_sends_what_it_synced_and_does_not_sync_again(ledger: Ledger) -> None:
    from types import SimpleNamespace

    from test_parallel import REPO
    from test_parallel import people as recipients

    from lgp_mailer.campaign.session import SendOptions, SendSession
    from lgp_mailer.config import load_campaign
    from lgp_mailer.event import load_event

    campaign = load_campaign(REPO / "lgp-mailer.toml")
    event = load_event(campaign.event_path)

    def session(people, join: bool) -> SendSession:
        sheet = SimpleNamespace(recipients=people, rejected=[])
        return SendSession(campaign, ledger, K, recipients=people, event=event, sheet=sheet, join=join)

    first = session(recipients(4), join=True).__enter__()  # the first sender: nobody to join, so it syncs
    try:
        assert first.counts()["pending"] == 4
        longer = recipients(6)  # a joiner's sheet with two more rows: not the campaign's
        with session(longer, join=True) as joiner:
            assert joiner.counts()["pending"] == 4
            assert sorted(r.seq for r in joiner.due_rows(SendOptions())) == [0, 1, 2, 3]
    finally:
        first.__exit__(None, None, None)
    with session(recipients(6), join=True) as alone:  # joins nobody: syncs its sheet
        assert alone.counts()["pending"] == 6


# A killed sender's lease stays in the sent log until the next sender removes it:
# it is not "being sent now", and its 'sending' row is a crash's leftover, not in flight.
def test_status_tells_a_dead_senders_lease_from_a_live_one(
    ledger: Ledger, clock: Clock, target: Path | str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    gone = dead_pid()
    with RunLock(ledger, C, heartbeat_every=None, join=True) as mine:
        # killed since this sender started (the next one to start removes them)
        lease(ledger, "dead-token", pid=gone, age=30)  # this host, its process gone
        lease(ledger, "silent-token", pid=os.getppid(), hostname="iroda-pc2", age=11 * 60)  # no heartbeat for 11 min
        assert ledger.claim(C, K, "p0@falu.example", ["pending"], sender="dead-token")
        assert ledger.claim(C, K, "p1@falu.example", ["pending"], sender=mine.token)
        figures = kind_status(ledger, C, K)
        assert [s["pid"] for s in figures["senders"]] == [os.getpid()]
        assert [(s["hostname"], s["pid"], s["in_flight"]) for s in figures["stopped"]] == [
            ("iroda-pc2", os.getppid(), 0),
            (socket.gethostname(), gone, 1),
        ]
        assert figures["in_flight"] == 1  # only the live sender's row
        assert [(b["status"], b["count"]) for b in figures["blocked"]] == [("sending", 1)]
        monkeypatch.setenv("LGP_MAILER_DB", str(target))
        monkeypatch.setenv("COLUMNS", "300")
        monkeypatch.chdir(tmp_path)
        result = CliRunner().invoke(app, ["status", "--campaign-id", C])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    then = local_time(utc_iso(clock.start - timedelta(seconds=30)))[:16]
    assert (
        f"  stopped without finishing: the run of kolléga@{socket.gethostname()} (host {socket.gethostname()},"
        f" pid {gone}) since {then}, last heartbeat {then}; the next send takes over its lock"
    ) in lines
    assert not any(line.startswith("  being sent now by kolléga@") for line in lines), result.stdout
    assert sum(line.startswith(f"  being sent now by {mine.holder} ") for line in lines) == 1, result.stdout
