"""``lgp-mailer suppress add|remove|list|import``: the organisation-wide suppression list."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from lgp_mailer.cli.app import app, fail
from lgp_mailer.cli.common import CampaignOpt, open_ledger_for
from lgp_mailer.errors import ExitCode, LgpError
from lgp_mailer.i18n import _, ngettext

suppress_app = typer.Typer(
    help=_(
        "The suppression list: addresses no campaign of the office writes to again "
        "(opt-outs, permanent bounces). Kept in the sent log, so it applies to every campaign."
        "\n\n\b\nExample:\n  lgp-mailer suppress add jegyzo@pelda.example"
    ),
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(suppress_app, name="suppress")

ReasonOpt = Annotated[str, typer.Option("--reason", "-r", help=_("Why, in a few words (kept with the entry)."))]


@suppress_app.command("add")
def add(
    addresses: Annotated[list[str], typer.Argument(help=_("One or more e-mail addresses."))],
    reason: ReasonOpt = "",
    campaign: CampaignOpt = None,
) -> None:
    """Never write to these addresses again, in any campaign.

    \b
    Examples:
      lgp-mailer suppress add jegyzo@pelda.example --reason "kérte telefonon"
    """
    from lgp_mailer.ledger import suppression

    try:
        with open_ledger_for(campaign) as ledger:
            for address in addresses:
                stored, new = suppression.add(ledger, address, reason, "manual")
                typer.echo(f"{stored}: " + (_("suppressed") if new else _("already on the list; left as it was")))
    except LgpError as error:
        raise fail(error) from None


@suppress_app.command("remove")
def remove(
    addresses: Annotated[list[str], typer.Argument(help=_("One or more e-mail addresses."))],
    campaign: CampaignOpt = None,
) -> None:
    """Take addresses off the list; their unsent messages become due again as they were.

    \b
    Examples:
      lgp-mailer suppress remove jegyzo@pelda.example
    """
    from lgp_mailer.ledger import suppression

    missing = 0
    try:
        with open_ledger_for(campaign) as ledger:
            for address in addresses:
                stored, removed = suppression.remove(ledger, address)
                missing += not removed
                typer.echo(f"{stored}: " + (_("removed from the list") if removed else _("was not on the list")))
    except LgpError as error:
        raise fail(error) from None
    raise typer.Exit(int(ExitCode.PROBLEMS if missing else ExitCode.OK))


@suppress_app.command("list")
def list_(
    source: Annotated[
        str | None, typer.Option(help=_("Only entries from manual, import, bounce or unsubscribe."))
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help=_("Print JSON instead of a table."))] = False,
    campaign: CampaignOpt = None,
) -> None:
    """Show the list: address, source, when (UTC) and why.

    \b
    Examples:
      lgp-mailer suppress list
      lgp-mailer suppress list --source bounce --json
    """
    from lgp_mailer.errors import ConfigError
    from lgp_mailer.ledger import suppression
    from lgp_mailer.ledger.store import SUPPRESSION_SOURCES

    try:
        if source is not None and source not in SUPPRESSION_SOURCES:
            raise ConfigError(
                _("source must be one of {sources}").format(sources=", ".join(SUPPRESSION_SOURCES)), key="--source"
            )
        with open_ledger_for(campaign) as ledger:
            entries = suppression.listing(ledger, source)
    except LgpError as error:
        raise fail(error) from None
    if as_json:
        typer.echo(json.dumps([e.__dict__ for e in entries], ensure_ascii=False, indent=2))
        return
    for e in entries:
        typer.echo(f"{e.address}\t{e.source}\t{e.created_at[:19].replace('T', ' ')} UTC\t{e.reason}")
    n = len(entries)
    typer.echo(ngettext("{n} suppressed address.", "{n} suppressed addresses.", n).format(n=n), err=True)


@suppress_app.command("import")
def import_(
    file: Annotated[
        Path,
        typer.Argument(
            help=_("CSV or workbook (.xlsx, .xls, .ods) with an e-mail column, or a bare list of addresses.")
        ),
    ],
    reason: ReasonOpt = "",
    sheet: Annotated[str | None, typer.Option(help=_("Worksheet name, or 'all'."))] = None,
    column: Annotated[str | None, typer.Option(help=_("The header of the e-mail column, if not recognised."))] = None,
    campaign: CampaignOpt = None,
) -> None:
    """Suppress every address of a file; rows that hold no usable address are listed.

    \b
    Examples:
      lgp-mailer suppress import leiratkozottak.xlsx
    """
    from lgp_mailer.ledger import suppression

    try:
        with open_ledger_for(campaign) as ledger:
            report = suppression.import_file(
                ledger, file, reason=reason or f"import: {file.name}", sheet=sheet, column=column
            )
    except LgpError as error:
        raise fail(error) from None
    for rejected in report.rejected:
        where = _("{file}, row {row}").format(file=file, row=rejected.row)
        typer.echo(f"{where}: {rejected.text!r}: {rejected.why}", err=True)
    added = ngettext("{n} address suppressed", "{n} addresses suppressed", len(report.added))
    rejected_cells = ngettext("{n} cell not usable.", "{n} cells not usable.", len(report.rejected))
    typer.echo(
        added.format(n=len(report.added))
        + ", "
        + _("{n} already on the list").format(n=len(report.already))
        + ", "
        + rejected_cells.format(n=len(report.rejected))
    )
    raise typer.Exit(int(ExitCode.PROBLEMS if report.rejected else ExitCode.OK))
