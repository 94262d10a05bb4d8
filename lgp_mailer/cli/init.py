"""``lgp-mailer init DIR``: start a new campaign from the shipped example."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lgp_mailer.cli.app import app, fail
from lgp_mailer.errors import LgpError


@app.command()
def init(
    directory: Annotated[
        Path, typer.Argument(help="New campaign folder (created if missing; must not hold a campaign).")
    ],
) -> None:
    """Create a campaign folder with the shipped templates, event file, example sheet and a fresh campaign_id.

    \b
    Examples:
      lgp-mailer init 2027-klima
      cd 2027-klima && lgp-mailer check
    """
    from lgp_mailer.campaign.scaffold import init_campaign

    try:
        config = init_campaign(directory)
    except LgpError as error:
        raise fail(error) from None
    typer.echo(f"Created {config}.")
    typer.echo(f"Next: edit the event file and the sheet, then run 'lgp-mailer preview' in {directory}.")
