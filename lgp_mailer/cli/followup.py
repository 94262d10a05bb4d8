"""``lgp-mailer followup``: after the conference, thank the attendees or send the recording to the absent."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from lgp_mailer.cli import common as so
from lgp_mailer.cli.app import app, fail
from lgp_mailer.cli.common import (
    CampaignOpt,
    EventOpt,
    RecipientsOpt,
    RunFlags,
    resolve_campaign,
)
from lgp_mailer.errors import ConfigError, LgpError, NothingDueError
from lgp_mailer.i18n import _


@app.command()
@so.smtp_options()
@so.run_options()
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
    *,
    run: RunFlags,
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
    from lgp_mailer.cli.send import nothing_due_exit, run_send

    try:
        if attended == missed:
            raise ConfigError(_("choose one: --attended or --missed"), key="followup")
        chosen = resolve_campaign(campaign, event, recipients, quiet=run.quiet)
        chosen_targets = targets(chosen, registrations, attended=attended)
        if not run.quiet:
            for line in chosen_targets.report_lines:
                typer.echo(line)
        code = run_send(
            chosen,
            smtp,
            run,
            kind=chosen_targets.kind,
            recipients_override=chosen_targets.recipients,
            event=chosen_targets.event,
            sheet=chosen_targets.sheet,
        )
    except NothingDueError as error:
        raise nothing_due_exit(error, quiet=run.quiet) from None
    except LgpError as error:
        raise fail(error) from None
    raise typer.Exit(int(code))
