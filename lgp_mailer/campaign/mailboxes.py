"""Reading the messages of a mailbox: an mbox file, a Maildir folder, one
saved .eml message, or an IMAP folder (``imaps://user@host[:port]/Folder``,
read-only over TLS, nothing marked seen).

Each reader yields ``(label, message)`` pairs; ``bounces.import_messages``
decides what they mean.  The IMAP password comes from ``LGP_IMAP_PASSWORD``,
the file named by ``LGP_IMAP_PASSWORD_FILE``, or a prompt.
"""

from __future__ import annotations

import base64
import contextlib
import email
import email.message
import getpass
import imaplib
import mailbox
import os
import ssl
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

from lgp_mailer.errors import CredentialsError, ExitCode, LgpError
from lgp_mailer.i18n import _
from lgp_mailer.quoting import quoted
from lgp_mailer.smtp.credentials import Secret

IMAP_PASSWORD_ENV = "LGP_IMAP_PASSWORD"
IMAP_PASSWORD_FILE_ENV = "LGP_IMAP_PASSWORD_FILE"


# A bounce or reply is read for its headers and first parts; a message bigger than this
# (a reply with a large attachment, or a hostile file) is read only this far, so a
# 500 MB "message" costs 8 MiB of memory, not gigabytes.
MESSAGE_BYTES = 8 * 1024 * 1024


class _Stream(Protocol):  # a binary file, or mailbox's proxy of one
    def read(self, size: int, /) -> bytes: ...
    def close(self) -> object: ...


def _head(stream: _Stream) -> email.message.Message:
    """The message in ``stream``, parsed from at most :data:`MESSAGE_BYTES`."""
    try:
        return email.message_from_bytes(stream.read(MESSAGE_BYTES))
    finally:
        stream.close()


class MailboxError(LgpError):
    """The mailbox to import cannot be read (a usage error: wrong path or format)."""


class ImapError(LgpError):
    """The IMAP server refused us or went away; carries host:port."""

    exit_code = ExitCode.PROBLEMS


def read_messages(path: Path) -> Iterator[tuple[str, email.message.Message]]:
    """(label, message) for each message of an mbox file, a Maildir folder or one .eml file."""
    path = Path(path)
    if path.is_dir():
        if not all((path / sub).is_dir() for sub in ("cur", "new")):
            raise MailboxError(_("a folder, but not a Maildir (no cur/ and new/ inside)"), file=path)
        box: mailbox.Mailbox = mailbox.Maildir(path, factory=None, create=False)
        name = "Maildir"
    elif path.is_file():
        with path.open("rb") as stream:
            head = stream.read(5)
        if head != b"From ":
            yield path.name, _head(path.open("rb"))
            return
        box = mailbox.mbox(path, factory=None, create=False)
        name = "mbox"
    else:
        raise MailboxError(_("no such file or folder"), file=path)
    try:
        for number, key in enumerate(sorted(box.keys()) if name == "Maildir" else box.keys(), 1):
            yield f"{name} #{number}", _head(box.get_file(key))
    except (OSError, mailbox.Error) as error:
        raise MailboxError(_("cannot read the {name}: {error}").format(name=name, error=error), file=path) from error
    finally:
        box.close()


