"""``lgp-mailer remind``: the day-before join link to registrants, or a nudge to those not yet registered."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lgp_mailer.cli import smtp_options as so
from lgp_mailer.cli.app import app, fail
from lgp_mailer.cli.common import (
    BatchOpt,
    CampaignOpt,
    ConnectionsOpt,
    ColumnOpt,
    DryRunOpt,
    EventOpt,
    NonInteractiveOpt,
    QuietOpt,
    RecipientsOpt,
    ResendUnknownOpt,
    RetryFailedOpt,
    SheetOpt,
    TestToOpt,
    YesOpt,
    resolve_campaign,
)
from lgp_mailer.errors import ConfigError, ExitCode, LgpError, NothingDueError


@app.command()
def remind(
    day_before: Annotated[bool, typer.Option("--day-before", help="Send the join link to every registrant not yet reminded.")] = False,
    not_registered: Annotated[bool, typer.Option("--not-registered", help="Nudge invited recipients who have not registered.")] = False,
    registrations: Annotated[Path | None, typer.Option(help="The registration form's export (CSV or XLSX).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Open the reminder window early (never after the start).")] = False,
    campaign: CampaignOpt = None,
    event: EventOpt = None,
    recipients: RecipientsOpt = None,
    sheet: SheetOpt = None,
    column: ColumnOpt = None,
    batch: BatchOpt = None,
    yes: YesOpt = False,
    dry_run: DryRunOpt = False,
    test_to: TestToOpt = None,
    retry_failed: RetryFailedOpt = False,
    resend_unknown: ResendUnknownOpt = False,
    non_interactive: NonInteractiveOpt = False,
    quiet: QuietOpt = False,
    connections: ConnectionsOpt = 1,
    host: so.HostOpt = None, port: so.PortOpt = None, security: so.SecurityOpt = None, username: so.UsernameOpt = None,
    auth: so.AuthOpt = None, rate: so.RateOpt = None, daily_quota: so.QuotaOpt = None, timeout: so.TimeoutOpt = None,
    messages_per_connection: so.PerConnOpt = None, cafile: so.CafileOpt = None, insecure: so.InsecureOpt = False,
) -> None:
    """Remind registrants on the day before (the join link), or nudge the invited who have not registered.

    Cron-safe: a second run sends nothing new; outside the window it exits 3
    (silently with --quiet).
    """
    from lgp_mailer.cli.send import _send

    flags = so.smtp_flags(host, port, security, username, auth, rate, daily_quota, timeout,
                          messages_per_connection, cafile, insecure)
    try:
        if day_before == not_registered:
            raise ConfigError("choose one: --day-before or --not-registered", key="remind")
        chosen = resolve_campaign(campaign, event, recipients, sheet, column, quiet=quiet)
        kind, targets, ev, regs_sheet = _targets(chosen, registrations, day_before=day_before, force=force, quiet=quiet)
        code = _send(chosen, flags, kind=kind, batch=batch, yes=yes, dry_run=dry_run, test_to=test_to, email=None,
                     retry_failed=retry_failed, resend_unknown=resend_unknown, non_interactive=non_interactive,
                     quiet=quiet, recipients_override=targets, event=ev, sheet=regs_sheet,
                     connections=connections)
    except NothingDueError as error:
        if not quiet:
            typer.echo(f"lgp-mailer: {error.message}")
        raise typer.Exit(int(ExitCode.NOTHING_DUE)) from None
    except LgpError as error:
        raise fail(error) from None
    raise typer.Exit(int(code))


def _targets(campaign, registrations: Path | None, *, day_before: bool, force: bool, quiet: bool):
    """Check the window, load and match registrations, and pick who gets the message."""
    from lgp_mailer.event import load_event
    from lgp_mailer.sheets.recipients import RecipientSheet, load_recipients
    from lgp_mailer.campaign.matching import format_match_report, match_registrations, reminder_recipients
    from lgp_mailer.sheets.registrations import load_registrations
    from lgp_mailer.campaign.remind import check_nudge_window, check_reminder_window, now_utc

    event = load_event(campaign.event_path)
    now = now_utc()
    if day_before:
        if not event.join_url:
            raise ConfigError("no join link: add [online] join_url to the event file", file=event.path, key="online.join_url")
        check_reminder_window(event, now, force=force)
    else:
        check_nudge_window(event, now)
    path = registrations or campaign.registrations_path
    if path is None:
        raise ConfigError("no registrations file: set 'registrations' in lgp-mailer.toml or pass --registrations",
                          file=campaign.config_file, key="registrations")
    invited = load_recipients(campaign.recipients_path, sheet=campaign.sheet, columns=dict(campaign.columns) or None)
    regs = load_registrations(path)
    report = match_registrations(regs, invited.recipients)
    lines = format_match_report(report, regs, now, max_age_hours=campaign.registrations_max_age_hours)
    for line in lines:
        if line.startswith(("WARNING", "Figyelem")):
            typer.echo(line, err=True)
        elif not quiet:
            typer.echo(line)
    _report_findings(regs, day_before=day_before, quiet=quiet)
    if day_before:
        targets = reminder_recipients(report)
        return "reminder", targets, event, RecipientSheet(targets, list(regs.findings), path)
    targets = _not_registered(campaign, invited.recipients, report.registered_addresses())
    return "nudge", targets, event, RecipientSheet(targets, [], campaign.recipients_path)


def _report_findings(regs, *, day_before: bool, quiet: bool) -> None:
    """Say which answers of the export cannot be used, and what that costs.

    A problem row (no usable address) drops a registrant: without this line
    nobody learns that someone who registered gets no join link, or that a
    municipality is nudged although it registered.  So problems go to stderr
    on every run, --quiet or not (cron mails them); warnings only when not quiet.
    """
    cost = "this registrant gets no reminder" if day_before else "this answer does not count as a registration"
    for finding in regs.findings:
        parts = [finding.file]
        if finding.sheet:
            parts.append(f"sheet {finding.sheet!r}")
        if finding.row is not None:
            parts.append(f"row {finding.row}")
        if finding.column:
            parts.append(f"column {finding.column!r}")
        where = ", ".join(parts)
        value = f" {finding.value!r}:" if finding.value else ""
        if finding.severity == "problem":
            typer.echo(f"WARNING: {where}:{value} {finding.problem}: {cost}", err=True)
        elif not quiet:
            typer.echo(f"Note: {where}:{value} {finding.problem}")


def _not_registered(campaign, recipients, registered: set[str]):
    """Invited recipients whose invitation was sent and who have not registered."""
    from lgp_mailer.cli.runtime import open_campaign_ledger

    ledger = open_campaign_ledger(campaign)
    try:
        sent = {row.address.lower() for row in ledger.rows(campaign.campaign_id, "invitation") if row.status == "sent"}
    finally:
        ledger.close()
    return [r for r in recipients if r.email.lower() in sent and r.email.lower() not in registered]
