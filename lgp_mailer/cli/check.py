"""``lgp-mailer check``: validate the event file and every row, render every message, send nothing."""

from __future__ import annotations

from typing import Annotated

import typer

from lgp_mailer import kinds
from lgp_mailer.cli.app import app, fail
from lgp_mailer.cli.common import (
    CampaignOpt,
    ColumnOpt,
    EventOpt,
    QuietOpt,
    RecipientsOpt,
    SheetOpt,
    kind_option,
    resolve_campaign,
)
from lgp_mailer.cli.output import print_warnings
from lgp_mailer.errors import LgpError
from lgp_mailer.i18n import N_


@app.command("check")
def check(
    campaign: CampaignOpt = None,
    event: EventOpt = None,
    recipients: RecipientsOpt = None,
    sheet: SheetOpt = None,
    column: ColumnOpt = None,
    kind: Annotated[str, kind_option(N_("{kinds}: the messages to render."))] = kinds.INVITATION.name,
    quiet: QuietOpt = False,
) -> None:
    """Check the recipient sheet and render every message without writing or sending anything.

    Exit code 0 when clean, 1 when there are problems or text garbled by a
    wrong code page (other warnings never count), 2 when the input or a
    template is unusable.

    \b
    Examples:
      lgp-mailer check
      lgp-mailer check --kind reminder
    """
    from lgp_mailer.campaign.check import check_whole_campaign, format_report

    try:
        result = check_whole_campaign(resolve_campaign(campaign, event, recipients, sheet, column, quiet=quiet), kind)
    except LgpError as error:
        raise fail(error) from None
    print_warnings(result.warnings)
    for line in result.missing:
        typer.echo(line)
    if result.report is not None:
        typer.echo(format_report(result.report))
    for line in result.registrations + result.changes:
        typer.echo(line)
    if not quiet:
        typer.echo("\n".join(["", *result.provenance]))
    raise typer.Exit(int(result.exit_code))
