"""``lgp-mailer send``: deliver the invitation, crash-safe, with a sent log."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer

from lgp_mailer.cli import smtp_options as so
from lgp_mailer.cli.app import app, fail
from lgp_mailer.cli.common import (
    BatchOpt,
    CampaignOpt,
    ConnectionsOpt,
    ColumnOpt,
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
from lgp_mailer.cli.runtime import can_prompt, confirm_or_refuse, graceful_stop, open_campaign_ledger
from lgp_mailer.errors import ExitCode, LgpError, SmtpError


@app.command()
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
    email: Annotated[str | None, typer.Option(help="With --test-to: whose message to proof.")] = None,
    retry_failed: RetryFailedOpt = False,
    resend_unknown: ResendUnknownOpt = False,
    non_interactive: NonInteractiveOpt = False,
    quiet: QuietOpt = False,
    connections: ConnectionsOpt = 1,
    host: so.HostOpt = None, port: so.PortOpt = None, security: so.SecurityOpt = None, username: so.UsernameOpt = None,
    auth: so.AuthOpt = None, rate: so.RateOpt = None, daily_quota: so.QuotaOpt = None, timeout: so.TimeoutOpt = None,
    messages_per_connection: so.PerConnOpt = None, cafile: so.CafileOpt = None, insecure: so.InsecureOpt = False,
) -> None:
    """Send the invitation to every due recipient (or the next --batch N), recording each in the sent log."""
    flags = so.smtp_flags(host, port, security, username, auth, rate, daily_quota, timeout,
                          messages_per_connection, cafile, insecure)
    try:
        chosen = resolve_campaign(campaign, event, recipients, sheet, column, quiet=quiet)
        code = _send(chosen, flags, kind="invitation", batch=batch, yes=yes, dry_run=dry_run, test_to=test_to,
                     email=email, retry_failed=retry_failed, resend_unknown=resend_unknown,
                     non_interactive=non_interactive, quiet=quiet, connections=connections)
    except LgpError as error:
        raise fail(error) from None
    raise typer.Exit(int(code))


def _send(campaign, flags, *, kind, batch, yes, dry_run, test_to, email, retry_failed, resend_unknown,
          non_interactive, quiet, recipients_override=None, event=None, sheet=None, connections=1) -> ExitCode:
    """Shared by ``send`` and ``remind``: everything after the campaign is chosen."""
    import os

    from lgp_mailer.cli.output import print_hints, print_plan, print_summary, progress_printer
    from lgp_mailer.smtp.credentials import get_secret
    from lgp_mailer.campaign.run import run_parallel
    from lgp_mailer.campaign.session import SendOptions, SendSession, send_proof
    from lgp_mailer.smtp.pacing import RetryPolicy
    from lgp_mailer.smtp.transport import SmtpTransport

    resolved = so.resolve(campaign, flags)
    settings = resolved.settings
    extra = so.run_settings(campaign)
    retry = RetryPolicy(attempts=extra.get("retries", 4), base=extra.get("retry_delay", 2.0))
    options = SendOptions(kind=kind, batch=batch, retry_failed=retry_failed, resend_unknown=resend_unknown,
                          max_consecutive_failures=extra.get("max_consecutive_failures", 5), retry=retry,
                          rates=settings.rates, daily_quota=settings.daily_quota)

    def secret():
        return get_secret(settings, os.environ, interactive=can_prompt(non_interactive))

    if test_to:
        test_to = _proof_address(test_to)
        transport = SmtpTransport(settings, secret())
        with _fatal_is_usage():
            recipient, result = send_proof(campaign, transport, test_to, kind=kind, email=email,
                                           recipients=recipients_override, event=event)
        typer.echo(f"Proof of the message to {recipient.email} sent to {test_to}: {result.line}. "
                   "Nothing was recorded in the sent log.")
        return ExitCode.OK

    ledger = open_campaign_ledger(campaign)
    try:
        with SendSession(campaign, ledger, kind, recipients=recipients_override, event=event, sheet=sheet) as session:
            due = session.due(options)
            if dry_run:
                # The shipped campaign may sit in a read-only site-packages: write here instead.
                outbox = Path.cwd() / "outbox" if campaign.shipped else Path(campaign.outbox_dir or "outbox")
                written = session.dry_run(outbox / kind, options)
                typer.echo(f"Dry run: {len(written)} message(s) written to {outbox / kind}; nothing sent, "
                           "no message marked as sent.")
                return ExitCode.OK if written else ExitCode.NOTHING_DUE
            if not due:
                if not quiet:
                    print_plan(session, options, settings, due)
                    typer.echo("Nothing is due: every recipient has been sent to or needs a decision (see below).")
                    print_hints(session, options)
                elif session.recovered:  # cron must hear of it: these need a person's decision
                    typer.echo(f"{session.recovered} message(s) interrupted by a crash are now 'unknown'; "
                               "check, then resend with --resend-unknown", err=True)
                # A crash's in-flight messages need a decision: that is a problem, not "nothing due".
                return ExitCode.PROBLEMS if session.recovered else ExitCode.NOTHING_DUE
            if not quiet or not yes:
                print_plan(session, options, settings, due)
            # Render every message of this run first: a template that fails for
            # one recipient must stop the run before anything is sent.
            session.preflight(due if batch is None else due[:batch])
            confirm_or_refuse(f"Send {min(len(due), batch or len(due))} message(s) now?", yes=yes,
                              non_interactive=non_interactive)
            credential = None
            if settings.auth_method == "xoauth2":
                secret()  # fail early if there is none; each connection then asks afresh (tokens expire)
                credential = secret
            elif settings.auth_method != "none":
                credential = secret()  # asked once, before sessions open
            progress = progress_printer(len(due) if batch is None else min(batch, len(due)), quiet)
            with graceful_stop() as stop:
                try:
                    with _fatal_is_usage():
                        # One code path for any K: rendering runs ahead of the
                        # SMTP sessions (in other processes for long runs).
                        report = run_parallel(session, lambda: SmtpTransport(settings, credential), connections,
                                              options, stop=stop.event, progress=progress)
                finally:
                    getattr(progress, "close", lambda: None)()
            print_summary(session, report, options)
    finally:
        ledger.close()
    if report.interrupted:
        return stop.exit_code
    return ExitCode.PROBLEMS if report.problems else ExitCode.OK


def _proof_address(address: str) -> str:
    from email_validator import EmailNotValidError, validate_email

    from lgp_mailer.errors import ConfigError

    try:
        return validate_email(address.strip(), check_deliverability=False, allow_smtputf8=False).ascii_email
    except EmailNotValidError as exc:
        raise ConfigError(f"{address!r} is not an e-mail address: {exc}", key="--test-to") from None


@contextlib.contextmanager
def _fatal_is_usage() -> Iterator[None]:
    """A session refused for good when it opens (wrong password, untrusted certificate)
    is configuration: exit 2, for a run and for a --test-to proof alike."""
    try:
        yield
    except SmtpError as error:
        result = getattr(error, "result", None)
        if result is not None and result.status == "fatal":
            error.exit_code = ExitCode.USAGE
        raise
