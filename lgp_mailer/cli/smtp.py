"""``lgp-mailer smtp test``: reach, secure and log in to the mail server, then say goodbye; no mail."""

from __future__ import annotations

import os
from typing import Any

import typer

from lgp_mailer.cli import common as so
from lgp_mailer.cli.app import app, fail
from lgp_mailer.cli.common import CampaignOpt, NonInteractiveOpt, QuietOpt, resolve_campaign
from lgp_mailer.cli.output import print_provenance
from lgp_mailer.cli.runtime import can_prompt
from lgp_mailer.errors import ExitCode, LgpError
from lgp_mailer.i18n import _

smtp_app = typer.Typer(
    help=_("The mail server: test the connection before the first send.\n\n\b\nExample:\n  lgp-mailer smtp test"),
    no_args_is_help=True,
)
app.add_typer(smtp_app, name="smtp")


@smtp_app.command("test")
@so.smtp_options(*so.PROBE_OPTIONS)
def smtp_test(
    campaign: CampaignOpt = None,
    non_interactive: NonInteractiveOpt = False,
    quiet: QuietOpt = False,
    *,
    smtp: dict[str, Any],
) -> None:
    """Connect, negotiate TLS, log in, then RSET and QUIT: no message is sent.

    Prints each step that worked and, for a failure, what to change: the [smtp] key in
    lgp-mailer.toml, the environment variable, or the flag.  Exit 0 when every step
    worked, 1 when one failed, 2 for unusable settings.

    \b
    Examples:
      lgp-mailer smtp test --host smtp.example.org --port 587 --username meghivo@lgp.example.org
      lgp-mailer smtp test --host 127.0.0.1 --port 8025 --security none
    """
    from lgp_mailer.campaign.next_steps import command_line, input_args, smtp_args
    from lgp_mailer.smtp.probe import probe_campaign

    try:
        chosen = resolve_campaign(campaign, quiet=quiet)
        print_provenance(chosen, quiet=quiet)
        report = probe_campaign(chosen, smtp, os.environ, interactive=can_prompt(non_interactive))
    except LgpError as error:
        raise fail(error) from None
    s = report.settings
    typer.echo(
        _("Server: {address} ({security}), auth {auth}").format(
            address=s.address, security=s.security, auth=s.auth_method
        )
    )
    outcome = {True: _("ok"), False: _("FAILED")}
    width = max(6, *(len(word) for word in outcome.values()))
    for step in report.steps:
        typer.echo(f"{outcome[step.ok]:<{width}} {step.name:<7} {step.detail}")
    for line in report.fixes:
        typer.echo(_("Fix:   {line}").format(line=line))
    if report.ok:
        again = (*input_args(campaign), *smtp_args(smtp))
        next_line = _("Next: {hint}").format(hint=command_line("lgp-mailer send", *again, "--dry-run"))
        typer.echo(_("No message was sent.") + " " + next_line)
    raise typer.Exit(int(ExitCode.OK if report.ok else ExitCode.PROBLEMS))
