"""Add-to-calendar links for the HTML letter: Google Calendar, Outlook.com and Microsoft 365.

Each link carries the event's current date, times and title (and, where the
letter carries it, the join link), built with ``urllib.parse`` quoting.  The
attached ``meghivo.ics`` is the fourth way; the letter names it next to the links.

* Google Calendar's template URL takes ``dates`` as two UTC stamps
  (``20270311T090000Z/20270311T104500Z``), unambiguous whatever the
  reader's own time zone;
* Outlook.com and Microsoft 365 share the deep link
  ``/calendar/0/action/compose?rru=addevent`` with ISO 8601 ``startdt`` and
  ``enddt`` carrying the Budapest offset.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from lgp_mailer.event import Event

BUDAPEST = ZoneInfo("Europe/Budapest")
GOOGLE = "https://calendar.google.com/calendar/render"
OUTLOOK_LIVE = "https://outlook.live.com/calendar/0/action/compose"
OUTLOOK_OFFICE = "https://outlook.office.com/calendar/0/action/compose"


@dataclass(frozen=True)
class CalendarLinks:
    google: str
    outlook_live: str
    outlook_office: str


def _span(event: Event) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(event.date, event.start, tzinfo=BUDAPEST)
    return start, dt.datetime.combine(event.date, event.end, tzinfo=BUDAPEST)


def calendar_links(event: Event, *, join: bool) -> CalendarLinks:
    """The three links for ``event``; ``join``: the details carry the join link, else the registration link."""
    start, end = _span(event)
    if join and event.join_url:
        details, location = f"Csatlakozás: {event.join_url}", f"{event.platform_name}: {event.join_url}"
    else:
        details, location = f"Regisztráció: {event.registration_url}", f"{event.platform_name} (online)"
    utc = "%Y%m%dT%H%M%SZ"
    google = (
        GOOGLE
        + "?"
        + urlencode(
            {
                "action": "TEMPLATE",
                "text": event.title,
                "dates": f"{start.astimezone(dt.UTC):{utc}}/{end.astimezone(dt.UTC):{utc}}",
                "ctz": "Europe/Budapest",
                "details": details,
                "location": location,
            }
        )
    )
    outlook = urlencode(
        {
            "rru": "addevent",
            "subject": event.title,
            "startdt": start.isoformat(),
            "enddt": end.isoformat(),
            "body": details,
            "location": location,
        }
    )
    return CalendarLinks(google, f"{OUTLOOK_LIVE}?{outlook}", f"{OUTLOOK_OFFICE}?{outlook}")


__all__ = ["CalendarLinks", "calendar_links"]
