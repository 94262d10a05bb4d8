"""``status``: exact figures after a scripted mix of outcomes, built directly
on the ledger (sync / claim / record), and the CLI's text and --json."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

import lgp_mailer.cli.status  # noqa: F401  (registers 'status' and 'log' on the app)
from lgp_mailer.cli import app
from lgp_mailer.ledger.runlock import RunLock
from lgp_mailer.ledger.status import kind_status, ledger_status
from lgp_mailer.ledger.store import STATUSES, Entry, Ledger, open_ledger

C = "lgp-2026-11-30-proba"
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def zeros(**nonzero: int) -> dict[str, int]:
    return {**dict.fromkeys(STATUSES, 0), **nonzero}


def outcome(
    ledger: Ledger,
    clock: Clock,
    minutes: int,
    address: str,
    status: str | None,
    code: int | None = None,
    reply: str | None = None,
    kind: str = "invitation",
) -> None:
    clock.now = T0 + timedelta(minutes=minutes)
    assert ledger.claim(C, kind, address, ["pending", "deferred"])
    if status is not None:  # None: the run "crashed" with the row 'sending'
        ledger.record(C, kind, address, status, code, None, reply)


def scripted(path: Path | str) -> tuple[Ledger, Clock]:
    """Baranya: 2 sent, 1 failed; Somogy: 1 deferred, 1 unknown, 1 pending;
    no county: 1 invalid, 1 left 'sending' by a crash; 1 row gone from the sheet."""
    clock = Clock()
    ledger = open_ledger(path, clock=clock)
    entries = [
        Entry("a@pecs.hu", 0, ("Pécs",), "Baranya", "<a@lgp>"),
        Entry("b@mohacs.hu", 1, ("Mohács",), "Baranya", "<b@lgp>"),
        Entry("c@siklos.hu", 2, ("Siklós",), "Baranya", "<c@lgp>"),
        Entry("d@kaposvar.hu", 3, ("Kaposvár",), "Somogy", "<d@lgp>"),
        Entry("e@siofok.hu", 4, ("Siófok",), "Somogy", "<e@lgp>"),
        Entry("f@fonyod.hu", 5, ("Fonyód",), "Somogy", "<f@lgp>"),
        Entry("g@", 6, ("Gyód",), None, None, "'g@' is not an address"),
        Entry("h@budapest.hu", 7, ("Budapest",), None, "<h@lgp>"),
        Entry("old@tab.hu", 8, ("Tab",), "Somogy", "<old@lgp>"),
    ]
    ledger.sync(C, "invitation", entries)
    outcome(ledger, clock, 10, "a@pecs.hu", "sent", 250, "250 2.0.0 OK")
    outcome(ledger, clock, 11, "b@mohacs.hu", "failed", 550, "550 5.1.1 no such user")
    outcome(ledger, clock, 12, "d@kaposvar.hu", "deferred", 451, "451 4.3.0 try later")
    outcome(ledger, clock, 13, "e@siofok.hu", "unknown", None, "no reply after the message was sent")
    outcome(ledger, clock, 14, "c@siklos.hu", "sent", 250, "250 2.0.0 OK")
    outcome(ledger, clock, 15, "h@budapest.hu", None)
    ledger.sync(C, "invitation", entries[:-1])  # 'old@tab.hu' left the sheet
    ledger.sync(C, "reminder", [Entry("a@pecs.hu", 0, ("Pécs",), "Baranya", "<ra@lgp>")])
    outcome(ledger, clock, 2000, "a@pecs.hu", "sent", 250, "250 ok", kind="reminder")
    return ledger, clock


@pytest.fixture
def ledger(ledger_target):
    ledger, _ = scripted(ledger_target)
    yield ledger
    ledger.close()


def test_exact_figures_of_a_scripted_mix(ledger):
    s = kind_status(ledger, C, "invitation")
    assert s["total"] == 9
    assert s["counts"] == zeros(sent=2, failed=1, deferred=1, unknown=1, pending=2, invalid=1, sending=1)
    assert s["first_sent_at"] == "2026-11-20T09:10:00.000000Z"
    assert s["last_sent_at"] == "2026-11-20T09:14:00.000000Z"
    assert s["last_attempt_at"] == "2026-11-20T09:15:00.000000Z"
    assert s["due"] == 2 and s["due_by_status"] == {"pending": 1, "deferred": 1}  # f@ due; old@ left the sheet
    assert s["not_in_sheet"] == 1
    assert s["in_flight"] == 0 and s["lock"] is None
    assert [(b["status"], b["count"], b["command"]) for b in s["blocked"]] == [
        ("deferred", 1, "lgp-mailer send  (the next run retries them)"),
        ("unknown", 1, "check the server's log, then lgp-mailer send --resend-unknown  (same Message-ID)"),
        ("failed", 1, "fix the addresses in the sheet, then lgp-mailer send --retry-failed"),
        ("invalid", 1, "lgp-mailer check  (lists them; fix the sheet)"),
        ("sending", 1, "lgp-mailer send  (the next run marks them 'unknown')"),
    ]
    assert s["counties"] == [
        {"county": "Baranya", "total": 3, "sent": 2, "due": 0, "blocked": 1, "counts": zeros(sent=2, failed=1)},
        {
            "county": "Somogy",
            "total": 4,
            "sent": 0,
            "due": 2,
            "blocked": 1,
            "counts": zeros(deferred=1, unknown=1, pending=2),
        },
        {"county": None, "total": 2, "sent": 0, "due": 0, "blocked": 1, "counts": zeros(invalid=1, sending=1)},
    ]


def test_every_campaign_and_kind_with_its_own_command(ledger):
    figures = ledger_status(ledger, now=T0)
    assert figures["generated_at"] == "2026-11-20T09:00:00.000000Z"
    assert [(c["campaign_id"], c["kind"], c["command"]) for c in figures["campaigns"]] == [
        (C, "invitation", "lgp-mailer send"),
        (C, "reminder", "lgp-mailer remind --day-before"),
    ]
    reminder = figures["campaigns"][1]
    assert reminder["counts"] == zeros(sent=1) and reminder["blocked"] == [] and reminder["due"] == 0
    assert reminder["first_sent_at"] == reminder["last_sent_at"] == "2026-11-21T18:20:00.000000Z"
    assert [c["kind"] for c in ledger_status(ledger, kind="reminder")["campaigns"]] == ["reminder"]
    assert ledger_status(ledger, "no-such-campaign")["campaigns"] == []
    json.dumps(figures)  # JSON-able as it is


def test_sending_rows_of_a_live_run_are_in_flight_not_blocked(ledger):
    with RunLock(ledger, C, heartbeat_every=None):
        s = kind_status(ledger, C, "invitation")
    assert s["in_flight"] == 1 and "sending" not in [b["status"] for b in s["blocked"]]
    assert set(s["lock"]) == {"holder", "pid", "hostname", "acquired_at", "heartbeat_at"}  # no token


runner = CliRunner()


def test_status_json_through_the_cli(ledger, monkeypatch, tmp_path):
    monkeypatch.setenv("LGP_MAILER_DB", str(ledger.path))
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["status", "--json"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    expected = ledger_status(ledger)
    printed.pop("generated_at"), expected.pop("generated_at")
    assert printed == expected


def test_status_text_with_county_bars_and_next_commands(ledger, monkeypatch, tmp_path):
    monkeypatch.setenv("LGP_MAILER_DB", str(ledger.path))
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["status", "--campaign-id", C, "--kind", "invitation"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert f"{C} · invitation" in out
    assert "sent 2, pending 2, deferred 1, failed 1, unknown 1, invalid 1, sending 1 (total 9)" in out
    assert "first sent 2026-11-20 10:10, last sent 2026-11-20 10:14 (Europe/Budapest)" in out
    assert "due now: 2 (pending 1, deferred 1) → lgp-mailer send; 1 no longer in the sheet" in out
    assert "→ check the server's log, then lgp-mailer send --resend-unknown" in out
    lines = {line.split()[0]: line for line in out.splitlines() if "sent" in line and "/" in line}
    # Bars are as long as the county is big (Somogy, 4 rows: 40 wide), split by status.
    assert "2/3 sent, 1 blocked" in lines["Baranya"] and " " + "█" * 20 + "▒" * 10 + " " in lines["Baranya"]
    assert (
        "0/4 sent, 2 due, 1 blocked" in lines["Somogy"]
        and " " + "▓" * 20 + "▒" * 10 + "░" * 10 + " " in lines["Somogy"]
    )
    assert "(no" in lines and "0/2 sent, 1 blocked" in lines["(no"]


def test_what_needs_attention_is_said_in_the_interface_language(ledger, monkeypatch, tmp_path):
    """The meaning and the command to run, translated; only status --json keeps them in English."""
    from hungarian import hungarian

    monkeypatch.setenv("LGP_MAILER_DB", str(ledger.path))
    monkeypatch.chdir(tmp_path)
    with hungarian(tmp_path / "locale"):
        out = runner.invoke(app, ["status", "--campaign-id", C, "--kind", "invitation"]).stdout
    assert "→ lgp-mailer check  (felsorolja őket; javítsa a címlistát)" in out
    assert (
        "→ nézze meg a kiszolgáló naplóját, majd: lgp-mailer send --resend-unknown  (ugyanazzal a Message-ID-val)"
        in out
    )
    assert "fix the sheet" not in out and "server's log" not in out


def test_status_of_an_empty_log_says_so(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["status"])
    assert result.exit_code == 3
    assert "Nothing in the sent log yet" in result.stdout
