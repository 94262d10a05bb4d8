"""Suppressed addresses are never sent to, in any campaign: over a real SMTP socket."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lgp_mailer.cli import app
from lgp_mailer.ledger.store import open_ledger

from smtp_server import SmtpTestServer

runner = CliRunner()
# Sends the shipped example conference (18 June 2020): on a clock set before it.
pytestmark = pytest.mark.usefixtures("before_the_example_conference")
OPTED_OUT = "jegyzo@kozoshivatal-bikal.example"


def make_campaign(folder: Path, port: int) -> Path:
    assert runner.invoke(app, ["init", str(folder), "--example"]).exit_code == 0
    config = folder / "lgp-mailer.toml"
    text = config.read_text(encoding="utf-8").replace(
        '# host = "smtp.example.org"', f'host = "127.0.0.1"\nport = {port}\nsecurity = "none"\nretry_delay = 0.01'
    )
    config.write_text(text, encoding="utf-8")
    return folder


def test_suppressed_address_is_skipped_in_every_campaign(tmp_path, monkeypatch, ledger_target):
    monkeypatch.setenv("LGP_MAILER_DB", str(ledger_target))  # a SQLite file, then a PostgreSQL database
    with SmtpTestServer() as server:
        first = make_campaign(tmp_path / "elso", server.settings().port)
        second = make_campaign(tmp_path / "masodik", server.settings().port)
        monkeypatch.chdir(first)
        result = runner.invoke(app, ["suppress", "add", OPTED_OUT.upper(), "--reason", "leiratkozott telefonon"])
        assert result.exit_code == 0, result.output
        for folder in (first, second):
            result = runner.invoke(app, ["send", "--yes", "--campaign", str(folder)])
            assert result.exit_code == 0, result.output
            assert "suppressed 1" in result.output
        received = [rcpt for message in server.received for rcpt in message.rcpt_tos]
    assert OPTED_OUT not in received
    assert len(received) == 12 and len(set(received)) == 6  # 7 recipients less the opted-out, twice
    ledger = open_ledger(ledger_target)
    try:
        campaigns = {row.campaign_id for row in ledger.rows()}
        assert len(campaigns) == 2
        for campaign_id in campaigns:
            rows = {row.address.lower(): row.status for row in ledger.rows(campaign_id, "invitation")}
            assert rows[OPTED_OUT] == "suppressed"
            assert sorted(set(rows.values())) == ["sent", "suppressed"]
    finally:
        ledger.close()
    status = runner.invoke(app, ["status", "--json"])
    assert status.exit_code == 0, status.output
    entries = json.loads(status.output)["campaigns"]
    assert sorted((e["kind"], e["counts"]["sent"], e["counts"]["suppressed"], e["due"]) for e in entries) == [
        ("invitation", 6, 1, 0),
        ("invitation", 6, 1, 0),
    ]
