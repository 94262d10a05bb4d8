"""``lgp-mailer check``: validate the event file and every row, render every message, send nothing."""

from __future__ import annotations

from typing import Annotated

import typer

from lgp_mailer.cli.app import app, fail
from lgp_mailer.cli.common import CampaignOpt, ColumnOpt, EventOpt, RecipientsOpt, SheetOpt, resolve_campaign
from lgp_mailer.errors import LgpError


@app.command("check")
def check(
    campaign: CampaignOpt = None,
    event: EventOpt = None,
    recipients: RecipientsOpt = None,
    sheet: SheetOpt = None,
    column: ColumnOpt = None,
    kind: Annotated[str, typer.Option(help="invitation, reminder or nudge: the messages to render.")] = "invitation",
) -> None:
    """Check the recipient sheet and render every message without writing or sending anything.

    Exit code 0 when clean, 1 when there are problems or text garbled by a
    wrong code page (other warnings never count), 2 when the input or a
    template is unusable.
    """
    from lgp_mailer.campaign.check import check_file, format_report

    try:
        chosen = resolve_campaign(campaign, event, recipients, sheet, column)
        render_one = _renderer(chosen, kind)
        report = check_file(
            chosen.recipients_path, sheet=chosen.sheet, columns=dict(chosen.columns) or None, render_one=render_one
        )
    except LgpError as error:
        raise fail(error) from None
    typer.echo(format_report(report))
    raise typer.Exit(int(report.exit_code))


def _renderer(campaign, kind: str):
    """``render_one(recipient)`` for the campaign's event and templates.

    Loading the event here validates it first: a broken event file is exit 2.
    """
    from lgp_mailer.event import load_event
    from lgp_mailer.mail.build import MessageFactory

    factory = MessageFactory(campaign, load_event(campaign.event_path), kind)

    def render_one(recipient) -> None:
        factory.build(recipient)

    return render_one
