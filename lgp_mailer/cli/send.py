"""``lgp-mailer send``: deliver the invitation, crash-safe, with a sent log."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from lgp_mailer import kinds
from lgp_mailer.cli import common as so
from lgp_mailer.cli.app import app, fail
from lgp_mailer.cli.common import CampaignOpt, ColumnOpt, EventOpt, RecipientsOpt, RunFlags, SheetOpt, resolve_campaign
from lgp_mailer.cli.output import print_provenance
from lgp_mailer.cli.runtime import can_prompt
from lgp_mailer.errors import ExitCode, LgpError, NothingDueError
from lgp_mailer.i18n import _, format_number, ngettext


@app.command()
@so.smtp_options()
@so.run_options()
def send(
    campaign: CampaignOpt = None,
    event: EventOpt = None,
    recipients: RecipientsOpt = None,
    sheet: SheetOpt = None,
    column: ColumnOpt = None,
    email: Annotated[str | None, typer.Option(help=_("With --test-to: whose message to proof."))] = None,
    join: so.JoinOpt = False,
    *,
    run: RunFlags,
    smtp: dict[str, Any],
) -> None:
    """Send the invitation to every due recipient (or the next --batch N), recording each in the sent log.

    Refuses (exit 2) an invitation for a conference that has started; warns when the event or the
    sheet changed since the campaign's last run.

    \b
    Examples:
      lgp-mailer send --test-to en@hivatal.example
      lgp-mailer send --dry-run
      lgp-mailer send --batch 200
      LGP_MAILER_DB=postgresql://lgp@db.example/lgp lgp-mailer send --join --yes
    """
    from lgp_mailer.campaign.next_steps import input_args

    try:
        chosen = resolve_campaign(campaign, event, recipients, sheet, column, quiet=run.quiet)
        print_provenance(chosen, quiet=run.quiet)
        code = run_send(
            chosen,
            smtp,
            run,
            kind=kinds.INVITATION.name,
            email=email,
            join=join,
            inputs=input_args(campaign, event, recipients, sheet, column),
        )
    except LgpError as error:
        raise fail(error) from None
    raise typer.Exit(int(code))


def run_send(
    campaign,
    flags,
    run: RunFlags,
    *,
    kind,
    email=None,
    recipients_override=None,
    event=None,
    sheet=None,
    join=False,
    inputs=(),
    extra=(),
    notice=None,
) -> ExitCode:
    """Shared by the sending commands: call the core, print what it did, return the exit code."""
    from lgp_mailer.campaign import send as core
    from lgp_mailer.campaign.next_steps import command_line
    from lgp_mailer.cli.output import CliHooks

    request = core.SendRequest(
        kind=kind,
        batch=run.batch,
        dry_run=run.dry_run,
        test_to=run.test_to,
        email=email,
        retry_failed=run.retry_failed,
        resend_unknown=run.resend_unknown,
        interactive=can_prompt(run.non_interactive),
        connections=run.connections,
        join=join,
        smtp_flags=flags,
        recipients=recipients_override,
        event=event,
        sheet=sheet,
        inputs=tuple(inputs),
        extra=tuple(extra),
        notice=notice,
    )
    hooks = CliHooks(quiet=run.quiet, yes=run.yes, non_interactive=run.non_interactive)
    outcome = core.send(campaign, request, hooks)
    if outcome.mode == "proof":
        assert outcome.proof is not None
        recipient, to, result = outcome.proof
        typer.echo(
            _(
                "Proof of the message to {recipient} sent to {to}: {reply}. Nothing was recorded in the sent log."
            ).format(recipient=recipient.email, to=to, reply=result.line)
        )
    elif outcome.mode == "dry_run":
        written = ngettext(
            "Dry run: {n} message written to {folder}; nothing sent, no message marked as sent.",
            "Dry run: {n} messages written to {folder}; nothing sent, no message marked as sent.",
            len(outcome.written),
        )
        typer.echo(written.format(n=format_number(len(outcome.written)), folder=outcome.outbox))
        if outcome.held:  # a dry run is the rehearsal: the rows that will not go are named now, as after a send
            check = command_line("lgp-mailer check", *inputs)
            hint = _("{n} invalid in the sheet: '{command}' lists them").format(n=outcome.held, command=check)
            typer.echo(_("Next: {hint}").format(hint=hint))
    code = core.exit_code(outcome, hooks.stop_code)
    if code == ExitCode.PROBLEMS and outcome.outstanding:
        typer.echo(_("Outstanding: {rows}").format(rows=outstanding_line(outcome.outstanding)), err=True)
    return code


def nothing_due_exit(error: NothingDueError, *, quiet: bool) -> typer.Exit:
    """A cron-run command outside its window says why (unless --quiet) and exits 3."""
    if not quiet:
        typer.echo(f"lgp-mailer: {error.message}")
    return typer.Exit(int(ExitCode.NOTHING_DUE))


def outstanding_line(outstanding: dict[str, tuple[str, ...]], shown: int = 5) -> str:
    """``unknown 2 (a@x, b@y); deferred 7 (c@z, … and 6 more)``: cron's mail names them."""
    parts = []
    for status, addresses in outstanding.items():
        more = _(", and {n} more").format(n=len(addresses) - shown) if len(addresses) > shown else ""
        names = ", ".join(addresses[:shown]) + more
        parts.append(f"{_(status)} {len(addresses)} ({names})")
    return "; ".join(parts)
