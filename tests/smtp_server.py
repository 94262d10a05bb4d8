"""A scriptable SMTP server on 127.0.0.1 for tests (aiosmtpd in a thread).

The fixtures ``smtp_server``, ``smtp_server_factory`` and ``tls_ca`` that
build these are registered once, in ``conftest.py``; import the classes
(``SmtpTestServer``, ``ScriptedHandler``, ``Hold``, ``DROP``) from here.

* every accepted message is kept in ``server.handler.received`` (envelope,
  raw bytes, monotonic receive time, AUTH user, TLS or not);
* replies can be scripted per recipient (``reply_rcpt``), per MAIL
  (``reply_mail``) or for the n-th DATA (``reply_data``); a reply "DROP"
  closes the connection without a word, and a 421 is followed by a close;
* ``hold(k)`` keeps the final reply to the k-th DATA until the test calls
  ``release()``: the message is in, the client waits.  For "timeout after
  the final dot" and crash tests that kill a sender mid-transaction;
* STARTTLS or implicit TLS with certificates from ``trustme``, AUTH
  PLAIN/LOGIN through ``authenticator`` and XOAUTH2 through a handler hook;
* ``pipelining=True`` offers PIPELINING, so the client sends MAIL, RCPT and
  DATA in one go (the other scripted replies work the same).
"""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from lgp_mailer.smtp.settings import SmtpSettings

DROP = "DROP"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes  # as the client sent it, dots unstuffed, without the final dot
    received_at: float  # time.monotonic()
    login: str | None
    tls: bool
    session: int  # distinct per connection


@dataclass
class Hold:
    """The k-th DATA's final reply, held until ``release``.

    The message counts as received when it is released with a 2xx reply,
    even if the client has gone meanwhile (killed, timed out): a real MTA
    that has queued a message delivers it whether or not its 250 arrived.
    """

    reached: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)
    reply: str = "250 2.0.0 OK (after hold)"
    _settle: Callable[[str], None] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def attach(self, settle: Callable[[str], None]) -> None:
        with self._lock:
            self._settle = settle
            if not self.released.is_set():
                return
        settle(self.reply)

    def release(self, reply: str | None = None) -> None:
        with self._lock:
            if self.released.is_set():
                return
            if reply is not None:
                self.reply = reply
            self.released.set()
            settle = self._settle
        if settle is not None:
            settle(self.reply)


