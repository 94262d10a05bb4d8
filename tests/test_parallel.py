"""``run_parallel``: K SMTP sessions against a real aiosmtpd server.

Exactly-once delivery, --batch across sessions, the shared rate limit (from
the server's receive times), stopping every session on a fatal reply or a run
of failures, and crash safety with K = 4: a sender SIGKILLed mid-run, then a
rerun, leaves every recipient received exactly once or ``unknown``.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import pytest

from lgp_mailer.campaign.run import run_parallel
from lgp_mailer.campaign.session import SendOptions, SendSession
from lgp_mailer.config import load_campaign
from lgp_mailer.errors import SmtpError, TemplateError
from lgp_mailer.event import load_event
from lgp_mailer.ledger.store import Entry, open_ledger
from lgp_mailer.sheets.recipients import Recipient
from lgp_mailer.smtp.pacing import RateLimiter, RetryPolicy
from lgp_mailer.smtp.settings import parse_rate
from lgp_mailer.smtp.transport import SmtpTransport

from smtp_server import SmtpTestServer

REPO = Path(__file__).resolve().parents[1]
NO_RETRY = RetryPolicy(attempts=1)


def people(n: int) -> list[Recipient]:
    return [
        Recipient(
            f"hivatal{i}@telepules{i}.example",
            (f"Település {i}",),
            "Tisztelt Polgármester Úr!",
            county=("Baranya", "Somogy")[i % 2],
            name=f"Kovács Ödön {i}",
            rows=(i + 2,),
        )
        for i in range(n)
    ]


@pytest.fixture(scope="module")
def inputs():
    campaign = load_campaign(REPO / "lgp-mailer.toml")
    return campaign, load_event(campaign.event_path)


def session_for(inputs, ledger, recipients):
    campaign, event = inputs
    sheet = SimpleNamespace(recipients=recipients, rejected=[])
    return SendSession(campaign, ledger, "invitation", recipients=recipients, event=event, sheet=sheet)


def maker(server: SmtpTestServer, **overrides):
    return lambda: SmtpTransport(server.settings(**overrides), local_hostname="lgp-test.localhost")


def rcpts(server: SmtpTestServer) -> Counter:
    return Counter(m.rcpt_tos[0] for m in server.received)


def statuses(ledger) -> Counter:
    return Counter(r.status for r in ledger.rows())


def test_four_sessions_deliver_each_message_exactly_once(inputs, smtp_server, tmp_path):
    recipients = people(40)
    with open_ledger(tmp_path / "log.sqlite3") as ledger, session_for(inputs, ledger, recipients) as session:
        report = run_parallel(session, maker(smtp_server), 4, SendOptions(retry=NO_RETRY))
        assert report.count("sent") == 40 and report.stopped is None and not report.interrupted
        assert statuses(ledger) == {"sent": 40}
        message_ids = {r.address: r.message_id for r in ledger.rows()}
        again = run_parallel(session, maker(smtp_server), 4, SendOptions())
        assert again.outcomes == []  # everything sent: nothing opened, nothing sent
    assert rcpts(smtp_server) == {r.email: 1 for r in recipients}
    assert len(smtp_server.handler.sessions) == 4
    for m in smtp_server.received:  # each the recipient's own message, with the ledger's Message-ID
        assert f"Message-ID: {message_ids[m.rcpt_tos[0]]}".encode() in m.data


def test_render_processes_build_the_same_messages(inputs, smtp_server, tmp_path):
    import re

    recipients = people(12)
    with open_ledger(tmp_path / "log.sqlite3") as ledger, session_for(inputs, ledger, recipients) as session:
        report = run_parallel(session, maker(smtp_server), 2, SendOptions(), render_processes=2)
        assert report.count("sent") == 12
        here = {
            r.email: session.factory.build(
                r, msgid=ledger.get(session.campaign.campaign_id, "invitation", r.email).message_id
            ).as_bytes()
            for r in recipients
        }
    assert rcpts(smtp_server) == {r.email: 1 for r in recipients}

    def without_date(data: bytes) -> bytes:  # and without the random MIME boundaries
        data = re.sub(rb"(?m)^Date: .*\r?\n", b"", data).replace(b"\r\n", b"\n")
        return re.sub(rb"={15}\d+==", b"BOUNDARY", data)

    for m in smtp_server.received:  # byte for byte what this process builds, bar Date and boundaries
        assert without_date(m.data) == without_date(here[m.rcpt_tos[0]])


@pytest.mark.parametrize("retry_failed, resend_unknown", [(False, False), (True, True)])
def test_due_rows_are_paged_but_the_same_as_the_sessions(inputs, tmp_path, monkeypatch, retry_failed, resend_unknown):
    import lgp_mailer.campaign.run as parallel

    monkeypatch.setattr(parallel, "DUE_PAGE", 3)
    recipients = people(20)
    with open_ledger(tmp_path / "log.sqlite3") as ledger, session_for(inputs, ledger, recipients) as session:
        c = session.campaign.campaign_id
        for i, status in [(1, "sent"), (2, "deferred"), (4, "failed"), (7, "unknown"), (8, "deferred")]:
            assert ledger.claim(c, "invitation", recipients[i].email, ["pending"])
            ledger.record(c, "invitation", recipients[i].email, status)
        # The last two leave the sheet: never due, whatever their status.
        ledger.sync(
            c, "invitation", [Entry(r.email, n, r.municipalities, r.county) for n, r in enumerate(recipients[:18])]
        )
        options = SendOptions(retry_failed=retry_failed, resend_unknown=resend_unknown)
        paged = parallel.DueRows(session, options)
        assert list(paged) == session.due(options) and paged.count == len(session.due(options))


def test_batch_counts_messages_across_sessions_and_the_next_run_continues(inputs, smtp_server, tmp_path):
    recipients = people(20)
    with open_ledger(tmp_path / "log.sqlite3") as ledger, session_for(inputs, ledger, recipients) as session:
        first = run_parallel(session, maker(smtp_server), 4, SendOptions(batch=7))
        assert first.count("sent") == 7
        assert {r.address for r in ledger.rows() if r.status == "sent"} == {r.email for r in recipients[:7]}
        second = run_parallel(session, maker(smtp_server), 4, SendOptions(batch=7))
        third = run_parallel(session, maker(smtp_server), 4, SendOptions(batch=7))
        assert (second.count("sent"), third.count("sent")) == (7, 6)
    assert rcpts(smtp_server) == {r.email: 1 for r in recipients}


def test_one_rate_limit_shared_by_all_sessions(inputs, smtp_server, tmp_path, monkeypatch):
    recipients = people(16)
    options = SendOptions(rates=(parse_rate("20/s"),))  # one message every 50 ms, for the whole run
    # The moment each session is let go, as the run's limiter grants it.  The
    # server's receipt times add each message's own delivery delay, which a
    # loaded machine (xdist, coverage, other jobs) stretches past an interval
    # and so bunches receipts that were sent evenly.
    granted: list[float] = []
    acquire = RateLimiter.acquire

    def spy(self: RateLimiter) -> float:
        asked = time.monotonic()
        waited = acquire(self)
        granted.append(asked + waited)
        return waited

    monkeypatch.setattr(RateLimiter, "acquire", spy)
    with open_ledger(tmp_path / "log.sqlite3") as ledger, session_for(inputs, ledger, recipients) as session:
        assert run_parallel(session, maker(smtp_server), 4, options).count("sent") == 16
    assert len(smtp_server.received) == 16 and len(smtp_server.handler.sessions) == 4
    times = sorted(granted)
    assert len(times) == 16  # one grant per message: every session asked the one limiter
    assert times[-1] - times[0] >= 15 * 0.05 * 0.9
    # No burst anywhere: any 5 consecutive sends span at least 4 intervals (less scheduling jitter).
    assert min(b - a for a, b in zip(times, times[4:], strict=False)) >= 4 * 0.05 - 0.06


def test_a_fatal_reply_stops_every_session(inputs, smtp_server, tmp_path):
    recipients = people(40)
    smtp_server.handler.reply_rcpt(recipients[5].email, "550 5.4.5 Daily user sending quota exceeded")
    delivered_when_refused: list[int] = []

    def progress(outcome):  # called as the refusal is recorded, just before the run stops
        if outcome.address == recipients[5].email:
            delivered_when_refused.append(len(smtp_server.received))

    with open_ledger(tmp_path / "log.sqlite3") as ledger, session_for(inputs, ledger, recipients) as session:
        report = run_parallel(session, maker(smtp_server), 4, SendOptions(retry=NO_RETRY), progress=progress)
        assert "refused: 550 5.4.5 Daily user sending quota exceeded" in report.stopped
        rows = {r.address: r for r in ledger.rows()}
        counts = statuses(ledger)
    assert rows[recipients[5].email].status == "deferred"  # about the account, not the address: still due
    # The others stopped at once: each of the 3 other sessions may finish the message it has in
    # flight, and take at most one more while the stop is being set.  Counted from the refusal,
    # not from the start: a loaded machine may let them run ahead before session 1 reads its 550.
    assert counts["sending"] == 0 and len(smtp_server.received) - delivered_when_refused[0] <= 3 * 2
    assert counts["pending"] == 40 - len(smtp_server.received) - 1
    assert counts["sent"] == len(smtp_server.received) == report.count("sent")


def test_consecutive_failures_stop_every_session(inputs, smtp_server, tmp_path):
    recipients = people(40)
    # At MAIL FROM: trouble with the server.  A 4xx at RCPT is about one address
    # and no longer counts towards the stop (issue 15).
    smtp_server.handler.reply_mail(*["451 4.3.0 temporarily unavailable"] * 40)
    options = SendOptions(retry=NO_RETRY, max_consecutive_failures=5)
    with open_ledger(tmp_path / "log.sqlite3") as ledger, session_for(inputs, ledger, recipients) as session:
        report = run_parallel(session, maker(smtp_server), 4, options)
        counts = statuses(ledger)
    assert report.stopped.startswith("5 messages in a row were not delivered")
    assert 5 <= counts["deferred"] <= 5 + 3  # at most the other sessions' messages in flight
    assert counts["deferred"] + counts["pending"] == 40 and not smtp_server.received


def test_ctrl_c_takes_nothing_new_and_records_what_is_in_flight(inputs, smtp_server, tmp_path):
    import threading

    recipients = people(40)
    stop = threading.Event()
    seen = []

    def progress(outcome):
        seen.append(outcome)
        if len(seen) == 5:
            stop.set()  # what the first Ctrl-C / SIGTERM does

    with open_ledger(tmp_path / "log.sqlite3") as ledger, session_for(inputs, ledger, recipients) as session:
        report = run_parallel(session, maker(smtp_server), 4, SendOptions(), stop=stop, progress=progress)
        counts = statuses(ledger)
    assert report.interrupted and report.stopped is None
    assert 5 <= counts["sent"] <= 5 + 3 and counts["sending"] == 0  # the in-flight ones are finished
    assert counts["sent"] + counts["pending"] == 40 and len(seen) == counts["sent"] == len(smtp_server.received)


def test_no_session_can_connect_raises_like_one_session(inputs, tmp_path):
    from lgp_mailer.smtp.settings import SmtpSettings

    with (
        socket_closed_port() as port,
        open_ledger(tmp_path / "log.sqlite3") as ledger,
        session_for(inputs, ledger, people(8)) as session,
    ):
        settings = SmtpSettings(host="127.0.0.1", port=port, security="none", timeout=2)
        with pytest.raises(SmtpError, match="cannot connect"):
            run_parallel(session, lambda: SmtpTransport(settings), 4, SendOptions())
        assert statuses(ledger) == {"pending": 8}


def test_an_error_in_one_session_stops_all_and_is_raised(inputs, smtp_server, tmp_path):
    recipients = people(30)
    with open_ledger(tmp_path / "log.sqlite3") as ledger, session_for(inputs, ledger, recipients) as session:
        build = session.factory.build

        def broken(recipient, **kwargs):
            if recipient.email == recipients[9].email:
                raise TemplateError("'event.join_url' is undefined", file="invitation.html.j2")
            return build(recipient, **kwargs)

        session.factory.build = broken
        with pytest.raises(TemplateError):
            run_parallel(session, maker(smtp_server), 4, SendOptions())
        counts = statuses(ledger)
    assert counts["sending"] == 0 and counts["pending"] >= 30 - 9 - 3
    assert counts["sent"] == len(smtp_server.received)


class socket_closed_port:
    def __enter__(self) -> int:
        import socket

        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        return self.port

    def __exit__(self, *exc: object) -> None:
        pass


# -- crash safety with K = 4 ---------------------------------------------------

RUNNER = """
import sys
from pathlib import Path
from types import SimpleNamespace
sys.path.insert(0, sys.argv[1]); sys.path.insert(0, sys.argv[1] + "/tests")
from test_parallel import people
from lgp_mailer.config import load_campaign
from lgp_mailer.event import load_event
from lgp_mailer.campaign.run import run_parallel
from lgp_mailer.campaign.session import SendOptions, SendSession
from lgp_mailer.ledger.store import Entry, open_ledger
from lgp_mailer.smtp.settings import SmtpSettings
from lgp_mailer.smtp.pacing import RetryPolicy
from lgp_mailer.smtp.transport import SmtpTransport

