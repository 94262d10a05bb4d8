"""`lgp-mailer send` end to end: the CLI in-process over real sockets to a
scriptable aiosmtpd server on 127.0.0.1, with the sent log checked row by row.

The subprocess tests (crash safety, concurrent runs, SIGTERM/SIGINT) live in
``test_send_crash.py`` and reuse the campaign helpers defined here.
"""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import sys
import tomllib
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lgp_mailer.cli import app
from lgp_mailer.ledger.store import LedgerRow, open_ledger

from sheets_factory import HEADER, write_xlsx
from smtp_server import DROP, SmtpTestServer

runner = CliRunner()
# Sends the shipped example conference (18 June 2020): on a clock set before it.
pytestmark = pytest.mark.usefixtures("before_the_example_conference")

FROM = "meghivo@lgp.example.org"
FROM_HEADER = "Legjobb Önkormányzati Gyakorlatok Programja <meghivo@lgp.example.org>"
REPLY_TO = "programiroda@lgp.example.org"
PASSWORD = "Sz3cr3t-jelszó-hunter2"
# The shipped example sheet: 8 rows, the joint office of Bikal and Mágocs merged into one letter.
EXAMPLE = [
    ("polgarmester@alsomocsolad.example", "Kiss Ödön <polgarmester@alsomocsolad.example>"),
    ("polgarmester@hernadszentandras.example", '"Dr. Szűcs Erzsébet" <polgarmester@hernadszentandras.example>'),
    ("jegyzo@kozoshivatal-bikal.example", "Fehérné Győri Ilona <jegyzo@kozoshivatal-bikal.example>"),
    ("alpolgarmester@orseg-proba.example", '"ifj. Tóth Ferenc" <alpolgarmester@orseg-proba.example>'),
    ("polgarmester@ujfeherto-proba.example", "Nagy Andrea <polgarmester@ujfeherto-proba.example>"),
    ("hivatal@urom-proba.example", "hivatal@urom-proba.example"),
    ("jegyzo@zalaszentgyorgy-proba.example", "Horváth Lászlóné <jegyzo@zalaszentgyorgy-proba.example>"),
]
ADDRESSES = [a for a, _ in EXAMPLE]
STATUSES = ("pending", "sending", "sent", "deferred", "failed", "unknown", "invalid", "suppressed")


# -- helpers shared with test_send_crash.py ------------------------------------


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(str(value), ensure_ascii=False)  # a TOML basic string


def people(n: int, domain: str = "falu.example") -> list[list[str]]:
    """``n`` sheet rows (one recipient each), in the order they must be sent."""
    return [
        ["Baranya", f"Próbafalu {i:02d}", "Kovács Péter", "polgármester", "F", f"polgarmester{i:02d}@{domain}"]
        for i in range(1, n + 1)
    ]


@dataclass
class Camp:
    root: Path
    campaign_id: str
    addresses: list[str]

    @property
    def db(self) -> Path:
        return Path(os.environ["LGP_MAILER_DB"])

    def rows(self) -> dict[str, LedgerRow]:
        with open_ledger(self.db) as ledger:
            return {r.address: r for r in ledger.rows(self.campaign_id, "invitation")}

    def states(self) -> dict[str, str]:
        return {a: r.status for a, r in self.rows().items()}

    def counts(self) -> dict[str, int]:
        with open_ledger(self.db) as ledger:
            return ledger.counts(self.campaign_id, "invitation")

    def set_smtp(self, **smtp: object) -> None:
        path = self.root / "lgp-mailer.toml"
        text = path.read_text(encoding="utf-8")
        text = (
            text[: text.index("[smtp]")]
            + "[smtp]\n"
            + "".join(f"{k} = {_toml_value(v)}\n" for k, v in smtp.items() if v is not None)
        )
        path.write_text(text, encoding="utf-8")


def counts(**nonzero: int) -> dict[str, int]:
    return {s: nonzero.get(s, 0) for s in STATUSES}


def smtp_table(server: SmtpTestServer | None, **extra: object) -> dict[str, object]:
    table: dict[str, object] = {
        "host": "127.0.0.1",
        "security": "none",
        "timeout": 5,
        "retries": 3,
        "retry_delay": 0.01,
    }
    if server is not None:
        table.update(port=server.port, security=server.security)
    table.update(extra)
    return table