class ScriptedHandler:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.received: list[Received] = []
        self.data_attempts: list[tuple[int, str]] = []  # (n, reply given)
        self.rcpt_replies: dict[str, list[str]] = {}
        self.mail_replies: list[str] = []
        self.data_replies: dict[int, str] = {}
        self.holds: dict[int, Hold] = {}
        self.data_count = 0
        self.mail_count = 0
        self.sessions: set[int] = set()
        self._serials = 0
        self.users: dict[str, str] = {}  # login -> password, for PLAIN/LOGIN
        self.tokens: dict[str, str] = {}  # user -> bearer token, for XOAUTH2
        self.logins: list[tuple[str, str, bool]] = []  # (mechanism, login, ok)
        self.pipelining = False  # offer PIPELINING (RFC 2920) in the EHLO reply, as Postfix does

    def serial(self, session: object) -> int:
        """A number per SMTP session, never reused.  (``id(session)`` was: a closed
        session's object is freed and the next one may get the same id, so a test
        counting sessions saw 3 where there were 4.)"""
        number = getattr(session, "lgp_serial", None)
        if number is None:
            self._serials += 1  # the handlers all run in the server's one event loop
            number = self._serials
            session.lgp_serial = number  # type: ignore[attr-defined]
        return int(number)

    # -- scripting ---------------------------------------------------------

    def reply_rcpt(self, address: str, *replies: str) -> None:
        """Replies to the next RCPTs of ``address``; "" accepts."""
        self.rcpt_replies.setdefault(address.lower(), []).extend(replies)

    def reply_mail(self, *replies: str) -> None:
        self.mail_replies.extend(replies)

    def reply_data(self, n: int, reply: str) -> None:
        """The final reply to the n-th DATA (1-based, counting every DATA)."""
        self.data_replies[n] = reply

    def hold(self, n: int) -> Hold:
        self.holds[n] = hold = Hold()
        return hold

    def release_all(self) -> None:
        for hold in self.holds.values():
            hold.release()

    # -- aiosmtpd hooks ----------------------------------------------------

    @staticmethod
    def _apply(server, reply: str) -> str:
        if reply == DROP or reply.startswith("421"):
            # aiosmtpd does not hang up after a 421 by itself.
            asyncio.get_running_loop().call_later(0.01, server.transport.close)
        if reply == DROP:
            server.transport.close()
            return "421 4.4.2 dropped"  # never reaches the client
        return reply

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname  # what aiosmtpd does itself when there is no hook
        if self.pipelining:  # aiosmtpd reads pipelined commands in order; it only does not say so
            return [*responses[:-1], "250-PIPELINING", responses[-1]]
        return responses

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        with self.lock:
            self.mail_count += 1
            self.sessions.add(self.serial(session))
            reply = self.mail_replies.pop(0) if self.mail_replies else ""
        if reply:
            return self._apply(server, reply)
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        with self.lock:
            queue = self.rcpt_replies.get(address.lower())
            reply = queue.pop(0) if queue else ""
        if reply:
            return self._apply(server, reply)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.data_count += 1
            n = self.data_count
            reply = self.data_replies.get(n, "250 2.0.0 OK")
            hold = self.holds.get(n)
        message = Received(
            envelope.mail_from,
            list(envelope.rcpt_tos),
            envelope.original_content,
            time.monotonic(),
            session.auth_data if isinstance(session.auth_data, str) else None,
            session.ssl is not None,
            self.serial(session),
        )

        def settle(final: str) -> None:
            with self.lock:
                self.data_attempts.append((n, final))
                if final.startswith("2"):
                    message.received_at = time.monotonic()
                    self.received.append(message)

        if hold is None:
            settle(reply)
            return self._apply(server, reply)
        hold.attach(settle)
        hold.reached.set()
        while not hold.released.is_set():  # cancelled if the client goes away
            await asyncio.sleep(0.01)
        return self._apply(server, hold.reply)

    def authenticator(self, server, session, envelope, mechanism, auth_data):
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login, password = auth_data.login.decode(), auth_data.password.decode()
        ok = self.users.get(login) == password
        with self.lock:
            self.logins.append((mechanism, login, ok))
        return AuthResult(success=ok, handled=False, auth_data=login)

    async def auth_XOAUTH2(self, server, args):
        # Initial response: base64("user=U\x01auth=Bearer T\x01\x01").
        blob = args[1] if len(args) > 1 else ""
        try:
            fields = dict(p.split("=", 1) for p in base64.b64decode(blob).decode().split("\x01") if p)
        except Exception:
            return AuthResult(success=False, handled=False, message="501 5.5.2 malformed XOAUTH2")
        user, auth = fields.get("user", ""), fields.get("auth", "")
        ok = bool(user) and auth == f"Bearer {self.tokens.get(user, chr(0))}"
        with self.lock:
            self.logins.append(("XOAUTH2", user, ok))
        if ok:
            return AuthResult(success=True, auth_data=user)
        # As Google/Microsoft do: an error challenge, the client answers empty.
        error = json.dumps({"status": "401", "schemes": "bearer"})
        await server.challenge_auth(error)
        return AuthResult(success=False, handled=False, message="535 5.7.8 Username and Password not accepted")


class SmtpTestServer:
    """``with SmtpTestServer(security="starttls", users={...}) as srv:``; ``handler`` swaps in
    a ScriptedHandler subclass (see test_send_crash.GateHandler)."""

    def __init__(
        self,
        *,
        security: str = "none",
        users: dict[str, str] | None = None,
        tokens: dict[str, str] | None = None,
        ca: trustme.CA | None = None,
        auth_require_tls: bool | None = None,
        handler: ScriptedHandler | None = None,
        pipelining: bool = False,
        **smtp_kwargs: object,
    ) -> None:
        self.handler = handler if handler is not None else ScriptedHandler()
        self.handler.pipelining = pipelining
        self.handler.users.update(users or {})
        self.handler.tokens.update(tokens or {})
        self.security = security
        self.host = "127.0.0.1"
        self.port = free_port()
        self.ca = ca
        kwargs: dict[str, object] = {"decode_data": False, "enable_SMTPUTF8": True, **smtp_kwargs}
        if users or tokens:
            kwargs["authenticator"] = self.handler.authenticator
            # aiosmtpd only knows about STARTTLS here; implicit TLS is encrypted anyway.
            kwargs["auth_require_tls"] = security == "starttls" if auth_require_tls is None else auth_require_tls
        if security != "none":
            assert ca is not None, "TLS needs a trustme CA"
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
            if security == "starttls":
                kwargs.update(tls_context=context, require_starttls=True)
            else:
                kwargs["ssl_context"] = context
        self.controller = Controller(self.handler, hostname=self.host, port=self.port, **kwargs)

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def settings(self, **overrides: object) -> SmtpSettings:
        values: dict[str, object] = {"host": self.host, "port": self.port, "security": self.security, "timeout": 5.0}
        values.update(overrides)
        return SmtpSettings(**values)  # type: ignore[arg-type]

    def start(self) -> SmtpTestServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.handler.release_all()
        self.controller.stop()

    def __enter__(self) -> SmtpTestServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
