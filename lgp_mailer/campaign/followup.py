"""After the conference: import who attended, then pick whom to thank and whom to send the recording.

``import_attendance`` reads a Zoom, Teams, Webex or Google Meet report (``sheets.attendance``)
and keeps it in the sent log (``ledger.attendance``).  ``targets`` is to the
follow-ups what ``remind.targets`` is to reminders: it checks that the
conference is over and the event file has the recording, matches the current
report's attendees to the registrants and the invited (``attendees``), and
returns the recipients of one kind, which ``campaign.send.send`` then sends
with the usual exactly-once protocol:

* ``thanks`` (``--attended``): every known person with at least
  ``[followup] attendance_minutes`` minutes;
* ``recording`` (``--missed``): every registrant who did not attend that long.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from lgp_mailer import kinds
from lgp_mailer.campaign.attendees import AttendanceMatch, format_attendance, known_people, match_attendance
from lgp_mailer.campaign.revisions import refuse_another_conference
from lgp_mailer.config import Campaign
from lgp_mailer.errors import ConfigError, LgpError, NothingDueError
from lgp_mailer.event import Event, load_event
from lgp_mailer.i18n import N_, _
from lgp_mailer.ledger.attendance import ImportResult, StoredImport, current_import, sessions, store_report
from lgp_mailer.ledger.store import open_campaign_ledger
from lgp_mailer.mail.ical import BUDAPEST
from lgp_mailer.quoting import quoted
from lgp_mailer.sheets.attendance import AttendanceReport, load_attendance, minutes_by_person
from lgp_mailer.sheets.recipients import Recipient, RecipientSheet, load_recipients
from lgp_mailer.sheets.registrations import RegistrationList, load_registrations

# Brand names stay as they are; the last is translated where shown.
PLATFORMS = {
    "zoom": "Zoom",
    "teams": "Microsoft Teams",
    "webex": "Webex",
    "meet": "Google Meet",
    "other": N_("Video platform"),
}
LANGUAGES = {"en": N_("English"), "hu": N_("Hungarian")}  # translated where shown


@dataclass(frozen=True)
class ImportOutcome:
    report: AttendanceReport
    result: ImportResult
    lines: list[str]  # what was imported, then the match
    problem: str | None = None  # why the match could not be shown (the import itself is done)


@dataclass
class FollowupTargets:
    kind: str  # kinds.THANKS or kinds.RECORDING
    recipients: list[Recipient]
    event: Event
    sheet: RecipientSheet
    report_lines: list[str]
    match: AttendanceMatch


def _local(moment: dt.datetime) -> str:
    return moment.astimezone(BUDAPEST).strftime("%Y-%m-%d %H:%M")


def conference_ends(event: Event) -> dt.datetime:
    return event.ends_at.replace(tzinfo=BUDAPEST)


def check_followup_window(event: Event, now: dt.datetime) -> None:
    """Refuse (exit 3) before the conference ends: nobody is thanked for a talk still going on."""
    ends = conference_ends(event)
    if now < ends:
        raise NothingDueError(
            _("the conference ends at {ends} (Europe/Budapest): follow-ups are sent only after it").format(
                ends=_local(ends)
            )
        )


def import_attendance(
    campaign: Campaign,
    path: Path,
    *,
    replace_newer: bool = False,
    registrations: Path | None = None,
    other_day: bool = False,
    env: Mapping[str, str] = os.environ,
) -> ImportOutcome:
    """Read the report, keep it as the campaign's attendance, and say what it means."""
    report = load_attendance(path)
    if not other_day:
        _check_day(campaign, report)
    written = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC)
    with open_campaign_ledger(campaign.database, env, campaign.database_password_command) as ledger:
        result = store_report(ledger, campaign.campaign_id, report, written, replace_newer=replace_newer)
    lines = [_import_line(report, result)]
    if result.change == "unchanged" and result.current.sha256 != report.sha256:
        lines.append(
            _("The report that counts is still {file_name}.").format(file_name=quoted(result.current.file_name))
        )
    if result.current.sha256 != report.sha256:
        return ImportOutcome(report, result, lines)
    try:
        event = load_event(campaign.event_path)
        people = known_people(_invited(campaign), _registrations(campaign, registrations, required=False))
    except LgpError as error:  # the report is stored; the lists can be fixed before 'followup'
        return ImportOutcome(report, result, lines, _("imported, but not matched: {error}").format(error=error))
    match = match_attendance(list(report.sessions), people, event.attendance_minutes)
    return ImportOutcome(report, result, lines + format_attendance(match))


