"""Which AUTH mechanism a relay offers after STARTTLS, and what lgp-mailer does with it.

Relays differ: Postfix with Dovecot SASL offers PLAIN LOGIN, Exchange on
premises LOGIN (or only NTLM and GSSAPI on an internal connector), older
Courier and Cyrus set-ups CRAM-MD5 alone.  A server offering only CRAM-MD5
used to get AUTH PLAIN anyway, refuse it with 504, and the user was told to
check the user name and password.  Real aiosmtpd servers, the real CLI.
"""

from __future__ import annotations

import hashlib
import hmac

import pytest
from aiosmtpd.smtp import AuthResult
from test_send_cli import make_campaign, one_error_line, rcpts, send
from test_smtp_test import campaign, smtp_test  # noqa: F401 - the fixture is used by name

from smtp_server import ScriptedHandler

PASSWORD = "Titkos-jelszó-42"
CHALLENGE = b"<4711.1764420000@relay.lgp.example>"
NOT_OURS = ["PLAIN", "LOGIN", "XOAUTH2"]

pytestmark = pytest.mark.usefixtures("before_the_example_conference")


class CramMd5Only(ScriptedHandler):
    async def auth_CRAM__MD5(self, server, args):  # aiosmtpd names it CRAM-MD5
        answer = await server.challenge_auth(CHALLENGE)
        user, _, digest = answer.decode("utf-8").rpartition(" ")
        want = hmac.new(self.users.get(user, "\0").encode("utf-8"), CHALLENGE, hashlib.md5).hexdigest()
        ok = user in self.users and hmac.compare_digest(digest, want)
        with self.lock:
            self.logins.append(("CRAM-MD5", user, ok))
        return AuthResult(success=ok, auth_data=user, handled=False)


class NtlmOnly(ScriptedHandler):
    async def auth_NTLM(self, server, args):
        return AuthResult(success=False, handled=False)


def _server(factory, handler):
    return factory(security="starttls", users={"lgp": PASSWORD}, handler=handler, auth_exclude_mechanism=NOT_OURS)


def test_a_relay_offering_only_cram_md5_is_logged_in_to_and_gets_the_letters(
    smtp_server_factory, tmp_path, monkeypatch
):
    server = _server(smtp_server_factory, CramMd5Only())
    camp = make_campaign(tmp_path, server, username="lgp", auth="password", cafile=str(server.cafile))
    monkeypatch.setenv("LGP_SMTP_PASSWORD", PASSWORD)
    result = send(camp, "--yes")
    assert result.exit_code == 0, result.output
    assert sorted(rcpts(server)) == sorted(camp.addresses)
    assert server.handler.logins == [("CRAM-MD5", "lgp", True)]
    assert all(m.tls and m.login == "lgp" for m in server.received)
    assert PASSWORD not in result.output


def test_a_wrong_password_over_cram_md5_is_one_line_exit_2(smtp_server_factory, tmp_path, monkeypatch):
    server = _server(smtp_server_factory, CramMd5Only())
    camp = make_campaign(tmp_path, server, username="lgp", auth="password", cafile=str(server.cafile))
    monkeypatch.setenv("LGP_SMTP_PASSWORD", "rossz-jelszó")
    result = send(camp, "--yes")
    assert result.exit_code == 2, result.output
    assert one_error_line(result).startswith(
        f"lgp-mailer: error: 127.0.0.1:{server.port}: authentication failed for lgp: 535"
    )
    assert server.handler.logins == [("CRAM-MD5", "lgp", False)] and server.received == []


def test_a_relay_offering_only_ntlm_is_named_not_blamed_on_the_password(campaign, smtp_server_factory, monkeypatch):  # noqa: F811
    server = _server(smtp_server_factory, NtlmOnly())
    monkeypatch.setenv("LGP_SMTP_PASSWORD", PASSWORD)
    result = smtp_test(
        campaign, "--host", "127.0.0.1", "--port", str(server.port), "--username", "lgp", "--cafile", str(server.cafile)
    )
    assert result.exit_code == 1, result.output
    assert result.stdout.splitlines()[3:] == [
        "FAILED AUTH    the server offers AUTH NTLM only; lgp-mailer logs in with PLAIN, LOGIN, CRAM-MD5 or XOAUTH2",
        "Fix:   ask the mail server's administrator to allow AUTH PLAIN or LOGIN over TLS for this account, "
        "or use OAuth2: [smtp] auth in lgp-mailer.toml, or LGP_SMTP_AUTH in the environment, or --auth (xoauth2)",
    ]
    assert server.handler.logins == [] and server.received == []


class LoginServiceDown(ScriptedHandler):
    """Dovecot SASL or the directory behind the relay is down: 454, a temporary refusal (RFC 4954)."""

    def authenticator(self, server, session, envelope, mechanism, auth_data):
        with self.lock:
            self.logins.append((mechanism, auth_data.login.decode(), False))
        return AuthResult(success=False, handled=False, message="454 4.7.0 Temporary authentication failure")


def test_a_temporary_login_failure_is_not_called_a_wrong_password(smtp_server_factory, tmp_path, monkeypatch):
    server = smtp_server_factory(security="starttls", users={"lgp": PASSWORD}, handler=LoginServiceDown())
    camp = make_campaign(tmp_path, server, username="lgp", auth="password", cafile=str(server.cafile))
    monkeypatch.setenv("LGP_SMTP_PASSWORD", PASSWORD)
    result = send(camp, "--yes")
    assert result.exit_code == 1, result.output  # try again later: not a configuration error (2)
    assert one_error_line(result) == (
        f"lgp-mailer: error: 127.0.0.1:{server.port}: the server could not log lgp in for now: "
        "454 4.7.0 Temporary authentication failure; to fix: the server refused the login for now, not the "
        f"password: try again later, or ask its administrator (127.0.0.1:{server.port})"
    )
    assert server.received == [] and server.handler.mail_count == 0
    assert set(camp.states().values()) == {"pending"}
