"""The plan a send shows under a daily quota smaller than the list, against what the runs then do.

3,200 mayors through a relay allowing 500 a day take 7 days; the plan said only
that "2,700 can go from about <tomorrow>", and a run with the quota used up
promised "about 0 s".  Real aiosmtpd server, real SQLite sent log, the CLI.
"""

from __future__ import annotations

import re

import pytest
from test_send_cli import ADDRESSES, counts, make_campaign, rcpts, send

pytestmark = pytest.mark.usefixtures("before_the_example_conference")

WHEN = r"\d{4}-\d\d-\d\d \d\d:\d\d"


def test_the_plan_says_over_how_many_days_the_rest_goes_and_the_runs_keep_to_it(smtp_server, tmp_path):
    camp = make_campaign(tmp_path, smtp_server, daily_quota=2, rate="600/min")
    first = send(camp, "--yes")
    assert first.exit_code == 1, first.output
    assert "Due now:    7; this run sends 2 (the daily quota), about 0 s at 600/min\n" in first.stdout
    assert re.search(
        rf"The rest:   5 can go from about {WHEN}, 2 in any 24 hours: over about 3 more days\n", first.stdout
    )
    assert rcpts(smtp_server) == ADDRESSES[:2]
    second = send(camp, "--yes")
    assert second.exit_code == 1, second.output
    assert "Due now:    5; this run sends 0 (the daily quota)\n" in second.stdout  # no "about 0 s"
    assert re.search(
        rf"The rest:   5 can go from about {WHEN}, 2 in any 24 hours: over about 3 more days\n", second.stdout
    )
    assert rcpts(smtp_server) == ADDRESSES[:2]
    assert camp.counts() == counts(sent=2, pending=5)


def test_a_rest_within_one_day_of_quota_keeps_the_short_line(smtp_server, tmp_path):
    camp = make_campaign(tmp_path, smtp_server, daily_quota=4)
    result = send(camp, "--yes")
    assert re.search(rf"The rest:   3 can go from about {WHEN}, as the 24-hour quota frees up\n", result.stdout)
    assert camp.counts() == counts(sent=4, pending=3)
