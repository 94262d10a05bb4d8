"""What a send run shows: the plan before it, progress during it, the summary after it."""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Iterator

import typer

from lgp_mailer import kinds
from lgp_mailer.cli.runtime import is_terminal
from lgp_mailer.errors import ExitCode

_ORDER = ("pending", "sending", "sent", "deferred", "failed", "unknown", "invalid", "suppressed")


def _duration(seconds: float) -> str:
    minutes, sec = divmod(int(seconds + 0.5), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min {sec} s" if minutes else f"{sec} s"


def print_plan(session, options, settings, due: int) -> None:
    counts = session.counts()
    campaign = session.campaign
    going = session.going(options, due) if due else 0
    auth = "none" if settings.auth_method == "none" else f"{settings.auth_method} as {settings.username}"
    interval = max((r.interval for r in settings.rates), default=0.0)
    quota_bound = bool(settings.daily_quota) and going < (due if options.batch is None else min(options.batch, due))
    lines = [
        f"Run:        {session.kind} of {campaign.campaign_id} – {session.event.title}",
        "Sent log:   " + ", ".join(f"{k} {counts[k]}" for k in _ORDER if counts.get(k)),
        f"Server:     {settings.host}:{settings.port} ({settings.security}), auth {auth}",
        f"From:       {campaign.sender.name} <{campaign.sender.email}>"
        + (f", envelope {campaign.sender.envelope_from}" if campaign.sender.envelope else ""),
        f"Due now:    {due}; this run sends {going}"
        + (" (the daily quota)" if quota_bound else "")
        + (f", about {_duration(going * interval)} at {', '.join(map(str, settings.rates))}" if interval else ""),
    ]
    if settings.daily_quota:
        lines.append(f"Quota:      {settings.daily_quota}/day, {session.quota(options).remaining} left today")
        if quota_bound:
            frees = session.quota_frees(account=options.account).astimezone().strftime("%Y-%m-%d %H:%M")
            lines.append(f"The rest:   {due - going} can go from about {frees}, as the 24-hour quota frees up")
    if session.recovered:
        lines.append(
            f"Recovered:  {session.recovered} message(s) interrupted by a crash are now 'unknown'; "
            "resend them only with --resend-unknown"
        )
    typer.echo("\n".join(lines))


PLAIN_EVERY = 100  # without a terminal: a progress line every this many messages
PLAIN_SECONDS = 60.0  # ... or every minute, whichever comes first


def progress_printer(total: int, quiet: bool):
    """A rich progress bar on a terminal, plain lines otherwise, nothing when quiet."""
    if quiet:
        return None
    if is_terminal():
        return _RichProgress(total)
    return _PlainProgress(total)


class _PlainProgress:
    """For logs and cron: each problem on its own line, and the progress with the time
    remaining every ``PLAIN_EVERY`` messages or ``PLAIN_SECONDS``, and at the end."""

    def __init__(self, total: int, *, clock=time.monotonic) -> None:
        self.total = total
        self.clock = clock
        self.start = self.last = clock()
        self.done = self.sent = 0

    def __call__(self, outcome) -> None:
        self.done += 1
        self.sent += outcome.status == "sent"
        if outcome.status != "sent":
            typer.echo(
                f"[{self.done}/{self.total}] {outcome.status:<8} {outcome.address}"
                + (f" – {outcome.line}" if outcome.line else "")
            )
        now = self.clock()
        if self.done % PLAIN_EVERY == 0 or now - self.last >= PLAIN_SECONDS or self.done == self.total:
            self.last = now
            left = (now - self.start) / self.done * (self.total - self.done)
            typer.echo(
                f"[{self.done}/{self.total}] sent {self.sent}, not sent {self.done - self.sent}"
                + (f", about {_duration(left)} left" if self.done < self.total else "")
            )


class _Building:
    """The build before the confirmation: a bar on a terminal, a line a minute otherwise."""

    def __init__(self, total: int, *, clock=time.monotonic) -> None:
        self.total = total
        self.clock = clock
        self.start = self.last = clock()
        self.bar = None
        if is_terminal():
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self.bar = Progress(
                TextColumn("Building"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), transient=True
            )
            self.task = self.bar.add_task("Building", total=total)
            self.bar.start()

    def __call__(self, done: int) -> None:
        if self.bar is not None:
            self.bar.update(self.task, completed=done)
            return
        now = self.clock()
        if now - self.last >= PLAIN_SECONDS:
            self.last = now
            typer.echo(f"Building: {done}/{self.total} messages, about {_duration(_left(self, done, now))} left")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def _left(progress, done: int, now: float) -> float:
    return float((now - progress.start) / max(done, 1) * (progress.total - done))


class _RichProgress:
    def __init__(self, total: int) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.start = time.monotonic()
        self.sent = self.failed = 0
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[stats]}"),
            TimeRemainingColumn(),
            transient=False,
        )
        self.task = self.progress.add_task("Sending", total=total, stats="")
        self.progress.start()

    def __call__(self, outcome) -> None:
        self.sent += outcome.status == "sent"
        self.failed += outcome.status in ("failed", "deferred", "unknown")
        rate = self.sent / max(time.monotonic() - self.start, 1e-6) * 60
        self.progress.update(self.task, advance=1, stats=f"sent {self.sent}, not sent {self.failed}, {rate:.0f}/min")
        if outcome.status in ("failed", "deferred", "unknown"):
            self.progress.console.print(f"{outcome.status}: {outcome.address} – {outcome.line}", markup=False)

    def close(self) -> None:
        self.progress.stop()


