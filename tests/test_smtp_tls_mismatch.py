"""TLS set up the wrong way round, and a certificate for another host name: what ``smtp test`` says.

Each case used to end in a fix that did not fit: a certificate for another
name was met with "trust the server's certificate authority" (the CA was
trusted); STARTTLS to an implicit-TLS port (465) waited out the timeout and
then said to set the host and port; implicit TLS to a local STARTTLS port
said the server speaks no TLS.  Real aiosmtpd servers and a real silent
listener on 127.0.0.1.
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator

import pytest
from test_smtp_test import campaign, nothing_delivered, smtp_test  # noqa: F401 - the fixture is used by name

from smtp_server import SmtpTestServer


@pytest.fixture(params=["starttls", "tls"])
def wrong_name_server(request, tls_ca) -> Iterator[SmtpTestServer]:
    """A server whose certificate, from the trusted CA, is for smtp.other.example only."""
    ca, _path = tls_ca
    server = SmtpTestServer(security=request.param, ca=ca)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("smtp.other.example").configure_cert(context)
    if request.param == "starttls":
        server.controller.SMTP_kwargs["tls_context"] = context
    else:
        server.controller.ssl_context = context
    server.start()
    yield server
    server.stop()


def test_a_certificate_for_another_name_says_which_and_to_set_the_host(campaign, wrong_name_server, tls_ca):  # noqa: F811
    server = wrong_name_server
    args = ["--host", "localhost", "--port", str(server.port), "--security", server.security, "--cafile"]
    result = smtp_test(campaign, *args, str(tls_ca[1]))
    assert result.exit_code == 1, result.output
    assert result.stdout.splitlines()[2:] == [
        "FAILED TLS     the server's certificate is not for localhost (Hostname mismatch, certificate is not "
        "valid for 'localhost'.); it is for smtp.other.example",
        "Fix:   set the host to a name the certificate is for, as the mail provider gives it: "
        "[smtp] host in lgp-mailer.toml, or LGP_SMTP_HOST in the environment, or --host",
    ]
    nothing_delivered(server)


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that takes the connection and says nothing, as an implicit-TLS port does to a plain client."""
    listener = socket.create_server(("127.0.0.1", 0))
    taken: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                taken.append(listener.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    yield listener.getsockname()[1]
    listener.close()
    for connection in taken:
        connection.close()


def test_starttls_to_an_implicit_tls_port_says_to_set_security_tls(campaign, silent_port):  # noqa: F811
    args = ["--host", "127.0.0.1", "--port", str(silent_port), "--security", "starttls", "--timeout", "0.5"]
    result = smtp_test(campaign, *args)
    assert result.exit_code == 1, result.output
    assert result.stdout.splitlines()[1:] == [
        "FAILED connect the server took the connection but sent no greeting within 0.5 s",
        "Fix:   a port for implicit TLS (usually 465) waits for TLS before it says anything: set security to "
        "tls: [smtp] security in lgp-mailer.toml, or LGP_SMTP_SECURITY in the environment, or --security",
    ]


def test_implicit_tls_to_a_plain_port_says_it_starts_in_plain_text(campaign, smtp_server):  # noqa: F811
    result = smtp_test(campaign, "--host", "127.0.0.1", "--port", str(smtp_server.port), "--security", "tls")
    assert result.exit_code == 1, result.output
    assert result.stdout.splitlines()[2:] == [
        "FAILED TLS     the server answered in plain text, not TLS (WRONG_VERSION_NUMBER)",
        "Fix:   this port starts in plain text: set security to starttls (usually port 587), or to none for a "
        "local test server: [smtp] security and [smtp] port in lgp-mailer.toml, or LGP_SMTP_SECURITY and "
        "LGP_SMTP_PORT in the environment, or --security and --port",
    ]
    nothing_delivered(smtp_server)
