"""``lgp-mailer preview``: show the first letter and write every letter to files."""

from __future__ import annotations

from pathlib import Path
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
from lgp_mailer.cli.output import print_provenance, print_warnings
from lgp_mailer.errors import ExitCode, LgpError

_SHOWN_HEADERS = ("From", "To", "Reply-To", "Subject", "Date", "Message-ID")


@app.command()
def preview(
    campaign: CampaignOpt = None,
    event: EventOpt = None,
    recipients: RecipientsOpt = None,
    sheet: SheetOpt = None,
    column: ColumnOpt = None,
    kind: Annotated[str, kind_option("{kinds}.")] = kinds.INVITATION.name,
    out: Annotated[
        Path | None, typer.Option("--out", help="Preview folder (default: the campaign's preview_dir).")
    ] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Only the first N recipients.")] = None,
    email: Annotated[str | None, typer.Option(help="Only the recipient with this address.")] = None,
    open_: Annotated[bool, typer.Option("--open", help="Open the review gallery (index.html) in a browser.")] = False,
    lint: Annotated[
        bool, typer.Option("--lint", help="Check deliverability of each kind (and SpamAssassin's score if installed).")
    ] = False,
    quiet: QuietOpt = False,
) -> None:
    """Render every message without sending: print the first, write all as .eml, each with a review page, and an
    index.html review table to search, filter, sort and export.

    The gallery works offline, from the files alone.

    \b
    Examples:
      lgp-mailer preview --open
      lgp-mailer preview --limit 5 --kind reminder
      lgp-mailer preview --lint
    """
    from lgp_mailer.campaign.preview import lint_campaign, run_preview

    try:
        chosen = resolve_campaign(campaign, event, recipients, sheet, column, quiet=quiet)
        print_provenance(chosen, quiet=quiet)
        if lint:
            raise typer.Exit(_show_lint(lint_campaign(chosen, email=email)))
        report = run_preview(chosen, kind=kind, out_dir=out, limit=limit, email=email)
    except LgpError as error:
        raise fail(error) from None
    print_warnings(report.warnings)
    _show(report)
    if open_:
        import webbrowser

        webbrowser.open(report.index.resolve().as_uri())
    problems = report.failed + report.sheet_problems
    raise typer.Exit(int(ExitCode.PROBLEMS if problems else ExitCode.OK))


def _show_lint(reports) -> int:
    problems = 0
    for report in reports:
        typer.echo(f"== {report.kind}")
        for finding in report.findings:
            typer.echo(f"  {finding.severity:<8} {finding.check:<13} {finding.message}")
        problems += report.problems
    typer.echo(f"{problems} problem(s) in {len(reports)} kind(s).")
    return int(ExitCode.PROBLEMS if problems else ExitCode.OK)


def _show(report) -> None:
    from rich.console import Console
    from rich.panel import Panel
    from rich.table import Table

    from lgp_mailer.campaign.preview import text_part

    console = Console(highlight=False)
    if report.first is not None:
        message = report.first.message
        headers = Table.grid(padding=(0, 1))
        headers.add_column(style="bold")
        headers.add_column()
        for name in _SHOWN_HEADERS:
            if message[name] is not None:
                headers.add_row(f"{name}:", str(message[name]))
        console.print(Panel(headers, title=f"{report.kind} 1/{len(report.items)}", expand=False))
        console.print(text_part(message), markup=False, soft_wrap=True)
    for item in report.items:
        if item.problem:
            console.print(f"[red]problem[/red] {item.recipient.email}: {item.problem}", markup=True)
    sheet_warnings = len(report.findings) - report.sheet_problems
    console.print(
        f"{report.rendered} message(s) rendered, {report.failed} with problems; "
        f"the sheet has {report.sheet_problems} problem row(s) and {sheet_warnings} warning(s)"
        + (" (run 'lgp-mailer check' for details)" if report.findings else "")
        + f".\nGallery: {report.index}",
        markup=False,
    )
