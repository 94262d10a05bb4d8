"""When reminders and nudges may go, and to whom (``targets``).

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
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from lgp_mailer import kinds
from lgp_mailer.campaign.matching import format_match_report, match_registrations, reminder_recipients
from lgp_mailer.campaign.revisions import refuse_cancelled
from lgp_mailer.config import Campaign
from lgp_mailer.errors import ConfigError, NothingDueError
from lgp_mailer.event import Event, load_event
from lgp_mailer.i18n import _
from lgp_mailer.ledger.store import open_campaign_ledger
from lgp_mailer.mail.ical import BUDAPEST
from lgp_mailer.sheets.recipients import Recipient, RecipientSheet, load_recipients
from lgp_mailer.sheets.registrations import RegistrationList, load_registrations


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
        message = _("the conference started at {start} (Europe/Budapest): reminders are no longer sent").format(
            start=_local(window.closes)
        )
        if force:
            raise ConfigError(_("refusing even with --force: {message}").format(message=message), key="--force")
        raise NothingDueError(message)
    if now < window.opens and not force:
        raise NothingDueError(
            _(
                "nothing is due yet: the reminder window opens at {opens} (Europe/Budapest); --force opens it early"
            ).format(opens=_local(window.opens))
        )
    return window


def check_nudge_window(event: Event, now: dt.datetime) -> dt.datetime:
    """Raise once registration has closed: a nudge to register must never arrive too late."""
    closes = registration_closes(event)
    if now >= closes:
        what = _("the conference started") if closes == reminder_window(event).closes else _("registration closed")
        raise NothingDueError(
            _("{what} at {closes} (Europe/Budapest): no nudge is sent").format(what=what, closes=_local(closes))
        )
    return closes


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class RemindTargets:
    """Who a ``remind`` run writes to, and what the registrations file said."""

    kind: str  # kinds.REMINDER or kinds.NUDGE
    recipients: list[Recipient]
    event: Event
    sheet: RecipientSheet
    report_lines: list[str]  # the match report (format_match_report)
    registrations: RegistrationList


def targets(
    campaign: Campaign,
    registrations: Path | None,
    *,
    day_before: bool,
    force: bool,
    now: dt.datetime | None = None,
    env: Mapping[str, str] = os.environ,
) -> RemindTargets:
    """Check the window, load and match the registrations, and pick who gets the message:
    every registrant for the day-before reminder; for the nudge, the invited whose
    invitation was sent and who have not registered."""
    with open_campaign_ledger(campaign.database, env) as ledger:
        refuse_cancelled(ledger, campaign.campaign_id)  # exit 3, naming the cancellation's date
    event = load_event(campaign.event_path)
    now = now or now_utc()
    if day_before:
        if kinds.REMINDER.needs_join_url and not event.join_url:
            raise ConfigError(
                _("no join link: add [online] join_url to the event file"), file=event.path, key="online.join_url"
            )
        check_reminder_window(event, now, force=force)
    else:
        check_nudge_window(event, now)
    path = registrations or campaign.registrations_path
    if path is None:
        raise ConfigError(
            _("no registrations file: set 'registrations' in lgp-mailer.toml or pass --registrations"),
            file=campaign.config_file,
            key="registrations",
        )
    invited = load_recipients(
        campaign.recipients_path, sheet=campaign.sheet, columns=dict(campaign.columns) or None, limits=campaign.limits
    )
    invited.recipients = list(invited.recipients)  # matched and chosen from, as the same objects
    regs = load_registrations(path, columns=dict(campaign.registration_columns), limits=campaign.limits)
    if day_before and not regs.registrants and not regs.problems:
        # Else the run ends "nothing is due … everything is sent", the opposite of what happened.
        raise NothingDueError(
            _(
                "nobody has registered yet: {path} lists no registrant; nothing to remind"
                " (download a fresh export of the form)"
            ).format(path=path)
        )
    report = match_registrations(regs, invited.recipients)
    lines = format_match_report(report, regs, now, max_age_hours=campaign.registrations_max_age_hours)
    lines += stale_registrations(campaign, regs, env)
    if day_before:
        chosen = reminder_recipients(report)
        sheet = RecipientSheet(chosen, list(regs.findings), path)
        return RemindTargets(kinds.REMINDER.name, chosen, event, sheet, lines, regs)
    chosen = _not_registered(campaign, invited.recipients, report.registered_addresses(), env)
    return RemindTargets(
        kinds.NUDGE.name, chosen, event, RecipientSheet(chosen, [], campaign.recipients_path), lines, regs
    )


def stale_registrations(campaign: Campaign, regs: RegistrationList, env: Mapping[str, str]) -> list[str]:
    """A WARNING when every registration is older than the campaign's first invitation: an
    export of the last conference's form, kept in a copied folder, would remind last time's
    registrants with this conference's join link, and keep this time's out of the nudge."""
    from lgp_mailer.campaign.inputs import campaign_ledger_if_any  # noqa: PLC0415 - only with a sent log
    from lgp_mailer.ledger.events import first_snapshot_at  # noqa: PLC0415 - as above

    times = [r.registered_at for r in regs.registrants]
    location = campaign_ledger_if_any(campaign, env)
    if not times or None in times or location is None:
        return []  # no timestamps to compare (a hand-typed list), or no invitation yet
    with open_campaign_ledger(campaign.database, env, campaign.database_password_command) as ledger:
        first = first_snapshot_at(ledger, campaign.campaign_id, kinds.INVITATION.name)
    if first is None:
        return []
    invited = dt.datetime.fromisoformat(first).astimezone(BUDAPEST)
    newest = max(t for t in times if t is not None).replace(tzinfo=BUDAPEST)
    if newest >= invited:
        return []
    return [
        _(
            "WARNING: {path}: every registration ({count}, the latest at {latest}) is older than this campaign's"
            " first invitation ({invited}): is it the last conference's export? Download this form's answers"
        ).format(path=regs.path, count=len(times), latest=_local(newest), invited=_local(invited))
    ]


def _not_registered(
    campaign: Campaign, recipients: list[Recipient], registered: set[str], env: Mapping[str, str]
) -> list[Recipient]:
    """Invited recipients whose invitation was sent and who have not registered."""
    with open_campaign_ledger(campaign.database, env, campaign.database_password_command) as ledger:
        sent = ledger.sent_addresses(campaign.campaign_id, kinds.INVITATION.name)
    return [r for r in recipients if r.email.lower() in sent and r.email.lower() not in registered]
