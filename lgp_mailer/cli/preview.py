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
from lgp_mailer.cli.output import kind_label, print_provenance, print_warnings
from lgp_mailer.errors import ExitCode, LgpError
from lgp_mailer.i18n import N_, _, format_number, ngettext

_SHOWN_HEADERS = ("From", "To", "Reply-To", "Subject", "Date", "Message-ID")


@app.command()
def preview(
    campaign: CampaignOpt = None,
    event: EventOpt = None,
    recipients: RecipientsOpt = None,
    sheet: SheetOpt = None,
    column: ColumnOpt = None,
    kind: Annotated[str, kind_option(N_("{kinds}."))] = kinds.INVITATION.name,
    out: Annotated[
        Path | None, typer.Option("--out", help=_("Preview folder (default: the campaign's preview_dir)."))
    ] = None,
    limit: Annotated[int | None, typer.Option(min=1, help=_("Only the first N recipients."))] = None,
    email: Annotated[str | None, typer.Option(help=_("Only the recipient with this address."))] = None,
    open_: Annotated[
        bool, typer.Option("--open", help=_("Open the review gallery (index.html) in a browser."))
    ] = False,
    lint: Annotated[
        bool,
        typer.Option("--lint", help=_("Check deliverability of each kind (and SpamAssassin's score if installed).")),
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
        typer.echo(f"== {kind_label(report.kind)}")
        for finding in report.findings:
            typer.echo(f"  {finding.severity:<8} {finding.check:<13} {finding.message}")
        problems += report.problems
    found = ngettext("{n} problem", "{n} problems", problems).format(n=problems)
    kinds_checked = ngettext("in {n} kind.", "in {n} kinds.", len(reports)).format(n=len(reports))
    typer.echo(f"{found} {kinds_checked}")
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
        console.print(Panel(headers, title=f"{kind_label(report.kind)} 1/{report.total}", expand=False))
        console.print(text_part(message), markup=False, soft_wrap=True)
    for item in report.problems:
        if item.problem:
            problem = _("problem")
            console.print(f"[red]{problem}[/red] {item.recipient.email}: {item.problem}", markup=True)
    sheet_warnings = len(report.findings) - report.sheet_problems
    rendered = ngettext(
        "{n} message rendered, {failed} with problems", "{n} messages rendered, {failed} with problems", report.rendered
    )
    sheet = _("the sheet has {problems} and {warnings}").format(
        problems=ngettext("{n} problem row", "{n} problem rows", report.sheet_problems).format(n=report.sheet_problems),
        warnings=ngettext("{n} warning", "{n} warnings", sheet_warnings).format(n=sheet_warnings),
    )
    console.print(
        rendered.format(n=format_number(report.rendered), failed=report.failed)
        + "; "
        + sheet
        + (_(" (run 'lgp-mailer check' for details)") if report.findings else "")
        + ".\n"
        + _("Gallery: {path}").format(path=report.index),
        markup=False,
    )
