"""Several ``lgp-mailer send --join`` processes drain one campaign from one
PostgreSQL sent log (issue 22), against the SMTP test server:

* every recipient is delivered exactly once, whichever sender took it;
* a daily quota is the relay account's: all senders together send exactly it;
* SIGKILL random senders at random moments, then a plain final run: nothing is
  lost, and a recipient can only have had two copies if its row is ``unknown``.

The senders are real subprocesses on the real clock (``test_send_crash``'s harness).
"""

from __future__ import annotations

import asyncio
import random
import sys
import threading
import time
from collections import Counter

import pytest
from test_send_cli import people, rcpts
from test_send_crash import Run, make_campaign, wait_until

from lgp_mailer.ledger.store import Ledger, open_ledger

from smtp_server import ScriptedHandler, SmtpTestServer

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL to a child is POSIX-only"),
]
KIND = "invitation"


class StartingGate(ScriptedHandler):
    """Every RCPT waits until ``opened``: each sender then has one row claimed
    and in flight, so the senders are known to overlap however slowly they start."""

    def __init__(self) -> None:
        super().__init__()
        self.opened = threading.Event()
        self.data_delay = 0.0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        while not self.opened.is_set():
            await asyncio.sleep(0.005)
        return await super().handle_RCPT(server, session, envelope, address, rcpt_options)

    async def handle_DATA(self, server, session, envelope):
        if self.data_delay:
            await asyncio.sleep(self.data_delay)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def server(smtp_server_factory) -> SmtpTestServer:
    return smtp_server_factory(handler=StartingGate())


@pytest.fixture
def shared(pg_server, monkeypatch: pytest.MonkeyPatch) -> str:
    """One PostgreSQL sent log for every sender (the subprocesses inherit LGP_MAILER_DB)."""
    url = str(pg_server.create_ledger_database())
    monkeypatch.setenv("LGP_MAILER_DB", url)
    return url


def ledger_of(url: str) -> Ledger:
    return open_ledger(url)


def sending(url: str) -> int:
    with ledger_of(url) as ledger:
        return sum(1 for row in ledger.rows(kind=KIND) if row.status == "sending")


def statuses(url: str) -> dict[str, str]:
    with ledger_of(url) as ledger:
        return {row.address: row.status for row in ledger.rows(kind=KIND)}


def senders_of_sent_rows(url: str) -> int:
    with ledger_of(url) as ledger, ledger.read() as db:
        return int(db.execute("SELECT count(DISTINCT sender) FROM messages WHERE status = 'sent'").fetchone()[0])


def start_together(camp, server: SmtpTestServer, url: str, n: int, *args: str) -> list[Run]:
    """``n`` joining senders, released once each has a message in flight."""
    runs = [Run(camp, "--join", *args) for _ in range(n)]
    wait_until(lambda: sending(url) == n or any(r.proc.poll() is not None for r in runs), f"{n} senders in flight")
    server.handler.opened.set()
    return runs


# Each subprocess costs seconds to start on a loaded machine: two senders here, four
# with the quota below (whose check includes exactly once), three in the SIGKILL test.
@pytest.mark.parametrize("n", [2])
def test_senders_deliver_every_recipient_exactly_once(server, shared, tmp_path, n):
    server.handler.data_delay = 0.01
    camp = make_campaign(tmp_path, server, rows=people(24))
    runs = start_together(camp, server, shared, n)
    for r in runs:
        assert r.finish() == 0, r.stdout + r.stderr
        assert "Traceback" not in r.stderr
    assert Counter(rcpts(server)) == Counter(camp.addresses)  # each exactly once
    assert statuses(shared) == dict.fromkeys(camp.addresses, "sent")
    assert senders_of_sent_rows(shared) == n  # every sender sent some: they did overlap


@pytest.mark.parametrize("n", [4])
def test_the_relay_accounts_daily_quota_holds_for_all_senders_together(server, shared, tmp_path, n):
    server.handler.data_delay = 0.005
    camp = make_campaign(tmp_path, server, rows=people(24), daily_quota=13)
    runs = start_together(camp, server, shared, n)
    for r in runs:
        code = r.finish()
        assert code in (0, 1), r.stdout + r.stderr
        assert "Traceback" not in r.stderr
    assert len(rcpts(server)) == 13 and len(set(rcpts(server))) == 13  # exactly the quota, each once
    final = statuses(shared)
    assert Counter(final.values()) == {"sent": 13, "pending": 11}
    assert set(rcpts(server)) == {a for a, s in final.items() if s == "sent"}
    assert senders_of_sent_rows(shared) == n


def finish(run: Run) -> tuple[int, str, str]:
    code = run.finish()
    assert "Traceback" not in run.stderr, run.stderr
    return code, run.stdout, run.stderr


def test_killed_senders_lose_nothing_and_duplicate_only_unknown_rows(server, shared, tmp_path):
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    server.handler.data_delay = 0.01
    camp = make_campaign(tmp_path, server, rows=people(30))
    runs = start_together(camp, server, shared, 3)
    deadline = time.monotonic() + rng.uniform(0.05, 0.6)
    victims = rng.sample(runs, rng.randint(1, 2))
    for victim in victims:  # each at a moment of its own
        time.sleep(max(0.0, min(deadline - time.monotonic(), rng.uniform(0.0, 0.3))))
        victim.kill()
    for r in runs:
        if r not in victims:
            assert r.finish() in (0, 1), (seed, r.stdout + r.stderr)
    # A plain final run: the dead senders' rows in flight become 'unknown', the rest goes.
    code, out, err = finish(Run(camp))
    assert code in (0, 1, 3), (seed, out + err)
    got = Counter(rcpts(server))
    final = statuses(shared)
    assert set(final) == set(camp.addresses), seed
    unknown = {a for a, s in final.items() if s == "unknown"}
    assert set(final.values()) <= {"sent", "unknown"}, (seed, final)  # 0 lost
    for address, status in final.items():
        if status == "sent":
            assert got[address] == 1, (seed, address, got[address])
        else:
            assert got[address] <= 1, (seed, address, got[address])  # 'unknown': went out at most once
    assert len(unknown) <= len(victims), seed  # one message in flight per killed sender
