"""``lgp-mailer report``: the committee report (workbook and HTML page) from the sent log."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lgp_mailer.cli.app import app, fail
from lgp_mailer.cli.common import CampaignOpt, QuietOpt, resolve_campaign
from lgp_mailer.errors import LgpError
from lgp_mailer.i18n import _


@app.command()
def report(
    out: Annotated[
        Path,
        typer.Option(
            "--out", help=_("A folder (jelentes.xlsx and jelentes.html inside) or FILE.xlsx (FILE.html beside it).")
        ),
    ],
    campaign_id: Annotated[
        list[str] | None,
        typer.Option(
            "--campaign-id",
            metavar="ID",
            help=_("Report this campaign (repeat for several; default: every campaign in the sent log)."),
        ),
    ] = None,
    detail: Annotated[
        bool, typer.Option("--detail", help=_("Add a sheet listing municipalities (never names or addresses)."))
    ] = False,
    ledger_only: Annotated[
        bool,
        typer.Option(
            "--ledger-only", help=_("Use only the sent log, not the campaign's contact sheet and registrations.")
        ),
    ] = False,
    campaign: CampaignOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Write the committee report: invited, delivered, registered, reminded, attended, followed up,
    by county and by role, and the series across conferences, as an Excel workbook and an HTML page.

    Needs the report extra: pip install 'lgp-mailer[report]'.  Aggregates only: no names, no addresses.

    \b
    Examples:
      lgp-mailer report --out jelentes/
      lgp-mailer report --out jelentes/ --campaign-id lgp-2026-02 --campaign-id lgp-2026-04
    """
    from lgp_mailer.campaign.committee import ReportRequest, make_report

    try:
        chosen = None if ledger_only else resolve_campaign(campaign, quiet=True)
        if ledger_only and campaign is not None:
            chosen = resolve_campaign(campaign, quiet=True)
        request = ReportRequest(out, tuple(campaign_id or ()), detail=detail, ledger_only=ledger_only)
        outcome = make_report(chosen, request)
    except LgpError as error:
        raise fail(error) from None
    if not quiet:
        for line in outcome.lines:
            typer.echo(line)
