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
import tomllib
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest
from sheets_factory import HEADER, write_xlsx
from smtp_server import DROP, SmtpTestServer, smtp_server, smtp_server_factory, tls_ca  # noqa: F401
from typer.testing import CliRunner

from lgp_mailer.cli import app
from lgp_mailer.sentlog import LedgerRow, open_ledger

runner = CliRunner()

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
    return [["Baranya", f"Próbafalu {i:02d}", "Kovács Péter", "polgármester", "F", f"polgarmester{i:02d}@{domain}"]
            for i in range(1, n + 1)]


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
        text = text[: text.index("[smtp]")] + "[smtp]\n" + "".join(
            f"{k} = {_toml_value(v)}\n" for k, v in smtp.items() if v is not None)
        path.write_text(text, encoding="utf-8")


def counts(**nonzero: int) -> dict[str, int]:
    return {s: nonzero.get(s, 0) for s in STATUSES}


def smtp_table(server: SmtpTestServer | None, **extra: object) -> dict[str, object]:
    table: dict[str, object] = {"host": "127.0.0.1", "security": "none", "timeout": 5,
                                "retries": 3, "retry_delay": 0.01}
    if server is not None:
        table.update(port=server.port, security=server.security)
    table.update(extra)
    return table


def make_campaign(base: Path, server: SmtpTestServer | None, *, rows: list[list[str]] | None = None,
                  name: str = "kampany", **smtp: object) -> Camp:
    """``lgp-mailer init`` a campaign folder whose [smtp] table points at ``server``."""
    root = base / name
    result = runner.invoke(app, ["init", str(root)], catch_exceptions=False)
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
    result = runner.invoke(app, ["preview", "--campaign", str(camp.root), "--out", str(preview)], catch_exceptions=False)
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
        assert message["Subject"] == ("Meghívó: Önkormányzati innovációk és jó gyakorlatok – online konferencia, "
                                      "2020. június 18. (csütörtök) 10.00")
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
    assert "Nothing is due" in result.stdout
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
    assert "2 message(s) still due" in result.stdout
    # The next run retries the deferred ones and nothing else.
    result = send(camp, "--yes")
    assert result.exit_code == 0, result.output
    assert sorted(rcpts(smtp_server)) == sorted(a)  # everything delivered, exactly once
    assert camp.counts() == counts(sent=10)
    assert {x: r.attempts for x, r in camp.rows().items() if r.attempts != 1} == {a[5]: 2, a[8]: 2}
    for message in smtp_server.received:
        assert parse(message.data)["Message-ID"] == camp.rows()[message.rcpt_tos[0]].message_id
