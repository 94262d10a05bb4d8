"""Which files a command reads, and the guards that look at them before anything goes out.

``provenance`` is the short block every input-reading command starts with
(``check`` ends with it): campaign, event, sheet, registrations file and sent
log, each with its path.  ``input_warnings`` are the warnings of ``check``,
``preview`` and ``send``: a past conference, a closed registration, a
``[calendar] uid`` left in the event file, a sheet in ``recipients/`` that the
toml does not name.  ``refuse_started`` is the one refusal without override:
no invitation to a conference that has started.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from pathlib import Path

from lgp_mailer.campaign.changes import Snapshot, diff, snapshot
from lgp_mailer.config import Campaign
from lgp_mailer.errors import ConfigError, LgpError
from lgp_mailer.event import Event, load_event
from lgp_mailer.i18n import N_, _
from lgp_mailer.ledger.events import last_snapshot, other_campaigns_links, shared_calendar_uids
from lgp_mailer.ledger.store import Ledger, default_ledger_path, ledger_location
from lgp_mailer.mail.ical import BUDAPEST, campaign_calendar_uid
from lgp_mailer.quoting import quoted

SHEET_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods", ".csv")


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _path(path: Path | None) -> str:
    if path is None:
        return _("none configured")
    return f"{path}" if path.exists() else _("{path} (missing)").format(path=path)


def provenance(campaign: Campaign, env: Mapping[str, str] = os.environ) -> list[str]:
    """The block naming every input with its path; never raises (a broken event shows as such)."""
    try:
        event = load_event(campaign.event_path)
        about = f"{event.title}, {event.date.isoformat()} ({campaign.event_path})"
    except LgpError:
        about = _("(cannot be read) {event_path}").format(event_path=_path(campaign.event_path))
    sheet = _path(campaign.recipients_path) + (
        _(", sheet {sheet}").format(sheet=quoted(campaign.sheet)) if campaign.sheet else ""
    )
    return [
        _("Campaign:      {campaign_id} ({config_file})").format(
            campaign_id=campaign.campaign_id, config_file=campaign.config_file
        ),
        _("Event:         {about}").format(about=about),
        _("Sheet:         {sheet}").format(sheet=sheet),
        _("Registrations: {path}").format(path=_path(campaign.registrations_path)),
        _("Sent log:      {path}").format(path=ledger_location(env, campaign.database)),
    ]


def stray_sheets(campaign: Campaign) -> list[Path]:
    """Sheets in the campaign's ``recipients/`` folder that the toml does not name."""
    folder = campaign.root / "recipients"
    if campaign.shipped or not folder.is_dir():
        return []
    named = {campaign.recipients_path.resolve()}
    return sorted(
        p for p in folder.iterdir()
        if p.is_file() and p.suffix.lower() in SHEET_SUFFIXES and not p.name.startswith(("~$", ".~lock"))
        and p.resolve() not in named
    )  # fmt: skip


def _local(moment: dt.datetime) -> str:
    return moment.astimezone(BUDAPEST).strftime("%Y-%m-%d %H:%M")


def starts_at(event: Event) -> dt.datetime:
    return dt.datetime.combine(event.date, event.start, tzinfo=BUDAPEST)


def date_warnings(event: Event, now: dt.datetime) -> list[str]:
    """A conference today or past, and a registration that has closed."""
    lines = []
    today = now.astimezone(BUDAPEST).date()
    if event.date < today:
        lines.append(
            _("WARNING: {path}: conference.date {date} is in the past: is this the right event file?").format(
                path=event.path, date=event.date.isoformat()
            )
        )
    elif event.date == today:
        lines.append(
            _("WARNING: {path}: conference.date {date} is today: invitations come too late").format(
                path=event.path, date=event.date.isoformat()
            )
        )
    closes = event.registration_closes
    if closes is not None and closes.replace(tzinfo=BUDAPEST) <= now and event.date >= today:
        lines.append(
            _(
                "WARNING: {path}: registration.closes {closes} has passed: the invitation asks people to "
                "register on a closed form"
            ).format(path=event.path, closes=_local(closes.replace(tzinfo=BUDAPEST)))
        )
    if closes is not None and closes > event.starts_at:
        lines.append(
            _(
                "WARNING: {path}, key 'registration.closes': {closes} is after the conference starts ({start}): "
                "a registration then gets no join link, so the letters name the start as the deadline"
            ).format(
                path=event.path,
                closes=_local(closes.replace(tzinfo=BUDAPEST)),
                start=_local(starts_at(event)),
            )
        )
    return lines


