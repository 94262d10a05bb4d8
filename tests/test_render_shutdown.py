"""The render processes shut down cleanly (issue 15): no "leaked semaphore" or other
resource-tracker warning on stderr after Ctrl-C, SIGTERM, a second Ctrl-C or a fatal
error, in a real ``python -m lgp_mailer send`` subprocess that renders in other processes.
"""

from __future__ import annotations

import signal
import sys

import pytest
from test_send_cli import people
from test_send_crash import WAIT, Run, make_campaign  # the 2099 example: subprocesses run on the real clock

from lgp_mailer.campaign.run import PROCESSES_FROM

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM and SIGINT to a child are POSIX-only"),
]
LEAKS = ("leaked semaphore", "leaked shared_memory", "resource_tracker", "There appear to be")


def assert_no_leak_warning(stderr: str) -> None:
    assert not [line for line in stderr.splitlines() if any(word in line for word in LEAKS)], stderr
    assert "Traceback" not in stderr


@pytest.mark.parametrize(
    ("signals", "code"),
    [
        ((signal.SIGTERM,), 143),
        ((signal.SIGINT, signal.SIGINT), 130),  # Ctrl-C, then a second one that gives up at once
    ],
)
def test_a_signal_leaves_no_leaked_semaphores(smtp_server, tmp_path, signals, code):
    camp = make_campaign(tmp_path, smtp_server, rows=people(PROCESSES_FROM + 10))
    hold = smtp_server.handler.hold(3)
    sender = Run(camp, "--connections", "2")
    assert hold.reached.wait(WAIT)
    sender.proc.send_signal(signals[0])
    sender.wait_for_stderr("stopping after the message in flight")
    for signum in signals[1:]:
        sender.proc.send_signal(signum)
    hold.release("250 2.0.0 queued")
    assert sender.finish() == code, sender.stdout + sender.stderr
    assert_no_leak_warning(sender.stderr)


def test_a_killed_run_leaves_no_leaked_semaphore_warnings(smtp_server, tmp_path):
    """SIGKILL: the parent cannot clean up; the render processes exit by themselves,
    and the resource tracker must not print warnings into the user's terminal or cron mail."""
    camp = make_campaign(tmp_path, smtp_server, rows=people(PROCESSES_FROM + 10))
    hold = smtp_server.handler.hold(3)
    sender = Run(camp, "--connections", "2")
    assert hold.reached.wait(WAIT)
    sender.kill()
    hold.release("250 2.0.0 queued")
    assert_no_leak_warning(sender.stderr)


def test_a_fatal_error_leaves_no_leaked_semaphores(smtp_server, tmp_path):
    camp = make_campaign(tmp_path, smtp_server, rows=people(PROCESSES_FROM + 10), retries=1)
    smtp_server.handler.reply_mail("", "", "550 5.7.1 Relaying denied: sender not authorised")
    sender = Run(camp)
    assert sender.finish() == 1, sender.stdout + sender.stderr
    assert "refused: 550 5.7.1 Relaying denied" in sender.stderr
    assert_no_leak_warning(sender.stderr)