campaign = load_campaign(Path(sys.argv[1]) / "lgp-mailer.toml")
recipients = people(int(sys.argv[4]))
sheet = SimpleNamespace(recipients=recipients, rejected=[])
settings = SmtpSettings(host="127.0.0.1", port=int(sys.argv[3]), security="none", timeout=60)
ledger = open_ledger(Path(sys.argv[2]))
with SendSession(campaign, ledger, "invitation", recipients=recipients, event=load_event(campaign.event_path),
                 sheet=sheet) as session:
    print("ready", flush=True)
    run_parallel(session, lambda: SmtpTransport(settings, local_hostname="x"), 4,
                 SendOptions(retry=RetryPolicy(attempts=1)), render_processes=int(sys.argv[5]))
print("done", flush=True)
"""


def start_sender(db: Path, server: SmtpTestServer, n: int, render_processes: int = 0) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-c", RUNNER, str(REPO), str(db), str(server.port), str(n), str(render_processes)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline().strip() == "ready"
    return proc


def rerun_and_check(inputs, db: Path, server: SmtpTestServer, recipients: list[Recipient]) -> Counter:
    """The next run: recover, send the rest with K = 4, then the invariant."""
    with open_ledger(db) as ledger, session_for(inputs, ledger, recipients) as session:
        recovered = session.recovered
        report = run_parallel(session, maker(server), 4, SendOptions(retry=NO_RETRY))
        assert report.stopped is None
        final = {r.address: r.status for r in ledger.rows()}
    deadline = time.monotonic() + 10
    received = rcpts(server)
    while sum(received.values()) < sum(1 for s in final.values() if s == "sent") and time.monotonic() < deadline:
        time.sleep(0.02)
        received = rcpts(server)
    assert set(final.values()) <= {"sent", "unknown"}
    assert sum(1 for s in final.values() if s == "unknown") == recovered <= 4  # at most one per session
    for r in recipients:
        if final[r.email] == "sent":
            assert received[r.email] == 1, r.email  # exactly once
        else:
            assert received[r.email] <= 1, r.email  # unknown: maybe arrived, never twice
    return Counter(final.values())


@pytest.mark.slow
@pytest.mark.parametrize("render_processes", [0, 1])
def test_four_sessions_killed_while_the_server_holds_a_reply(inputs, smtp_server, tmp_path, render_processes):
    import psutil

    recipients = people(24)
    db = tmp_path / "log.sqlite3"
    hold = smtp_server.handler.hold(6)  # the 6th message is in; its 250 is held back
    proc = start_sender(db, smtp_server, len(recipients), render_processes)
    children = []
    try:
        assert hold.reached.wait(30)
        time.sleep(0.05)  # let the other sessions get into their own transactions
        children = psutil.Process(proc.pid).children(recursive=True)
        assert len(children) >= render_processes
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    finally:
        proc.kill()
        proc.wait()
    hold.release("250 2.0.0 queued")  # the server did take it: a real MTA delivers it
    _, alive = psutil.wait_procs(children, timeout=10)
    assert not alive  # render processes end with their parent, even a SIGKILLed one
    with open_ledger(db) as ledger:
        left = Counter(r.status for r in ledger.rows())
    assert 1 <= left["sending"] <= 4  # the held one, and whatever the others had in flight
    final = rerun_and_check(inputs, db, smtp_server, recipients)
    assert final["unknown"] == left["sending"] and final["sent"] == 24 - left["sending"]


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_four_sessions_killed_at_a_random_moment(inputs, smtp_server, tmp_path, seed):
    recipients = people(60)
    db = tmp_path / "log.sqlite3"
    proc = start_sender(db, smtp_server, len(recipients))
    rng = random.Random(seed)
    target = rng.randint(3, 45)
    try:
        deadline = time.monotonic() + 30
        while len(smtp_server.received) < target and time.monotonic() < deadline:
            time.sleep(0.001)
        time.sleep(rng.uniform(0, 0.01))  # anywhere in the next messages' transactions
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        proc.kill()
        proc.wait()
    with open_ledger(db) as ledger:
        left = Counter(r.status for r in ledger.rows())
    assert left["pending"] < 60 and left["sent"] >= target - 4  # killed mid-run
    final = rerun_and_check(inputs, db, smtp_server, recipients)
    assert final["sent"] + final["unknown"] == 60