def make_campaign(
    base: Path,
    server: SmtpTestServer | None,
    *,
    rows: list[list[str]] | None = None,
    name: str = "kampany",
    **smtp: object,
) -> Camp:
    """``lgp-mailer init`` a campaign folder whose [smtp] table points at ``server``."""
    root = base / name
    result = runner.invoke(app, ["init", str(root), "--example"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    config = root / "lgp-mailer.toml"
    addresses = ADDRESSES
    if rows is not None:
        write_xlsx(root / "recipients" / "lista.xlsx", {"Lista": [HEADER, *rows]})
        text = config.read_text(encoding="utf-8")
        text = re.sub(r'(?m)^recipients = ".*"$', 'recipients = "recipients/lista.xlsx"', text)
        config.write_text(text, encoding="utf-8")
        addresses = [r[5] for r in rows]
    campaign_id = tomllib.loads(config.read_text(encoding="utf-8"))["campaign_id"]
    camp = Camp(root, campaign_id, addresses)
    camp.set_smtp(**smtp_table(server, **smtp))
    return camp


def send(camp: Camp, *args: str, input: str | None = None):
    return runner.invoke(app, ["send", "--campaign", str(camp.root), *args], input=input, catch_exceptions=False)


def parse(data: bytes) -> EmailMessage:
    return BytesParser(policy=policy.default).parsebytes(data)  # type: ignore[return-value]


def rcpts(server: SmtpTestServer) -> list[str]:
    out = []
    for message in server.received:
        assert len(message.rcpt_tos) == 1
        out.append(message.rcpt_tos[0])
    return out


def one_error_line(result) -> str:
    """The error output is exactly one line, without a traceback."""
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


def _anatomy(data: bytes) -> list[tuple]:
    """A message as (headers, decoded payload) per MIME part, without what differs
    between two renderings: Date, MIME boundaries and the calendar's DTSTAMP."""
    out = []
    for part in parse(data).walk():
        headers = [(k, re.sub(r'boundary="[^"]*"', "boundary=X", str(v))) for k, v in part.items() if k != "Date"]
        payload = None if part.is_multipart() else part.get_payload(decode=True)
        if part.get_content_type() == "text/calendar":
            payload = re.sub(rb"DTSTAMP:\d{8}T\d{6}Z", b"DTSTAMP:X", payload)
        out.append((headers, payload))
    return out


# -- 1. plain, STARTTLS, AUTH ------------------------------------------------------


def assert_delivered_as_previewed(camp: Camp, server: SmtpTestServer, tmp_path: Path) -> None:
    """Every recipient got exactly the previewed letter, with the ledger's Message-ID."""
    assert rcpts(server) == camp.addresses  # sheet order, one each
    preview = tmp_path / "preview-check"
    result = runner.invoke(
        app, ["preview", "--campaign", str(camp.root), "--out", str(preview)], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    emls = sorted(preview.glob("*.eml"))
    rows = camp.rows()
    for (address, to), received, eml in zip(EXAMPLE, server.received, emls, strict=True):
        assert received.mail_from == FROM
        message = parse(received.data)
        assert message["From"] == FROM_HEADER
        assert message["To"] == to
        assert message["Reply-To"] == REPLY_TO
        assert message["Message-ID"] == rows[address].message_id
        assert message["Subject"] == (
            "Meghívó: Önkormányzati innovációk és jó gyakorlatok – online konferencia, "
            "2020. június 18. (csütörtök) 10.00"
        )
        assert message["Date"] is not None
        assert _anatomy(received.data) == _anatomy(eml.read_bytes())  # the previewed letter, byte for byte


def test_plain_delivers_every_letter_once_and_logs_it_sent(smtp_server, tmp_path):
    camp = make_campaign(tmp_path, smtp_server)
    result = send(camp, "--yes")
    assert result.exit_code == 0, result.output
    assert_delivered_as_previewed(camp, smtp_server, tmp_path)
    assert len({m.session for m in smtp_server.received}) == 1  # one session for all seven
    assert camp.counts() == counts(sent=7)
    for row in camp.rows().values():
        assert (row.status, row.attempts, row.last_code) == ("sent", 1, 250)
        assert row.sent_at is not None
    assert "This run: sent 7\nSent log: sent 7\nNext: everything is sent\n" in result.stdout
    assert result.stderr == ""


@pytest.mark.parametrize("cafile_via", ["flag", "toml"])
def test_starttls_with_password_auth(smtp_server_factory, tmp_path, monkeypatch, cafile_via):
    server = smtp_server_factory(security="starttls", users={"lgp": PASSWORD})
    extra = {"cafile": str(server.cafile)} if cafile_via == "toml" else {}
    camp = make_campaign(tmp_path, server, username="lgp", auth="password", **extra)
    monkeypatch.setenv("LGP_SMTP_PASSWORD", PASSWORD)
    args = ["--cafile", str(server.cafile)] if cafile_via == "flag" else []
    result = send(camp, "--yes", *args)
    assert result.exit_code == 0, result.output
    assert_delivered_as_previewed(camp, server, tmp_path)
    assert all(m.tls and m.login == "lgp" for m in server.received)
    assert server.handler.logins == [("PLAIN", "lgp", True)]  # one session, one login
    assert f"Server:     127.0.0.1:{server.port} (starttls), auth password as lgp" in result.stdout
    assert camp.counts() == counts(sent=7)
    assert PASSWORD not in result.output


# -- 2. batches -----------------------------------------------------------------------


def test_batches_send_exactly_n_in_sheet_order_then_nothing_is_due(smtp_server, tmp_path):
    camp = make_campaign(tmp_path, smtp_server)
    expected_states = dict.fromkeys(ADDRESSES, "pending")
    for start, stop in ((0, 3), (3, 6), (6, 7)):
        result = send(camp, "--yes", "--batch", "3")
        assert result.exit_code == 0, result.output
        assert rcpts(smtp_server) == ADDRESSES[:stop]
        expected_states.update(dict.fromkeys(ADDRESSES[start:stop], "sent"))
        assert camp.states() == expected_states
        assert f"this run sends {stop - start}" in result.stdout
    assert "Next: everything is sent" in result.stdout
    result = send(camp, "--yes")
    assert result.exit_code == 3  # documented: nothing is due
    assert result.stdout.endswith(
        "Nothing is due: every recipient has been sent to or needs a decision (see below).\nNext: everything is sent\n"
    )
    assert rcpts(smtp_server) == ADDRESSES
    assert camp.counts() == counts(sent=7)
    # Every Message-ID of the three batches is the ledger's, and all differ.
    ids = [parse(m.data)["Message-ID"] for m in smtp_server.received]
    assert ids == [camp.rows()[a].message_id for a in ADDRESSES] and len(set(ids)) == 7


# -- 3. transient trouble ---------------------------------------------------------------


def test_transient_replies_and_drops_end_with_everything_delivered_once(smtp_server, tmp_path):
    rows = people(10)
    camp = make_campaign(tmp_path, smtp_server, rows=rows, retries=2, max_consecutive_failures=5)
    a = camp.addresses
    h = smtp_server.handler
    h.reply_rcpt(a[1], "451 4.3.0 Temporary local problem")  # retried within the run
    h.reply_rcpt(a[3], DROP)  # connection dropped at RCPT: reconnect, retry
    h.reply_rcpt(a[5], "451 4.7.1 Greylisted, try again later", "451 4.7.1 Greylisted, try again later")
    h.reply_rcpt(a[8], "421 4.3.2 Service shutting down", "421 4.3.2 Service shutting down")
    h.reply_data(7, "421 4.3.2 Closing, try again")  # a[7]: refused after the final dot, retried
    result = send(camp, "--yes")
    assert result.exit_code == 1, result.output  # deferred ones: problems
    deferred = {a[5], a[8]}
    states = camp.states()
    assert states == {x: "deferred" if x in deferred else "sent" for x in a}
    rows_after = camp.rows()
    assert rows_after[a[5]].last_code == 451 and rows_after[a[5]].last_enhanced == "4.7.1"
    assert "Greylisted" in rows_after[a[5]].last_reply
    assert rows_after[a[8]].last_code == 421
    assert f"deferred {a[5]} – 451 4.7.1 Greylisted, try again later" in result.stdout
    assert "This run: sent 8, deferred 2" in result.stdout
    assert "2 messages still due" in result.stdout
    # The next run retries the deferred ones and nothing else.
    result = send(camp, "--yes")
    assert result.exit_code == 0, result.output
    assert sorted(rcpts(smtp_server)) == sorted(a)  # everything delivered, exactly once
    assert len({m.session for m in smtp_server.received}) >= 3  # reconnected after each drop and 421
    assert camp.counts() == counts(sent=10)
    assert {x: r.attempts for x, r in camp.rows().items() if r.attempts != 1} == {a[5]: 2, a[8]: 2}
    for message in smtp_server.received:
        assert parse(message.data)["Message-ID"] == camp.rows()[message.rcpt_tos[0]].message_id


# -- 4. permanent refusals about the recipient --------------------------------------------


def test_550_511_recipients_fail_the_rest_go_and_retry_failed_resends_them(smtp_server, tmp_path):
    camp = make_campaign(tmp_path, smtp_server)
    bad = [ADDRESSES[1], ADDRESSES[4]]
    for address in bad:
        smtp_server.handler.reply_rcpt(address, f"550 5.1.1 <{address}>: Recipient address rejected: User unknown")
    result = send(camp, "--yes")
    assert result.exit_code == 1, result.output
    assert rcpts(smtp_server) == [a for a in ADDRESSES if a not in bad]
    assert len({m.session for m in smtp_server.received}) == 1  # RSET after a refusal, the session goes on
    assert camp.states() == {a: "failed" if a in bad else "sent" for a in ADDRESSES}
    row = camp.rows()[bad[0]]
    assert (row.last_code, row.last_enhanced, row.attempts) == (550, "5.1.1", 1)
    assert row.last_reply == f"550 5.1.1 <{bad[0]}>: Recipient address rejected: User unknown"
    assert "This run: sent 5, failed 2" in result.stdout
    # The hint repeats the flags the run needed: here --campaign.
    assert (
        "Next: 2 failed permanently: fix the addresses in the sheet, then "
        f"'lgp-mailer send --campaign {camp.root} --retry-failed'"
    ) in result.stdout
    # Without --retry-failed they stay failed: nothing is due, and the way on is named.
    result = send(camp, "--yes")
    assert result.exit_code == 3
    assert result.stdout.endswith(
        "Next: 2 failed permanently: fix the addresses in the sheet, then "
        f"'lgp-mailer send --campaign {camp.root} --retry-failed'\n"
    )
    result = send(camp, "--yes", "--retry-failed")
    assert result.exit_code == 0, result.output
    assert rcpts(smtp_server) == [a for a in ADDRESSES if a not in bad] + bad
    assert camp.counts() == counts(sent=7)
    for message in smtp_server.received[-2:]:
        assert parse(message.data)["Message-ID"] == camp.rows()[message.rcpt_tos[0]].message_id
    assert [camp.rows()[a].attempts for a in bad] == [2, 2]


# -- 5. refusals about the sender or the account stop the run -----------------------------


@pytest.mark.parametrize(
    "where, reply",
    [
        ("rcpt", "550 5.4.5 Daily user sending quota exceeded"),
        ("mail", "550 5.4.5 Daily user sending quota exceeded"),
        ("mail", "452 4.5.3 Your outbound message quota is exhausted"),
    ],
)
def test_policy_or_quota_reply_stops_the_run_at_once(smtp_server, tmp_path, where, reply):
    camp = make_campaign(tmp_path, smtp_server)
    if where == "rcpt":
        smtp_server.handler.reply_rcpt(ADDRESSES[2], reply)
    else:
        smtp_server.handler.reply_mail("", "", reply)  # the third MAIL FROM
    result = send(camp, "--yes")
    assert result.exit_code == 1, result.output
    assert rcpts(smtp_server) == ADDRESSES[:2]
    assert camp.states() == {
        **dict.fromkeys(ADDRESSES[:2], "sent"),
        ADDRESSES[2]: "deferred",
        **dict.fromkeys(ADDRESSES[3:], "pending"),
    }
    refused = camp.rows()[ADDRESSES[2]]
    assert (refused.last_code, refused.last_reply, refused.attempts) == (int(reply[:3]), reply, 1)
    assert all(camp.rows()[a].attempts == 0 for a in ADDRESSES[3:])  # untouched
    assert smtp_server.handler.mail_count == 3  # nothing tried after the refusal
    # The refused row is left 'deferred', and the run names it (issue 15).
    assert result.stderr == (
        f"Stopped: 127.0.0.1:{smtp_server.port} refused: {reply}\nOutstanding: deferred 1 ({ADDRESSES[2]})\n"
    )
    assert "Traceback" not in result.output


# -- 6. configuration errors: nothing sent, nothing claimed ---------------------------------


def test_wrong_password_exit_2_nothing_sent_nothing_claimed(smtp_server_factory, tmp_path, monkeypatch):
    server = smtp_server_factory(security="starttls", users={"lgp": PASSWORD})
    camp = make_campaign(tmp_path, server, username="lgp", auth="password", cafile=str(server.cafile))
    monkeypatch.setenv("LGP_SMTP_PASSWORD", "rossz-jelszó")
    result = send(camp, "--yes")
    assert result.exit_code == 2, result.output
    line = one_error_line(result)
    assert line.startswith(f"lgp-mailer: error: 127.0.0.1:{server.port}: authentication failed for lgp: 535")
    assert "rossz-jelszó" not in result.output
    assert server.received == [] and server.handler.mail_count == 0
    assert server.handler.logins == [("PLAIN", "lgp", False)]
    assert camp.counts() == counts(pending=7)
    assert all(r.attempts == 0 for r in camp.rows().values())


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_untrusted_certificate_exit_2_nothing_sent(smtp_server_factory, tmp_path, security):
    server = smtp_server_factory(security=security)
    camp = make_campaign(tmp_path, server)  # no cafile: the trustme CA is not trusted
    result = send(camp, "--yes")
    assert result.exit_code == 2, result.output
    line = one_error_line(result)
    assert line.startswith(f"lgp-mailer: error: 127.0.0.1:{server.port}: the server's certificate is not trusted")
    assert line.endswith(
        "; to fix: trust the server's certificate authority: "
        "[smtp] cafile in lgp-mailer.toml, or LGP_SMTP_CAFILE in the environment, or --cafile"
    )
    assert server.received == [] and server.handler.mail_count == 0
    assert camp.counts() == counts(pending=7)


def test_auth_over_plaintext_to_a_remote_host_is_refused_before_connecting(tmp_path, monkeypatch):
    connects = []
    real = socket.create_connection
    monkeypatch.setattr(socket, "create_connection", lambda *a, **k: connects.append(a) or real(*a, **k))
    camp = make_campaign(
        tmp_path,
        None,
        host="smtp.lgp.example.org",
        port=25,
        security="none",
        insecure=True,
        username="lgp",
        auth="password",
    )
    monkeypatch.setenv("LGP_SMTP_PASSWORD", PASSWORD)
    result = send(camp, "--yes")
    assert result.exit_code == 2, result.output
    line = one_error_line(result)
    assert line == (
        "lgp-mailer: error: key 'smtp.security': refusing to send a password "
        "or token in clear text to smtp.lgp.example.org; use starttls or tls"
    )
    assert connects == []
    assert camp.counts() == counts()  # refused even before the sent log was opened


def test_security_none_to_a_remote_host_needs_insecure(tmp_path):
    camp = make_campaign(tmp_path, None, host="smtp.lgp.example.org", port=25, security="none")
    result = send(camp, "--yes")
    assert result.exit_code == 2, result.output
    assert one_error_line(result) == (
        "lgp-mailer: error: key 'smtp.security': security 'none' sends in clear text "
        "to smtp.lgp.example.org; allowed only for localhost or with --insecure"
    )
    assert camp.counts() == counts()


# -- 9. the password never leaks ---------------------------------------------------------


def test_the_password_appears_in_no_output_log_ledger_or_file(smtp_server_factory, tmp_path, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    server = smtp_server_factory(security="starttls", users={"lgp": PASSWORD})
    camp = make_campaign(tmp_path, server, username="lgp", auth="password", cafile=str(server.cafile))
    outputs = []
    wrong = PASSWORD[::-1]
    monkeypatch.setenv("LGP_SMTP_PASSWORD", wrong)
    outputs.append(send(camp, "--yes"))  # refused: exit 2
    assert outputs[-1].exit_code == 2
    monkeypatch.setenv("LGP_SMTP_PASSWORD", PASSWORD)
    outputs.append(runner.invoke(app, ["config", "--campaign", str(camp.root)], catch_exceptions=False))
    outputs.append(runner.invoke(app, ["--debug", "config", "--campaign", str(camp.root)], catch_exceptions=False))
    outputs.append(
        runner.invoke(
            app, ["preview", "--campaign", str(camp.root), "--out", str(camp.root / "preview")], catch_exceptions=False
        )
    )
    outputs.append(send(camp, "--dry-run"))
    outputs.append(send(camp, "--test-to", "proba@lgp.example.org"))
    outputs.append(send(camp, "--yes", "--batch", "2"))
    server.handler.reply_rcpt(ADDRESSES[3], "550 5.1.1 User unknown")
    outputs.append(send(camp, "--yes"))
    assert [r.exit_code for r in outputs] == [2, 0, 0, 0, 0, 0, 0, 1]
    assert len(server.received) == 1 + 6 and camp.counts() == counts(sent=6, failed=1)
    secrets = [PASSWORD, wrong]
    encodings = [s.encode("utf-8") for s in secrets] + [
        __import__("base64").b64encode(f"\0lgp\0{s}".encode()) for s in secrets
    ]
    for result in outputs:
        for s in secrets:
            assert s not in result.output
    for s in secrets:
        assert s not in caplog.text
    files = [p for p in [*camp.root.rglob("*"), *camp.db.parent.glob(camp.db.name + "*")] if p.is_file()]
    assert any(p.suffix == ".eml" for p in files) and any("outbox" in p.parts for p in files)
    for path in files:
        data = path.read_bytes()
        for needle in encodings:
            assert needle not in data, path
    for message in server.received:
        for needle in encodings:
            assert needle not in message.data


# -- 10. dry run and proof -------------------------------------------------------------


def test_dry_run_writes_the_outbox_and_changes_nothing(smtp_server, tmp_path):
    camp = make_campaign(tmp_path, smtp_server)
    result = send(camp, "--dry-run")
    assert result.exit_code == 0, result.output
    outbox = camp.root / "outbox" / "invitation"
    assert f"Dry run: 7 messages written to {outbox}; nothing sent, no message marked as sent." in result.stdout
    emls = sorted(outbox.glob("*.eml"))
    assert [parse(p.read_bytes())["To"] for p in emls] == [to for _, to in EXAMPLE]
    rows = camp.rows()
    assert [parse(p.read_bytes())["Message-ID"] for p in emls] == [rows[a].message_id for a in ADDRESSES]
    assert camp.counts() == counts(pending=7)
    assert all(r.attempts == 0 for r in rows.values())
    assert server_untouched(smtp_server)
    # --batch limits the dry run too
    result = send(camp, "--dry-run", "--batch", "2")
    assert "Dry run: 2 messages" in result.stdout
    assert len(list(outbox.glob("*.eml"))) == 2  # the earlier dry run's letters are gone
    # the real run then sends the very same letters
    assert send(camp, "--yes").exit_code == 0
    assert [parse(m.data)["Message-ID"] for m in smtp_server.received] == [rows[a].message_id for a in ADDRESSES]


def test_dry_run_names_the_rows_held_back_as_a_send_would(smtp_server, tmp_path):
    # The rehearsal said "2 messages written" and nothing of the row that will never go.
    rows = [*people(2), ["Baranya", "Próbafalu 03", "Kovács Péter", "polgármester", "F", "pm at falu.example"]]
    camp = make_campaign(tmp_path, smtp_server, rows=rows)
    result = send(camp, "--dry-run")
    assert result.exit_code == 0, result.output
    outbox = camp.root / "outbox" / "invitation"
    assert result.stdout.splitlines()[-2:] == [
        f"Dry run: 2 messages written to {outbox}; nothing sent, no message marked as sent.",
        f"Next: 1 invalid in the sheet: 'lgp-mailer check --campaign {camp.root}' lists them",
    ]
    assert camp.counts() == counts(pending=2, invalid=1)
    assert server_untouched(smtp_server)


def server_untouched(server: SmtpTestServer) -> bool:
    return server.received == [] and server.handler.mail_count == 0


def test_test_to_sends_one_proof_with_its_own_message_id_not_logged(smtp_server, tmp_path):
    camp = make_campaign(tmp_path, smtp_server)
    result = send(camp, "--test-to", "proba@lgp.example.org", "--email", ADDRESSES[2])
    assert result.exit_code == 0, result.output
    assert result.stdout.endswith(
        f"Proof of the message to {ADDRESSES[2]} sent to proba@lgp.example.org: "
        "250 2.0.0 OK. Nothing was recorded in the sent log.\n"
    )
    assert rcpts(smtp_server) == ["proba@lgp.example.org"]
    proof = parse(smtp_server.received[0].data)
    assert proof["To"] == "proba@lgp.example.org"
    assert send(camp, "--yes").exit_code == 0  # the real run: every recipient, the proofed one too
    assert rcpts(smtp_server) == ["proba@lgp.example.org", *ADDRESSES]
    rows = camp.rows()
    assert proof["Message-ID"] not in {r.message_id for r in rows.values()}
    assert camp.counts() == counts(sent=7)
    assert all(r.attempts == 1 for r in rows.values())


# -- 12. no terminal, no --yes ----------------------------------------------------------------


def test_no_terminal_and_no_yes_refuses(smtp_server, tmp_path):
    camp = make_campaign(tmp_path, smtp_server)
    result = send(camp, input="y\n")  # stdin is not a terminal: an answer there must not count
    assert result.exit_code == 2, result.output
    assert one_error_line(result) == (
        "lgp-mailer: error: key '--yes': not confirmed: no terminal to ask on; add --yes to send without asking"
    )
    assert server_untouched(smtp_server)
    assert all(r.attempts == 0 and r.status == "pending" for r in camp.rows().values())


# -- 13. consecutive failures ---------------------------------------------------------------


def test_consecutive_failures_stop_the_run(smtp_server, tmp_path):
    camp = make_campaign(tmp_path, smtp_server, retries=1, max_consecutive_failures=3)
    # At MAIL FROM, trouble with the relay; a 4xx at RCPT concerns one address and
    # no longer counts towards the stop (issue 15, test_hostile_send.py).
    smtp_server.handler.reply_mail(*["451 4.3.0 Relay temporarily unavailable"] * 7)
    result = send(camp, "--yes")
    assert result.exit_code == 1, result.output
    assert camp.states() == {**dict.fromkeys(ADDRESSES[:3], "deferred"), **dict.fromkeys(ADDRESSES[3:], "pending")}
    assert smtp_server.handler.mail_count == 3 and smtp_server.received == []
    assert result.stderr == (
        "Stopped: 3 messages in a row were not delivered (last: 451 4.3.0 Relay temporarily "
        "unavailable); stopping so a broken relay does not burn through the list\n"
        f"Outstanding: deferred 3 ({', '.join(ADDRESSES[:3])})\n"
    )


# -- no terminal: no prompt for the password either ------------------------------------------


def test_no_terminal_and_no_password_fails_instead_of_prompting(smtp_server_factory, tmp_path, monkeypatch):
    """cron runs with --yes: a password prompt on a non-terminal would read stdin
    (or hit its end and abort); the documented behaviour is a one-line error."""
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    server = smtp_server_factory(security="starttls", users={"lgp": PASSWORD})
    camp = make_campaign(tmp_path, server, username="lgp", auth="password", cafile=str(server.cafile))
    result = send(camp, "--yes", input=PASSWORD + "\n")  # whatever stdin holds is not a terminal
    assert result.exit_code == 2, result.output
    line = one_error_line(result)
    assert line.startswith(
        f"lgp-mailer: error: 127.0.0.1:{server.port}: no SMTP password for lgp: set LGP_SMTP_PASSWORD"
    )
    assert line.endswith("not prompting in non-interactive mode")
    assert "SMTP password for lgp at" not in result.output  # no prompt shown
    assert server_untouched(server)
    assert all(r.attempts == 0 for r in camp.rows().values())


# -- no reply after the final dot: unknown, never resent silently --------------------------------


def test_no_reply_after_the_final_dot_is_unknown_and_not_resent(smtp_server, tmp_path):
    camp = make_campaign(tmp_path, smtp_server, timeout=0.5)
    hold = smtp_server.handler.hold(2)  # the server takes it but answers too late
    smtp_server.handler.reply_data(4, DROP)  # ... and hangs up after the fourth's final dot
    result = send(camp, "--yes")
    assert result.exit_code == 1, result.output
    hold.release("250 2.0.0 queued late")
    unknown = [ADDRESSES[1], ADDRESSES[3]]
    assert camp.states() == {a: "unknown" if a in unknown else "sent" for a in ADDRESSES}
    row = camp.rows()[ADDRESSES[1]]
    assert row.last_reply.startswith("no reply after the message was sent; it may or may not be delivered")
    assert f"unknown  {ADDRESSES[1]} – no reply after the message was sent" in result.stdout
    assert "This run: sent 5, unknown 2" in result.stdout
    assert len(smtp_server.handler.data_attempts) == 7  # one DATA per message: the unknown ones not retried
    # A plain rerun sends nothing: unknown needs a decision, so it exits 1, not 3 (issue 15: 1 outranks 3).
    result = send(camp, "--yes")
    assert result.exit_code == 1, result.output
    assert result.stderr == f"Outstanding: unknown 2 ({ADDRESSES[1]}, {ADDRESSES[3]})\n"
    assert "Sent log:   sent 5, unknown 2\n" in result.stdout
    assert result.stdout.endswith(
        "Nothing is due: every recipient has been sent to or needs a decision (see below).\n"
        f"Next: 2 with unknown outcome: check the server's log, then 'lgp-mailer send --campaign {camp.root} "
        "--resend-unknown' if they did not arrive\n"
    )
    assert sorted(rcpts(smtp_server)) == sorted(a for a in ADDRESSES if a != ADDRESSES[3])
    result = send(camp, "--yes", "--resend-unknown")
    assert result.exit_code == 0, result.output
    copies = [m for m in smtp_server.received if m.rcpt_tos[0] in unknown]
    assert [m.rcpt_tos[0] for m in copies] == [ADDRESSES[1], ADDRESSES[1], ADDRESSES[3]]
    for message in copies:
        assert parse(message.data)["Message-ID"] == camp.rows()[message.rcpt_tos[0]].message_id
    assert camp.counts() == counts(sent=7)


# -- the daily quota holds across runs ------------------------------------------------------------


def test_daily_quota_is_counted_from_the_ledger_across_runs(smtp_server, tmp_path):
    camp = make_campaign(tmp_path, smtp_server, daily_quota=3)
    result = send(camp, "--yes", "--batch", "2")
    assert result.exit_code == 0, result.output
    assert "Quota:      3 in any 24 hours, 3 left now" in result.stdout
    result = send(camp, "--yes")
    assert result.exit_code == 1, result.output
    assert rcpts(smtp_server) == ADDRESSES[:3]
    assert result.stderr == "Stopped: the daily quota of 3 messages is used up; the next run goes on\n"
    assert camp.counts() == counts(sent=3, pending=4)
    result = send(camp, "--yes")
    assert result.exit_code == 1, result.output
    assert rcpts(smtp_server) == ADDRESSES[:3]
    assert "Quota:      3 in any 24 hours, 0 left now" in result.stdout


def test_parallel_sessions_send_all_the_daily_quota_allows(smtp_server, tmp_path):
    # Four sessions take the last 3 messages of the quota, then a fourth take finds it full: the
    # messages already taken, waiting for their slot at the pace, still go; the stop takes nothing new.
    camp = make_campaign(tmp_path, smtp_server, daily_quota=5, rate="600/min")
    assert send(camp, "--yes", "--batch", "2").exit_code == 0
    result = send(camp, "--yes", "--connections", "4")
    assert result.exit_code == 1, result.output
    assert "this run sends 3 (the daily quota)" in result.stdout
    assert result.stderr == "Stopped: the daily quota of 5 messages is used up; the next run goes on\n"
    assert sorted(rcpts(smtp_server)) == sorted(ADDRESSES[:5])
    assert camp.counts() == counts(sent=5, pending=2)


def test_test_to_with_a_wrong_password_is_exit_2_like_a_run(smtp_server_factory, tmp_path, monkeypatch):
    server = smtp_server_factory(security="starttls", users={"lgp": PASSWORD})
    camp = make_campaign(tmp_path, server, username="lgp", auth="password", cafile=str(server.cafile))
    monkeypatch.setenv("LGP_SMTP_PASSWORD", "rossz-jelszó")
    result = send(camp, "--test-to", "proba@lgp.example.org")
    assert result.exit_code == 2, result.output
    assert one_error_line(result).startswith(
        f"lgp-mailer: error: 127.0.0.1:{server.port}: authentication failed for lgp"
    )
    assert server_untouched(server)


def test_implicit_tls_with_xoauth2(smtp_server_factory, tmp_path, monkeypatch):
    token = "ya29.tok-EN-very-secret"
    server = smtp_server_factory(security="tls", tokens={"lgp@lgp.example.org": token})
    camp = make_campaign(tmp_path, server, username="lgp@lgp.example.org", auth="xoauth2", cafile=str(server.cafile))
    monkeypatch.setenv("LGP_SMTP_OAUTH_TOKEN", token)
    result = send(camp, "--yes")
    assert result.exit_code == 0, result.output
    assert rcpts(server) == ADDRESSES
    assert all(m.login == "lgp@lgp.example.org" for m in server.received)
    assert server.handler.logins == [("XOAUTH2", "lgp@lgp.example.org", True)]
    assert camp.counts() == counts(sent=7)
    assert token not in result.output
    for path in camp.db.parent.glob(camp.db.name + "*"):
        assert token.encode() not in path.read_bytes()


# -- a run that starts while another creates the sent log -------------------------------------


def test_a_run_waits_while_another_creates_the_sent_log(smtp_server, tmp_path):
    """Two runs on a brand-new sent log: while one writes it in rollback mode, SQLite refuses
    the other's switch to WAL at once ("database is locked", no busy wait).  That start-up
    race must not end a run with exit 2."""
    import sqlite3
    import threading

    camp = make_campaign(tmp_path, smtp_server)
    other = sqlite3.connect(camp.db, isolation_level=None, check_same_thread=False)
    other.execute("CREATE TABLE being_created (x)")
    other.execute("BEGIN IMMEDIATE")  # the other run, half-way through creating it
    threading.Timer(0.3, other.execute, ("ROLLBACK",)).start()
    try:
        result = send(camp, "--yes")
    finally:
        other.close()
    assert result.exit_code == 0, result.output
    assert rcpts(smtp_server) == ADDRESSES


# -- the sheet changes between runs; bad rows; a server that is not there ------------------------------


def test_resorting_the_sheet_between_batches_never_resends(smtp_server, tmp_path):
    rows = people(6)
    camp = make_campaign(tmp_path, smtp_server, rows=rows)
    assert send(camp, "--yes", "--batch", "2").exit_code == 0
    write_xlsx(camp.root / "recipients" / "lista.xlsx", {"Lista": [HEADER, *reversed(rows)]})
    result = send(camp, "--yes", "--batch", "2")
    assert result.exit_code == 0, result.output
    a = camp.addresses
    assert rcpts(smtp_server) == [a[0], a[1], a[5], a[4]]  # the new sheet order, the sent ones skipped
    assert send(camp, "--yes").exit_code == 0
    assert rcpts(smtp_server) == [a[0], a[1], a[5], a[4], a[3], a[2]]
    assert camp.counts() == counts(sent=6)


def test_invalid_rows_are_recorded_not_sent(smtp_server, tmp_path):
    rows = people(3)
    rows.insert(1, ["Baranya", "Hibásfalu", "Kiss Éva", "jegyző", "N", "jegyzo@hibasfalu"])
    camp = make_campaign(tmp_path, smtp_server, rows=rows)
    result = send(camp, "--yes")
    assert result.exit_code == 0, result.output
    good = [r[5] for r in rows if r[5] != "jegyzo@hibasfalu"]
    assert rcpts(smtp_server) == good
    assert camp.states() == {**dict.fromkeys(good, "sent"), "jegyzo@hibasfalu": "invalid"}
    assert f"Next: 1 invalid in the sheet: 'lgp-mailer check --campaign {camp.root}' lists them" in result.stdout


def test_no_server_listening_is_one_line_and_nothing_claimed(tmp_path):
    from smtp_server import free_port

    port = free_port()
    camp = make_campaign(tmp_path, None, port=port)
    result = send(camp, "--yes")
    assert result.exit_code == 1, result.output
    assert one_error_line(result).startswith(f"lgp-mailer: error: 127.0.0.1:{port}: cannot connect: ")
    assert camp.counts() == counts(pending=7)
    assert all(r.attempts == 0 for r in camp.rows().values())


def test_a_relative_cafile_is_relative_to_the_campaign_folder(smtp_server_factory, tmp_path, monkeypatch):
    import shutil

    server = smtp_server_factory(security="starttls")
    camp = make_campaign(tmp_path, server, cafile="ca.pem")
    shutil.copy(server.cafile, camp.root / "ca.pem")
    monkeypatch.chdir(tmp_path)  # not the campaign folder: as with --campaign from elsewhere
    result = send(camp, "--yes")
    assert result.exit_code == 0, result.output
    assert rcpts(server) == ADDRESSES


class _RotatingTokens(dict):
    """Accepts only the token issued last, and each token once (as if it expired after use)."""

    def __init__(self, counter: Path) -> None:
        super().__init__()
        self.counter = counter
        self.used: set[str] = set()

    def get(self, user, default=None):
        if not self.counter.exists():
            return default
        token = f"tok-{self.counter.read_text(encoding='utf-8').strip()}"
        if token in self.used:
            return default  # a reused token is refused: the client must ask for a new one
        self.used.add(token)
        return token


def test_an_oauth2_token_is_asked_afresh_for_every_connection(smtp_server_factory, tmp_path):
    """A Microsoft 365 token lives about an hour; a 3,000-letter run reconnects for longer than that."""
    counter = tmp_path / "n"
    script = tmp_path / "token.py"
    script.write_text(
        "from pathlib import Path\n"
        f"p = Path({str(counter)!r})\n"
        "n = int(p.read_text()) + 1 if p.exists() else 1\n"
        "p.write_text(str(n))\n"
        "print(f'tok-{n}')\n",
        encoding="utf-8",
    )
    server = smtp_server_factory(security="tls", tokens={"lgp@lgp.example.org": "unused"})  # AUTH on
    server.handler.tokens = _RotatingTokens(counter)
    camp = make_campaign(
        tmp_path,
        server,
        username="lgp@lgp.example.org",
        auth="xoauth2",
        cafile=str(server.cafile),
        token_command=f"{sys.executable} {script}",
        messages_per_connection=3,
    )
    result = send(camp, "--yes")
    assert result.exit_code == 0, result.output
    assert rcpts(server) == ADDRESSES
    # 7 letters at 3 per connection: 3 sessions, each with its own token, all accepted
    assert server.handler.logins == [("XOAUTH2", "lgp@lgp.example.org", True)] * 3
    assert int(counter.read_text(encoding="utf-8")) >= 3
    assert "tok-" not in result.output


def test_crash_leftovers_alone_are_a_problem_not_nothing_due(smtp_server, tmp_path):
    """After a crash, a run whose only rows were in flight must say so, even under --quiet (cron)."""
    camp = make_campaign(tmp_path, smtp_server)
    assert send(camp, "--yes", "--batch", "6").exit_code == 0
    ledger = open_ledger(camp.db)
    try:
        last = camp.addresses[-1]
        assert ledger.claim(camp.campaign_id, "invitation", last, ["pending"])  # a crash right after the claim
    finally:
        ledger.close()
    result = send(camp, "--yes", "--quiet")
    assert result.exit_code == 1, result.output
    assert "1 message interrupted by a crash is now 'unknown'" in result.output
    assert camp.counts() == counts(sent=6, unknown=1)


def test_a_template_that_fails_for_one_recipient_sends_nothing(smtp_server, tmp_path):
    camp = make_campaign(tmp_path, smtp_server)
    (camp.root / "templates" / "invitation.subject.j2").write_text(
        "Meghívó {{ recipient.name.split()[0] }}", encoding="utf-8"
    )  # one row of the sheet has no name
    result = send(camp, "--yes")
    assert result.exit_code == 2, result.output
    error = one_error_line(result)
    assert "invitation.subject.j2, line 1: cannot render" in error
    assert "(the message to hivatal@urom-proba.example; nothing was sent)" in error
    assert server_untouched(smtp_server)
    assert camp.counts() == counts(pending=7)


def test_a_bad_proof_address_is_one_line(smtp_server, tmp_path):
    camp = make_campaign(tmp_path, smtp_server)
    result = send(camp, "--test-to", "nincs-kukac")
    assert result.exit_code == 2
    assert "'nincs-kukac' is not an e-mail address" in one_error_line(result)
    assert server_untouched(smtp_server)
