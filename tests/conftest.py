"""Shared fixtures: every test runs away from the real home folder and ledger, and
the one SMTP test server (its classes live in ``smtp_server.py``)."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import time_machine
import trustme
from smtp_server import SmtpTestServer

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _isolated_environment(tmp_path_factory, monkeypatch):
    """No LGP_* setting or real sent log leaks in from the developer's machine."""
    for name in list(os.environ):
        if name.startswith(("LGP_SMTP_", "LGP_MAILER_")):
            monkeypatch.delenv(name, raising=False)
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("USERPROFILE", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("LGP_MAILER_DB", str(home / "sent-log.sqlite3"))
    monkeypatch.setenv("COLUMNS", "200")


@pytest.fixture
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def tls_ca(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[trustme.CA, Path]]:
    """A throwaway CA and its certificate file (for ``cafile``)."""
    ca = trustme.CA()
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    yield ca, path


@pytest.fixture
def smtp_server_factory(tls_ca: tuple[trustme.CA, Path]) -> Iterator[Callable[..., SmtpTestServer]]:
    """``smtp_server_factory(security=..., users=..., tokens=...)`` → a started
    SmtpTestServer (``.cafile`` set for TLS); all stopped after the test."""
    servers: list[SmtpTestServer] = []

    def make(**kwargs: object) -> SmtpTestServer:
        kwargs.setdefault("ca", tls_ca[0])
        server = SmtpTestServer(**kwargs)  # type: ignore[arg-type]
        server.cafile = tls_ca[1]  # type: ignore[attr-defined]
        servers.append(server.start())
        return server

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def smtp_server(smtp_server_factory: Callable[..., SmtpTestServer]) -> SmtpTestServer:
    """A plain SMTP server on 127.0.0.1 that accepts everything."""
    return smtp_server_factory()


# The shipped example conference started on 2020-06-18 at 10.00 (Budapest); send refuses
# an invitation after that.  In-process send tests run on a clock set before it.
BEFORE_THE_EXAMPLE = datetime(2020, 6, 1, 8, 0, tzinfo=timezone.utc)


@pytest.fixture
def before_the_example_conference() -> Iterator[None]:
    """A ticking clock that starts on 2020-06-01, before the shipped example conference."""
    with time_machine.travel(BEFORE_THE_EXAMPLE, tick=True):
        yield


# The browser fixtures live in browser.py; importing them here shares them with every test module.
from browser import artefacts, browser  # noqa: E402, F401
