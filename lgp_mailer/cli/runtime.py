"""Run-time plumbing for sending commands: signals, confirmation, progress, the ledger."""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Iterator

import typer

from lgp_mailer.errors import ConfigError, ExitCode
from lgp_mailer.i18n import N_, _


class StopSignal:
    """First Ctrl-C or SIGTERM: take nothing new and finish the message in flight.

    A second Ctrl-C interrupts at once; the message in flight then stays
    ``sending`` in the ledger and the next run marks it ``unknown``.
    """

    def __init__(self) -> None:
        self.event = threading.Event()
        self.signum: int | None = None

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.TERMINATED if self.signum == getattr(signal, "SIGTERM", None) else ExitCode.INTERRUPTED

    def _handle(self, signum, frame) -> None:  # pragma: no cover - exercised through subprocess tests
        if self.event.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.signum = signum
        self.event.set()
        typer.echo(
            "\n" + _("lgp-mailer: stopping after the message in flight (Ctrl-C again to abort at once)"), err=True
        )


@contextlib.contextmanager
def graceful_stop() -> Iterator[StopSignal]:
    stop = StopSignal()
    if threading.current_thread() is not threading.main_thread():
        yield stop  # e.g. inside a test runner thread: no signal handlers there
        return
    names = ("SIGINT", "SIGTERM", "SIGBREAK")  # SIGBREAK: Ctrl-Break on Windows
    previous = {}
    for name in names:
        if hasattr(signal, name):
            number = getattr(signal, name)
            with contextlib.suppress(ValueError, OSError):
                previous[number] = signal.signal(number, stop._handle)
    try:
        yield stop
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def can_prompt(non_interactive: bool) -> bool:
    """Whether to ask a question (a confirmation, a password): only with a terminal on stdin
    and without --non-interactive.  cron's stdin is not a terminal: a prompt there would read
    whatever stdin holds, or hit its end and abort."""
    return not non_interactive and sys.stdin.isatty()


def confirm_or_refuse(question: str, *, yes: bool, non_interactive: bool) -> bool:
    """Ask unless ``--yes``; with no terminal (cron) and no ``--yes``, refuse instead of guessing."""
    if yes:
        return True
    if not can_prompt(non_interactive):
        raise ConfigError(_("not confirmed: no terminal to ask on; add --yes to send without asking"), key="--yes")
    if not _ask_yes_no(question):
        typer.echo(_("Nothing was sent."))
        return False
    return True


# The answers to a yes/no question: English always, and the interface language's own
# (i/igen, n/nem), which Click's confirm() would refuse.
_YES, _NO = (N_("y"), N_("yes")), (N_("n"), N_("no"))


def yes_or_no(answer: str) -> bool | None:
    """True for yes, False for no or a bare Enter (the default), None for anything else."""
    word = answer.strip().lower()
    if word in {*_YES, *(_(w) for w in _YES)}:
        return True
    if word in {"", *_NO, *(_(w) for w in _NO)}:
        return False
    return None


def _ask_yes_no(question: str) -> bool:
    while True:
        choices = _("[y/N]")  # marked outside the f-string: Babel does not look inside one
        answer = typer.prompt(f"{question} {choices}", default="", show_default=False)
        verdict = yes_or_no(answer)
        if verdict is not None:
            return verdict
        typer.echo(_("Please answer y or n."), err=True)


def is_terminal() -> bool:
    return sys.stdout.isatty()
