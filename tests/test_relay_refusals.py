"""What a relay says at RCPT about policy and pace, and what the run makes of it.

A 5.7.x at RCPT is either a policy refusal of that one recipient ("Recipient
address rejected: Access denied") or the relay refusing us for everyone
("Relay access denied", qmail's "allowed rcpthosts").  The first is the
address's failure and the run goes on; the second is told by the
consecutive-failure stop, which leaves those rows due, not failed.  A relay
that throttles at RCPT (450 4.7.1 "rate limit") stops the run the same way
instead of retrying every remaining letter for hours.

The CLI runs in-process against the real aiosmtpd server with a real SQLite sent log.
"""

from __future__ import annotations

import pytest
from test_send_cli import ADDRESSES, counts, make_campaign, rcpts, send

from lgp_mailer.ledger.store import Entry, open_ledger

pytestmark = pytest.mark.usefixtures("before_the_example_conference")

STOP = "stopping so a broken relay does not burn through the list"


def test_a_policy_refusal_of_one_recipient_fails_it_and_the_run_goes_on(smtp_server, tmp_path):
    camp = make_campaign(tmp_path, smtp_server)
    refused = ADDRESSES[2]
    reply = f"554 5.7.1 <{refused}>: Recipient address rejected: Access denied"
    smtp_server.handler.reply_rcpt(refused, reply)
    result = send(camp, "--yes")
    assert result.exit_code == 1, result.output
    assert rcpts(smtp_server) == [a for a in ADDRESSES if a != refused]
    assert camp.states() == {a: "failed" if a == refused else "sent" for a in ADDRESSES}
    row = camp.rows()[refused]
    assert (row.last_code, row.last_enhanced, row.last_reply, row.attempts) == (554, "5.7.1", reply, 1)
    assert "Stopped" not in result.output
    assert "This run: sent 6, failed 1" in result.stdout
    # The next run does not stop on it again: nothing is due.
    again = send(camp, "--yes")
    assert again.exit_code == 3, again.output
    assert len(smtp_server.received) == 6


@pytest.mark.parametrize(
    "reply",
    [
        "554 5.7.1 <{}>: Relay access denied",
        "553 sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)",  # qmail: no enhanced code
    ],
)
def test_relay_access_denied_for_everyone_stops_and_leaves_the_rows_due(smtp_server, tmp_path, reply):
    camp = make_campaign(tmp_path, smtp_server, retries=1, max_consecutive_failures=3)
    for address in ADDRESSES:
        smtp_server.handler.reply_rcpt(address, reply.format(address))
    result = send(camp, "--yes")
    assert result.exit_code == 1, result.output
    assert smtp_server.received == [] and smtp_server.handler.mail_count == 3
    stopped = [line for line in result.stderr.splitlines() if line.startswith("Stopped:")]
    assert stopped == [
        f"Stopped: 3 messages in a row were not delivered (last: {reply.format(ADDRESSES[2])}); {STOP}; "
        "the 3 addresses refused at RCPT one after another are left due, not failed"
    ]
    # Not failed: the refusal was the relay's, so the three stay due with the reply, the rest untouched.
    assert camp.states() == {**dict.fromkeys(ADDRESSES[:3], "deferred"), **dict.fromkeys(ADDRESSES[3:], "pending")}
    assert camp.rows()[ADDRESSES[0]].last_reply == reply.format(ADDRESSES[0])
    assert "This run: sent 0, deferred 3" in result.stdout
    assert result.stderr.endswith(f"Outstanding: deferred 3 ({', '.join(ADDRESSES[:3])})\n")
    # Once the relay lets us through, the next run sends every letter, once.
    smtp_server.handler.rcpt_replies.clear()
    again = send(camp, "--yes")
    assert again.exit_code == 0, again.output
    assert sorted(rcpts(smtp_server)) == sorted(ADDRESSES)
    assert camp.counts() == counts(sent=7)


def test_a_relay_throttling_at_rcpt_stops_the_run_instead_of_retrying_every_letter(smtp_server, tmp_path):
    camp = make_campaign(tmp_path, smtp_server, retries=2, max_consecutive_failures=3)
    for address in ADDRESSES[2:]:
        reply = f"450 4.7.1 <{address}>: Recipient address rejected: Rate limit exceeded, try again later"
        smtp_server.handler.reply_rcpt(address, reply, reply)
    result = send(camp, "--yes")
    assert result.exit_code == 1, result.output
    assert rcpts(smtp_server) == ADDRESSES[:2]
    last = f"450 4.7.1 <{ADDRESSES[4]}>: Recipient address rejected: Rate limit exceeded, try again later"
    stopped = [line for line in result.stderr.splitlines() if line.startswith("Stopped:")]
    assert stopped == [
        f"Stopped: 3 messages in a row were not delivered (last: {last}); {STOP}; the relay limits the pace: "
        'set a slower rate, e.g. [smtp] rate = "20/min" or --rate 20/min'
    ]
    assert camp.states() == {
        **dict.fromkeys(ADDRESSES[:2], "sent"),
        **dict.fromkeys(ADDRESSES[2:5], "deferred"),
        **dict.fromkeys(ADDRESSES[5:], "pending"),
    }
    assert smtp_server.handler.mail_count == 2 + 3 * 2  # two tries each for the three, none after


def test_a_failed_row_of_another_cause_is_not_reopened(ledger_target):
    with open_ledger(ledger_target) as ledger:
        ledger.sync("c", "invitation", [Entry(a, n, (f"Falu {n}",), None, f"<{n}@x>") for n, a in enumerate("ab")])
        for address, status in (("a", "failed"), ("b", "sent")):
            assert ledger.claim("c", "invitation", address, ["pending"])
            ledger.record("c", "invitation", address, status, 554, "5.7.1", "554 5.7.1 refused")
        assert ledger.reopen_failed("c", "invitation", ["A", "b", "nobody"]) == 1
        rows = {r.address: r for r in ledger.rows("c", "invitation")}
    assert {a: r.status for a, r in rows.items()} == {"a": "deferred", "b": "sent"}
    assert (rows["a"].last_code, rows["a"].last_reply) == (554, "554 5.7.1 refused")


def test_a_rate_limit_at_mail_from_names_the_rate_setting_when_it_stops(smtp_server, tmp_path):
    camp = make_campaign(tmp_path, smtp_server, retries=1, max_consecutive_failures=2)
    smtp_server.handler.reply_mail("", *["421 4.7.0 rate limit, try later"] * 6)
    result = send(camp, "--yes")
    assert result.exit_code == 1, result.output
    assert rcpts(smtp_server) == ADDRESSES[:1]
    assert [line for line in result.stderr.splitlines() if line.startswith("Stopped:")] == [
        f"Stopped: 2 messages in a row were not delivered (last: 421 4.7.0 rate limit, try later); {STOP}; "
        'the relay limits the pace: set a slower rate, e.g. [smtp] rate = "20/min" or --rate 20/min'
    ]
    assert camp.counts() == counts(sent=1, deferred=2, pending=4)
