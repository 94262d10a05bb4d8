"""SmtpTransport against a real SMTP server on 127.0.0.1 (aiosmtpd), and the
pacing/retry helpers with injected clocks."""

from __future__ import annotations

import logging
import socket
import threading
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lgp_mailer.errors import ConfigError, SmtpError
from lgp_mailer.smtp.credentials import Secret
from lgp_mailer.smtp.pacing import DailyQuota, RateLimiter, RetryPolicy, send_with_retry
from lgp_mailer.smtp.settings import SmtpSettings, parse_rate
from lgp_mailer.smtp.transport import SendResult, SmtpTransport, classify, dot_stuff
from lgp_mailer.smtp.wire import CrlfOnly, crlf

from smtp_server import DROP, SmtpTestServer
from transports import FileTransport, RecordingTransport

PASSWORD = "Sz3cr3t-jelszó-hunter2"
TOKEN = "ya29.tok-EN-very-secret"
FROM = "titkarsag@lgp.example"


def message(rcpt: str, body: str = "Tisztelt Polgármester Úr!\r\n.pont a sor elején\r\n") -> bytes:
    return (
        f"From: LGP <{FROM}>\r\nTo: {rcpt}\r\nSubject: Meghivo\r\nMessage-ID: <{rcpt}@lgp.example>\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\n" + body
    ).encode("utf-8")


def transport(server: SmtpTestServer, secret: Secret | None = None, **overrides: object) -> SmtpTransport:
    return SmtpTransport(server.settings(**overrides), secret, local_hostname="lgp-test.localhost")


@pytest.fixture(params=["step by step", "pipelining"])
def smtp_server(request, smtp_server_factory):
    """Every scenario here twice: with a server that does not offer PIPELINING, and with one
    that does (MAIL, RCPT and DATA then go in one write and their replies are read in order)."""
    return smtp_server_factory(pipelining=request.param == "pipelining")


# -- delivery ---------------------------------------------------------------


def test_plain_delivers_exact_bytes_over_one_session(smtp_server):
    msgs = {f"polgarmester{i}@falu{i}.example": message(f"polgarmester{i}@falu{i}.example") for i in range(3)}
    with transport(smtp_server) as t:
        results = [t.send(msg, FROM, rcpt) for rcpt, msg in msgs.items()]
    assert [r.status for r in results] == ["sent"] * 3
    assert [(r.code, r.enhanced) for r in results] == [(250, "2.0.0")] * 3
    got = smtp_server.received
    assert [(m.mail_from, m.rcpt_tos) for m in got] == [(FROM, [rcpt]) for rcpt in msgs]
    assert [m.data for m in got] == list(msgs.values())  # dots unstuffed again, 8-bit intact
    assert len({m.session for m in got}) == 1


def test_messages_per_connection_opens_new_sessions(smtp_server):
    with transport(smtp_server, messages_per_connection=2) as t:
        for i in range(5):
            assert t.send(message(f"r{i}@x.example"), FROM, f"r{i}@x.example").status == "sent"
    assert len({m.session for m in smtp_server.received}) == 3
    assert t.connections == 3


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_starttls_with_auth_and_a_non_ascii_password(smtp_server_factory, mechanism):
    other = {"PLAIN": "LOGIN", "LOGIN": "PLAIN"}[mechanism]
    server = smtp_server_factory(security="starttls", users={"lgp": PASSWORD}, auth_exclude_mechanism=[other])
    with transport(server, Secret(PASSWORD, "test"), username="lgp", auth_method="password", cafile=server.cafile) as t:
        assert t.send(message("a@x.example"), FROM, "a@x.example").status == "sent"
    [got] = server.received
    assert got.tls and got.login == "lgp" and got.data == message("a@x.example")
    assert server.handler.logins == [(mechanism, "lgp", True)]


