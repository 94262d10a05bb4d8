"""`lgp-mailer send` as a real subprocess: SIGKILL at deterministic and random
points, two concurrent runs, and SIGTERM/SIGINT finishing the message in flight.

The invariant after any crash and a plain rerun: every recipient has been
received exactly once, or is ``unknown`` in the sent log (received at most
once).  ``--resend-unknown`` then resends those with the same Message-ID.
"""

from __future__ import annotations

import asyncio
import os
import queue
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter

import pytest
from test_send_cli import Camp, counts, parse, people, rcpts
from test_send_cli import make_campaign as _make_campaign

from smtp_server import Hold, ScriptedHandler, SmtpTestServer

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL, SIGTERM and SIGINT to a child are POSIX-only"),
]

# Generous upper bounds on waiting for an event (never a measured figure): the tests
# normally take a fraction of this, but a subprocess started under coverage on a
# loaded CI machine (load 20 on 2 cores seen) took over 30 s to reach its first message.
WAIT = 120.0


def make_campaign(*args, **kwargs) -> Camp:
    """The shipped example campaign, its conference moved to 2099 (a Thursday again):
    the subprocesses run on the real clock, and send refuses a conference that has started."""
    camp = _make_campaign(*args, **kwargs)
    event = camp.root / "events" / "2020-06-18-innovaciok.toml"
    event.write_text(
        event.read_text(encoding="utf-8").replace("date = 2020-06-18", "date = 2099-06-18"), encoding="utf-8"
    )
    return camp


class GateHandler(ScriptedHandler):
    """ScriptedHandler plus a gate before the n-th RCPT reply (the message is
    claimed, nothing of it is sent yet) and an optional delay per DATA."""

    def __init__(self) -> None:
        super().__init__()
        self.rcpt_count = 0
        self.gates: dict[int, Hold] = {}
        self.data_delay = 0.0

    def gate_rcpt(self, n: int) -> Hold:
        self.gates[n] = gate = Hold()
        return gate

    def release_all(self) -> None:
        super().release_all()
        for gate in self.gates.values():
            gate.release()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        with self.lock:
            self.rcpt_count += 1
            gate = self.gates.get(self.rcpt_count)
        if gate is not None:
            gate.reached.set()
            while not gate.released.is_set():
                await asyncio.sleep(0.01)
        return await super().handle_RCPT(server, session, envelope, address, rcpt_options)

    async def handle_DATA(self, server, session, envelope):
        if self.data_delay:
            await asyncio.sleep(self.data_delay)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def server(smtp_server_factory) -> SmtpTestServer:
    """The shared test server with gates on RCPT (stopped by the factory)."""
    return smtp_server_factory(handler=GateHandler())


