"""Delivering one message to one recipient, and knowing exactly what happened.

``Transport.send`` never raises for what a server says or for a dropped
connection; it returns a ``SendResult`` whose status the ledger can store:

* ``sent``: the server accepted the message (2xx after the final dot);
* ``deferred``: a 4xx, a timeout or a drop *before* the final dot went out;
  nothing was delivered, retry later (``pacing.send_with_retry`` retries
  with exponential backoff and jitter first);
* ``failed``: a permanent reply about this recipient (5.1.x, 5.2.x, 5.7.x
  at RCPT, a 550 without enhanced code about the mailbox); go on with the
  next one;
* ``unknown``: the final dot went out and no reply came back (timeout or
  drop).  The server may or may not have taken it: never resend silently;
* ``fatal``: about the sender or the account (5.7.x policy at MAIL FROM,
  DATA or the final dot, quota, failed AUTH, an untrusted certificate, a 5xx
  to MAIL FROM); stop the run.

To tell ``deferred`` from ``unknown`` the SMTP transaction is done step by
step (MAIL, RCPT, DATA, body, final reply) instead of ``sendmail``; when the
server offers PIPELINING (RFC 2920, as Postfix and the big providers do),
MAIL, RCPT and DATA go in one write and their replies are read in order.  The
message goes out as bytes, unchanged except for dot-stuffing (``wire``), so
DKIM signatures made upstream survive.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import re
import smtplib
import socket
import ssl
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol, Self

from lgp_mailer.errors import ConfigError, SmtpError
from lgp_mailer.i18n import _
from lgp_mailer.quoting import quoted
from lgp_mailer.smtp.certnames import certificate_names
from lgp_mailer.smtp.credentials import Secret
from lgp_mailer.smtp.settings import SmtpSettings
from lgp_mailer.smtp.wire import dot_stuff

OUTCOMES = ("sent", "deferred", "failed", "unknown", "fatal")
_ENHANCED = re.compile(rb"^([245])\.(\d{1,3})\.(\d{1,3})\b")
_AUTH_CODES = {530, 534, 535, 538}  # 5xx only: 454 is a temporary AUTH failure
_MAILBOX_WORDS = re.compile(r"mailbox|user|recipient|address", re.I)
REPLY_MAX = 300
_NAME_MISMATCH = {62, 64}  # OpenSSL's X509_V_ERR_HOSTNAME_MISMATCH, X509_V_ERR_IP_ADDRESS_MISMATCH


@dataclass(frozen=True)
class SendResult:
    status: str  # one of OUTCOMES
    code: int | None = None
    enhanced: str | None = None
    reply: str = ""
    phase: str = ""  # connect, mail, rcpt, data, body, dot, file

    @property
    def line(self) -> str:
        """One line for the user: the code and the server's words (which
        start with the enhanced code when the server gives one)."""
        return " ".join(str(p) for p in (self.code, self.reply) if p)


class Transport(Protocol):
    def open(self) -> None: ...
    def send(self, msg: bytes, envelope_from: str, rcpt: str) -> SendResult: ...
    def close(self) -> None: ...
    def __enter__(self) -> Transport: ...
    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...


class TransportBase:
    """open/close as a context manager; transports (and the tests' stand-ins) build on it."""

    def open(self) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


# -- reply classification (RFC 5321 codes, RFC 3463 enhanced codes) ----------


def _reply_text(resp: bytes | str) -> tuple[str | None, str]:
    raw = resp if isinstance(resp, bytes) else str(resp).encode("utf-8", "replace")
    enhanced = None
    m = _ENHANCED.match(raw.strip())
    if m:
        enhanced = b".".join(m.groups()).decode("ascii")
    # Control characters (a terminal's escape sequences) never reach the screen, the log or an export.
    decoded = raw.decode("utf-8", "replace")
    if not decoded.isprintable():  # the usual reply is, and is not walked a character at a time
        decoded = "".join(c if c.isprintable() else " " for c in decoded)
    text = " ".join(decoded.split())
    return enhanced, text[:REPLY_MAX]


def names_a_mailbox(text: str) -> bool:
    """Does a reply without an enhanced code speak of the mailbox or the address (not the relay)?"""
    return bool(_MAILBOX_WORDS.search(text))


def classify(code: int, enhanced: str | None, text: str, phase: str) -> str:
    """The outcome of a non-success reply in ``phase`` (mail, rcpt, data, dot)."""
    if 200 <= code < 300:
        # Only the final dot's 2xx delivers.  A 2xx where another reply was due (to DATA, in a
        # greeting) is a server out of step, e.g. still answering the last message: nothing went.
        return "sent" if phase == "dot" else "deferred"
    sub = enhanced.split(".", 1)[1] if enhanced else ""
    about_mailbox = sub.startswith(("1.", "2.")) or (not enhanced and bool(_MAILBOX_WORDS.search(text)))
    if "quota" in text.lower() and not (sub == "2.2" or "mailbox" in text.lower()):
        return "fatal"  # the account's sending quota: no point in going on today
    if 400 <= code < 500:
        return "deferred"  # incl. 4.7.x: greylisting and throttling are transient
    if code in _AUTH_CODES or enhanced == "5.4.5":
        return "fatal"
    if phase == "rcpt" and sub.startswith("7.") and 500 <= code < 600:
        # A policy refusal of this recipient ("Recipient address rejected: Access denied"), or of
        # the relay's every recipient ("Relay access denied"): the address is failed, and the run's
        # consecutive-failure stop tells the two apart (``campaign.run``), leaving the latter due.
        return "failed"
    if sub.startswith("7."):
        return "fatal"
    if not 500 <= code < 600:
        return "deferred"  # protocol confusion; the connection is dropped, try again
    if phase == "rcpt" and (about_mailbox or code in (550, 551, 553) or not enhanced or sub.startswith("4.")):
        return "failed"
    if phase == "dot" and about_mailbox:
        return "failed"
    return "fatal"  # 5xx to MAIL FROM, DATA or the message itself: same for everyone


def _result(code: int, resp: bytes | str, phase: str) -> SendResult:
    enhanced, text = _reply_text(resp)
    return SendResult(classify(code, enhanced, text, phase), code, enhanced, text, phase)


# -- SMTP ----------------------------------------------------------------


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


class NoMechanism(smtplib.SMTPException):
    """The server offers AUTH, but none of the mechanisms lgp-mailer speaks (say, only NTLM or GSSAPI)."""

    def __init__(self, offered: Iterable[str]) -> None:
        self.offered = sorted(offered)
        super().__init__(
            f"the server offers AUTH {' '.join(self.offered)} only; lgp-mailer logs in with "
            "PLAIN, LOGIN, CRAM-MD5 or XOAUTH2"
        )


def _cram_md5(smtp: smtplib.SMTP, username: str, secret: str) -> tuple[int, bytes]:
    """AUTH CRAM-MD5 (RFC 2195): the password never crosses the wire, only an HMAC of the server's challenge."""
    code, challenge = smtp.docmd("AUTH", "CRAM-MD5")
    if code != 334:
        return code, challenge
    digest = hmac.new(secret.encode("utf-8"), base64.b64decode(challenge), hashlib.md5).hexdigest()
    return smtp.docmd(_b64(f"{username} {digest}"))


def _login(smtp: smtplib.SMTP, method: str, username: str, secret: str) -> None:
    """AUTH XOAUTH2, PLAIN, LOGIN or CRAM-MD5 (the first the server offers, in that order), in UTF-8.

    Not ``smtp.login``: smtplib encodes credentials as ASCII and fails on a
    password such as "jelszó" (RFC 4616 PLAIN is UTF-8).
    """
    offered = set(smtp.esmtp_features.get("auth", "").upper().split())
    if not offered:
        raise smtplib.SMTPNotSupportedError("AUTH not offered")
    if method == "xoauth2":
        # The de-facto standard (Google, Microsoft): user=…^Aauth=Bearer …^A^A.
        # On failure the server sends a 334 error challenge; answer empty, get 535.
        steps = [("AUTH", "XOAUTH2 " + _b64(f"user={username}\x01auth=Bearer {secret}\x01\x01")), ("", "")]
    elif "PLAIN" in offered:
        steps = [("AUTH", "PLAIN " + _b64(f"\0{username}\0{secret}"))]
    elif "LOGIN" in offered:
        steps = [("AUTH", "LOGIN " + _b64(username)), (_b64(secret), "")]
    elif "CRAM-MD5" in offered:
        steps = []
        code, resp = _cram_md5(smtp, username, secret)
    else:
        raise NoMechanism(offered)
    for cmd, args in steps:
        code, resp = smtp.docmd(cmd, args)
        if code != 334:
            break
    if code not in (235, 503):  # 503: already authenticated
        raise smtplib.SMTPAuthenticationError(code, resp)


def _too_big(smtp: smtplib.SMTP, msg: bytes) -> SendResult | None:
    """The server's SIZE limit (RFC 1870), when the message is over it: refused before MAIL, not after
    the whole letter went out.  The letters of a run are alike, so it is about the run (fatal)."""
    limit = smtp.esmtp_features.get("size", "").strip()
    if not limit.isdigit() or int(limit) == 0 or len(msg) <= int(limit):
        return None
    why = f"the message is {len(msg)} bytes, over the server's SIZE limit of {int(limit)} bytes"
    return SendResult("fatal", None, None, why, "mail")


# An address sent as is inside <…>: no quoting, no display name, nothing that could end the line.
_PLAIN_ADDRESS = re.compile(r"[^\s<>()\[\]\",;:\\]*")


def _plain(address: str) -> bool:
    return _PLAIN_ADDRESS.fullmatch(address) is not None and address.isprintable()


class _Lost(Exception):
    """The connection went while a pipelined reply was awaited (``phase``: whose)."""

    def __init__(self, phase: str, error: BaseException) -> None:
        super().__init__(phase)
        self.phase = phase
        self.error = error


class SmtpTransport(TransportBase):
    """One SMTP session, reused for up to ``messages_per_connection`` messages.

    ``open()`` connects, secures and authenticates, raising ``SmtpError`` (or
    ``ConfigError`` for clear-text AUTH to a remote host, before connecting).
    ``send()`` reconnects by itself when the session dropped or is used up.
    """

    def __init__(
        self,
        settings: SmtpSettings,
        secret: Secret | Callable[[], Secret | None] | None = None,
        *,
        local_hostname: str | None = None,
    ) -> None:
        if settings.auth_method != "none" and settings.security == "none" and not settings.is_local:
            raise ConfigError(
                _("refusing to send a password or token in clear text to {host}; use starttls or tls").format(
                    host=settings.host
                ),
                key="security",
                host=settings.host,
                port=settings.port,
            )
        if settings.auth_method != "none" and secret is None:
            raise ConfigError(
                _("auth {auth_method} needs a password or token").format(auth_method=quoted(settings.auth_method)),
                key="auth",
            )
        self.settings = settings
        self.secret = secret
        self.local_hostname = local_hostname
        self.smtp: smtplib.SMTP | None = None
        self.used = 0  # transactions on the current session
        self.connections = 0  # sessions opened so far
        self.pipelining = True  # off for good once the server's PIPELINING proved a lie
        self._ssl: ssl.SSLContext | None = None

    # connect -------------------------------------------------------------

    def open(self) -> None:
        failure = self._connect()
        if failure is not None:
            text = (
                failure.reply
                if failure.code is None or failure.phase == "auth"
                else (f"the server refused the session: {failure.line}")
            )
            error = SmtpError(text, host=self.settings.host, port=self.settings.port)
            error.result = failure  # type: ignore[attr-defined]  # read back with getattr by the send loops
            raise error

    def _connect(self) -> SendResult | None:
        """Open a session; None on success, else why not (deferred or fatal)."""
        self._drop()
        s = self.settings
        if self.local_hostname is None:
            self.local_hostname = socket.getfqdn()
        try:
            if s.security == "tls":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                    s.host, s.port, self.local_hostname, timeout=s.timeout, context=self._context()
                )
            else:
                smtp = smtplib.SMTP(s.host, s.port, self.local_hostname, timeout=s.timeout)
            self.smtp = smtp
            smtp.ehlo()
            if s.security == "starttls":
                if not smtp.has_extn("starttls"):
                    return self._conn_failure("fatal", "the server does not offer STARTTLS", "tls")
                smtp.starttls(context=self._context())
                smtp.ehlo()
            failure = self._authenticate(smtp)
            if failure is not None:
                return failure
        except ssl.SSLCertVerificationError as error:
            if error.verify_code in _NAME_MISMATCH:
                return self._conn_failure("fatal", self._wrong_name(error), "tls")
            return self._conn_failure(
                "fatal",
                f"the server's certificate is not trusted ({error.verify_message}); use cafile for a private CA",
                "tls",
            )
        except ssl.SSLError as error:
            if s.security == "tls" and error.reason == "WRONG_VERSION_NUMBER":
                why = "the server answered in plain text, not TLS (WRONG_VERSION_NUMBER)"
                return self._conn_failure("fatal", why, "tls")
            return self._conn_failure("fatal", f"TLS failed: {error.reason or error}", "tls")
        except smtplib.SMTPServerDisconnected as error:
            if s.security != "tls" and self.smtp is None and "timed out" in str(error):
                # The connection was taken and nothing said: a port for implicit TLS waits for our TLS first.
                why = f"the server took the connection but sent no greeting within {s.timeout:g} s"
                return self._conn_failure("deferred", why)
            return self._conn_failure("deferred", f"cannot connect: {error}")
        except smtplib.SMTPResponseException as error:  # e.g. 421/554 greeting
            self._drop()
            if not 200 <= error.smtp_code < 600:  # no SMTP reply code at all: another service's port
                said = _reply_text(error.smtp_error)[1]
                return self._conn_failure("deferred", f"the server does not speak SMTP (it said {said!r})")
            return _result(error.smtp_code, error.smtp_error, "connect")
        except (smtplib.SMTPException, OSError) as error:
            return self._conn_failure("deferred", f"cannot connect: {str(error) or type(error).__name__}")
        self.used = 0
        self.connections += 1
        return None

    def _wrong_name(self, error: ssl.SSLCertVerificationError) -> str:
        """A certificate valid, but for other names: which ones, so the host can be set to one of them."""
        names = certificate_names(self.settings, self.local_hostname or socket.getfqdn())
        on_it = f"; it is for {', '.join(names)}" if names else ""
        return f"the server's certificate is not for {self.settings.host} ({error.verify_message}){on_it}"

    def _context(self) -> ssl.SSLContext:
        """The TLS context, made once per transport: loading the CA store costs milliseconds per session."""
        if self._ssl is None:
            s = self.settings
            self._ssl = ssl.create_default_context(cafile=str(s.cafile) if s.cafile else None)
        return self._ssl

    def _conn_failure(self, status: str, why: str, phase: str = "connect") -> SendResult:
        """A session that did not open; ``phase`` says which step failed (connect, tls, auth)."""
        self._drop()
        return SendResult(status, None, None, why, phase)

    def _authenticate(self, smtp: smtplib.SMTP) -> SendResult | None:
        s = self.settings
        if s.auth_method == "none":
            return None
        # A callable is asked again for every session: OAuth2 tokens expire
        # within the hour, and a long run reconnects many times.
        secret = self.secret if isinstance(self.secret, Secret) or self.secret is None else self.secret()
        if secret is None or not s.username:
            return self._conn_failure(
                "fatal", f"auth {s.auth_method!r} needs a username and a password or token", "auth"
            )
        try:
            _login(smtp, s.auth_method, s.username, secret.reveal())
        except smtplib.SMTPAuthenticationError as error:
            self._drop()
            result = _result(error.smtp_code, error.smtp_error, "auth")
            if 400 <= error.smtp_code < 500:  # 454 4.7.0: the server's login service failed for now
                why = f"the server could not log {s.username} in for now: {result.line}"
                return SendResult("deferred", result.code, result.enhanced, why, "auth")
            return SendResult(
                "fatal", result.code, result.enhanced, f"authentication failed for {s.username}: {result.line}", "auth"
            )
        except smtplib.SMTPNotSupportedError:
            return self._conn_failure("fatal", "the server does not offer AUTH on this connection", "auth")
        except NoMechanism as error:
            return self._conn_failure("fatal", str(error), "auth")
        except smtplib.SMTPException as error:
            if isinstance(error, smtplib.SMTPServerDisconnected):
                raise
            return self._conn_failure("fatal", f"authentication failed for {s.username}: {error}", "auth")
        return None

    def probe(self) -> list[tuple[str, SendResult | None]]:
        """``smtp test``: connect, TLS, AUTH, then RSET and QUIT; no MAIL, no message.

        Returns (step, None) for each step that worked and (step, why) for the first that did not.
        """
        failure = self._connect()
        steps = ["connect"] + (["tls"] if self.settings.security != "none" else [])
        steps += ["auth"] if self.settings.auth_method != "none" else []
        if failure is not None:
            failed = failure.phase if failure.phase in steps else "connect"
            done = steps[: steps.index(failed)]
            return [(step, None) for step in done] + [(failed, failure)]
        out: list[tuple[str, SendResult | None]] = [(step, None) for step in steps]
        assert self.smtp is not None
        for step, command in (("rset", self.smtp.rset), ("quit", self.smtp.quit)):
            try:
                code, resp = command()
            except (smtplib.SMTPException, OSError) as error:
                self._drop()
                return [*out, (step, SendResult("deferred", None, None, f"{step.upper()} failed: {error}", step))]
            if not 200 <= code < 300:
                self._drop()
                return [*out, (step, _result(code, resp, step))]
            out.append((step, None))
        self.smtp = None  # QUIT closed the session
        return out

    def _drop(self) -> None:
        if self.smtp is not None:
            with contextlib.suppress(OSError):
                self.smtp.close()
        self.smtp = None

    def close(self) -> None:
        if self.smtp is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self.smtp.quit()
        self._drop()

    # send ----------------------------------------------------------------

    def send(self, msg: bytes, envelope_from: str, rcpt: str) -> SendResult:
        reused = self.smtp is not None and self.used < self.settings.messages_per_connection
        if self.smtp is not None and not reused:
            self.close()  # used up: say QUIT politely before the next session
        if not reused:
            failure = self._connect()
            if failure is not None:
                return failure
        result = self._transaction(msg, envelope_from, rcpt)
        if reused and result.status == "deferred" and result.phase == "mail" and result.code is None:
            # The server closed an idle session: nothing of this message was
            # sent yet, so reconnect once right away.
            failure = self._connect()
            if failure is not None:
                return failure
            result = self._transaction(msg, envelope_from, rcpt)
        return result

    def _mail_options(self, smtp: smtplib.SMTP, msg: bytes, addresses: Iterable[str]) -> list[str] | SendResult:
        options = []
        if not msg.isascii() and smtp.has_extn("8bitmime"):
            options.append("BODY=8BITMIME")
        if not all(a.isascii() for a in addresses):
            if not smtp.has_extn("smtputf8"):
                why = "the server cannot take non-ASCII addresses (no SMTPUTF8)"
                return SendResult("failed", None, None, why, "mail")
            options.append("SMTPUTF8")
        return options

    def _transaction(self, msg: bytes, envelope_from: str, rcpt: str) -> SendResult:
        smtp = self.smtp
        assert smtp is not None
        self.used += 1
        phase = "mail"
        try:
            options = self._mail_options(smtp, msg, (envelope_from, rcpt))
            if isinstance(options, SendResult):
                return options
            too_big = _too_big(smtp, msg)
            if too_big is not None:
                return too_big
            if self.pipelining and smtp.has_extn("pipelining") and _plain(envelope_from) and _plain(rcpt):
                refused = self._pipelined_envelope(smtp, envelope_from, rcpt, options)
                if refused is not None:
                    return refused
            else:
                code, resp = smtp.mail(envelope_from, options)
                if not 200 <= code < 300:
                    return self._abort(_result(code, resp, phase))
                phase = "rcpt"
                code, resp = smtp.rcpt(rcpt)
                if not 200 <= code < 300:  # 250, 251, 252: accepted
                    return self._abort(_result(code, resp, phase))
                phase = "data"
                smtp.putcmd("data")
                code, resp = smtp.getreply()
                if code != 354:
                    return self._abort(_result(code, resp, phase))
            phase = "body"
            smtp.send(dot_stuff(msg))
        except _Lost as lost:  # a pipelined reply that did not come: nothing can have been delivered
            self._drop()
            if lost.phase != "mail":
                # MAIL was answered, RCPT or DATA never: a server (or a filter before it) that offers
                # PIPELINING but reads one command at a time.  Step by step from now on, or every retry
                # would wait out the same timeout.
                self.pipelining = False
            return SendResult("deferred", None, None, f"connection lost ({lost.phase}): {lost.error}", lost.phase)
        except (smtplib.SMTPException, OSError) as error:
            # Before the final dot left us: nothing can have been delivered.
            self._drop()
            return SendResult("deferred", None, None, f"connection lost ({phase}): {error}", phase)
        return self._final_reply(smtp)

    def _pipelined_envelope(
        self, smtp: smtplib.SMTP, envelope_from: str, rcpt: str, options: list[str]
    ) -> SendResult | None:
        """MAIL, RCPT and DATA in one write (RFC 2920 PIPELINING), then their three
        replies in order: one round trip instead of three.  None when DATA got its 354
        and the body may follow; else the first refusal, as the step-by-step dialogue
        would have ended (a server that still said 354 to DATA is hung up on: no body,
        no final dot, so nothing can be delivered)."""
        opts = "".join(f" {o}" for o in options)
        smtp.send(f"MAIL FROM:<{envelope_from}>{opts}\r\nRCPT TO:<{rcpt}>\r\nDATA\r\n".encode())
        replies = []
        for phase in ("mail", "rcpt", "data"):
            try:
                replies.append(smtp.getreply())
            except (smtplib.SMTPException, OSError) as error:
                # A server that refuses MAIL with 421 may hang up before answering the rest:
                # its refusal, not "connection lost", is what the office should read.
                refusal = next(((code, resp) for code, resp in replies if not 200 <= code < 300), None)
                if refusal is None:
                    raise _Lost(phase, error) from error
                self._drop()
                return _result(*refusal, ("mail", "rcpt")[replies.index(refusal)])
        (mail, mail_resp), (rcpt_code, rcpt_resp), (data, data_resp) = replies
        refused = None
        if not 200 <= mail < 300:
            refused = _result(mail, mail_resp, "mail")
        elif not 200 <= rcpt_code < 300:
            refused = _result(rcpt_code, rcpt_resp, "rcpt")
        elif data != 354:
            return self._abort(_result(data, data_resp, "data"))
        if refused is None:
            return None
        if data == 354:  # in DATA mode with no transaction: only hanging up ends it safely
            self._drop()
            return refused
        return self._abort(refused)

    def _final_reply(self, smtp: smtplib.SMTP) -> SendResult:
        """The reply to the final dot: ``sent``, a refusal, or ``unknown`` when none comes."""
        try:
            code, resp = smtp.getreply()
        except (smtplib.SMTPException, OSError) as error:
            self._drop()
            return SendResult(
                "unknown",
                None,
                None,
                f"no reply after the message was sent; it may or may not be delivered: {error}",
                "dot",
            )
        if 200 <= code < 300:
            enhanced, text = _reply_text(resp)
            return SendResult("sent", code, enhanced, text, "dot")
        if not 400 <= code < 600:
            # Not a reply to the message (a garbage line, a 3xx): the server may have queued it,
            # so this is no refusal to retry; resending could deliver it twice.
            self._drop()
            said = " ".join(p for p in (str(code) if code > 0 else "", _reply_text(resp)[1]) if p)
            why = f"no valid reply after the message was sent; it may or may not be delivered: {said!r}"
            return SendResult("unknown", None, None, why, "dot")
        return self._abort(_result(code, resp, "dot"))

    def _abort(self, result: SendResult) -> SendResult:
        """After a refused step: RSET so the session can be reused; a 421 or
        an unexpected reply means the session is gone."""
        if result.code == 421 or result.code is None or not 400 <= result.code < 600:
            self._drop()
            return result
        try:
            if self.smtp is not None:
                self.smtp.rset()
        except (smtplib.SMTPException, OSError):
            self._drop()
        return result
