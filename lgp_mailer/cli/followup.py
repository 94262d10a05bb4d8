"""``lgp-mailer followup``: after the conference, thank the attendees or send the recording to the absent."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from lgp_mailer.cli import common as so
from lgp_mailer.cli.app import app, fail
from lgp_mailer.cli.common import (
    BatchOpt,
    CampaignOpt,
    ConnectionsOpt,
    DryRunOpt,
    EventOpt,
    NonInteractiveOpt,
    QuietOpt,
    RecipientsOpt,
    ResendUnknownOpt,
    RetryFailedOpt,
    TestToOpt,
    YesOpt,
    resolve_campaign,
)
from lgp_mailer.errors import ConfigError, ExitCode, LgpError, NothingDueError
from lgp_mailer.i18n import _


@app.command()
@so.smtp_options()
def followup(
    attended: Annotated[
        bool, typer.Option("--attended", help=_("Thank the attendees, with the recording and slides links."))
    ] = False,
    missed: Annotated[
        bool, typer.Option("--missed", help=_("Tell registrants who did not attend where the recording is."))
    ] = False,
    registrations: Annotated[Path | None, typer.Option(help=_("The registration form's export (CSV or XLSX)."))] = None,
    campaign: CampaignOpt = None,
    event: EventOpt = None,
    recipients: RecipientsOpt = None,
    batch: BatchOpt = None,
    yes: YesOpt = False,
    dry_run: DryRunOpt = False,
    test_to: TestToOpt = None,
    retry_failed: RetryFailedOpt = False,
    resend_unknown: ResendUnknownOpt = False,
    non_interactive: NonInteractiveOpt = False,
    quiet: QuietOpt = False,
    connections: ConnectionsOpt = 1,
    *,
    smtp: dict[str, Any],
) -> None:
    """After the conference: thank the attendees (--attended) or send the recording to the absent (--missed).

    Needs an imported attendance report ('lgp-mailer attendance import FILE') and
    [followup] recording_url in the event file.  Before the conference ends it
    exits 3; a second run sends nothing new.

    \b
    Examples:
      lgp-mailer followup --attended --dry-run
      lgp-mailer followup --missed --batch 100
    """
    from lgp_mailer.campaign.followup import targets
    from lgp_mailer.cli.send import run_send

    try:
        if attended == missed:
            raise ConfigError(_("choose one: --attended or --missed"), key="followup")
        chosen = resolve_campaign(campaign, event, recipients, quiet=quiet)
        chosen_targets = targets(chosen, registrations, attended=attended)
        if not quiet:
            for line in chosen_targets.report_lines:
                typer.echo(line)
        code = run_send(
            chosen,
            smtp,
            kind=chosen_targets.kind,
            batch=batch,
            yes=yes,
            dry_run=dry_run,
            test_to=test_to,
            email=None,
            retry_failed=retry_failed,
            resend_unknown=resend_unknown,
            non_interactive=non_interactive,
            quiet=quiet,
            recipients_override=chosen_targets.recipients,
            event=chosen_targets.event,
            sheet=chosen_targets.sheet,
            connections=connections,
        )
    except NothingDueError as error:
        if not quiet:
            typer.echo(f"lgp-mailer: {error.message}")
        raise typer.Exit(int(ExitCode.NOTHING_DUE)) from None
    except LgpError as error:
        raise fail(error) from None
    raise typer.Exit(int(code))