def _check_day(campaign: Campaign, report: AttendanceReport) -> None:
    """Refuse a report of another meeting (last month's download): its attendees would be thanked.
    A day either side is allowed for a platform account in another time zone."""
    try:
        day = load_event(campaign.event_path).date
    except LgpError:
        return  # the import still works; the event file's problem is said after it
    days = sorted({m.date() for s in report.sessions for m in (s.joined, s.left) if m is not None})
    if days and not any(abs((d - day).days) <= 1 for d in days):
        raise ConfigError(
            _(
                "the report's meeting was on {days}, the conference in the event file is on {day}: "
                "a report of another meeting? Nothing imported; pass --other-day to import it all the same"
            ).format(days=", ".join(d.isoformat() for d in days[:3]), day=day.isoformat()),
            file=report.path,
        )


def _import_line(report: AttendanceReport, result: ImportResult) -> str:
    what = _("{platform} report, {language} export").format(
        platform=_(PLATFORMS[report.vendor]), language=_(LANGUAGES[report.language])
    )
    counts = _("{sessions} session(s) of {people} person(s)").format(
        sessions=len(report.sessions), people=len(minutes_by_person(report.sessions))
    )
    if result.change == "unchanged":
        return _("Attendance: {path}: already imported ({what}); nothing changed").format(path=report.path, what=what)
    replaced = (
        _("; replaces {file_name}").format(file_name=quoted(result.replaced.file_name))
        if result.replaced is not None
        else ""
    )
    return _("Attendance: {path}: {what}, {counts}{replaced}").format(
        path=report.path, what=what, counts=counts, replaced=replaced
    )


def targets(
    campaign: Campaign,
    registrations: Path | None,
    *,
    attended: bool,
    now: dt.datetime | None = None,
    env: Mapping[str, str] = os.environ,
) -> FollowupTargets:
    """Check the window and the event file, match the current report, and pick the recipients."""
    event = load_event(campaign.event_path)
    check_followup_window(event, now or dt.datetime.now(dt.UTC))
    if not event.recording_url:
        raise ConfigError(
            _("no recording link: add [followup] recording_url to the event file"),
            file=event.path,
            key="followup.recording_url",
        )
    with open_campaign_ledger(campaign.database, env, campaign.database_password_command) as ledger:
        refuse_another_conference(ledger, campaign, event)
        stored = current_import(ledger, campaign.campaign_id)
        if stored is None:
            raise ConfigError(
                _(
                    "campaign {campaign_id} has no attendance report: run 'lgp-mailer attendance import FILE' "
                    "first (the Zoom, Teams, Webex or Google Meet download)"
                ).format(campaign_id=quoted(campaign.campaign_id)),
                file=ledger.path,  # where the report was looked for: the sent log (there is no 'attendance' key)
            )
        found = sessions(ledger, stored.id)
    regs = _registrations(campaign, registrations, required=not attended)
    people = known_people(_invited(campaign), regs)
    match = match_attendance(found, people, event.attendance_minutes)
    lines = [_stored_line(stored), *format_attendance(match)]
    if attended:
        chosen = [p.known.recipient for p in match.attended()]
        kind = kinds.THANKS.name
    else:
        present = match.attended_addresses()
        chosen = [k.recipient for k in people if k.registered and k.recipient.email.casefold() not in present]
        kind = kinds.RECORDING.name
    source = regs.path if regs is not None and not attended else campaign.recipients_path
    return FollowupTargets(kind, chosen, event, RecipientSheet(chosen, [], source), lines, match)


def _stored_line(stored: StoredImport) -> str:
    what = _("{platform} report, {language} export").format(
        platform=_(PLATFORMS.get(stored.platform, stored.platform)),
        language=_(LANGUAGES[stored.language]) if stored.language in LANGUAGES else "",
    )
    return _("Attendance: {file_name} ({what}), imported {imported} UTC").format(
        file_name=stored.file_name, what=what, imported=stored.imported_at[:16].replace("T", " ")
    )


def _invited(campaign: Campaign) -> list[Recipient]:
    columns = dict(campaign.columns) or None
    return list(load_recipients(campaign.recipients_path, sheet=campaign.sheet, columns=columns).recipients)


def _registrations(campaign: Campaign, path: Path | None, *, required: bool) -> RegistrationList | None:
    chosen = path or campaign.registrations_path
    if chosen is None:
        if required:
            raise ConfigError(
                _("no registrations file: set 'registrations' in lgp-mailer.toml or pass --registrations"),
                file=campaign.config_file,
                key="registrations",
            )
        return None
    return load_registrations(chosen, columns=dict(campaign.registration_columns))


__all__ = [
    "FollowupTargets",
    "ImportOutcome",
    "check_followup_window",
    "conference_ends",
    "import_attendance",
    "targets",
]
