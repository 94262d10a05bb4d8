"""A sender joining a live campaign (``send --join``) with another event than the
running sender's is refused: half the mayors would get one conference's letter
and half another's (another join link, time, date or title).

In-process runs against the SMTP test server; the live first sender is a lease
this test process holds (a live PID on this host).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_send_cli import make_campaign, one_error_line, people, rcpts, send

from lgp_mailer.campaign.changes import snapshot
from lgp_mailer.errors import ExitCode
from lgp_mailer.event import load_event
from lgp_mailer.ledger.events import record_snapshot
from lgp_mailer.ledger.runlock import RunLock
from lgp_mailer.ledger.store import open_ledger

from sheets_factory import HEADER, write_xlsx
from smtp_server import SmtpTestServer

OLD_LINK = "https://zoom.example.org/j/81234567890?pwd=lgp2020"
NEW_LINK = "https://zoom.example.org/j/99999999999?pwd=uj"


@pytest.fixture
def shared(pg_server, monkeypatch: pytest.MonkeyPatch) -> str:
    url = str(pg_server.create_ledger_database())
    monkeypatch.setenv("LGP_MAILER_DB", url)
    return url


def edit_event(root: Path, old: str, new: str) -> None:
    event = root / "events" / "2020-06-18-innovaciok.toml"
    text = event.read_text(encoding="utf-8")
    assert old in text
    event.write_text(text.replace(old, new), encoding="utf-8")


def test_a_joining_sender_with_the_live_senders_event_joins_whatever_an_earlier_run_sent(
    smtp_server: SmtpTestServer, shared: str, tmp_path: Path
) -> None:
    """Only the live senders' event counts: an event changed since an earlier run, with the
    live sender still building (no snapshot of its own yet), is a change warned of, not refused."""
    camp = make_campaign(tmp_path, smtp_server, rows=people(4))
    edit_event(camp.root, "date = 2020-06-18", "date = 2099-06-18")
    assert send(camp, "--batch", "1", "--yes").exit_code == 0
    edit_event(camp.root, OLD_LINK, NEW_LINK)
    with open_ledger(shared) as ledger, RunLock(ledger, camp.campaign_id, heartbeat_every=None):
        joined = send(camp, "--join", "--yes")
    assert joined.exit_code == 0, joined.output
    assert f"join_url: {OLD_LINK} -> {NEW_LINK}" in joined.stderr
    assert sorted(rcpts(smtp_server)) == sorted(camp.addresses)


def test_a_joining_sender_with_another_event_is_refused_naming_each_field(
    smtp_server: SmtpTestServer, shared: str, tmp_path: Path
) -> None:
    camp = make_campaign(tmp_path, smtp_server, rows=people(6))
    edit_event(camp.root, "date = 2020-06-18", "date = 2099-06-18")  # in-process, on the real clock
    assert send(camp, "--batch", "2", "--yes").exit_code == 0  # an earlier run
    event = load_event(camp.root / "events" / "2020-06-18-innovaciok.toml")
    with open_ledger(shared) as ledger, RunLock(ledger, camp.campaign_id, heartbeat_every=None) as first:
        # the live sender records the event it sends as it starts (send's _remember)
        fields = snapshot(event).as_row()
        record_snapshot(
            ledger, camp.campaign_id, "invitation", fields, event_path="x", sheet_path=None, sheet_rows=None
        )
        edit_event(camp.root, OLD_LINK, NEW_LINK)
        edit_event(camp.root, 'title = "Önkormányzati innovációk és jó gyakorlatok"', 'title = "Régi konferencia"')
        refused = send(camp, "--join", "--yes")
        assert refused.exit_code == ExitCode.USAGE, refused.output
        assert one_error_line(refused) == (
            f"lgp-mailer: error: {camp.root / 'events' / '2020-06-18-innovaciok.toml'}: campaign"
            f" '{camp.campaign_id}' is being sent by {first.holder} (pid {first.pid}) with another event:"
            f" title: Önkormányzati innovációk és jó gyakorlatok -> Régi konferencia; join_url: {OLD_LINK} -> {NEW_LINK};"
            " join with the event file it sends, or wait until it ends"
        )
        assert len(rcpts(smtp_server)) == 2  # nothing sent by the refused joiner
        edit_event(camp.root, NEW_LINK, OLD_LINK)
        edit_event(camp.root, 'title = "Régi konferencia"', 'title = "Önkormányzati innovációk és jó gyakorlatok"')
        joined = send(camp, "--join", "--yes")  # the same event: it joins and sends the rest
        assert joined.exit_code == 0, joined.output
    assert sorted(rcpts(smtp_server)) == sorted(camp.addresses)  # each once


def test_a_joining_sender_names_the_recipients_of_its_sheet_it_will_not_send(
    smtp_server: SmtpTestServer, shared: str, tmp_path: Path
) -> None:
    """The first sender's sheet is the campaign: a colleague whose sheet has new rows is told so."""
    camp = make_campaign(tmp_path, smtp_server, rows=people(4))
    edit_event(camp.root, "date = 2020-06-18", "date = 2099-06-18")
    assert send(camp, "--batch", "1", "--yes").exit_code == 0
    longer = people(6)
    write_xlsx(camp.root / "recipients" / "lista.xlsx", {"Lista": [HEADER, *longer]})
    sheet = camp.root / "recipients" / "lista.xlsx"
    with open_ledger(shared) as ledger, RunLock(ledger, camp.campaign_id, heartbeat_every=None):
        joined = send(camp, "--join", "--yes")
    assert joined.exit_code == 0, joined.output
    assert (
        f"2 recipients of {sheet} are not in the campaign the running senders send (the first sender's sheet):"
        " this run does not send to them; a send without --join afterwards does"
    ) in joined.stderr.splitlines()
    assert sorted(rcpts(smtp_server)) == sorted(camp.addresses)
    after = send(camp, "--yes")
    assert after.exit_code == 0, after.output
    assert sorted(rcpts(smtp_server)) == sorted(r[5] for r in longer)  # each once
