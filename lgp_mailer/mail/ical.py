"""The conference as an iCalendar PUBLISH entry (``meghivo.ics``), built with icalendar.

One entry per event, the same for every recipient: an ORGANIZER and no
ATTENDEE (this is an announcement, not a meeting request that asks for
replies), times in Europe/Budapest with a VTIMEZONE covering only the
event's year, a stable UID (the campaign's, see :func:`campaign_calendar_uid`)
and a SEQUENCE.  SEQUENCE comes from the sent log (``campaign.revisions``):
``2 * revision`` plus the kind's offset, so the invitation and the nudge of a
revision carry 2r, its reminder 2r + 1 with the join link, and the next
change notice 2(r + 1): a calendar that imported an earlier entry updates it
instead of adding a second one.

The cancellation is PUBLISH with STATUS:CANCELLED, not METHOD:CANCEL.
METHOD:CANCEL is iTIP scheduling (RFC 5546): Outlook and Gmail act on it only
for a meeting the recipient is an ATTENDEE of, sent as an inline
``text/calendar`` part; an attached CANCEL without attendees is shown as an
unsupported calendar message (Outlook), ignored (Gmail), or cannot be opened
(iOS Mail without an Exchange account).  Our entries are announcements the
recipient saved from an attachment, and all three clients import an attached
PUBLISH entry as an update of the entry with the same UID and a higher
SEQUENCE; STATUS:CANCELLED then marks it cancelled (Apple Calendar strikes it
through), and the SUMMARY starts with "ELMARAD:" for a client that shows no
status.  The letter itself asks the reader to delete the entry.

Placement (see ``compose``): the entry travels as an *attachment* named
``meghivo.ics`` with ``Content-Type: text/calendar; method=PUBLISH`` next to
the multipart/alternative letter, never as a third alternative.  As a last
alternative part, clients that pick "the richest alternative they can show"
would display the calendar data instead of the HTML letter: Outlook turns
such a message into a meeting item and hides the letter, and some Apple Mail
versions show the calendar part alone.  As an attachment the letter stays
what every client displays: Outlook shows ``meghivo.ics`` as an attachment
that opens as an appointment to save; Gmail lists it as an attachment and
offers to add the event to Google Calendar; Apple Mail shows it as an
attachment that opens in Calendar.  RFC 6047 requires the ``method``
parameter to equal the calendar's METHOD, so both say PUBLISH.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from zoneinfo import ZoneInfo

from lgp_mailer.event import Event
from lgp_mailer.kinds import Kind

TZID = "Europe/Budapest"
BUDAPEST = ZoneInfo(TZID)
METHOD = "PUBLISH"  # the shipped kinds' method
FILENAME = "meghivo.ics"
_METHOD_LINE = re.compile(r"^METHOD:([A-Za-z-]+)\r?$", re.MULTILINE)


def method_of(calendar: str) -> str:
    """The entry's METHOD, which the MIME part's ``method`` parameter must repeat (RFC 6047)."""
    match = _METHOD_LINE.search(calendar)
    return match.group(1) if match else METHOD


# The meeting ID's label as the letter's join block says it (templates/_join_words.j2).
_ID_LABELS = {"zoom": "Meeting-azonosító", "teams": "Értekezlet-azonosító"}


def campaign_calendar_uid(campaign_id: str, domain: str) -> str:
    """The campaign's calendar UID: derived from its campaign_id, so no two campaigns share one.

    The send run records it in the sent log at the campaign's first send and reads it back ever after
    (``ledger.events``); an event file's ``[calendar] uid`` is ignored with a warning.
    """
    digest = hashlib.sha256(f"{campaign_id}\x1fcalendar".encode()).hexdigest()[:24]
    return f"{digest}@{domain}"


def calendar_entry(
    event: Event,
    *,
    uid: str,
    organizer_name: str,
    organizer_email: str,
    kind: Kind,
    stamp: dt.datetime,
    sequence: int = 0,
    join_link: bool | None = None,
) -> str:
    """The ``.ics`` text of ``kind``'s entry (CRLF line ends, as RFC 5545 writes them).

    ``sequence`` is the revision's base SEQUENCE (the kind adds its offset); ``join_link``
    overrides the kind's rule (a change notice to a registrant who already has the link)."""
    from icalendar import Calendar, Timezone, vCalAddress, vText  # noqa: PLC0415 - icalendar is heavy; only letters with a calendar need it
    from icalendar import Event as VEvent  # noqa: PLC0415 - as above

    cal = Calendar()
    cal.add("prodid", "-//lgp-mailer//Legjobb Onkormanyzati Gyakorlatok Programja//HU")
    cal.add("version", "2.0")
    cal.add("method", kind.calendar_method or METHOD)
    first, last = dt.date(event.date.year, 1, 1), dt.date(event.date.year, 12, 31)
    cal.add_component(Timezone.from_tzid(TZID, first_date=first, last_date=last))
    entry = VEvent()
    entry.add("uid", uid)
    entry.add("sequence", sequence + kind.sequence_offset)
    entry.add("dtstamp", stamp.astimezone(dt.UTC))
    entry.add("dtstart", dt.datetime.combine(event.date, event.start, tzinfo=BUDAPEST))
    entry.add("dtend", dt.datetime.combine(event.date, event.end, tzinfo=BUDAPEST))
    cancelled = kind.calendar_status == "CANCELLED"
    entry.add("summary", f"ELMARAD: {event.title}" if cancelled else event.title)
    organizer = vCalAddress(f"mailto:{organizer_email}")
    organizer.params["cn"] = vText(organizer_name)
    entry.add("organizer", organizer)
    if cancelled:
        # A called-off meeting offers no link to join, and no promise of one.
        entry.add("location", f"{event.platform_name} (online)")
        details = ["A konferencia elmarad."]
    elif (kind.join_link if join_link is None else join_link) and event.join_url:
        entry.add("location", f"{event.platform_name}: {event.join_url}")
        entry.add("url", event.join_url)
        details = [f"Csatlakozás: {event.join_url}"]
        if event.meeting_id:
            details.append(f"{_ID_LABELS.get(event.platform_kind, 'Azonosító')}: {event.meeting_id}")
        if event.passcode:
            details.append(f"Jelkód: {event.passcode}")
    else:
        entry.add("location", f"{event.platform_name} (online)")
        entry.add("url", event.registration_url)
        details = [
            f"Regisztráció: {event.registration_url}",
            "A csatlakozási linket a konferencia előtti napon küldjük a regisztráltaknak.",
        ]
    description = [event.subtitle or event.title, *details]
    entry.add("description", "\n".join(description))
    entry.add("status", kind.calendar_status)
    entry.add("transp", "TRANSPARENT" if cancelled else "OPAQUE")
    cal.add_component(entry)
    ics: bytes = cal.to_ical()
    return ics.decode("utf-8")
