"""What a send run shows: the plan before it, progress during it, the summary after it."""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Iterator

import typer

from lgp_mailer import i18n, kinds
from lgp_mailer.cli.runtime import is_terminal
from lgp_mailer.errors import ExitCode
from lgp_mailer.i18n import N_, _, format_number, ngettext

# The sent log's statuses in the order shown; the words as the glossary has them
# (lgp_mailer/locale/GLOSSARY.md), ``status --json`` keeps the English keys.
_ORDER = (
    N_("pending"), N_("sending"), N_("sent"), N_("deferred"), N_("failed"), N_("unknown"), N_("invalid"),
    N_("suppressed"), N_("skipped"),
)  # fmt: skip


def status_counts(counts, order=_ORDER[:-1], keep=()) -> str:
    """``pending 3, sent 2``: the non-zero counts (and those in ``keep``) with translated status words."""
    return ", ".join(f"{_(k)} {format_number(counts[k])}" for k in order if counts.get(k) or k in keep)


def kind_label(name: str) -> str:
    """The kind as the reader says it: ``invitation`` in English, kinds.py's label (``meghívó``) in Hungarian."""
    return kinds.label(name) if i18n.current_language() == "hu" else name


def _duration(seconds: float) -> str:
    minutes, sec = divmod(int(seconds + 0.5), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return _("{hours} h {minutes} min").format(hours=hours, minutes=minutes)
    if minutes:
        return _("{minutes} min {seconds} s").format(minutes=minutes, seconds=sec)
    return _("{seconds} s").format(seconds=sec)


# The plan's labels, marked here so that the column is as wide in every plan.
_PLAN_LABELS = (
    N_("Run:"), N_("Sent log:"), N_("Server:"), N_("From:"), N_("Due now:"), N_("Quota:"), N_("The rest:"),
    N_("Recovered:"),
)  # fmt: skip


def _labelled(rows: list[tuple[str, str]]) -> list[str]:
    """``Run:        ...``: the labels in one column, two spaces after the longest possible one."""
    width = max(len(_(label)) for label in _PLAN_LABELS) + 2
    return [f"{_(label):<{width}}{text}" for label, text in rows]


def print_plan(session, options, settings, due: int) -> None:
    counts = session.counts()
    campaign = session.campaign
    going = session.going(options, due) if due else 0
    auth = (
        _("none")
        if settings.auth_method == "none"
        else _("{method} as {user}").format(method=settings.auth_method, user=settings.username)
    )
    interval = max((r.interval for r in settings.rates), default=0.0)
    quota_bound = bool(settings.daily_quota) and going < (due if options.batch is None else min(options.batch, due))
    rates = ", ".join(map(str, settings.rates))
    rows = [
        (
            "Run:",
            _("{kind} of {campaign} – {title}").format(
                kind=kind_label(session.kind), campaign=campaign.campaign_id, title=session.event.title
            ),
        ),
        ("Sent log:", status_counts(counts)),
        (
            "Server:",
            _("{host}:{port} ({security}), auth {auth}").format(
                host=settings.host, port=settings.port, security=settings.security, auth=auth
            ),
        ),
        (
            "From:",
            f"{campaign.sender.name} <{campaign.sender.email}>"
            + (
                _(", envelope {address}").format(address=campaign.sender.envelope_from)
                if campaign.sender.envelope
                else ""
            ),
        ),
        (
            "Due now:",
            _("{due}; this run sends {going}").format(due=format_number(due), going=format_number(going))
            + (_(" (the daily quota)") if quota_bound else "")
            + (
                _(", about {duration} at {rates}").format(duration=_duration(going * interval), rates=rates)
                if interval and going
                else ""
            ),
        ),
    ]
    if settings.daily_quota:
        left = session.quota(options).remaining
        rows.append(
            ("Quota:", _("{quota} in any 24 hours, {left} left now").format(quota=settings.daily_quota, left=left))
        )
        if quota_bound:
            frees = i18n.format_datetime(session.quota_frees(account=options.account))
            rows.append(("The rest:", _rest_line(due - going, settings.daily_quota, frees)))
    if session.recovered:
        recovered = ngettext(
            "{n} message interrupted by a crash is now 'unknown'; resend it only with --resend-unknown",
            "{n} messages interrupted by a crash are now 'unknown'; resend them only with --resend-unknown",
            session.recovered,
        )
        rows.append(("Recovered:", recovered.format(n=session.recovered)))
    typer.echo("\n".join(_labelled(rows)))


def _rest_line(rest: int, quota: int, frees: str) -> str:
    """When the messages over the daily quota can go; over a day's quota, over how many days."""
    if rest <= quota:
        return _("{count} can go from about {time}, as the 24-hour quota frees up").format(
            count=format_number(rest), time=frees
        )
    days = -(-rest // quota)
    text = ngettext(
        "{count} can go from about {time}, {quota} in any 24 hours: over about {days} more day",
        "{count} can go from about {time}, {quota} in any 24 hours: over about {days} more days",
        days,
    )
    return text.format(count=format_number(rest), time=frees, quota=format_number(quota), days=days)


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
        self.done = self.sent = self.taken = 0

    def __call__(self, outcome) -> None:
        self.done += 1
        self.sent += outcome.status == "sent"
        # A row another sender took is that sender's to report: counted here, not a line each
        # (a joiner may see thousands, and they would hide the lines that need a decision).
        self.taken += outcome.status == "skipped"
        if outcome.status not in ("sent", "skipped"):
            typer.echo(
                f"[{self.done}/{self.total}] {_(outcome.status):<8} {outcome.address}"
                + (f" – {outcome.line}" if outcome.line else "")
            )
        now = self.clock()
        if self.done % PLAIN_EVERY == 0 or now - self.last >= PLAIN_SECONDS or self.done == self.total:
            self.last = now
            left = (now - self.start) / self.done * (self.total - self.done)
            not_sent = self.done - self.sent - self.taken
            typer.echo(
                f"[{self.done}/{self.total}] "
                + _("sent {sent}, not sent {not_sent}").format(sent=self.sent, not_sent=not_sent)
                + (_(", taken by other senders {taken}").format(taken=self.taken) if self.taken else "")
                + (_(", about {duration} left").format(duration=_duration(left)) if self.done < self.total else "")
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
                TextColumn(_("Building")), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), transient=True
            )
            self.task = self.bar.add_task(_("Building"), total=total)
            self.bar.start()

    def __call__(self, done: int) -> None:
        if self.bar is not None:
            self.bar.update(self.task, completed=done)
            return
        now = self.clock()
        if now - self.last >= PLAIN_SECONDS:
            self.last = now
            typer.echo(
                _("Building: {done}/{total} messages, about {duration} left").format(
                    done=done, total=self.total, duration=_duration(_left(self, done, now))
                )
            )

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
        self.task = self.progress.add_task(_("Sending"), total=total, stats="")
        self.progress.start()

    def __call__(self, outcome) -> None:
        self.sent += outcome.status == "sent"
        self.failed += outcome.status in ("failed", "deferred", "unknown")
        rate = self.sent / max(time.monotonic() - self.start, 1e-6) * 60
        stats = _("sent {sent}, not sent {not_sent}").format(sent=self.sent, not_sent=self.failed)
        self.progress.update(
            self.task, advance=1, stats=_("{stats}, {rate}/min").format(stats=stats, rate=f"{rate:.0f}")
        )
        if outcome.status in ("failed", "deferred", "unknown"):
            self.progress.console.print(f"{_(outcome.status)}: {outcome.address} – {outcome.line}", markup=False)

    def close(self) -> None:
        self.progress.stop()


def print_summary(session, report, options) -> None:
    counts = session.counts()
    this_run = {s: report.count(s) for s in ("sent", "deferred", "failed", "unknown", "skipped")}
    typer.echo(_("This run: {counts}").format(counts=status_counts(this_run, tuple(this_run), keep=("sent",))))
    typer.echo(_("Sent log: {counts}").format(counts=status_counts(counts)))
    if report.stopped:
        typer.echo(_("Stopped: {reason}").format(reason=report.stopped), err=True)
    if report.interrupted:
        typer.echo(_("Interrupted: the message in flight was recorded; run the same command again to go on."), err=True)
    print_hints(session, options, counts)
    sys.stdout.flush()


def print_hints(session, options, counts=None) -> None:
    """The next step for each kind of row that needs one (or 'everything is sent')."""
    for hint in _hints(session, counts if counts is not None else session.counts(), options):
        typer.echo(_("Next: {hint}").format(hint=hint))


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
            typer.echo(_("Nothing is due: every recipient has been sent to or needs a decision (see below)."))
            print_hints(session, options)
        elif session.recovered:  # cron must hear of it: these need a person's decision
            recovered = ngettext(
                "{n} message interrupted by a crash is now 'unknown'; check, then resend with --resend-unknown",
                "{n} messages interrupted by a crash are now 'unknown'; check, then resend with --resend-unknown",
                session.recovered,
            )
            typer.echo(recovered.format(n=session.recovered), err=True)

    def confirm(self, count: int) -> bool:
        from lgp_mailer.cli.runtime import confirm_or_refuse

        question = ngettext("Send {n} message now?", "Send {n} messages now?", count).format(n=format_number(count))
        return confirm_or_refuse(question, yes=self.yes, non_interactive=self.non_interactive)

    def building(self, total: int):
        return None if self.quiet or total < 1 else _Building(total)

    def progress(self, total: int):
        return progress_printer(total, self.quiet)

    def summary(self, session, report, options) -> None:
        print_summary(session, report, options)

    def warn(self, lines: list[str]) -> None:
        print_warnings(lines)
