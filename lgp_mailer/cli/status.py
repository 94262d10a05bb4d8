"""``lgp-mailer status`` and ``lgp-mailer log export FILE``: the sent log for people."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from lgp_mailer.cli.app import app, fail
from lgp_mailer.cli.common import CampaignOpt, kind_filter_option, open_ledger_for
from lgp_mailer.errors import ExitCode, LgpError
from lgp_mailer.i18n import ngettext

log_app = typer.Typer(
    name="log",
    help="The sent log: export it for colleagues.\n\n\b\nExample:\n  lgp-mailer log export naplo.xlsx",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)
app.add_typer(log_app, name="log")

CampaignIdOpt = Annotated[
    str | None, typer.Option("--campaign-id", help="Only this campaign id (default: every campaign in the sent log).")
]
KindOpt = Annotated[str | None, kind_filter_option("Only this kind: {kinds}.")]
BAR_WIDTH = 40
# Distinct glyphs as well as colours: the bars must read without colour too.
_SEGMENTS = (("sent", "█", "green"), ("due", "▓", "yellow"), ("blocked", "▒", "red"))
_SHOWN = ("sent", "pending", "deferred", "failed", "unknown", "invalid", "sending", "suppressed")


def _open(campaign: Path | None):
    return open_ledger_for(campaign)


@app.command()
def status(
    campaign: CampaignOpt = None,
    campaign_id: CampaignIdOpt = None,
    kind: KindOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON, for scripts.")] = False,
) -> None:
    """Where each campaign stands: counts, first and last send, what is due, what needs a decision, by county.

    \b
    Examples:
      lgp-mailer status
      lgp-mailer status --json
    """
    from lgp_mailer.ledger.status import ledger_status

    try:
        with _open(campaign) as ledger:
            figures = ledger_status(ledger, campaign_id, kind)
    except LgpError as error:
        raise fail(error) from None
    if as_json:
        typer.echo(json.dumps(figures, ensure_ascii=False, indent=2))
    else:
        _print(figures)
    if not figures["campaigns"]:
        raise typer.Exit(int(ExitCode.NOTHING_DUE))


@log_app.command("export")
def export(
    file: Annotated[Path, typer.Argument(help="The file to write: .xlsx (recommended) or .csv (UTF-8, ';').")],
    campaign: CampaignOpt = None,
    campaign_id: CampaignIdOpt = None,
    kind: KindOpt = None,
) -> None:
    """Write the sent log, one row per recipient, with Hungarian headers, safe to open in Excel.

    \b
    Examples:
      lgp-mailer log export naplo.xlsx
      lgp-mailer log export naplo.csv
    """
    from lgp_mailer.ledger.export import export_log

    try:
        with _open(campaign) as ledger:
            count = export_log(ledger, file, campaign_id=campaign_id, kind=kind)
    except LgpError as error:
        raise fail(error) from None
    typer.echo(f"{count} row(s) written to {file}")


# -- the terminal view ----------------------------------------------------------


def _local(stamp: str | None) -> str:
    from lgp_mailer.ledger.export import local_time

    return local_time(stamp)[:16] if stamp else "never"


def _print(figures: dict[str, Any]) -> None:
    from rich.console import Console

    console = Console(highlight=False)
    console.print(f"Sent log: {figures['database']}", markup=False)
    if not figures["campaigns"]:
        console.print("Nothing in the sent log yet (or nothing matches): 'lgp-mailer send' starts a campaign.")
        return
    for entry in figures["campaigns"]:
        _print_kind(console, entry)


def _print_kind(console, entry: dict[str, Any]) -> None:
    from rich.text import Text

    counts = entry["counts"]
    console.print()
    console.print(Text(f"{entry['campaign_id']} · {entry['kind']}", style="bold"))
    shown = ", ".join(f"{s} {counts[s]}" for s in _SHOWN if counts.get(s))
    console.print(f"  {shown or 'no rows'} (total {entry['total']})", markup=False)
    console.print(
        f"  first sent {_local(entry['first_sent_at'])}, last sent {_local(entry['last_sent_at'])} (Europe/Budapest)",
        markup=False,
    )
    due = entry["due_by_status"]
    line = f"  due now: {entry['due']}"
    if entry["due"]:
        line += f" (pending {due['pending']}, deferred {due['deferred']}) → {entry['command']}"
    if entry["not_in_sheet"]:
        line += f"; {entry['not_in_sheet']} no longer in the sheet (never due)"
    console.print(line, markup=False)
    for sender in entry["senders"]:
        console.print(
            "  "
            + ngettext(
                "being sent now by {holder} (host {host}, pid {pid}) since {since}, {n} message in flight,"
                " last heartbeat {beat}",
                "being sent now by {holder} (host {host}, pid {pid}) since {since}, {n} messages in flight,"
                " last heartbeat {beat}",
                int(sender["in_flight"]),
            ).format(
                holder=sender["holder"],
                host=sender["hostname"],
                pid=sender["pid"],
                since=_local(str(sender["acquired_at"])),
                n=sender["in_flight"],
                beat=_local(str(sender["heartbeat_at"])),
            ),
            markup=False,
        )
    if entry["blocked"]:
        console.print("  needs attention:")
        for item in entry["blocked"]:
            console.print(
                f"    {item['count']} {item['status']}: {item['meaning']}\n      → {item['command']}", markup=False
            )
    if entry["counties"]:
        _print_counties(console, entry["counties"])


def _print_counties(console, counties: list[dict[str, Any]]) -> None:
    from rich.table import Table
    from rich.text import Text

    biggest = max(c["total"] for c in counties) or 1
    table = Table(show_header=False, box=None, padding=(0, 1), pad_edge=False)
    for county in counties:
        width = max(1, round(BAR_WIDTH * county["total"] / biggest))
        cells, used = [], 0
        for key, glyph, style in _SEGMENTS:
            n = round(width * county[key] / county["total"]) if county["total"] else 0
            n = min(n, width - used)
            cells.append((glyph * n, style))
            used += n
        cells.append(("░" * (width - used), "dim"))
        bar = Text.assemble(*cells)
        label = county["county"] or "(no county)"
        table.add_row(
            "   " + label,
            bar,
            f"{county['sent']}/{county['total']} sent"
            + (f", {county['due']} due" if county["due"] else "")
            + (f", {county['blocked']} blocked" if county["blocked"] else ""),
        )
    legend = ", ".join(f"[{style}]{glyph}[/] {key}" for key, glyph, style in _SEGMENTS)
    console.print(f"  by county ({legend} = failed/unknown/invalid, ░ other):")
    console.print(table)
