"""The SMTP password or OAuth2 access token, looked up in a fixed order.

Password (``auth = "password"``), first found wins:

1. ``LGP_SMTP_PASSWORD``;
2. the file named by ``LGP_SMTP_PASSWORD_FILE`` (first line; for secrets
   mounted by a scheduler or container);
3. ``password_command`` (like msmtp's ``passwordeval``): run *without* a
   shell.  On POSIX the command line is split with ``shlex.split``; on
   Windows it is handed as one string to CreateProcess.  Write
   ``pass show smtp/lgp`` rather than shell pipelines; wrap a pipeline in a
   script if you need one.  Its first output line is the password;
4. the system keyring (service ``keyring_service``, the SMTP username).  A
   missing or broken keyring backend is skipped, not fatal;
5. an interactive prompt, or ``CredentialsError`` when not interactive.

Token (``auth = "xoauth2"``): ``LGP_SMTP_OAUTH_TOKEN``, then
``token_command``.  Tokens live about an hour, so there is no prompt.

Only the *source* is ever logged or shown; the value sits in a ``Secret``
whose ``repr`` and ``str`` hide it.
"""

from __future__ import annotations

import getpass
import logging
import os
import shlex
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path

from lgp_mailer.errors import CredentialsError
from lgp_mailer.i18n import _
from lgp_mailer.quoting import quoted
from lgp_mailer.smtp.settings import SmtpSettings

log = logging.getLogger(__name__)

PASSWORD_ENV = "LGP_SMTP_PASSWORD"
PASSWORD_FILE_ENV = "LGP_SMTP_PASSWORD_FILE"
TOKEN_ENV = "LGP_SMTP_OAUTH_TOKEN"
COMMAND_TIMEOUT = 60.0


class Secret:
    """A password or token that does not show itself in logs or tracebacks."""

    __slots__ = ("_value", "kind", "source")

    def __init__(self, value: str, source: str, kind: str = "password") -> None:
        self._value = value
        self.source = source
        self.kind = kind

    def reveal(self) -> str:
        """The value, for the one place that needs it: the SMTP AUTH call."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret(kind={self.kind!r}, source={self.source!r}, value='***')"

    def __str__(self) -> str:
        return "***"

    def __reduce__(self) -> str | tuple[object, ...]:  # never pickled into a file or another process by accident
        raise TypeError("a Secret cannot be pickled")


def _first_line(text: str) -> str:
    lines = text.splitlines()
    return lines[0].rstrip("\r\n") if lines else ""


def _split_command(command: str) -> list[str] | str:
    return command if os.name == "nt" else shlex.split(command)


def run_secret_command(
    command: str, what: str, run: Callable[..., subprocess.CompletedProcess[str]] = subprocess.run
) -> str:
    """Run a password/token command (no shell) and return its first line."""
    try:
        args = _split_command(command)
        done = run(
            args, shell=False, capture_output=True, text=True, encoding="utf-8", timeout=COMMAND_TIMEOUT, check=False
        )
    except (OSError, ValueError, subprocess.SubprocessError) as error:
        raise CredentialsError(
            _("cannot run the {what} command: {error}").format(what=what, error=error), key=what
        ) from error
    if done.returncode != 0:
        detail = _first_line(done.stderr or "")[:200]
        raise CredentialsError(
            _("the {what} command exited with status {status}").format(what=what, status=done.returncode)
            + (f": {detail}" if detail else ""),
            key=what,
        )
    value = _first_line(done.stdout or "")
    if not value:
        raise CredentialsError(_("the {what} command printed nothing").format(what=what), key=what)
    return value


def from_keyring(service: str, username: str) -> str | None:
    try:
        import keyring  # noqa: PLC0415 - keyring probes its backends on import; only when a password is looked up

        return keyring.get_password(service, username)
    except Exception as error:  # no backend, locked wallet, D-Bus trouble: skip
        log.debug("keyring skipped: %s", type(error).__name__)
        return None


def _password(
    settings: SmtpSettings,
    env: Mapping[str, str],
    interactive: bool,
    prompt: Callable[[str], str],
    run: Callable[..., subprocess.CompletedProcess[str]],
    keyring_get: Callable[[str, str], str | None],
) -> Secret:
    if env.get(PASSWORD_ENV):
        return Secret(env[PASSWORD_ENV], f"env {PASSWORD_ENV}")
    if env.get(PASSWORD_FILE_ENV):
        path = Path(env[PASSWORD_FILE_ENV]).expanduser()
        try:
            value = _first_line(path.read_text(encoding="utf-8-sig"))
        except OSError as error:
            raise CredentialsError(
                _("cannot read the password file: {reason}").format(reason=error.strerror),
                file=path,
                key=PASSWORD_FILE_ENV,
            ) from error
        if not value:
            raise CredentialsError(_("the password file is empty"), file=path, key=PASSWORD_FILE_ENV)
        return Secret(value, _("file named by {variable}").format(variable=PASSWORD_FILE_ENV))
    if settings.password_command:
        return Secret(run_secret_command(settings.password_command, "password_command", run), "password_command")
    if not settings.username:
        raise CredentialsError(_("password authentication needs a username"), key="username")
    stored = keyring_get(settings.keyring_service, settings.username)
    if stored:
        return Secret(stored, f"keyring {settings.keyring_service}")
    if not interactive:
        raise CredentialsError(
            _(
                "no SMTP password for {username}: set {password_env} or {password_file_env}, configure "
                "password_command, or store it in the keyring (service {keyring_service}); not prompting "
                "in non-interactive mode"
            ).format(
                username=settings.username,
                password_env=PASSWORD_ENV,
                password_file_env=PASSWORD_FILE_ENV,
                keyring_service=quoted(settings.keyring_service),
            ),
            host=settings.host,
            port=settings.port,
        )
    value = prompt(_("SMTP password for {username} at {host}: ").format(username=settings.username, host=settings.host))
    if not value:
        raise CredentialsError(_("no password entered"), host=settings.host, port=settings.port)
    return Secret(value, "prompt")


def _token(
    settings: SmtpSettings, env: Mapping[str, str], run: Callable[..., subprocess.CompletedProcess[str]]
) -> Secret:
    if env.get(TOKEN_ENV):
        return Secret(env[TOKEN_ENV], f"env {TOKEN_ENV}", kind="token")
    if settings.token_command:
        return Secret(run_secret_command(settings.token_command, "token_command", run), "token_command", kind="token")
    raise CredentialsError(
        _("no OAuth2 access token for {username}: set {token_env} or configure token_command").format(
            username=settings.username, token_env=TOKEN_ENV
        ),
        host=settings.host,
        port=settings.port,
    )


def get_secret(
    settings: SmtpSettings,
    env: Mapping[str, str] = os.environ,
    *,
    interactive: bool,
    prompt: Callable[[str], str] = getpass.getpass,
    run: Callable[..., subprocess.CompletedProcess[str]] = subprocess.run,
    keyring_get: Callable[[str, str], str | None] = from_keyring,
) -> Secret | None:
    """The password or token for ``settings``; None when auth is "none"."""
    if settings.auth_method == "none":
        return None
    if settings.auth_method == "xoauth2":
        secret = _token(settings, env, run)
    else:
        secret = _password(settings, env, interactive, prompt, run, keyring_get)
    log.info("SMTP %s for %s from %s", secret.kind, settings.username, secret.source)
    return secret
