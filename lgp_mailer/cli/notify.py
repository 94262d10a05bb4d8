"""``lgp-mailer notify``: the change or cancellation notice to everyone who was sent something."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from lgp_mailer.cli import common as so
from lgp_mailer.cli.app import app, fail
from lgp_mailer.cli.common import (
    BatchOpt,
    CampaignOpt,
    ColumnOpt,
    ConnectionsOpt,
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
from lgp_mailer.i18n import _, ngettext


@app.command()
@so.smtp_options()
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
    from lgp_mailer.cli.send import run_send

    try:
        if change == cancel:
            raise ConfigError(_("choose one: --change or --cancel"), key="notify")
        chosen = resolve_campaign(campaign, event, recipients, sheet, column, quiet=quiet)
        print_provenance(chosen, quiet=quiet)
        kind = kinds.CHANGE if change else kinds.CANCELLATION
        loaded, notice_sheet, plan = notice_targets(chosen, kind, registrations=registrations)
        if not quiet:
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
            kind=plan.ledger_kind,
            batch=batch,
            yes=yes,
            dry_run=dry_run,
            test_to=test_to,
            email=None,
            retry_failed=retry_failed,
            resend_unknown=resend_unknown,
            non_interactive=non_interactive,
            quiet=quiet,
            recipients_override=plan.recipients,
            event=loaded,
            sheet=notice_sheet,
            connections=connections,
            inputs=input_args(campaign, event, recipients, sheet, column),
            extra=(*(["--registrations", str(registrations)] if registrations else []),),
            notice=plan,
        )
    except NothingDueError as error:
        if not quiet:
            typer.echo(f"lgp-mailer: {error.message}")
        raise typer.Exit(int(ExitCode.NOTHING_DUE)) from None
    except LgpError as error:
        raise fail(error) from None
    raise typer.Exit(int(code))