class Run:
    """One ``lgp-mailer send --yes`` subprocess with its output collected as it comes."""

    def __init__(self, camp: Camp, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "lgp_mailer", "send", "--yes", *args],
            cwd=camp.root,
            env=dict(os.environ),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )
        self.stderr_lines: queue.Queue[str] = queue.Queue()
        self._out: list[str] = []
        self._err: list[str] = []
        self._readers = [
            threading.Thread(target=self._read, args=(self.proc.stdout, self._out, None), daemon=True),
            threading.Thread(target=self._read, args=(self.proc.stderr, self._err, self.stderr_lines), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _read(stream, sink: list[str], lines: queue.Queue | None) -> None:
        for line in stream:
            sink.append(line)
            if lines is not None:
                lines.put(line)

    def wait_for_stderr(self, text: str) -> str:
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            try:
                line = self.stderr_lines.get(timeout=0.1)
            except queue.Empty:
                continue
            if text in line:
                return line
        raise AssertionError(f"no {text!r} on stderr: {self.stderr!r}")

    def kill(self) -> None:
        self.proc.kill()  # SIGKILL: no cleanup, no record, the lock left behind
        self.finish()

    def finish(self) -> int:
        code = self.proc.wait(WAIT)  # reaped: a zombie would still look alive to the lock
        for reader in self._readers:
            reader.join(WAIT)
        return code

    @property
    def stdout(self) -> str:
        return "".join(self._out)

    @property
    def stderr(self) -> str:
        return "".join(self._err)


def run(camp: Camp, *args: str) -> tuple[int, str, str]:
    r = Run(camp, *args)
    code = r.finish()
    assert "Traceback" not in r.stderr, r.stderr
    return code, r.stdout, r.stderr


def wait_until(condition, what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)


def assert_exactly_once_or_unknown(camp: Camp, server: SmtpTestServer) -> set[str]:
    """The invariant after a crash and a plain rerun; returns the unknown addresses."""
    got = Counter(rcpts(server))
    rows = camp.rows()
    assert set(rows) == set(camp.addresses)
    unknown = {a for a, r in rows.items() if r.status == "unknown"}
    for address, row in rows.items():
        if row.status == "sent":
            assert got[address] == 1, (address, got[address])
        else:
            assert row.status == "unknown", (address, row.status)
            assert got[address] <= 1, (address, got[address])
    for message in server.received:
        assert parse(message.data)["Message-ID"] == rows[message.rcpt_tos[0]].message_id
    return unknown


# -- 7. SIGKILL at deterministic points ------------------------------------------------------


@pytest.mark.parametrize("server_took_it", [True, False])
def test_killed_while_the_server_holds_its_reply(server, tmp_path, server_took_it):
    camp = make_campaign(tmp_path, server, rows=people(5))
    a = camp.addresses
    hold = server.handler.hold(3)
    sender = Run(camp)
    assert hold.reached.wait(WAIT)
    sender.kill()
    hold.release("250 2.0.0 queued as 3" if server_took_it else "451 4.3.0 not queued")
    wait_until(lambda: len(server.handler.data_attempts) == 3, "the held message to settle")
    assert camp.states() == {a[0]: "sent", a[1]: "sent", a[2]: "sending", a[3]: "pending", a[4]: "pending"}

    code, out, err = run(camp)
    assert code == 1, out + err  # done, but an unknown message needs a decision
    assert "Recovered:  1 message interrupted by a crash is now 'unknown'" in out
    assert "Next: 1 with unknown outcome: check the server's log, then 'lgp-mailer send --resend-unknown'" in out
    assert camp.states() == {**dict.fromkeys(a, "sent"), a[2]: "unknown"}
    assert assert_exactly_once_or_unknown(camp, server) == {a[2]}
    assert rcpts(server) == (a if server_took_it else a[:2] + a[3:])

    message_id = camp.rows()[a[2]].message_id
    code, out, err = run(camp, "--resend-unknown")
    assert code == 0, out + err
    assert camp.counts() == counts(sent=5)
    copies = [m for m in server.received if m.rcpt_tos == [a[2]]]
    assert len(copies) == (2 if server_took_it else 1)  # a resend is a decision: same Message-ID to dedupe by
    assert {parse(m.data)["Message-ID"] for m in copies} == {message_id}


def test_killed_before_data(server, tmp_path):
    """Claimed (``sending``, committed) but nothing of the message sent yet."""
    camp = make_campaign(tmp_path, server, rows=people(4))
    a = camp.addresses
    gate = server.handler.gate_rcpt(2)
    sender = Run(camp)
    assert gate.reached.wait(WAIT)
    sender.kill()
    gate.release()
    assert camp.states() == {a[0]: "sent", a[1]: "sending", a[2]: "pending", a[3]: "pending"}
    code, out, err = run(camp)
    assert code == 1, out + err
    assert camp.states() == {**dict.fromkeys(a, "sent"), a[1]: "unknown"}
    assert assert_exactly_once_or_unknown(camp, server) == {a[1]}
    assert rcpts(server) == [a[0], a[2], a[3]]
    code, out, err = run(camp, "--resend-unknown")
    assert code == 0, out + err
    assert rcpts(server) == [a[0], a[2], a[3], a[1]]
    assert parse(server.received[-1].data)["Message-ID"] == camp.rows()[a[1]].message_id
    assert camp.counts() == counts(sent=4)


def test_killed_after_the_reply_was_recorded(server, tmp_path):
    """The k-th reply came and was recorded; killed while the next one is claimed."""
    camp = make_campaign(tmp_path, server, rows=people(4))
    a = camp.addresses
    gate = server.handler.gate_rcpt(3)  # the third message's RCPT: the second is recorded by then
    sender = Run(camp)
    assert gate.reached.wait(WAIT)
    sender.kill()
    gate.release()
    assert camp.states() == {a[0]: "sent", a[1]: "sent", a[2]: "sending", a[3]: "pending"}
    assert rcpts(server) == a[:2]
    code, out, err = run(camp)
    assert code == 1, out + err
    assert assert_exactly_once_or_unknown(camp, server) == {a[2]}
    assert rcpts(server) == [a[0], a[1], a[3]]


def test_killed_right_after_the_reply(server, tmp_path):
    """Between the server's 250 and the record: either outcome, never a silent resend."""
    camp = make_campaign(tmp_path, server, rows=people(4))
    a = camp.addresses
    hold = server.handler.hold(2)
    sender = Run(camp)
    assert hold.reached.wait(WAIT)
    hold.release("250 2.0.0 queued")
    sender.kill()
    assert camp.states()[a[1]] in ("sent", "sending")
    assert camp.states()[a[0]] == "sent"
    code, out, err = run(camp)
    assert code in (0, 1), out + err
    unknown = assert_exactly_once_or_unknown(camp, server)
    assert unknown <= {a[1], a[2]}
    assert Counter(rcpts(server))[a[1]] == 1  # the server took it once, whatever the log says


def test_random_kill_times(server, tmp_path):
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    server.handler.data_delay = 0.01
    camp = make_campaign(tmp_path, server, rows=people(30))
    kills = 0
    for _ in range(5):
        sender = Run(camp)
        time.sleep(rng.uniform(0.1, 1.0))
        if sender.proc.poll() is not None:
            sender.finish()
            break
        sender.kill()
        kills += 1
    code, out, err = run(camp)
    assert code in (0, 1, 3), (seed, out + err)
    unknown = assert_exactly_once_or_unknown(camp, server)
    assert camp.counts() == counts(sent=30 - len(unknown), unknown=len(unknown)), seed
    assert len(unknown) <= kills, seed  # at most one message in flight per kill
    if unknown:
        before = Counter(rcpts(server))
        code, out, err = run(camp, "--resend-unknown")
        assert code == 0, (seed, out + err)
        after = Counter(rcpts(server))
        assert after - before == Counter(unknown), seed
        assert camp.counts() == counts(sent=30), seed


# -- 8. two concurrent runs -----------------------------------------------------------------


def test_a_second_run_fails_on_the_lock_while_the_first_sends(server, tmp_path):
    # A long SMTP timeout: the first run must still be waiting on the held
    # message when the second starts, however slowly a loaded machine starts it.
    camp = make_campaign(tmp_path, server, rows=people(4), timeout=WAIT)
    hold = server.handler.hold(2)
    first = Run(camp)
    assert hold.reached.wait(WAIT)
    code, out, err = run(camp)
    assert code == 1, out + err
    lines = err.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"lgp-mailer: error: {camp.db}: campaign '{camp.campaign_id}' is being sent by ")
    assert f"(pid {first.proc.pid}) since " in lines[0]
    hold.release()
    assert first.finish() == 0, first.stdout + first.stderr
    assert rcpts(server) == camp.addresses
    assert camp.counts() == counts(sent=4)


def test_two_runs_started_together_never_send_twice(server, tmp_path):
    server.handler.data_delay = 0.005
    camp = make_campaign(tmp_path, server, rows=people(20))
    runs = [Run(camp), Run(camp)]
    codes = [r.finish() for r in runs]
    for r, code in zip(runs, codes, strict=True):
        assert code in (0, 1, 3), r.stdout + r.stderr
        if code == 1:
            assert r.stderr.count("\n") == 1 and "is being sent by" in r.stderr, r.stderr
    assert 0 in codes
    assert sorted(rcpts(server)) == sorted(camp.addresses)  # everyone once, nobody twice
    assert camp.counts() == counts(sent=20)


# -- 11. SIGTERM and SIGINT finish the message in flight -----------------------------------------


@pytest.mark.parametrize("signum, exit_code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_finishes_the_message_in_flight_and_takes_nothing_new(server, tmp_path, signum, exit_code):
    camp = make_campaign(tmp_path, server, rows=people(6))
    a = camp.addresses
    hold = server.handler.hold(3)
    sender = Run(camp)
    assert hold.reached.wait(WAIT)
    sender.proc.send_signal(signum)
    sender.wait_for_stderr("stopping after the message in flight")
    hold.release("250 2.0.0 queued")
    code = sender.finish()
    assert code == exit_code, sender.stdout + sender.stderr
    assert rcpts(server) == a[:3]
    assert server.handler.mail_count == 3  # nothing new was taken
    assert camp.states() == {**dict.fromkeys(a[:3], "sent"), **dict.fromkeys(a[3:], "pending")}
    assert "This run: sent 3\nSent log: pending 3, sent 3\n" in sender.stdout
    assert "Next: 3 messages still due: run 'lgp-mailer send'" in sender.stdout
    assert "Interrupted: the message in flight was recorded; run the same command again to go on." in sender.stderr
    assert "Traceback" not in sender.stderr
    code, out, err = run(camp)
    assert code == 0, out + err
    assert rcpts(server) == a


def test_a_signal_during_the_rate_wait_takes_nothing_new(server, tmp_path):
    """At 6/min the next message waits 10 s for its slot: SIGTERM then must not
    sit the wait out and send it anyway."""
    camp = make_campaign(tmp_path, server, rows=people(3))
    a = camp.addresses
    sender = Run(camp, "--rate", "6/min")
    wait_until(lambda: len(server.received) == 1, "the first message")
    time.sleep(0.2)  # the run is now waiting for the second message's slot
    started = time.monotonic()
    sender.proc.send_signal(signal.SIGTERM)
    code = sender.finish()
    assert code == 143, sender.stdout + sender.stderr
    assert time.monotonic() - started < 5
    assert rcpts(server) == a[:1]
    assert server.handler.mail_count == 1
    assert camp.states() == {a[0]: "sent", a[1]: "pending", a[2]: "pending"}
    assert camp.rows()[a[1]].attempts == 0
    assert "This run: sent 1\n" in sender.stdout


def test_a_second_ctrl_c_stops_at_once_and_the_next_run_finds_unknown(server, tmp_path):
    # A polite QUIT would wait out the whole SMTP timeout (the server holds the
    # reply): a long one keeps "at once" and "waited" far apart on a busy machine.
    camp = make_campaign(tmp_path, server, rows=people(4), timeout=WAIT)
    a = camp.addresses
    hold = server.handler.hold(2)
    sender = Run(camp)
    assert hold.reached.wait(WAIT)
    sender.proc.send_signal(signal.SIGINT)
    sender.wait_for_stderr("stopping after the message in flight")
    started = time.monotonic()
    sender.proc.send_signal(signal.SIGINT)
    code = sender.finish()
    stopped_after = time.monotonic() - started
    hold.release("250 2.0.0 queued")
    assert code == 130, sender.stdout + sender.stderr
    assert stopped_after < WAIT / 4  # at once: not waiting out the SMTP timeout (WAIT) for a polite QUIT
    assert "Traceback" not in sender.stderr
    assert camp.states() == {a[0]: "sent", a[1]: "sending", a[2]: "pending", a[3]: "pending"}
    code, out, err = run(camp)
    assert code == 1, out + err
    assert "took over" not in err  # the interrupted run released its lock on the way out
    assert assert_exactly_once_or_unknown(camp, server) == {a[1]}


def test_a_signal_during_a_retry_backoff_stops_at_once_and_keeps_it_deferred(server, tmp_path):
    camp = make_campaign(tmp_path, server, rows=people(3), retries=4, retry_delay=20)
    a = camp.addresses
    server.handler.reply_rcpt(a[1], "451 4.3.0 Try again later")
    sender = Run(camp)
    wait_until(lambda: not server.handler.rcpt_replies[a[1]], "the 451")
    time.sleep(0.1)  # in the backoff now (10 s or more before the next try)
    started = time.monotonic()
    sender.proc.send_signal(signal.SIGTERM)
    code = sender.finish()
    assert code == 143, sender.stdout + sender.stderr
    assert time.monotonic() - started < 5
    assert rcpts(server) == a[:1]
    assert camp.states() == {a[0]: "sent", a[1]: "deferred", a[2]: "pending"}
    row = camp.rows()[a[1]]
    assert (row.last_code, row.last_reply, row.attempts) == (451, "451 4.3.0 Try again later", 1)
    assert "This run: sent 1, deferred 1\n" in sender.stdout
