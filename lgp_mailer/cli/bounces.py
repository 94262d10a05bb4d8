"""``lgp-mailer bounces import|export``: delivery failures and replies into the sent log."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from lgp_mailer.cli.app import app, fail
from lgp_mailer.cli.common import CampaignOpt, open_ledger_for
from lgp_mailer.cli.runtime import can_prompt
from lgp_mailer.errors import ExitCode, LgpError

bounces_app = typer.Typer(
    help="Bounces and replies: import delivery failures, auto-replies and unsubscribe requests "
    "from a mailbox, and export the addresses staff must correct."
    "\n\n\b\nExample:\n  lgp-mailer bounces import visszapattant.mbox",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(bounces_app, name="bounces")


@bounces_app.command("import")
def import_(
    source: Annotated[
        str,
        typer.Argument(
            help="An mbox file, a Maildir folder, a saved .eml message, or imaps://USER@HOST[:PORT]/FOLDER "
            "(password from LGP_IMAP_PASSWORD, LGP_IMAP_PASSWORD_FILE, or a prompt)."
        ),
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Classify and show what would change; change nothing.")
    ] = False,
    cafile: Annotated[Path | None, typer.Option(help="CA bundle to trust for the IMAP server.")] = None,
    non_interactive: Annotated[
        bool, typer.Option("--non-interactive", help="Never prompt for a password: fail instead.")
    ] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="One line per message, not only the summary.")
    ] = False,
    campaign: CampaignOpt = None,
) -> None:
    """Mark permanently failed messages 'failed', suppress their addresses and unsubscribers; never an auto-reply.

    \b
    Examples:
      lgp-mailer bounces import visszapattant.mbox --dry-run
      lgp-mailer bounces import imaps://bounces@imap.lgp.example/INBOX
    """
    from lgp_mailer.campaign import bounces, mailboxes

    try:
        if source.lower().startswith(("imap://", "imaps://")):

            def password(user: str, host: str):
                return mailboxes.imap_password(user, host, os.environ, interactive=can_prompt(non_interactive))

            messages = mailboxes.read_imap(source, password, cafile=cafile)
        else:
            messages = mailboxes.read_messages(Path(source))
        with open_ledger_for(campaign) as ledger:
            report = bounces.import_messages(ledger, messages, dry_run=dry_run)
    except LgpError as error:
        raise fail(error) from None
    _print_report(report, verbose)


def _print_report(report, verbose: bool) -> None:
    from lgp_mailer.campaign.bounces import KINDS, PERMANENT

    for o in report.outcomes:
        v = o.verdict
        if verbose or v.kind == PERMANENT or o.suppressed or o.unknown:
            line = f"{o.label}: {v.kind} – {v.subject or '(no subject)'}"
            if v.failures:
                line += " – " + "; ".join(f"{f.address}: {f.reason}" for f in v.failures)
            typer.echo(line)
        for address in o.unknown:
            typer.echo(f"  {address}: not in the sent log; left alone")
        for address in o.kept:
            typer.echo(f"  {address}: the message was refused (policy or content), not the address; not suppressed")
    verb = "would be" if report.dry_run else ""
    counts = ", ".join(f"{kind} {report.count(kind)}" for kind in KINDS)
    typer.echo(f"{len(report.outcomes)} message(s): {counts}.")
    typer.echo(
        f"Sent-log rows {verb or 'now'} failed: {report.total('marked')}; "
        f"addresses {verb + ' ' if verb else ''}suppressed: {report.total('suppressed')} "
        f"({report.total('already')} already were); auto-replies never suppress."
    )
    if report.dry_run:
        typer.echo("Dry run: nothing was changed.")
    elif report.total("suppressed"):
        typer.echo("Next: 'lgp-mailer bounces export corrections.xlsx' lists the municipalities to phone.")
    if report.count("other"):
        typer.echo(f"{report.count('other')} message(s) need a person to read them (--verbose lists them).")


@bounces_app.command("export")
def export(
    file: Annotated[Path, typer.Argument(help="The workbook to write, e.g. corrections.xlsx.")],
    campaign: CampaignOpt = None,
) -> None:
    """Write the bounced municipalities (county, municipality, address, reason, date) for staff to correct.

    \b
    Examples:
      lgp-mailer bounces export corrections.xlsx
    """
    from lgp_mailer.campaign import bounces

    try:
        with open_ledger_for(campaign) as ledger:
            count = bounces.export_corrections(ledger, file)
    except LgpError as error:
        raise fail(error) from None
    typer.echo(f"{count} row(s) written to {file}.")
    raise typer.Exit(int(ExitCode.OK if count else ExitCode.NOTHING_DUE))