def input_warnings(campaign: Campaign, event: Event, now: dt.datetime | None = None) -> list[str]:
    """Every warning about the inputs themselves (not the sheet's rows)."""
    lines = date_warnings(event, now or now_utc())
    if event.calendar_uid:
        uid = campaign_calendar_uid(campaign.campaign_id, campaign.sender.domain)
        lines.append(
            _(
                "WARNING: {path}: [calendar] uid {calendar_uid} is ignored: the calendar UID belongs to "
                "the campaign ({uid}); delete the line"
            ).format(path=event.path, calendar_uid=quoted(event.calendar_uid), uid=uid)
        )
    for path in stray_sheets(campaign):
        lines.append(
            _(
                "WARNING: {path} is in recipients/ but the campaign reads {recipients_path}: set "
                "'recipients' in lgp-mailer.toml to use it"
            ).format(path=path, recipients_path=campaign.recipients_path)
        )
    return lines + agenda_warnings(event) + placeholder_warnings(event.path)


def agenda_warnings(event: Event) -> list[str]:
    """An agenda that starts before or ends after the conference: the letter would say both times.

    The usual cause is a conference moved in [conference] and not in [[agenda]] (or back).
    """
    if not event.agenda:
        return []
    lines = []
    first, last = event.agenda[0], event.agenda[-1]
    if first.start < event.start:
        lines.append(
            _(
                "WARNING: {path}, key 'agenda[1].start': the agenda starts at {slot:%H:%M}, before the conference "
                "(conference.start {start:%H:%M}); the letter would give both times"
            ).format(path=event.path, slot=first.start, start=event.start)
        )
    if last.end > event.end:
        lines.append(
            _(
                "WARNING: {path}, key 'agenda[{n}].end': the agenda ends at {slot:%H:%M}, after the conference "
                "(conference.end {end:%H:%M}); the letter would give both times"
            ).format(path=event.path, n=len(event.agenda), slot=last.end, end=event.end)
        )
    return lines


def placeholder_warnings(path: Path) -> list[str]:
    """One warning per event-file line that still says KITÖLTENDŐ; a real send refuses them."""
    from lgp_mailer.campaign.scaffold import placeholders  # noqa: PLC0415 - read only when warnings are made

    return [
        _("WARNING: {path}, {where}: still says KITÖLTENDŐ (to fill in)").format(path=path, where=where)
        for where in placeholders(path)
    ]


def refuse_started(event: Event, now: dt.datetime | None = None) -> None:
    """No invitation once the conference has started; there is no override."""
    _refuse_from(
        event,
        starts_at(event),
        now,
        N_(
            "the conference started at {moment} (Europe/Budapest): no invitation is sent for it; point "
            "the campaign at the next conference's event file"
        ),
    )


def refuse_placeholders(event: Event) -> None:
    """No letter goes out while the event file still says KITÖLTENDŐ (what ``init`` left to fill in).

    The scaffold's agenda line would otherwise reach every mayor as the programme;
    a dry run and a proof copy are still allowed, to look at the letter.
    """
    from lgp_mailer.campaign.scaffold import TO_FILL, placeholder_lines  # noqa: PLC0415 - only before a send

    lines = placeholder_lines(event.path)
    if lines:
        raise ConfigError(
            _(
                "still says {marker} (to fill in): write the real text there before sending; "
                "'lgp-mailer check' lists every such line"
            ).format(marker=TO_FILL),
            file=event.path,
            line=lines[0],
        )


def refuse_ended(event: Event, now: dt.datetime | None = None) -> None:
    """No change or cancellation notice once the conference is over.

    A notice during the conference stays possible (a session moved, the second
    half called off); after its end the event file is most likely the last
    conference's, and a notice would tell everyone about the wrong one.
    """
    _refuse_from(
        event,
        dt.datetime.combine(event.date, event.end, tzinfo=BUDAPEST),
        now,
        N_(
            "the conference in this event file ended at {moment} (Europe/Budapest): no change or cancellation "
            "notice is sent for it; check that the campaign reads this conference's event file"
        ),
    )


def _refuse_from(event: Event, moment: dt.datetime, now: dt.datetime | None, message: str) -> None:
    if (now or now_utc()) >= moment:
        raise ConfigError(_(message).format(moment=_local(moment)), file=event.path, key="conference.date")


def changes_since_last_run(ledger: Ledger, campaign: Campaign, event: Event, sheet_rows: int | None) -> list[str]:
    """What differs from the campaign's last send run: the event, field by field, and the sheet."""
    stored = last_snapshot(ledger, campaign.campaign_id)
    if stored is None:
        return []
    when = stored.taken_at[:16].replace("T", " ") + " UTC"
    lines = [
        _("Changed since the last run ({when}): {change}").format(when=when, change=change)
        for change in diff(Snapshot.from_row(stored.fields), snapshot(event))
    ]
    if stored.event_path != str(event.path):
        lines.append(
            _("Changed since the last run ({when}): event file {event_path} -> {path}").format(
                when=when, event_path=stored.event_path, path=event.path
            )
        )
    if stored.sheet_path is not None and stored.sheet_path != str(campaign.recipients_path):
        lines.append(
            _("Changed since the last run ({when}): sheet {sheet_path} -> {recipients_path}").format(
                when=when, sheet_path=stored.sheet_path, recipients_path=campaign.recipients_path
            )
        )
    if stored.sheet_rows is not None and sheet_rows is not None and stored.sheet_rows != sheet_rows:
        lines.append(
            _("Changed since the last run ({when}): sheet rows {before} -> {now}").format(
                when=when, before=stored.sheet_rows, now=sheet_rows
            )
        )
    return lines


