"""Every "Next:" hint, built in one place, repeating the flags the run needed.

A hint that says ``lgp-mailer send --retry-failed`` to someone who had to
type ``--campaign ~/2027-klima --host 127.0.0.1 --port 8025 --security none``
sends the next run to the wrong campaign and server.  So each hint carries the
run's input flags (``--campaign``, ``--event`` ...), its SMTP flags and the
run's own ``--retry-failed``/``--resend-unknown``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from lgp_mailer.i18n import _, format_number, ngettext

# SMTP setting name (smtp.settings.KEYS) -> its flag, in the order the hints write them.
_SMTP_FLAGS = (
    ("host", "--host"), ("port", "--port"), ("security", "--security"), ("username", "--username"),
    ("auth_method", "--auth"), ("rate", "--rate"), ("daily_quota", "--daily-quota"), ("timeout", "--timeout"),
    ("messages_per_connection", "--messages-per-connection"), ("cafile", "--cafile"), ("insecure", "--insecure"),
)  # fmt: skip


def smtp_args(flags: Mapping[str, object | None]) -> tuple[str, ...]:
    """The SMTP flags given on the command line, as arguments to repeat."""
    args: list[str] = []
    for name, flag in _SMTP_FLAGS:
        value = flags.get(name)
        if value is None or value is False:
            continue
        if value is True:
            args.append(flag)
        elif isinstance(value, list | tuple):
            for item in value:
                args += [flag, str(item)]
        else:
            args += [flag, str(value)]
    return tuple(args)


def _quoted(arg: str) -> str:
    # Double quotes work in POSIX shells, cmd.exe and PowerShell alike.
    return f'"{arg}"' if not arg or any(c.isspace() or c in "'&|;<>()$`" for c in arg) else arg


def command_line(command: str, *args: str) -> str:
    """``lgp-mailer send --campaign DIR ...`` as one line to copy."""
    return " ".join([command, *(_quoted(a) for a in args)])


def input_args(
    campaign: Path | None = None,
    event: Path | None = None,
    recipients: Path | None = None,
    sheet: str | None = None,
    columns: Sequence[str] | None = None,
) -> tuple[str, ...]:
    """The input flags a run was given (``--campaign`` and the overrides), as arguments to repeat."""
    args: list[str] = []
    for flag, value in (("--campaign", campaign), ("--event", event), ("--recipients", recipients), ("--sheet", sheet)):
        if value is not None:
            args += [flag, str(value)]
    for column in columns or ():
        args += ["--column", column]
    return tuple(args)


def next_steps(
    command: str,
    counts: Mapping[str, int],
    due: int,
    *,
    inputs: Sequence[str] = (),
    extra: Sequence[str] = (),
    smtp: Sequence[str] = (),
    batch: int | None = None,
    retry_failed: bool = False,
    resend_unknown: bool = False,
) -> list[str]:
    """The next step for each kind of row that needs one (or "everything is sent").

    ``inputs`` are the input flags (also good for ``check``), ``extra`` the command's own
    (``--registrations``), ``smtp`` the server flags.
    """
    again = [*inputs, *extra, *smtp]
    run_flags = [*(["--retry-failed"] if retry_failed else []), *(["--resend-unknown"] if resend_unknown else [])]
    hints = []
    if due:
        batch_args = ["--batch", str(batch)] if batch else []
        again_line = command_line(command, *again, *run_flags, *batch_args)
        still_due = ngettext("{n} message still due: run '{command}'", "{n} messages still due: run '{command}'", due)
        hints.append(
            still_due.format(n=format_number(due), command=again_line)
            + (_(" again (deferred ones are retried)") if counts.get("deferred") else "")
        )
    if counts.get("unknown"):
        unknown = _("{n} with unknown outcome: check the server's log, then '{command}' if they did not arrive")
        hints.append(unknown.format(n=counts["unknown"], command=command_line(command, *again, "--resend-unknown")))
    if counts.get("failed"):
        failed = _("{n} failed permanently: fix the addresses in the sheet, then '{command}'")
        hints.append(failed.format(n=counts["failed"], command=command_line(command, *again, "--retry-failed")))
    if counts.get("invalid"):
        check = command_line("lgp-mailer check", *inputs)
        hints.append(_("{n} invalid in the sheet: '{command}' lists them").format(n=counts["invalid"], command=check))
    if not hints:
        hints.append(_("everything is sent"))
    return hints
