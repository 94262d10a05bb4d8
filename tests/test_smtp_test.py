"""``lgp-mailer smtp test`` against the real aiosmtpd test server: each step reported, never a message sent."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lgp_mailer.cli import app

from smtp_server import SmtpTestServer, free_port

runner = CliRunner()


@pytest.fixture
def campaign(tmp_path: Path) -> Path:
    folder = tmp_path / "klima"
    result = runner.invoke(app, [
        "init", str(folder), "--title", "Klímaalkalmazkodás", "--date", "2027-03-11", "--start", "13.30",
        "--end", "15.45", "--platform", "Microsoft Teams", "--registration-url", "https://forms.example.org/klima",
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    return folder


def smtp_test(campaign: Path, *args: str):
    return runner.invoke(app, ["smtp", "test", "--campaign", str(campaign), "--quiet", *args])


def nothing_delivered(server: SmtpTestServer) -> None:
    assert server.received == [] and server.handler.mail_count == 0 and server.handler.data_count == 0


def test_no_auth_every_step_works_and_no_mail_is_sent(campaign, smtp_server):
    result = smtp_test(campaign, "--host", "127.0.0.1", "--port", str(smtp_server.port), "--security", "none")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"Server: 127.0.0.1:{smtp_server.port} (none), auth none",
        f"ok     connect 127.0.0.1:{smtp_server.port} answered",
        "ok     RSET    accepted",
        "ok     QUIT    accepted",
        f"No message was sent. Next: lgp-mailer send --campaign {campaign} --host 127.0.0.1 "
        f"--port {smtp_server.port} --security none --dry-run",
    ]
    nothing_delivered(smtp_server)


def test_good_auth_over_starttls(campaign, smtp_server_factory, monkeypatch):
    server = smtp_server_factory(security="starttls", users={"lgp": "jelszó"})
    monkeypatch.setenv("LGP_SMTP_PASSWORD", "jelszó")
    result = smtp_test(
        campaign, "--host", "127.0.0.1", "--port", str(server.port), "--username", "lgp", "--cafile", str(server.cafile)
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[:6] == [
        f"Server: 127.0.0.1:{server.port} (starttls), auth password",
        f"ok     connect 127.0.0.1:{server.port} answered",
        "ok     TLS     STARTTLS, certificate trusted",
        "ok     AUTH    logged in as lgp (password)",
        "ok     RSET    accepted",
        "ok     QUIT    accepted",
    ]
    assert server.handler.logins == [("PLAIN", "lgp", True)]
    nothing_delivered(server)


def test_bad_auth_names_the_username_and_password_settings(campaign, smtp_server_factory, monkeypatch):
    server = smtp_server_factory(security="starttls", users={"lgp": "jelszó"})
    monkeypatch.setenv("LGP_SMTP_PASSWORD", "rossz")
    result = smtp_test(
        campaign, "--host", "127.0.0.1", "--port", str(server.port), "--username", "lgp", "--cafile", str(server.cafile)
    )
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    assert lines[1:3] == [
        f"ok     connect 127.0.0.1:{server.port} answered",
        "ok     TLS     STARTTLS, certificate trusted",
    ]
    assert lines[3].startswith("FAILED AUTH    authentication failed for lgp: 535")
    assert lines[4:] == [
        "Fix:   check the user name: [smtp] username in lgp-mailer.toml, or LGP_SMTP_USERNAME in the environment, "
        "or --username",
        "Fix:   check the password: LGP_SMTP_PASSWORD or LGP_SMTP_PASSWORD_FILE in the environment, "
        "[smtp] password_command, or the keyring (never in lgp-mailer.toml)",
    ]
    nothing_delivered(server)


def test_untrusted_certificate_names_cafile(campaign, smtp_server_factory):
    server = smtp_server_factory(security="starttls")
    result = smtp_test(campaign, "--host", "127.0.0.1", "--port", str(server.port))
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    assert lines[1] == f"ok     connect 127.0.0.1:{server.port} answered"
    assert lines[2].startswith("FAILED TLS     the server's certificate is not trusted")
    assert lines[3:] == [
        "Fix:   trust the server's certificate authority: [smtp] cafile in lgp-mailer.toml, "
        "or LGP_SMTP_CAFILE in the environment, or --cafile"
    ]
    nothing_delivered(server)


def test_starttls_to_a_local_server_without_tls_suggests_none(campaign, smtp_server):
    result = smtp_test(campaign, "--host", "127.0.0.1", "--port", str(smtp_server.port))
    assert result.exit_code == 1, result.output
    assert result.stdout.splitlines()[2:] == [
        "FAILED TLS     the server does not offer STARTTLS",
        "Fix:   a local test server speaks no TLS: set security to none: [smtp] security in lgp-mailer.toml, "
        "or LGP_SMTP_SECURITY in the environment, or --security",
    ]
    nothing_delivered(smtp_server)


def test_nothing_listening_names_host_and_port_and_a_practice_server(campaign):
    port = free_port()
    result = smtp_test(campaign, "--host", "127.0.0.1", "--port", str(port), "--security", "none")
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    assert lines[1].startswith("FAILED connect cannot connect: ")
    assert lines[2:] == [
        "Fix:   set the mail server: [smtp] host and [smtp] port in lgp-mailer.toml, or LGP_SMTP_HOST and "
        f"LGP_SMTP_PORT in the environment, or --host and --port (now 127.0.0.1:{port})",
        "Fix:   to practise, start a local test server with 'python -m aiosmtpd -n -l 127.0.0.1:8025' "
        "and use --host 127.0.0.1 --port 8025 --security none",
    ]


@pytest.mark.usefixtures("before_the_example_conference")
def test_a_connection_error_in_send_ends_with_the_same_hint(tmp_path):
    folder = tmp_path / "pelda"
    assert runner.invoke(app, ["init", str(folder), "--example"]).exit_code == 0
    port = free_port()
    result = runner.invoke(
        app,
        [
            "send",
            "--campaign",
            str(folder),
            "--yes",
            "--quiet",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--security",
            "none",
        ],
    )
    assert result.exit_code == 1, result.output
    [line] = result.stderr.splitlines()
    assert line.startswith(f"lgp-mailer: error: 127.0.0.1:{port}: cannot connect: ")
    assert line.endswith(
        "; to fix: set the mail server: [smtp] host and [smtp] port in lgp-mailer.toml, or LGP_SMTP_HOST and "
        f"LGP_SMTP_PORT in the environment, or --host and --port (now 127.0.0.1:{port}); to practise, start a local "
        "test server with 'python -m aiosmtpd -n -l 127.0.0.1:8025' and use --host 127.0.0.1 --port 8025 "
        "--security none"
    )


class _BusyAtGreeting(threading.Thread):
    """A server that is there but refuses every session in its greeting (421, as a busy relay does)."""

    def __init__(self, greeting: bytes = b"421 4.3.2 relay.example busy, come back later\r\n") -> None:
        super().__init__(daemon=True)
        self.greeting = greeting
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]

    def run(self) -> None:
        with self.listener:
            while True:
                try:
                    conn, _ = self.listener.accept()
                except OSError:
                    return
                with conn:
                    conn.sendall(self.greeting)


BUSY_FIX = "the server broke off the session; try again later or ask its administrator (127.0.0.1:{port})"


def test_a_server_refusing_at_its_greeting_is_not_told_to_change_host_and_port(campaign):
    # It answered: the address is right, and the practice-server hint would send the office astray.
    server = _BusyAtGreeting()
    server.start()
    result = smtp_test(campaign, "--host", "127.0.0.1", "--port", str(server.port), "--security", "none")
    server.listener.close()
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    assert lines[1:] == [
        "FAILED connect 421 4.3.2 relay.example busy, come back later",
        "Fix:   " + BUSY_FIX.format(port=server.port),
    ]


@pytest.mark.usefixtures("before_the_example_conference")
def test_send_to_a_server_refusing_at_its_greeting_says_so_in_one_line(tmp_path):
    folder = tmp_path / "pelda"
    assert runner.invoke(app, ["init", str(folder), "--example"]).exit_code == 0
    server = _BusyAtGreeting()
    server.start()
    args = ["--host", "127.0.0.1", "--port", str(server.port), "--security", "none"]
    result = runner.invoke(app, ["send", "--campaign", str(folder), "--yes", "--quiet", *args])
    server.listener.close()
    assert result.exit_code == 1, result.output
    assert result.stderr.splitlines() == [
        f"lgp-mailer: error: 127.0.0.1:{server.port}: the server refused the session: 421 4.3.2 relay.example busy, "
        "come back later; to fix: " + BUSY_FIX.format(port=server.port)
    ]


def test_a_port_that_answers_but_not_in_smtp_is_named_as_such(campaign):
    server = _BusyAtGreeting(b"* OK [CAPABILITY IMAP4rev1] mail.example ready\r\n")  # the IMAP port
    server.start()
    result = smtp_test(campaign, "--host", "127.0.0.1", "--port", str(server.port), "--security", "none")
    server.listener.close()
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    # smtplib keeps the text after a line's first four characters, where a reply code and its separator go.
    assert (
        lines[1]
        == "FAILED connect the server does not speak SMTP (it said '[CAPABILITY IMAP4rev1] mail.example ready')"
    )
    assert lines[2].startswith("Fix:   set the mail server: [smtp] host and [smtp] port in lgp-mailer.toml")
