"""``lgp-mailer send``: deliver the invitation, crash-safe, with a sent log."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from lgp_mailer import kinds
from lgp_mailer.cli import common as so
from lgp_mailer.cli.app import app, fail
from lgp_mailer.cli.common import (
    BatchOpt,
    CampaignOpt,
    ColumnOpt,
    ConnectionsOpt,
    DryRunOpt,
    EventOpt,
    NonInteractiveOpt,
    QuietOpt,
    RecipientsOpt,
    ResendUnknownOpt,
    RetryFailedOpt,
    SheetOpt,
    TestToOpt,
    YesOpt,
    resolve_campaign,
)
from lgp_mailer.cli.output import print_provenance
from lgp_mailer.cli.runtime import can_prompt
from lgp_mailer.errors import ExitCode, LgpError
from lgp_mailer.i18n import _, format_number, ngettext


@app.command()
@so.smtp_options()
def send(
    campaign: CampaignOpt = None,
    event: EventOpt = None,
    recipients: RecipientsOpt = None,
    sheet: SheetOpt = None,
    column: ColumnOpt = None,
    batch: BatchOpt = None,
    yes: YesOpt = False,
    dry_run: DryRunOpt = False,
    test_to: TestToOpt = None,
    email: Annotated[str | None, typer.Option(help=_("With --test-to: whose message to proof."))] = None,
    retry_failed: RetryFailedOpt = False,
    resend_unknown: ResendUnknownOpt = False,
    non_interactive: NonInteractiveOpt = False,
    quiet: QuietOpt = False,
    connections: ConnectionsOpt = 1,
    join: so.JoinOpt = False,
    *,
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
        chosen = resolve_campaign(campaign, event, recipients, sheet, column, quiet=quiet)
        print_provenance(chosen, quiet=quiet)
        code = run_send(
            chosen,
            smtp,
            kind=kinds.INVITATION.name,
            batch=batch,
            yes=yes,
            dry_run=dry_run,
            test_to=test_to,
            email=email,
            retry_failed=retry_failed,
            resend_unknown=resend_unknown,
            non_interactive=non_interactive,
            quiet=quiet,
            connections=connections,
            join=join,
            inputs=input_args(campaign, event, recipients, sheet, column),
        )
    except LgpError as error:
        raise fail(error) from None
    raise typer.Exit(int(code))


def run_send(
    campaign,
    flags,
    *,
    kind,
    batch,
    yes,
    dry_run,
    test_to,
    email,
    retry_failed,
    resend_unknown,
    non_interactive,
    quiet,
    recipients_override=None,
    event=None,
    sheet=None,
    connections=1,
    join=False,
    inputs=(),
    extra=(),
    notice=None,
) -> ExitCode:
    """Shared by ``send`` and ``remind``: call the core, print what it did, return the exit code."""
    from lgp_mailer.campaign import send as core
    from lgp_mailer.cli.output import CliHooks

    request = core.SendRequest(
        kind=kind,
        batch=batch,
        dry_run=dry_run,
        test_to=test_to,
        email=email,
        retry_failed=retry_failed,
        resend_unknown=resend_unknown,
        interactive=can_prompt(non_interactive),
        connections=connections,
        join=join,
        smtp_flags=flags,
        recipients=recipients_override,
        event=event,
        sheet=sheet,
        inputs=tuple(inputs),
        extra=tuple(extra),
        notice=notice,
    )
    hooks = CliHooks(quiet=quiet, yes=yes, non_interactive=non_interactive)
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
    code = core.exit_code(outcome, hooks.stop_code)
    if code == ExitCode.PROBLEMS and outcome.outstanding:
        typer.echo(_("Outstanding: {rows}").format(rows=outstanding_line(outcome.outstanding)), err=True)
    return code


def outstanding_line(outstanding: dict[str, tuple[str, ...]], shown: int = 5) -> str:
    """``unknown 2 (a@x, b@y); deferred 7 (c@z, … and 6 more)``: cron's mail names them."""
    parts = []
    for status, addresses in outstanding.items():
        more = _(", and {n} more").format(n=len(addresses) - shown) if len(addresses) > shown else ""
        names = ", ".join(addresses[:shown]) + more
        parts.append(f"{_(status)} {len(addresses)} ({names})")
    return "; ".join(parts)
