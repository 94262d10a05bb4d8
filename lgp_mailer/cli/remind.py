"""``lgp-mailer remind``: the day-before join link to registrants, or a nudge to those not yet registered."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated, Any

import typer

from lgp_mailer.cli import common as so
from lgp_mailer.cli.app import app, fail
from lgp_mailer.cli.common import (
    CampaignOpt,
    ColumnOpt,
    EventOpt,
    RecipientsOpt,
    RunFlags,
    SheetOpt,
    resolve_campaign,
)
from lgp_mailer.errors import ConfigError, LgpError, NothingDueError
from lgp_mailer.i18n import _


@app.command()
@so.smtp_options()
@so.run_options()
def remind(
    day_before: Annotated[
        bool, typer.Option("--day-before", help=_("Send the join link to every registrant not yet reminded."))
    ] = False,
    not_registered: Annotated[
        bool, typer.Option("--not-registered", help=_("Nudge invited recipients who have not registered."))
    ] = False,
    registrations: Annotated[Path | None, typer.Option(help=_("The registration form's export (CSV or XLSX)."))] = None,
    force: Annotated[
        bool, typer.Option("--force", help=_("Open the reminder window early (never after the start)."))
    ] = False,
    campaign: CampaignOpt = None,
    event: EventOpt = None,
    recipients: RecipientsOpt = None,
    sheet: SheetOpt = None,
    column: ColumnOpt = None,
    join: so.JoinOpt = False,
    *,
    run: RunFlags,
    smtp: dict[str, Any],
) -> None:
    """Remind registrants on the day before (the join link), or nudge the invited who have not registered.

    Cron-safe: a second run sends nothing new; outside the window it exits 3
    (silently with --quiet).

    \b
    Examples:
      lgp-mailer remind --day-before --registrations valaszok.csv
      lgp-mailer remind --not-registered --batch 200
    """
    from lgp_mailer.campaign.next_steps import input_args
    from lgp_mailer.campaign.remind import targets
    from lgp_mailer.cli.output import print_provenance
    from lgp_mailer.cli.send import nothing_due_exit, run_send

    try:
        if day_before == not_registered:
            raise ConfigError(_("choose one: --day-before or --not-registered"), key="remind")
        chosen = resolve_campaign(campaign, event, recipients, sheet, column, quiet=run.quiet)
        if registrations is not None:  # the block names the file this run reads
            chosen = dataclasses.replace(chosen, registrations_path=registrations.resolve())
        print_provenance(chosen, quiet=run.quiet)
        chosen_targets = targets(chosen, registrations, day_before=day_before, force=force)
        _print_match_report(chosen_targets.report_lines, quiet=run.quiet)
        _report_findings(chosen_targets.registrations, day_before=day_before, quiet=run.quiet)
        code = run_send(
            chosen,
            smtp,
            run,
            kind=chosen_targets.kind,
            recipients_override=chosen_targets.recipients,
            event=chosen_targets.event,
            sheet=chosen_targets.sheet,
            join=join,
            inputs=input_args(campaign, event, recipients, sheet, column),
            extra=(
                *(["--registrations", str(registrations)] if registrations else []),
                *(["--force"] if force else []),
            ),
        )
    except NothingDueError as error:
        raise nothing_due_exit(error, quiet=run.quiet) from None
    except LgpError as error:
        raise fail(error) from None
    raise typer.Exit(int(code))


def _print_match_report(lines: list[str], *, quiet: bool) -> None:
    for line in lines:
        if line.startswith(("WARNING", "Figyelem", _("WARNING: {line}").partition(":")[0])):
            typer.echo(line, err=True)
        elif not quiet:
            typer.echo(line)


def _report_findings(regs, *, day_before: bool, quiet: bool) -> None:
    """Say which answers of the export cannot be used, and what that costs.

    A problem row (no usable address) drops a registrant: without this line
    nobody learns that someone who registered gets no join link, or that a
    municipality is nudged although it registered.  So problems go to stderr
    on every run, --quiet or not (cron mails them); warnings only when not quiet.
    """
    from lgp_mailer.campaign.matching import finding_lines  # not at import: it brings Babel and the sheets

    for problem, line in finding_lines(regs, day_before=day_before):
        if problem:
            typer.echo(line, err=True)
        elif not quiet:
            typer.echo(line)
