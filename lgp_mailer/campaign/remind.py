"""When reminders and nudges may go, and to whom.

The day-before reminder's window opens at 00:00 Europe/Budapest on the day
before the conference and closes when it starts: hourly scheduled runs inside
the window catch late registrants, including those who register on the
morning itself.  ``force`` may only open the window early; after the start
nothing is sent, whatever the flags.  The not-yet-registered nudge goes until
registration closes (the event file's ``registration.closes``, by default
when the reminder window opens), and never after the start.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from lgp_mailer.errors import ConfigError, NothingDueError
from lgp_mailer.event import Event
from lgp_mailer.mail.ical import BUDAPEST


@dataclass(frozen=True)
class Window:
    opens: dt.datetime
    closes: dt.datetime


def _local(moment: dt.datetime) -> str:
    return moment.astimezone(BUDAPEST).strftime("%Y-%m-%d %H:%M")


def reminder_window(event: Event) -> Window:
    opens = dt.datetime.combine(event.date - dt.timedelta(days=1), dt.time(0, 0), tzinfo=BUDAPEST)
    return Window(opens, dt.datetime.combine(event.date, event.start, tzinfo=BUDAPEST))


def registration_closes(event: Event) -> dt.datetime:
    """When nudges stop: the event file's ``registration.closes``, never later than the start.

    Reminders stop at the start, so a registration after it can never bring
    the join link: a nudge to register must not arrive then either.
    """
    window = reminder_window(event)
    if event.registration_closes is not None:
        return min(event.registration_closes.replace(tzinfo=BUDAPEST), window.closes)
    return window.opens


def check_reminder_window(event: Event, now: dt.datetime, *, force: bool = False) -> Window:
    """Raise unless reminders may go now; ``now`` must be timezone-aware."""
    window = reminder_window(event)
    if now >= window.closes:
        message = f"the conference started at {_local(window.closes)} (Europe/Budapest): reminders are no longer sent"
        if force:
            raise ConfigError(f"refusing even with --force: {message}", key="--force")
        raise NothingDueError(message)
    if now < window.opens and not force:
        raise NothingDueError(
            f"nothing is due yet: the reminder window opens at {_local(window.opens)} (Europe/Budapest); "
            "--force opens it early"
        )
    return window


def check_nudge_window(event: Event, now: dt.datetime) -> dt.datetime:
    """Raise once registration has closed: a nudge to register must never arrive too late."""
    closes = registration_closes(event)
    if now >= closes:
        what = "the conference started" if closes == reminder_window(event).closes else "registration closed"
        raise NothingDueError(f"{what} at {_local(closes)} (Europe/Budapest): no nudge is sent")
    return closes


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)
