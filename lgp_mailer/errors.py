"""One exception root for everything a user can get wrong, and the exit codes.

Every error carries the context a programme office needs to fix the input
(file, sheet, row, column, key, host:port).  Only the CLI turns an error into
an exit code; the core just raises.
"""

from __future__ import annotations

from enum import IntEnum
from pathlib import Path

from lgp_mailer.i18n import _
from lgp_mailer.quoting import quoted


class ExitCode(IntEnum):
    """Documented exit codes, shared by every command (see README.md)."""

    OK = 0
    PROBLEMS = 1  # done, but with problems or partial failures
    USAGE = 2  # unusable input or configuration
    NOTHING_DUE = 3  # nothing to do, e.g. a reminder outside its window
    INTERRUPTED = 130  # Ctrl-C (SIGINT)
    TERMINATED = 143  # SIGTERM


class LgpError(Exception):
    """Root of every error lgp-mailer reports to its user.

    ``str(error)`` is the one line the user sees: where, then what.
    """

    exit_code: ExitCode = ExitCode.USAGE

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        sheet: str | None = None,
        row: int | None = None,
        line: int | None = None,
        column: str | None = None,
        key: str | None = None,
        host: str | None = None,
        port: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.file = str(file) if file is not None else None
        self.sheet = sheet
        self.row = row
        self.line = line  # a line of a text file (a template), not a sheet row
        self.column = column
        self.key = key
        self.host = host
        self.port = port

    @property
    def where(self) -> str:
        parts: list[str] = []
        if self.file:
            parts.append(self.file)
        if self.sheet:
            parts.append(_("sheet {sheet}").format(sheet=quoted(self.sheet)))
        if self.row is not None:
            parts.append(_("row {row}").format(row=self.row))
        if self.line is not None:
            parts.append(_("line {line}").format(line=self.line))
        if self.column:
            parts.append(_("column {column}").format(column=quoted(self.column)))
        if self.key:
            parts.append(_("key {key}").format(key=quoted(self.key)))
        if self.host:
            parts.append(f"{self.host}:{self.port}" if self.port else self.host)
        return ", ".join(parts)

    def __str__(self) -> str:
        where = self.where
        return f"{where}: {self.message}" if where else self.message


class ConfigError(LgpError):
    """The campaign file, settings or command-line options cannot be used."""


class EventError(LgpError):
    """The conference (event) file is missing, malformed or inconsistent."""


class RecipientsError(LgpError):
    """The recipient sheet cannot be read at all."""


class NothingDueError(LgpError):
    """Nothing to do now, e.g. a reminder before its window opens (exit 3)."""

    exit_code = ExitCode.NOTHING_DUE


class TemplateError(LgpError):
    """A template is missing, broken, or refers to a value that does not exist."""


class CredentialsError(LgpError):
    """No usable SMTP password or token could be obtained."""


class SmtpError(LgpError):
    """The SMTP server refused us or went away; carries host:port."""

    exit_code = ExitCode.PROBLEMS


class LedgerError(LgpError):
    """The sent-log database cannot be opened, migrated or locked."""


class LockedError(LedgerError):
    """Another run holds the campaign's send lock."""

    exit_code = ExitCode.PROBLEMS