def test_implicit_tls_with_xoauth2(smtp_server_factory):
    server = smtp_server_factory(security="tls", tokens={"lgp@lgp.example": TOKEN})
    settings = dict(username="lgp@lgp.example", auth_method="xoauth2", cafile=server.cafile)
    with transport(server, Secret(TOKEN, "test", "token"), **settings) as t:
        assert t.send(message("a@x.example"), FROM, "a@x.example").status == "sent"
    assert server.received[0].login == "lgp@lgp.example"
    with pytest.raises(SmtpError, match=r"authentication failed.*535"):
        transport(server, Secret("expired", "test", "token"), **settings).open()
    assert server.handler.logins == [("XOAUTH2", "lgp@lgp.example", True), ("XOAUTH2", "lgp@lgp.example", False)]
    assert len(server.received) == 1


def test_a_secret_provider_is_asked_for_every_session(smtp_server_factory):
    server = smtp_server_factory(security="tls", tokens={"lgp": TOKEN})
    calls: list[int] = []

    def fresh_token() -> Secret:
        calls.append(1)
        return Secret(TOKEN, "token_command", "token")

    with transport(
        server, fresh_token, username="lgp", auth_method="xoauth2", cafile=server.cafile, messages_per_connection=1
    ) as t:
        for rcpt in ("a@x.example", "b@x.example"):
            assert t.send(message(rcpt), FROM, rcpt).status == "sent"
    assert len(calls) == 2 and len({m.session for m in server.received}) == 2


# -- refusals before anything is sent ----------------------------------------------


