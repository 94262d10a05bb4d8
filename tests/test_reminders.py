"""The reminder and nudge windows, with a frozen clock, in Europe/Budapest."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine

from lgp_mailer.campaign.remind import (
    check_nudge_window,
    check_reminder_window,
    now_utc,
    registration_closes,
    reminder_window,
)
from lgp_mailer.errors import ConfigError, ExitCode, NothingDueError
from lgp_mailer.event import load_event

BUD = ZoneInfo("Europe/Budapest")
SEED = load_event(Path(__file__).resolve().parent.parent / "events" / "2020-06-18-innovaciok.toml")


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=BUD)


def test_window_is_midnight_before_to_the_start():
    window = reminder_window(SEED)
    assert window.opens == at(2020, 6, 17, 0, 0)
    assert window.closes == at(2020, 6, 18, 10, 0)
    assert window.opens.utcoffset() == dt.timedelta(hours=2)


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (at(2020, 6, 16, 23, 59), "before"),
        (at(2020, 6, 17, 0, 0), "open"),
        (at(2020, 6, 17, 15, 0), "open"),
        (at(2020, 6, 18, 7, 30), "open"),  # the event morning: a late registrant still gets the link
        (at(2020, 6, 18, 9, 59), "open"),
        (at(2020, 6, 18, 10, 0), "after"),
        (at(2020, 6, 19, 10, 0), "after"),
    ],
)
def test_reminder_window_with_a_frozen_clock(moment, expected):
    with time_machine.travel(moment, tick=False):
        now = now_utc()
        if expected == "open":
            assert check_reminder_window(SEED, now) == reminder_window(SEED)
        elif expected == "before":
            with pytest.raises(NothingDueError, match="window opens at 2020-06-17 00:00") as caught:
                check_reminder_window(SEED, now)
            assert caught.value.exit_code == ExitCode.NOTHING_DUE
            assert check_reminder_window(SEED, now, force=True)  # --force only opens it early
        else:
            with pytest.raises(NothingDueError, match="started at 2020-06-18 10:00"):
                check_reminder_window(SEED, now)
            with pytest.raises(ConfigError, match="refusing even with --force"):
                check_reminder_window(SEED, now, force=True)


def test_window_around_a_dst_change():
    # Summer time starts at 02:00 on Sunday 29 March 2026: the window of a
    # Monday 30 March 9:00 event opens at local midnight, CET, and closes in CEST.
    event = dataclasses.replace(SEED, date=dt.date(2026, 3, 30), start=dt.time(9, 0), end=dt.time(11, 0))
    window = reminder_window(event)
    assert window.opens == dt.datetime(2026, 3, 28, 23, 0, tzinfo=dt.UTC)
    assert window.closes == dt.datetime(2026, 3, 30, 7, 0, tzinfo=dt.UTC)
    utc = dt.UTC
    assert window.closes.astimezone(utc) - window.opens.astimezone(utc) == dt.timedelta(hours=32)  # one hour skipped
    with (
        time_machine.travel(dt.datetime(2026, 3, 28, 22, 59, tzinfo=dt.UTC), tick=False),
        pytest.raises(NothingDueError),
    ):
        check_reminder_window(event, now_utc())
    with time_machine.travel(dt.datetime(2026, 3, 29, 1, 30, tzinfo=dt.UTC), tick=False):
        assert check_reminder_window(event, now_utc())


def test_nudge_stops_when_registration_closes():
    assert registration_closes(SEED) == at(2020, 6, 17, 0, 0)
    with time_machine.travel(at(2020, 6, 16, 23, 0), tick=False):
        assert check_nudge_window(SEED, now_utc()) == at(2020, 6, 17, 0, 0)
    with (
        time_machine.travel(at(2020, 6, 17, 0, 0), tick=False),
        pytest.raises(NothingDueError, match="registration closed at 2020-06-17 00:00"),
    ):
        check_nudge_window(SEED, now_utc())
    explicit = dataclasses.replace(SEED, registration_closes=dt.datetime(2020, 6, 15, 12, 0))
    with (
        time_machine.travel(at(2020, 6, 15, 12, 1), tick=False),
        pytest.raises(NothingDueError, match="2020-06-15 12:00"),
    ):
        check_nudge_window(explicit, now_utc())
