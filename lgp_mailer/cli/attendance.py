"""``lgp-mailer attendance import FILE``: keep who attended (a Zoom, Teams, Webex or Meet export) in the sent log."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lgp_mailer.cli.app import app, fail
from lgp_mailer.cli.common import CampaignOpt, QuietOpt, resolve_campaign
from lgp_mailer.errors import ExitCode, LgpError
from lgp_mailer.i18n import _

attendance_app = typer.Typer(
    help=_(
        "Who attended the conference, from the platform's attendance report "
        "(Zoom, Microsoft Teams, Webex or Google Meet; CSV or Excel)."
        "\n\n\b\nExample:\n  lgp-mailer attendance import participants_81234567890.csv"
    ),
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(attendance_app, name="attendance")


@attendance_app.command("import")
def import_(
    file: Annotated[
        Path,
        typer.Argument(help=_("The platform's attendance export: Zoom, Teams, Webex or Google Meet, CSV or Excel.")),
    ],
    campaign: CampaignOpt = None,
    registrations: Annotated[
        Path | None, typer.Option(help=_("The registration form's export (default: the campaign's)."))
    ] = None,
    replace_newer: Annotated[
        bool, typer.Option("--replace-newer", help=_("Import a file written before the one already imported."))
    ] = False,
    other_day: Annotated[
        bool,
        typer.Option("--other-day", help=_("Import a report whose meeting was not on the conference's day.")),
    ] = False,
    quiet: QuietOpt = False,
) -> None:
    """Import the attendance report; importing the same file again changes nothing.

    \b
    Example:
      lgp-mailer attendance import ~/Letöltések/participants_81234567890.csv
    """
    from lgp_mailer.campaign.followup import import_attendance

    try:
        chosen = resolve_campaign(campaign, quiet=quiet)
        outcome = import_attendance(
            chosen, file, replace_newer=replace_newer, registrations=registrations, other_day=other_day
        )
    except LgpError as error:
        raise fail(error) from None
    for line in outcome.lines if not quiet else outcome.lines[:1]:
        typer.echo(line)
    if outcome.problem:
        typer.echo(_("WARNING: {line}").format(line=outcome.problem), err=True)
        raise typer.Exit(int(ExitCode.PROBLEMS))