def print_summary(session, report, options) -> None:
    counts = session.counts()
    this_run = {s: report.count(s) for s in ("sent", "deferred", "failed", "unknown", "skipped")}
    typer.echo("This run: " + ", ".join(f"{k} {v}" for k, v in this_run.items() if v or k == "sent"))
    typer.echo("Sent log: " + ", ".join(f"{k} {counts[k]}" for k in _ORDER if counts.get(k)))
    if report.stopped:
        typer.echo(f"Stopped: {report.stopped}", err=True)
    if report.interrupted:
        typer.echo("Interrupted: the message in flight was recorded; run the same command again to go on.", err=True)
    print_hints(session, options, counts)
    sys.stdout.flush()


def print_hints(session, options, counts=None) -> None:
    """The next step for each kind of row that needs one (or 'everything is sent')."""
    for hint in _hints(session, counts if counts is not None else session.counts(), options):
        typer.echo(f"Next: {hint}")


def _hints(session, counts, options) -> list[str]:
    from lgp_mailer.campaign.next_steps import next_steps

    return next_steps(
        kinds.get(session.kind).command,
        counts,
        session.count_due(options),
        inputs=options.inputs,
        extra=options.extra,
        smtp=options.smtp_args,
        batch=options.batch,
        retry_failed=options.retry_failed,
        resend_unknown=options.resend_unknown,
    )


def print_provenance(campaign, *, quiet: bool = False) -> None:
    """The block naming the inputs and their paths (``campaign.inputs.provenance``); none with --quiet."""
    if quiet:
        return
    from lgp_mailer.campaign.inputs import provenance

    typer.echo("\n".join(provenance(campaign)))


def print_warnings(lines: list[str]) -> None:
    """Warnings go to stderr, so that cron mails them even with --quiet."""
    for line in lines:
        typer.echo(line, err=True)


class CliHooks:
    """What ``send`` and ``remind`` show around the core's run (``campaign.send.SendHooks``)."""

    def __init__(self, *, quiet: bool, yes: bool, non_interactive: bool) -> None:
        self.quiet = quiet
        self.yes = yes
        self.non_interactive = non_interactive
        self.stop_code = ExitCode.INTERRUPTED

    @contextlib.contextmanager
    def stopping(self) -> Iterator[threading.Event]:
        """Ctrl-C / SIGTERM during the run: finish the message in flight, then stop."""
        from lgp_mailer.cli.runtime import graceful_stop

        with graceful_stop() as stop:
            try:
                yield stop.event
            finally:
                self.stop_code = stop.exit_code

    def plan(self, session, options, settings, due) -> None:
        if not self.quiet or not self.yes:
            print_plan(session, options, settings, due)

    def nothing_due(self, session, options, settings) -> None:
        if not self.quiet:
            print_plan(session, options, settings, 0)
            typer.echo("Nothing is due: every recipient has been sent to or needs a decision (see below).")
            print_hints(session, options)
        elif session.recovered:  # cron must hear of it: these need a person's decision
            typer.echo(
                f"{session.recovered} message(s) interrupted by a crash are now 'unknown'; "
                "check, then resend with --resend-unknown",
                err=True,
            )

    def confirm(self, count: int) -> bool:
        from lgp_mailer.cli.runtime import confirm_or_refuse

        return confirm_or_refuse(f"Send {count} message(s) now?", yes=self.yes, non_interactive=self.non_interactive)

    def building(self, total: int):
        return None if self.quiet or total < 1 else _Building(total)

    def progress(self, total: int):
        return progress_printer(total, self.quiet)

    def summary(self, session, report, options) -> None:
        print_summary(session, report, options)

    def warn(self, lines: list[str]) -> None:
        print_warnings(lines)