def another_conference(ledger: Ledger, campaign: Campaign, event: Event) -> ConfigError | None:
    """The error when the campaign was sent for another conference than ``event``, else None.

    A folder copied from the last conference keeps its ``campaign_id``: every
    mayor sent the old invitation would then count as sent, and only rows new to
    the sheet would get the new one.  A change of title *and* date is another
    conference; either alone is the same one renamed or moved (notices tell of that)."""
    stored = last_snapshot(ledger, campaign.campaign_id)
    if stored is None:
        return None
    before = Snapshot.from_row(stored.fields)
    if " ".join(before.title.casefold().split()) == " ".join(event.title.casefold().split()):
        return None
    if before.date == event.date.isoformat():
        return None
    return ConfigError(
        _(
            "campaign {campaign_id} was sent for another conference ({title}, {date}) and this event file is"
            " {new_title}, {new_date}: a new conference needs its own campaign ('lgp-mailer init FOLDER' writes"
            " a fresh campaign_id); if it is this conference renamed and moved, tell everyone first with"
            " 'lgp-mailer notify --change'"
        ).format(
            campaign_id=quoted(campaign.campaign_id),
            title=quoted(before.title),
            date=before.date,
            new_title=quoted(event.title),
            new_date=event.date.isoformat(),
        ),
        file=event.path,
    )


def leftover_links(ledger: Ledger, campaign: Campaign, event: Event) -> list[str]:
    """A registration form or join link that another conference in the sent log had: an event
    file made from the last one keeps it, and every mayor would register on the old form."""
    lines = []
    for other in other_campaigns_links(ledger, campaign.campaign_id):
        if other["title"] == event.title and other["date"] == event.date.isoformat():
            continue  # another mailing of this very conference
        for key, link, theirs in (
            ("registration.url", event.registration_url, other["registration_url"]),
            ("online.join_url", event.join_url, other["join_url"]),
        ):
            if link and link == theirs:
                lines.append(
                    _(
                        "WARNING: {path}, key {key}: the same link as campaign {campaign_id} ({title}, {date}):"
                        " is it this conference's?"
                    ).format(
                        path=event.path,
                        key=quoted(key),
                        campaign_id=quoted(other["campaign_id"]),
                        title=quoted(other["title"]),
                        date=other["date"],
                    )
                )
    return lines


def refuse_another_event(ledger: Ledger, campaign: Campaign, event: Event, joined: list[dict[str, object]]) -> None:
    """A sender joining live ones sends their event or nothing (ConfigError, exit 2).

    A colleague's stale copy of the event file would otherwise send part of the
    campaign with another link, time or title.  The live senders' event is the
    snapshot recorded since the oldest of them started (none yet: it is still
    building its letters, and nothing can be compared)."""
    if not joined:
        return
    stored = last_snapshot(ledger, campaign.campaign_id)
    started = min(dt.datetime.fromisoformat(str(lease["acquired_at"])) for lease in joined)
    if stored is None or dt.datetime.fromisoformat(stored.taken_at) < started:
        return
    changes = diff(Snapshot.from_row(stored.fields), snapshot(event))
    if changes:
        raise ConfigError(
            _(
                "campaign {campaign_id} is being sent by {holder} (pid {pid}) with another event: {changes};"
                " join with the event file it sends, or wait until it ends"
            ).format(
                campaign_id=quoted(campaign.campaign_id),
                holder=joined[0]["holder"],
                pid=joined[0]["pid"],
                changes="; ".join(str(change) for change in changes),
            ),
            file=event.path,
        )


def shared_uid_warnings(ledger: Ledger) -> list[str]:
    return [
        _("WARNING: calendar UID {uid} is shared by campaigns {ids}: calendars would merge them").format(
            uid=uid, ids=", ".join(ids)
        )
        for uid, ids in shared_calendar_uids(ledger).items()
    ]


def campaign_ledger_if_any(campaign: Campaign, env: Mapping[str, str] = os.environ) -> Path | str | None:
    """The sent log's path when it exists (check must not create one); a
    PostgreSQL sent log's URL as it is (the server holds it)."""
    path = default_ledger_path(env, campaign.database)
    return path if isinstance(path, str) or path.is_file() else None
