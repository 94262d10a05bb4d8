"""``lgp-mailer status`` and ``lgp-mailer log export FILE``: the sent log for people."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from lgp_mailer import kinds
from lgp_mailer.cli.app import app, fail
from lgp_mailer.cli.common import CampaignOpt, kind_filter_option, open_ledger_for
from lgp_mailer.cli.output import kind_label, status_counts
from lgp_mailer.errors import ExitCode, LgpError
from lgp_mailer.i18n import N_, _, current_language, format_datetime, format_number, ngettext

log_app = typer.Typer(
    name="log",
    help=_("The sent log: export it for colleagues.\n\n\b\nExample:\n  lgp-mailer log export naplo.xlsx"),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)
app.add_typer(log_app, name="log")

CampaignIdOpt = Annotated[
    str | None,
    typer.Option("--campaign-id", help=_("Only this campaign id (default: every campaign in the sent log).")),
]
KindOpt = Annotated[str | None, kind_filter_option(N_("Only this kind: {kinds}."))]
BAR_WIDTH = 40
# Distinct glyphs as well as colours: the bars must read without colour too.
_SEGMENTS = ((N_("sent"), "█", "green"), (N_("due"), "▓", "yellow"), (N_("blocked"), "▒", "red"))
_SHOWN = ("sent", "pending", "deferred", "failed", "unknown", "invalid", "sending", "suppressed")


def _open(campaign: Path | None):
    return open_ledger_for(campaign)


@app.command()
def status(
    campaign: CampaignOpt = None,
    campaign_id: CampaignIdOpt = None,
    kind: KindOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help=_("Print the figures as JSON, for scripts."))] = False,
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
    file: Annotated[Path, typer.Argument(help=_("The file to write: .xlsx (recommended) or .csv (UTF-8, ';')."))],
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
    typer.echo(ngettext("{n} row written to {file}", "{n} rows written to {file}", count).format(n=count, file=file))


# -- the terminal view ----------------------------------------------------------


def _local(stamp: str | None) -> str:
    """The ledger's UTC text as Budapest time (the Hungarian way in Hungarian)."""
    from datetime import datetime

    return format_datetime(datetime.fromisoformat(stamp.replace("Z", "+00:00"))) if stamp else _("never")


def _print(figures: dict[str, Any]) -> None:
    from rich.console import Console

    console = Console(highlight=False)
    console.print(_("Sent log: {path}").format(path=figures["database"]), markup=False)
    if not figures["campaigns"]:
        console.print(_("Nothing in the sent log yet (or nothing matches): 'lgp-mailer send' starts a campaign."))
        return
    for entry in figures["campaigns"]:
        _print_kind(console, entry)


def _print_kind(console, entry: dict[str, Any]) -> None:
    from rich.text import Text

    counts = entry["counts"]
    console.print()
    title = f"{entry['campaign_id']} · {kind_label(entry['kind'])}"
    revision = kinds.split_revision(entry["kind"])[1]
    if revision is not None and current_language() != "hu":  # Hungarian's label already names the revision
        title += " " + _("(revision {n})").format(n=revision)
    console.print(Text(title, style="bold"))
    shown = status_counts(counts, _SHOWN)
    total = _("{counts} (total {total})").format(counts=shown or _("no rows"), total=format_number(entry["total"]))
    console.print(f"  {total}", markup=False)
    sent = _("first sent {first}, last sent {last} (Europe/Budapest)")
    console.print(
        "  " + sent.format(first=_local(entry["first_sent_at"]), last=_local(entry["last_sent_at"])), markup=False
    )
    due = entry["due_by_status"]
    line = "  " + _("due now: {n}").format(n=format_number(entry["due"]))
    if entry["due"]:
        line += " (" + status_counts(due, ("pending", "deferred"), keep=("pending", "deferred")) + ")"
        line += f" → {entry['command']}"
    if entry["not_in_sheet"]:
        line += _("; {n} no longer in the sheet (never due)").format(n=format_number(entry["not_in_sheet"]))
    unsent = counts["pending"] + counts["deferred"]
    if entry["superseded_by"] and unsent:
        revision = kinds.split_revision(entry["superseded_by"])[1]
        line += _("; {n} overtaken by revision {revision} (its notice went instead: never due)").format(
            n=format_number(unsent), revision=revision
        )
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
    for sender in entry.get("stopped", []):
        console.print(
            "  "
            + _(
                "stopped without finishing: the run of {holder} (host {host}, pid {pid}) since {since}, last heartbeat"
                " {beat}; the next send takes over its lock"
            ).format(
                holder=sender["holder"],
                host=sender["hostname"],
                pid=sender["pid"],
                since=_local(str(sender["acquired_at"])),
                beat=_local(str(sender["heartbeat_at"])),
            ),
            markup=False,
        )
    if entry["blocked"]:
        from lgp_mailer.ledger.status import blocked_text  # the ledger stays off --help's start-up path

        console.print("  " + _("needs attention:"))
        for item in entry["blocked"]:
            meaning, action = blocked_text(item["status"], entry["command"])  # the JSON's, in the reader's language
            console.print(f"    {item['count']} {_(item['status'])}: {meaning}\n      → {action}", markup=False)
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
        label = county["county"] or _("(no county)")
        table.add_row(
            "   " + label,
            bar,
            _("{sent}/{total} sent").format(sent=county["sent"], total=county["total"])
            + (_(", {n} due").format(n=county["due"]) if county["due"] else "")
            + (_(", {n} blocked").format(n=county["blocked"]) if county["blocked"] else ""),
        )
    legend = ", ".join(f"[{style}]{glyph}[/] {_(key)}" for key, glyph, style in _SEGMENTS)
    blocked = "/".join(_(s) for s in ("failed", "unknown", "invalid"))
    console.print("  " + _("by county ({legend} = {blocked}, ░ other):").format(legend=legend, blocked=blocked))
    console.print(table)
