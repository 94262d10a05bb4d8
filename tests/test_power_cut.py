"""A power cut at every flush of a real `send`: no recipient is lost and none is sent twice unasked.

A SIGKILL (test_send_crash.py) is not a power cut: the kernel still writes out
what the process wrote.  Here the sent log runs over ``powercut.PowerCutVfs``,
which keeps per file only what was synced.  One real ``send`` (the CLI,
in-process, to the aiosmtpd server) runs to its end; at the start of each of
its syncs the test notes what the disk holds for sure and what the server
has been asked to deliver so far: that is what a power cut at that moment
leaves.  For each such moment, the durable files are laid out again and the
next `send` runs on them as after a restart of the machine (another boot id),
and the sent log must then be exactly what the durable rows say:

* a row durably ``sending``, or ``pending`` but held by the old boot, is
  ``unknown`` (it may have gone out), and is not sent again;
* a row durably ``sent`` was received once; ``failed`` keeps its reason;
* a row durably ``pending`` and not held (or not in the log yet) was never
  offered to the server, and the rerun sends it, once.

Both ways a row is claimed are covered: held 32 at a time (no daily quota)
and one durable claim per message (a daily quota in the campaign's rate).
"""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from test_send_cli import Camp, make_campaign, people, send

from lgp_mailer.campaign.run import HOLD_AHEAD, RENDER_AHEAD
from lgp_mailer.ledger import claims, runlock
from lgp_mailer.ledger.store import open_ledger

import powercut
from smtp_server import ScriptedHandler, SmtpTestServer

pytestmark = [
    pytest.mark.slow,
    pytest.mark.usefixtures("before_the_example_conference"),
    pytest.mark.skipif(sys.platform == "win32", reason="the power-cut VFS wraps SQLite's unix VFS"),
]

REFUSED = "polgarmester03@falu.example"  # the server refuses it for good: 'failed' with its reason
REFUSAL = "550 5.1.1 no such mailbox"
OLD_BOOT, NEW_BOOT = "linux:before-the-power-cut", "linux:after-the-power-cut"
HELD_REPLY = "claimed before a restart of the machine; outcome unknown"
SENDING_REPLY = "interrupted while sending; outcome unknown"


class Recorder(ScriptedHandler):
    """Notes every address offered at RCPT (a claim comes first) and refuses ``REFUSED``."""

    def __init__(self) -> None:
        super().__init__()
        self.offered: list[str] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        with self.lock:
            self.offered.append(address)
        if address == REFUSED:
            return REFUSAL
        return await super().handle_RCPT(server, session, envelope, address, rcpt_options)


@dataclass(frozen=True)
class Cut:
    """What a power cut at the start of sync number ``at`` leaves."""

    at: int
    images: dict[str, bytes | None]  # the durable files
    received: Counter[str]  # messages the server had taken
    offered: frozenset[str]  # addresses it had been offered (RCPT): maybe taken


@dataclass(frozen=True)
class Durable:
    status: str
    held: str | None
    last_reply: str | None


def durable_rows(path: Path, campaign_id: str) -> dict[str, Durable]:
    with open_ledger(path) as ledger:
        found = ledger.db.conn.execute(
            "SELECT address, status, held, last_reply FROM messages WHERE campaign_id = ? AND kind = 'invitation'",
            (campaign_id,),
        ).fetchall()
    return {r["address"]: Durable(r["status"], r["held"], r["last_reply"]) for r in found}


def uncut_run(
    camp: Camp, server: SmtpTestServer, args: list[str], monkeypatch
) -> tuple[list[Cut], dict[str, str | None]]:
    """The whole send over the power-cut VFS; the moments to cut at, and each row's last reply."""
    handler = server.handler
    cuts: list[Cut] = []

    def note(at: int) -> None:  # runs in the syncing thread, holding the GIL: a consistent picture
        with handler.lock:
            received = Counter(m.rcpt_tos[0] for m in handler.received)
            offered = frozenset(handler.offered)
        cuts.append(Cut(at, vfs.durable_images(), received, offered))

    try:
        vfs = powercut.PowerCutVfs(before_sync=note)
    except powercut.Unavailable as why:  # a failure under CI=true (conftest.py)
        pytest.skip(str(why))
    monkeypatch.setattr(claims, "boot_id", lambda: OLD_BOOT)
    with vfs.installed():
        result = send(camp, "--yes", *args)
    assert result.exit_code == 1, result.output  # done, with the refused address failed
    assert vfs.errors == []
    assert vfs.writes > 0 and vfs.syncs == len(cuts) > 0  # sqlite3's own connections ran over the VFS
    cuts.append(Cut(vfs.syncs + 1, vfs.durable_images(), Counter(rcpts(server)), frozenset(handler.offered)))
    assert str(camp.db) in cuts[-1].images
    rows = camp.rows()
    assert {a: r.status for a, r in rows.items()} == {a: "failed" if a == REFUSED else "sent" for a in camp.addresses}
    assert Counter(rcpts(server)) == Counter(a for a in camp.addresses if a != REFUSED)
    return cuts, {a: r.last_reply for a, r in rows.items()}