def test_wrong_password_is_a_clear_error_and_nothing_is_sent(smtp_server_factory, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    server = smtp_server_factory(security="starttls", users={"lgp": "the-right-one"})
    t = transport(server, Secret(PASSWORD, "test"), username="lgp", auth_method="password", cafile=server.cafile)
    with pytest.raises(SmtpError) as caught:
        t.open()
    error = caught.value
    assert f"127.0.0.1:{server.port}" in str(error) and "authentication failed for lgp" in str(error)
    assert "535" in str(error)
    assert error.result.status == "fatal"
    # also when the session is (re)opened inside send(): fatal, not retried
    result = t.send(message("a@x.example"), FROM, "a@x.example")
    assert result.status == "fatal" and result.phase == "auth"
    assert server.received == [] and server.handler.mail_count == 0
    out = capsys.readouterr()
    for text in (str(error), repr(error), repr(result), caplog.text, out.out, out.err, repr(t.secret)):
        assert PASSWORD not in text


def test_untrusted_certificate_is_a_clear_error(smtp_server_factory):
    server = smtp_server_factory(security="starttls", users={"lgp": PASSWORD})
    t = transport(server, Secret(PASSWORD, "test"), username="lgp", auth_method="password")  # no cafile
    with pytest.raises(SmtpError, match=r"certificate is not trusted.*cafile"):
        t.open()
    assert server.handler.logins == [] and server.received == []


def test_implicit_tls_untrusted_certificate(smtp_server_factory):
    server = smtp_server_factory(security="tls")
    with pytest.raises(SmtpError, match="not trusted"):
        transport(server).open()


def test_starttls_required_but_not_offered(smtp_server):
    with pytest.raises(SmtpError, match="does not offer STARTTLS"):
        transport(smtp_server, security="starttls").open()
    assert smtp_server.handler.mail_count == 0


def test_auth_over_plaintext_to_remote_host_refused_before_connecting(monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("must not connect")

    monkeypatch.setattr(socket, "create_connection", no_network)
    settings = SmtpSettings(
        host="smtp.example.org", port=25, security="none", insecure=True, username="lgp", auth_method="password"
    )
    with pytest.raises(ConfigError, match=r"clear text to smtp\.example\.org"):
        SmtpTransport(settings, Secret(PASSWORD, "test"))


def test_auth_over_plaintext_to_localhost_is_allowed(smtp_server_factory):
    server = smtp_server_factory(users={"lgp": PASSWORD}, auth_require_tls=False)
    with transport(server, Secret(PASSWORD, "test"), username="lgp", auth_method="password") as t:
        assert t.send(message("a@x.example"), FROM, "a@x.example").status == "sent"
    assert server.received[0].login == "lgp"


def test_connection_refused_is_a_clear_error():
    settings = SmtpSettings(host="127.0.0.1", port=_closed_port(), security="none", timeout=2)
    with pytest.raises(SmtpError, match=r"127\.0\.0\.1:\d+: cannot connect"):
        SmtpTransport(settings).open()
    assert SmtpTransport(settings).send(b"x", FROM, "a@x.example").status == "deferred"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- replies ----------------------------------------------------------------


def no_sleep(delays: list[float]):
    return delays.append


def test_451_then_success_with_retries(smtp_server):
    smtp_server.handler.reply_rcpt("a@x.example", "451 4.3.0 Try again later", "451 4.3.0 Try again later")
    delays: list[float] = []
    with transport(smtp_server) as t:
        result = send_with_retry(
            t,
            message("a@x.example"),
            FROM,
            "a@x.example",
            policy=RetryPolicy(attempts=4, base=1.0),
            sleep=no_sleep(delays),
            rng=lambda: 0.5,
        )
    assert result.status == "sent"
    assert delays == [0.75, 1.5]  # exponential, half fixed + half jitter
    assert len(smtp_server.received) == 1


def test_transient_until_the_limit_is_deferred_with_the_reason(smtp_server):
    smtp_server.handler.reply_rcpt("a@x.example", *["452 4.3.1 Insufficient system storage"] * 3)
    with transport(smtp_server) as t:
        result = send_with_retry(
            t, message("a@x.example"), FROM, "a@x.example", policy=RetryPolicy(attempts=3), sleep=lambda s: None
        )
        assert result.status == "deferred" and result.line == "452 4.3.1 Insufficient system storage"
        # RSET after the failed transactions: the session still works
        assert t.send(message("b@x.example"), FROM, "b@x.example").status == "sent"
    assert t.connections == 1


def test_421_drop_then_reconnect(smtp_server):
    smtp_server.handler.reply_rcpt("a@x.example", "421 4.3.2 Service shutting down")
    with transport(smtp_server) as t:
        first = t.send(message("a@x.example"), FROM, "a@x.example")
        assert (first.status, first.code) == ("deferred", 421)
        assert t.send(message("a@x.example"), FROM, "a@x.example").status == "sent"
    assert t.connections == 2 and len(smtp_server.received) == 1


def test_idle_session_dropped_by_server_is_reopened_at_once(smtp_server):
    with transport(smtp_server) as t:
        assert t.send(message("a@x.example"), FROM, "a@x.example").status == "sent"
        smtp_server.handler.reply_mail(DROP)  # the server hung up the idle session
        assert t.send(message("b@x.example"), FROM, "b@x.example").status == "sent"
    assert [m.rcpt_tos for m in smtp_server.received] == [["a@x.example"], ["b@x.example"]]


def test_drop_before_the_final_dot_is_deferred(smtp_server):
    smtp_server.handler.reply_rcpt("a@x.example", DROP)
    with transport(smtp_server) as t:
        result = t.send(message("a@x.example"), FROM, "a@x.example")
    assert (result.status, result.phase) == ("deferred", "rcpt")
    assert smtp_server.received == []


def test_550_511_fails_that_recipient_and_the_session_goes_on(smtp_server):
    smtp_server.handler.reply_rcpt("nincs@x.example", "550 5.1.1 <nincs@x.example>: user unknown")
    with transport(smtp_server) as t:
        bad = t.send(message("nincs@x.example"), FROM, "nincs@x.example")
        good = t.send(message("a@x.example"), FROM, "a@x.example")
    assert (bad.status, bad.code, bad.enhanced) == ("failed", 550, "5.1.1")
    assert "user unknown" in bad.reply
    assert good.status == "sent" and t.connections == 1
    assert [m.rcpt_tos for m in smtp_server.received] == [["a@x.example"]]


@pytest.mark.parametrize(
    "reply",
    [
        "452 4.3.1 Daily sending quota exceeded",
        "550 5.4.5 Daily user sending limit exceeded",
    ],
)
def test_policy_and_quota_replies_are_fatal(smtp_server, reply):
    smtp_server.handler.reply_rcpt("a@x.example", reply)
    calls: list[float] = []
    with transport(smtp_server) as t:
        result = send_with_retry(t, message("a@x.example"), FROM, "a@x.example", sleep=calls.append)
    assert result.status == "fatal" and result.line == reply
    assert calls == [] and smtp_server.received == []


def test_a_policy_refusal_at_rcpt_fails_that_address_without_retries(smtp_server):
    # One address or the whole relay: the send loop's consecutive-failure stop tells which.
    smtp_server.handler.reply_rcpt("a@x.example", "554 5.7.1 Relay access denied")
    calls: list[float] = []
    with transport(smtp_server) as t:
        result = send_with_retry(t, message("a@x.example"), FROM, "a@x.example", sleep=calls.append)
    assert (result.status, result.phase, result.line) == ("failed", "rcpt", "554 5.7.1 Relay access denied")
    assert calls == [] and smtp_server.received == []


def test_5xx_to_mail_from_is_fatal(smtp_server):
    smtp_server.handler.reply_mail("553 5.1.8 Sender domain does not exist")
    with transport(smtp_server) as t:
        assert t.send(message("a@x.example"), FROM, "a@x.example").status == "fatal"


def test_timeout_after_the_final_dot_is_unknown_and_not_retried(smtp_server):
    hold = smtp_server.handler.hold(1)
    calls: list[float] = []
    with transport(smtp_server, timeout=0.5) as t:
        result = send_with_retry(t, message("a@x.example"), FROM, "a@x.example", sleep=calls.append)
    assert hold.reached.is_set()
    assert (result.status, result.phase, result.code) == ("unknown", "dot", None)
    assert "may or may not" in result.reply
    assert calls == [] and smtp_server.handler.data_count == 1
    hold.release()


def test_drop_after_the_final_dot_is_unknown(smtp_server):
    smtp_server.handler.reply_data(1, DROP)
    with transport(smtp_server) as t:
        assert t.send(message("a@x.example"), FROM, "a@x.example").status == "unknown"


@pytest.mark.parametrize(
    ("reply", "said"), [("hello, I am no SMTP server", "'o, I am no SMTP server'"), ("354 go on", "'354 go on'")]
)
def test_a_garbage_reply_after_the_final_dot_is_unknown_and_not_retried(smtp_server, reply, said):
    # The server has the whole message and said nothing SMTP about it: it may have queued it.
    # A retry would deliver it twice; a deferred row is resent by the next run all the same.
    smtp_server.handler.reply_data(1, reply)
    calls: list[float] = []
    with transport(smtp_server) as t:
        result = send_with_retry(t, message("a@x.example"), FROM, "a@x.example", sleep=calls.append)
        assert (result.status, result.phase, result.code, t.smtp) == ("unknown", "dot", None, None)
        assert result.line == f"no valid reply after the message was sent; it may or may not be delivered: {said}"
        assert calls == [] and smtp_server.handler.data_count == 1
        assert t.send(message("b@x.example"), FROM, "b@x.example").status == "sent"  # a fresh session


def test_a_server_answering_twice_is_never_taken_for_a_delivery(smtp_server):
    # An extra 250 after the first message's final dot puts the replies one step behind: the next
    # message's DATA gets a 250 (RCPT's) instead of 354, and its body never goes.  Not 'sent'.
    smtp_server.handler.reply_data(1, "250 2.0.0 queued\r\n250 2.0.0 queued again")
    with transport(smtp_server) as t:
        assert t.send(message("a@x.example"), FROM, "a@x.example").status == "sent"
        result = t.send(message("b@x.example"), FROM, "b@x.example")
        assert (result.status, result.phase, result.code, t.smtp) == ("deferred", "data", 250, None)
        assert t.send(message("b@x.example"), FROM, "b@x.example").status == "sent"  # a fresh session
    assert [m.rcpt_tos for m in smtp_server.received] == [["a@x.example"], ["b@x.example"]]


def test_control_characters_in_a_reply_are_blanked(smtp_server):
    smtp_server.handler.reply_rcpt("a@x.example", "550 5.1.1 no \x1b[2J\x1b[31msuch\x07 user")
    with transport(smtp_server) as t:
        result = t.send(message("a@x.example"), FROM, "a@x.example")
    assert (result.status, result.enhanced, result.reply) == ("failed", "5.1.1", "5.1.1 no [2J [31msuch user")


def test_final_reply_550_511_after_data_is_failed(smtp_server):
    smtp_server.handler.reply_data(1, "550 5.1.1 mailbox unavailable")
    with transport(smtp_server) as t:
        assert t.send(message("a@x.example"), FROM, "a@x.example").status == "failed"
        assert t.send(message("b@x.example"), FROM, "b@x.example").status == "sent"


@pytest.mark.parametrize(
    ("code", "text", "phase", "expected"),
    [
        (250, "2.0.0 OK", "dot", "sent"),
        (250, "2.0.0 OK", "data", "deferred"),
        (250, "fsrv.example ready", "connect", "deferred"),
        (451, "4.3.0 later", "rcpt", "deferred"),
        (421, "4.7.0 too busy", "mail", "deferred"),
        (451, "4.7.1 greylisted, try again later", "rcpt", "deferred"),
        (452, "4.2.2 mailbox full (quota)", "rcpt", "deferred"),
        (552, "5.2.2 mailbox over quota", "rcpt", "failed"),
        (550, "5.1.1 no such user", "rcpt", "failed"),
        (550, "no such user here", "rcpt", "failed"),
        (553, "mailbox name not allowed", "dot", "failed"),
        (554, "5.7.1 spam", "dot", "fatal"),
        (550, "5.7.1 relaying denied", "rcpt", "failed"),  # the run's consecutive-failure stop tells relay from address
        (550, "5.7.1 relaying denied", "mail", "fatal"),
        (535, "5.7.8 bad credentials", "auth", "fatal"),
        (554, "5.2.0 SubmissionQuotaExceededException", "dot", "fatal"),
        (550, "5.1.7 bad sender", "mail", "fatal"),
        (554, "message rejected", "dot", "fatal"),
    ],
)
def test_classify(code, text, phase, expected):
    enhanced = text.split()[0] if text[0].isdigit() else None
    assert classify(code, enhanced, text, phase) == expected


@given(st.lists(st.sampled_from([b"a", b".", b"\r", b"\n", b"\r\n", b"\n.", b"\xc5\x91"]), max_size=12).map(b"".join))
def test_a_message_made_crlf_where_it_was_built_is_sent_exactly_as_stuffed_here(msg):
    assert dot_stuff(CrlfOnly(crlf(msg))) == dot_stuff(msg)


def test_dot_stuffing():
    assert dot_stuff(b"a\n.b\r\n..c") == b"a\r\n..b\r\n...c\r\n.\r\n"


# -- other transports -------------------------------------------------------


def test_file_transport_writes_the_exact_bytes(tmp_path):
    msg = message("Kovacs.Janos@falu.example")
    with FileTransport(tmp_path / "outbox") as t:
        result = t.send(msg, FROM, "Kovacs.Janos@falu.example")
    assert result.status == "sent"
    assert (tmp_path / "outbox" / "Kovacs.Janos@falu.example.eml").read_bytes() == msg


def test_recording_transport_scripts_results():
    t = RecordingTransport({"A@x.example": [SendResult("deferred", 451)]})
    assert t.send(b"m", FROM, "a@x.example").status == "deferred"
    assert t.send(b"m", FROM, "a@x.example").status == "sent"
    assert len(t.attempts) == 2 and len(t.delivered) == 1


# -- pacing -----------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_rate_limiter_spaces_by_the_slowest_pace():
    clock = FakeClock()
    limiter = RateLimiter(
        [parse_rate("30/min"), parse_rate("5/s"), parse_rate("2000/day")], clock=clock, sleep=clock.sleep
    )
    waits = [limiter.acquire() for _ in range(4)]
    assert waits == [0.0, 2.0, 2.0, 2.0] and clock.now == 106.0


def test_rate_limiter_is_shared_by_parallel_sessions(smtp_server):
    limiter = RateLimiter([parse_rate("20/s")])
    granted: list[float] = []

    def worker(k: int) -> None:
        with transport(smtp_server) as t:
            for i in range(3):
                limiter.acquire()
                granted.append(time.monotonic())
                t.send(message(f"r{k}-{i}@x.example"), FROM, f"r{k}-{i}@x.example")

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(3)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(smtp_server.received) == 9
    # Nine sends, at most 20 a second over all three sessions.  Timed where the limiter lets each
    # send go: the server's receive times also hold how long each send took, which a loaded
    # machine stretches for one message and not another.
    granted.sort()
    assert granted[-1] - granted[0] >= 8 * 0.05 * 0.9


def test_daily_quota():
    quota = DailyQuota(3, used=1)
    assert [quota.take() for _ in range(3)] == [True, True, False]
    assert quota.remaining == 0
    assert DailyQuota(None, 5).take() and DailyQuota(None, 5).remaining is None


@given(st.integers(min_value=1, max_value=30), st.floats(min_value=0, max_value=1))
def test_backoff_delay_bounds(retry, jitter):
    policy = RetryPolicy(base=2.0, cap=60.0)
    full = min(60.0, 2.0 * 2 ** (retry - 1))
    assert full / 2 <= policy.delay(retry, lambda: jitter) <= full


# -- crash safety: the building blocks together ------------------------------------

SENDER = """
import sys
sys.path.insert(0, sys.argv[1])
from pathlib import Path
from lgp_mailer.ledger.runlock import RunLock
from lgp_mailer.ledger.store import open_ledger
from lgp_mailer.smtp.settings import SmtpSettings
from lgp_mailer.smtp.transport import SmtpTransport

ledger = open_ledger(Path(sys.argv[2]))
settings = SmtpSettings(host="127.0.0.1", port=int(sys.argv[3]), security="none", timeout=60)
with RunLock(ledger, "c", heartbeat_every=None), SmtpTransport(settings, local_hostname="x") as smtp:
    for row in ledger.due("c", "invitation"):
        if ledger.claim("c", "invitation", row.address, ["pending", "deferred"]):
            msg = f"Message-ID: {row.message_id}\\r\\nSubject: x\\r\\n\\r\\nhi\\r\\n".encode()
            result = smtp.send(msg, "titkarsag@lgp.example", row.address)
            ledger.record("c", "invitation", row.address, result.status, result.code, result.enhanced, result.reply)
print("done", flush=True)
"""


@pytest.mark.slow
def test_sender_killed_while_the_server_holds_its_reply(smtp_server, tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    from lgp_mailer.ledger.runlock import RunLock
    from lgp_mailer.ledger.store import Entry, open_ledger

    root = Path(__file__).resolve().parents[1]
    db = tmp_path / "log.sqlite3"
    addresses = [f"r{i}@x.example" for i in range(4)]
    with open_ledger(db) as ledger:
        ledger.sync("c", "invitation", [Entry(a, i, message_id=f"<{i}@lgp.example>") for i, a in enumerate(addresses)])
    hold = smtp_server.handler.hold(2)  # the second message: in, but no reply yet
    proc = subprocess.Popen([sys.executable, "-c", SENDER, str(root), str(db), str(smtp_server.port)])
    try:
        assert hold.reached.wait(30)
        proc.kill()  # SIGKILL mid-transaction: no cleanup, no record
        proc.wait()
    finally:
        proc.kill()
        proc.wait()
    hold.release("250 2.0.0 queued")  # the server did take it
    with open_ledger(db) as ledger:
        assert ledger.get("c", "invitation", addresses[1]).status == "sending"
        with RunLock(ledger, "c", heartbeat_every=None) as lock:
            assert lock.took_over is not None
            assert ledger.recover_interrupted("c", "invitation") == 1
            rerun = [r.address for r in ledger.due("c", "invitation")]
        statuses = {r.address: r.status for r in ledger.rows("c", "invitation")}
    assert statuses == {addresses[0]: "sent", addresses[1]: "unknown", addresses[2]: "pending", addresses[3]: "pending"}
    assert rerun == addresses[2:]  # the unknown one is not resent without --resend-unknown
    deadline = time.monotonic() + 10
    while len(smtp_server.received) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [m.rcpt_tos for m in smtp_server.received] == [[addresses[0]], [addresses[1]]]


def test_the_password_never_reaches_the_ledger(smtp_server_factory, tmp_path):
    from lgp_mailer.ledger.store import Entry, open_ledger

    server = smtp_server_factory(security="starttls", users={"lgp": PASSWORD})
    db = tmp_path / "log.sqlite3"
    with open_ledger(db) as ledger:
        ledger.sync("c", "invitation", [Entry("a@x.example", 1)])
        settings = dict(username="lgp", auth_method="password", cafile=server.cafile)
        for secret in (Secret(PASSWORD[::-1], "test"), Secret(PASSWORD, "test")):  # wrong, then right
            assert ledger.claim("c", "invitation", "a@x.example", ["pending", "deferred"])
            t = transport(server, secret, **settings)
            result = t.send(message("a@x.example"), FROM, "a@x.example")
            t.close()
            status = "deferred" if result.status == "fatal" else result.status
            ledger.record("c", "invitation", "a@x.example", status, result.code, result.enhanced, result.reply)
        assert ledger.get("c", "invitation", "a@x.example").status == "sent"
    files = [db, *db.parent.glob("log.sqlite3-*")]
    for path in files:
        data = path.read_bytes()
        for secret_text in (PASSWORD, PASSWORD[::-1]):
            assert secret_text.encode("utf-8") not in data


# -- pipelining, against a server that answers nothing before the client's DATA ----------------


class _WaitForData(threading.Thread):
    """One session on a raw socket: offers PIPELINING and does not answer MAIL until the
    client's DATA has arrived too, so a client that waits for each reply hangs (and times
    out).  ``replies``: to MAIL, RCPT and DATA; after a 354 the body and its final reply."""

    def __init__(self, replies: tuple[bytes, ...], *, hang_up: bool = False) -> None:
        super().__init__(daemon=True)
        self.replies = replies
        self.hang_up = hang_up  # close the connection right after the replies
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.envelope = b""  # MAIL, RCPT and DATA as they came, before any reply
        self.after = b""  # what came after the replies: the body, or nothing when hung up on

    def run(self) -> None:
        conn, _addr = self.listener.accept()
        with conn, conn.makefile("rb") as lines:
            conn.sendall(b"220 sink.example ESMTP\r\n")
            lines.readline()  # EHLO
            conn.sendall(b"250-sink.example\r\n250-PIPELINING\r\n250 8BITMIME\r\n")
            while not self.envelope.endswith(b"DATA\r\n"):
                self.envelope += lines.readline()
            conn.sendall(b"".join(self.replies))
            if self.hang_up:
                return
            for line in lines:
                self.after += line
                if line == b".\r\n":
                    conn.sendall(b"250 2.0.0 queued as 1\r\n")
                elif line.upper() == b"QUIT\r\n":
                    conn.sendall(b"221 bye\r\n")
                    return


def test_pipelining_sends_the_envelope_in_one_round_trip():
    server = _WaitForData((b"250 2.1.0 ok\r\n", b"250 2.1.5 ok\r\n", b"354 go ahead\r\n"))
    server.start()
    settings = SmtpSettings(host="127.0.0.1", port=server.port, security="none", timeout=2.0)
    with SmtpTransport(settings, local_hostname="lgp-test.localhost") as t:
        result = t.send(message("a@x.example"), FROM, "a@x.example")
    server.join(5)
    assert (result.status, result.code, result.enhanced) == ("sent", 250, "2.0.0")
    assert server.envelope == (f"MAIL FROM:<{FROM}> BODY=8BITMIME\r\nRCPT TO:<a@x.example>\r\nDATA\r\n").encode()
    assert server.after == dot_stuff(message("a@x.example")) + b"quit\r\n"  # smtplib says it so


def _refused_pipelined(replies: tuple[bytes, ...], *, hang_up: bool = False) -> tuple[SmtpTransport, SendResult, bytes]:
    """One message through a pipelining server that gives ``replies``: the transport, the result, and what
    the server read after its replies (the body, or nothing)."""
    server = _WaitForData(replies, hang_up=hang_up)
    server.start()
    settings = SmtpSettings(host="127.0.0.1", port=server.port, security="none", timeout=2.0)
    t = SmtpTransport(settings, local_hostname="lgp-test.localhost")
    t.open()
    result = t.send(message("a@x.example"), FROM, "a@x.example")
    server.join(5)
    return t, result, server.after


def test_pipelining_a_354_after_a_refused_rcpt_is_hung_up_on_without_a_body():
    t, result, after = _refused_pipelined((b"250 2.1.0 ok\r\n", b"550 5.1.1 no such user\r\n", b"354 go ahead\r\n"))
    assert (result.status, result.phase, result.code, result.enhanced) == ("failed", "rcpt", 550, "5.1.1")
    assert t.smtp is None and after == b""  # no body, no final dot: nothing can be delivered


def test_pipelining_a_421_to_mail_and_a_hang_up_is_the_421_not_a_lost_connection():
    t, result, after = _refused_pipelined((b"421 4.7.0 too many messages from you, closing\r\n",), hang_up=True)
    assert (result.status, result.phase, result.code, result.enhanced) == ("deferred", "mail", 421, "4.7.0")
    assert "too many messages from you" in result.reply
    assert t.smtp is None and after == b""


class _OneCommandAtATime(threading.Thread):
    """Offers PIPELINING but reads one command per packet and drops the rest of it, as a
    broken filter in front of a relay does: pipelined RCPT and DATA are never answered."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.bodies: list[bytes] = []

    def run(self) -> None:
        with self.listener:
            for _session in range(2):
                conn, _addr = self.listener.accept()
                with conn:
                    self._session(conn)

    def _session(self, conn: socket.socket) -> None:
        conn.sendall(b"220 filter.example ESMTP\r\n")
        while packet := conn.recv(65536):
            command = packet.split(b"\r\n", 1)[0].upper()  # the rest of the packet is lost
            if command.startswith(b"EHLO"):
                conn.sendall(b"250-filter.example\r\n250-PIPELINING\r\n250 8BITMIME\r\n")
            elif command.startswith(b"DATA"):
                conn.sendall(b"354 go ahead\r\n")
                body = b""
                while not body.endswith(b"\r\n.\r\n"):
                    body += conn.recv(65536)
                self.bodies.append(body)
                conn.sendall(b"250 2.0.0 queued\r\n")
            elif command.startswith(b"QUIT"):
                conn.sendall(b"221 bye\r\n")
                return
            else:
                conn.sendall(b"250 2.0.0 ok\r\n")


def test_a_server_lying_about_pipelining_is_spoken_to_step_by_step_after_one_timeout():
    server = _OneCommandAtATime()
    server.start()
    settings = SmtpSettings(host="127.0.0.1", port=server.port, security="none", timeout=0.5)
    waits: list[float] = []
    with SmtpTransport(settings, local_hostname="lgp-test.localhost") as t:
        result = send_with_retry(t, message("a@x.example"), FROM, "a@x.example", sleep=waits.append)
        assert (result.status, result.code, len(waits)) == ("sent", 250, 1)
        assert t.pipelining is False
    server.join(5)
    assert server.bodies == [dot_stuff(message("a@x.example"))]  # once: the pipelined try sent no body


def test_a_message_over_the_servers_size_limit_is_refused_before_mail(smtp_server_factory):
    server = smtp_server_factory(data_size_limit=200)
    msg = message("a@x.example")
    with transport(server) as t:
        result = t.send(msg, FROM, "a@x.example")
    assert (result.status, result.phase, result.code) == ("fatal", "mail", None)
    assert result.line == f"the message is {len(msg)} bytes, over the server's SIZE limit of 200 bytes"
    assert server.handler.mail_count == 0 and server.handler.data_count == 0 and server.received == []