def imap_password(
    user: str,
    host: str,
    env: Mapping[str, str] = os.environ,
    *,
    interactive: bool,
    prompt: Callable[[str], str] = getpass.getpass,
) -> Secret:
    """``LGP_IMAP_PASSWORD`` > the file named by ``LGP_IMAP_PASSWORD_FILE`` > a prompt."""
    if env.get(IMAP_PASSWORD_ENV):
        return Secret(env[IMAP_PASSWORD_ENV], f"env {IMAP_PASSWORD_ENV}")
    if env.get(IMAP_PASSWORD_FILE_ENV):
        file = Path(env[IMAP_PASSWORD_FILE_ENV]).expanduser()
        try:
            lines = file.read_text(encoding="utf-8-sig").splitlines()
        except OSError as error:
            raise CredentialsError(
                _("cannot read the password file: {reason}").format(reason=error.strerror),
                file=file,
                key=IMAP_PASSWORD_FILE_ENV,
            ) from error
        if not lines or not lines[0]:
            raise CredentialsError(_("the password file is empty"), file=file, key=IMAP_PASSWORD_FILE_ENV)
        return Secret(lines[0], _("file named by {variable}").format(variable=IMAP_PASSWORD_FILE_ENV))
    if not interactive:
        raise CredentialsError(
            _(
                "no IMAP password for {user}: set {imap_password_env} or {imap_password_file_env}; not "
                "prompting in non-interactive mode"
            ).format(user=user, imap_password_env=IMAP_PASSWORD_ENV, imap_password_file_env=IMAP_PASSWORD_FILE_ENV),
            host=host,
        )
    value = prompt(_("IMAP password for {user} at {host}: ").format(user=user, host=host))
    if not value:
        raise CredentialsError(_("no password entered"), host=host)
    return Secret(value, "prompt")


def read_imap(
    url: str,
    password: Callable[[str, str], Secret],
    *,
    cafile: Path | None = None,
    imap_class: Callable[..., imaplib.IMAP4] = imaplib.IMAP4_SSL,
    timeout: float = 60.0,
) -> Iterator[tuple[str, email.message.Message]]:
    """Every message of ``imaps://user@host[:port]/Folder``, read-only (nothing is marked seen)."""
    parts = urlsplit(url)
    if parts.scheme != "imaps" or not parts.hostname or not parts.username:
        raise MailboxError(
            _("expected imaps://USER@HOST[:PORT]/FOLDER, got {url} (only IMAP over TLS)").format(url=quoted(url))
        )
    user, host, port = unquote(parts.username), parts.hostname, parts.port or 993
    folder = unquote(parts.path.lstrip("/")) or "INBOX"
    secret = password(user, host)
    context = ssl.create_default_context(cafile=str(cafile) if cafile else None)
    try:
        conn = imap_class(host, port, ssl_context=context, timeout=timeout)
        try:
            _login(conn, user, secret.reveal())
            status, data = conn.select(_imap_folder(folder), readonly=True)
            if status != "OK":
                raise ImapError(
                    _("no folder {folder}: {data}").format(folder=quoted(folder), data=_imap_text(data)),
                    host=host,
                    port=port,
                )
            status, data = conn.uid("SEARCH", "ALL")
            for uid in (data[0] or b"").split():
                status, fetched = conn.uid("FETCH", uid.decode(), "(BODY.PEEK[])")
                raw = next((item[1] for item in fetched or [] if isinstance(item, tuple)), None)
                if status == "OK" and raw:
                    yield f"{folder} UID {uid.decode()}", email.message_from_bytes(raw)
        finally:
            with contextlib.suppress(imaplib.IMAP4.error, OSError):
                conn.logout()
    except (imaplib.IMAP4.error, OSError) as error:  # ssl.SSLError is an OSError
        raise ImapError(_("IMAP: {error}").format(error=error), host=host, port=port) from error


def _login(conn: imaplib.IMAP4, user: str, password: str) -> None:
    if (user + password).isascii():
        conn.login(user, password)
    else:  # imaplib's LOGIN is ASCII only; SASL PLAIN carries UTF-8 (RFC 4616)
        conn.authenticate("PLAIN", lambda _: f"\0{user}\0{password}".encode())


def _imap_folder(name: str) -> str:
    """The folder name quoted, in IMAP's modified UTF-7 ("Beérkezett" → "Be&AOk-rkezett")."""
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            coded = base64.b64encode("".join(pending).encode("utf-16-be")).decode().rstrip("=")
            out.append("&" + coded.replace("/", ",") + "-")
            pending.clear()

    for ch in name:
        if 0x20 <= ord(ch) <= 0x7E:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            pending.append(ch)
    flush()
    return '"' + "".join(out).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _imap_text(data: Iterable[object] | None) -> str:
    return " ".join(d.decode("utf-8", "replace") if isinstance(d, bytes) else str(d) for d in data or [])