def rcpts(server: SmtpTestServer) -> list[str]:
    return [m.rcpt_tos[0] for m in server.received]


def expected_after_recovery(
    cut: Cut, durable: dict[str, Durable], addresses: list[str], replies: dict[str, str | None]
) -> tuple[dict[str, tuple[str, str | None]], set[str]]:
    """Each row's (status, last_reply) after the rerun, and the addresses the rerun must send to."""
    expected: dict[str, tuple[str, str | None]] = {}
    resend: set[str] = set()
    for address in addresses:
        row = durable.get(address)
        if row is None or (row.status == "pending" and row.held is None):
            # Nothing durable says it may have gone: then it must not have been offered at all.
            assert address not in cut.offered, (cut.at, address, row)
            expected[address] = ("failed" if address == REFUSED else "sent", replies[address])
            resend.add(address)
        elif row.status == "pending":
            assert row.held == OLD_BOOT, (cut.at, address, row)
            expected[address] = ("unknown", HELD_REPLY)
        elif row.status == "sending":
            expected[address] = ("unknown", row.last_reply or SENDING_REPLY)
        elif row.status == "sent":
            assert cut.received[address] == 1, (cut.at, address, row)
            expected[address] = ("sent", row.last_reply)
        else:
            assert (address, row.status, row.last_reply) == (REFUSED, "failed", replies[REFUSED]), (cut.at, row)
            expected[address] = ("failed", row.last_reply)
    return expected, resend


def judge(cut: Cut, camp: Camp, replies: dict[str, str | None], root: Path) -> tuple[dict, set[str], tuple]:
    """Lay out the durable files and check them against the server: (expected rows, to resend, the key of the case)."""
    powercut.write_images(cut.images, lambda p: root / "peek" / p.name)
    durable = durable_rows(root / "peek" / camp.db.name, camp.campaign_id)
    expected, resend = expected_after_recovery(cut, durable, camp.addresses, replies)
    return expected, resend, (frozenset(durable.items()), cut.offered, frozenset(cut.received.items()))


def recover(
    cut: Cut, expected, resend: set[str], camp: Camp, server: SmtpTestServer, args: list[str], root: Path, monkeypatch
) -> int:
    """Rerun `send` on the durable files, as after a restart; the number of rows left unknown."""
    powercut.write_images(cut.images, lambda p: root / "log" / p.name)
    monkeypatch.setenv("LGP_MAILER_DB", str(root / "log" / camp.db.name))
    before = len(server.received)
    result = send(camp, "--yes", *args)
    unknown = sum(status == "unknown" for status, _reply in expected.values())
    assert result.exit_code == (1 if unknown or REFUSED in resend else 0 if resend else 3), (cut.at, result.output)

    after = {a: (r.status, r.last_reply) for a, r in camp.rows().items()}
    assert after == expected, cut.at
    sent_now = Counter(rcpts(server)[before:])
    assert sent_now == Counter(resend - {REFUSED}), cut.at
    total = cut.received + sent_now
    assert max(total.values(), default=0) <= 1, cut.at  # nothing twice
    assert all(total[a] == 1 for a, (status, _r) in after.items() if status == "sent"), cut.at
    return unknown


@pytest.mark.parametrize(
    ("rate", "n", "connections", "most_unknown"),
    [
        # Three groups; the next group is held as soon as it is built, while up to
        # 2 * RENDER_AHEAD messages of the group before wait in the queue, and one is in flight.
        pytest.param(None, 72, 1, HOLD_AHEAD + 2 * RENDER_AHEAD + 1, id="held-32-at-a-time"),
        # Each connection claims on its own SQLite connection; a claim's flush also
        # flushes the outcomes recorded before it, by either connection.
        pytest.param("1000/day", 6, 2, 2, id="claimed-one-by-one-under-a-daily-quota-2-connections"),
    ],
)
def test_a_power_cut_at_any_flush_leaves_every_recipient_sent_once_unknown_or_failed(
    smtp_server_factory, tmp_path, monkeypatch, rate, n, connections, most_unknown
):
    server = smtp_server_factory(handler=Recorder())
    camp = make_campaign(tmp_path, server, rows=people(n), **({"rate": rate} if rate else {}))
    args = ["--connections", str(connections)]
    cuts, replies = uncut_run(camp, server, args, monkeypatch)

    # The next run sees another boot, and the dead run's lease as a PID of before the restart.
    monkeypatch.setattr(claims, "boot_id", lambda: NEW_BOOT)
    monkeypatch.setattr(runlock, "_started_after", lambda pid, moment: True)
    unknowns, cases = [], set()
    for cut in cuts:
        root = tmp_path / f"cut-{cut.at}"
        expected, resend, case = judge(cut, camp, replies, root)
        if case not in cases:  # the same durable rows and server: the same rerun
            cases.add(case)
            unknowns.append(recover(cut, expected, resend, camp, server, args, root, monkeypatch))
    assert 0 < max(unknowns) <= most_unknown, unknowns
