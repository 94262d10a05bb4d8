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
from lgp_mailer.i18n import N_, _, ngettext

# The verdicts of campaign.bounces.KINDS as the summary names them (marked here, where they are shown).
_VERDICTS = (N_("permanent"), N_("temporary"), N_("auto-reply"), N_("unsubscribe"), N_("other"))

bounces_app = typer.Typer(
    help=_(
        "Bounces and replies: import delivery failures, auto-replies and unsubscribe requests "
        "from a mailbox, and export the addresses staff must correct."
        "\n\n\b\nExample:\n  lgp-mailer bounces import visszapattant.mbox"
    ),
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(bounces_app, name="bounces")


@bounces_app.command("import")
def import_(
    source: Annotated[
        str,
        typer.Argument(
            help=_(
                "An mbox file, a Maildir folder, a saved .eml message, or imaps://USER@HOST[:PORT]/FOLDER "
                "(password from LGP_IMAP_PASSWORD, LGP_IMAP_PASSWORD_FILE, or a prompt)."
            )
        ),
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help=_("Classify and show what would change; change nothing."))
    ] = False,
    cafile: Annotated[Path | None, typer.Option(help=_("CA bundle to trust for the IMAP server."))] = None,
    non_interactive: Annotated[
        bool, typer.Option("--non-interactive", help=_("Never prompt for a password: fail instead."))
    ] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help=_("One line per message, not only the summary."))
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
            subject = v.subject or _("(no subject)")
            line = f"{o.label}: {_(v.kind)} – {subject}"
            if v.failures:
                line += " – " + "; ".join(f"{f.address}: {f.reason}" for f in v.failures)
            typer.echo(line)
        for address in o.unknown:
            typer.echo("  " + _("{address}: not in the sent log; left alone").format(address=address))
        for address in o.kept:
            kept = _("{address}: the message was refused (policy or content), not the address; not suppressed")
            typer.echo("  " + kept.format(address=address))
    counts = ", ".join(f"{_(kind)} {report.count(kind)}" for kind in KINDS)
    n = len(report.outcomes)
    typer.echo(ngettext("{n} message: {counts}.", "{n} messages: {counts}.", n).format(n=n, counts=counts))
    totals = {
        "marked": report.total("marked"),
        "suppressed": report.total("suppressed"),
        "already": report.total("already"),
    }
    if report.dry_run:
        summary = _(
            "Sent-log rows would be failed: {marked}; addresses would be suppressed: {suppressed} "
            "({already} already were); auto-replies never suppress."
        )
    else:
        summary = _(
            "Sent-log rows now failed: {marked}; addresses suppressed: {suppressed} "
            "({already} already were); auto-replies never suppress."
        )
    typer.echo(summary.format(**totals))
    if report.dry_run:
        typer.echo(_("Dry run: nothing was changed."))
    elif report.total("suppressed"):
        typer.echo(_("Next: 'lgp-mailer bounces export corrections.xlsx' lists the municipalities to phone."))
    if report.count("other"):
        other = report.count("other")
        need = ngettext(
            "{n} message needs a person to read it (--verbose lists it).",
            "{n} messages need a person to read them (--verbose lists them).",
            other,
        )
        typer.echo(need.format(n=other))


@bounces_app.command("export")
def export(
    file: Annotated[Path, typer.Argument(help=_("The workbook to write, e.g. corrections.xlsx."))],
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
    typer.echo(ngettext("{n} row written to {file}.", "{n} rows written to {file}.", count).format(n=count, file=file))
    raise typer.Exit(int(ExitCode.OK if count else ExitCode.NOTHING_DUE))
