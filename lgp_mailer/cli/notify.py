"""``lgp-mailer notify``: the change or cancellation notice to everyone who was sent something."""

from __future__ import annotations

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
from lgp_mailer.i18n import _, ngettext


@app.command()
@so.smtp_options()
@so.run_options()
def notify(
    change: Annotated[
        bool,
        typer.Option("--change", help=_("Send the change notice: what changed since each recipient's last letter.")),
    ] = False,
    cancel: Annotated[
        bool, typer.Option("--cancel", help=_("Send the cancellation notice: the conference is called off."))
    ] = False,
    registrations: Annotated[
        Path | None,
        typer.Option(help=_("The registration form's export, to reach registrants who are not on the sheet.")),
    ] = None,
    campaign: CampaignOpt = None,
    event: EventOpt = None,
    recipients: RecipientsOpt = None,
    sheet: SheetOpt = None,
    column: ColumnOpt = None,
    *,
    run: RunFlags,
    smtp: dict[str, Any],
) -> None:
    """Tell everyone who was sent an invitation, reminder or nudge that the conference changed or is called off.

    Each notice updates the calendar entry they saved (same UID, higher SEQUENCE). Every new
    revision of the event file is a new notice; a rerun sends nothing twice. After --cancel,
    send and remind exit 3.

    \b
    Examples:
      lgp-mailer notify --change --dry-run
      lgp-mailer notify --change --test-to en@hivatal.example
      lgp-mailer notify --change --batch 200
      lgp-mailer notify --cancel
    """
    from lgp_mailer import kinds
    from lgp_mailer.campaign.next_steps import input_args
    from lgp_mailer.campaign.notify import notice_targets
    from lgp_mailer.cli.output import print_provenance
    from lgp_mailer.cli.send import nothing_due_exit, run_send

    try:
        if change == cancel:
            raise ConfigError(_("choose one: --change or --cancel"), key="notify")
        chosen = resolve_campaign(campaign, event, recipients, sheet, column, quiet=run.quiet)
        print_provenance(chosen, quiet=run.quiet)
        kind = kinds.CHANGE if change else kinds.CANCELLATION
        loaded, notice_sheet, plan = notice_targets(chosen, kind, registrations=registrations)
        if not run.quiet:
            count = len(plan.recipients)
            typer.echo(
                ngettext(
                    "Revision {revision} of the event: {n} recipient to notify.",
                    "Revision {revision} of the event: {n} recipients to notify.",
                    count,
                ).format(revision=plan.revision, n=count)
            )
        code = run_send(
            chosen,
            smtp,
            run,
            kind=plan.ledger_kind,
            recipients_override=plan.recipients,
            event=loaded,
            sheet=notice_sheet,
            inputs=input_args(campaign, event, recipients, sheet, column),
            extra=(*(["--registrations", str(registrations)] if registrations else []),),
            notice=plan,
        )
    except NothingDueError as error:
        raise nothing_due_exit(error, quiet=run.quiet) from None
    except LgpError as error:
        raise fail(error) from None
    raise typer.Exit(int(code))
