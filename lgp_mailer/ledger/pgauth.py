"""The password of a PostgreSQL sent log, looked up in a fixed order; first found wins.

1. a password written in the URL itself (allowed, never printed: every message
   and ``status`` show the URL with ``***``);
2. ``LGP_MAILER_DB_PASSWORD``;
3. the file named by ``LGP_MAILER_DB_PASSWORD_FILE`` (first line);
4. the toml's ``database_password_command`` (run without a shell, first
   output line), as the SMTP ``password_command``;
5. the system keyring: service ``lgp-mailer-db``, user ``USER@HOST`` of the URL;
6. libpq's own: ``PGPASSWORD``, then the ``.pgpass`` file (``PGPASSFILE``),
   used when none of the above gave one;
7. a prompt, when the server asks for a password that none of these gave and
   the input is a terminal.

Only the source is ever logged; the value is handed to libpq and nowhere else.
"""

from __future__ import annotations

import getpass
import logging
import sys
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from lgp_mailer.errors import CredentialsError, LedgerError
from lgp_mailer.i18n import _
from lgp_mailer.ledger.backend import PgDb, load_psycopg, redact, url_password
from lgp_mailer.smtp.credentials import from_keyring, run_secret_command

PASSWORD_ENV = "LGP_MAILER_DB_PASSWORD"
PASSWORD_FILE_ENV = "LGP_MAILER_DB_PASSWORD_FILE"
KEYRING_SERVICE = "lgp-mailer-db"

log = logging.getLogger(__name__)


def keyring_user(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.username or getpass.getuser()}@{parts.hostname or 'localhost'}"


def connect_password(url: str, env: Mapping[str, str], command: str | None) -> str | None:
    """The password from sources 1-5, or None to let libpq look (6)."""
    if url_password(url) is not None:
        return None  # libpq reads it from the URL
    if env.get(PASSWORD_ENV):
        log.debug("database password from %s", PASSWORD_ENV)
        return env[PASSWORD_ENV]
    if env.get(PASSWORD_FILE_ENV):
        path = Path(env[PASSWORD_FILE_ENV]).expanduser()
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as error:
            raise CredentialsError(
                _("cannot read the database password file: {error}").format(error=error.strerror or error),
                file=path,
                key=PASSWORD_FILE_ENV,
            ) from error
        if not lines or not lines[0].strip():
            raise CredentialsError(_("the database password file is empty"), file=path, key=PASSWORD_FILE_ENV)
        return lines[0].rstrip("\r\n")
    if command:
        return run_secret_command(command, "database_password_command")
    return from_keyring(KEYRING_SERVICE, keyring_user(url))


def _needs_password(error: Exception) -> bool:
    text = str(error)
    return "no password supplied" in text or "password authentication failed" in text


def connect(url: str, password: str | None, interactive: bool | None = None) -> PgDb:
    """A connection to the server, its failure as one line naming the URL without its password."""
    error_class = load_psycopg().Error  # without psycopg: one line saying how to install it
    try:
        return PgDb(url, password)
    except error_class as error:
        ask = sys.stdin.isatty() if interactive is None else interactive
        if password is None and ask and "no password supplied" in str(error):
            typed = getpass.getpass(_("Password of the sent log {url}: ").format(url=redact(url)))
            return connect(url, typed, interactive=False)
        reason = " ".join(str(error).replace(url, redact(url)).split())
        hint = (
            _(" (set LGP_MAILER_DB_PASSWORD, LGP_MAILER_DB_PASSWORD_FILE, database_password_command or PGPASSWORD)")
            if _needs_password(error)
            else ""
        )
        raise LedgerError(
            _("cannot connect to the sent log: {reason}{hint}").format(reason=reason, hint=hint), file=redact(url)
        ) from error


__all__ = ["KEYRING_SERVICE", "PASSWORD_ENV", "PASSWORD_FILE_ENV", "connect", "connect_password", "keyring_user"]
