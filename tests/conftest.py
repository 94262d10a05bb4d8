"""Shared fixtures: every test runs away from the real home folder and ledger, and
the one SMTP test server (its classes live in ``smtp_server.py``)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import time_machine
import trustme

from pg_server import PgServer, PgUnavailable, start_pg_server
from smtp_server import SmtpTestServer

REPO = Path(__file__).resolve().parent.parent

# The interface language is English in every test (and in the subprocesses they start),
# whatever the machine's locale; the Hungarian tests ask for hu explicitly.  Set before
# any test module imports lgp_mailer.cli, which decides the language when imported.
os.environ["LGP_MAILER_LANG"] = "en"

# System tools some tests need, and the command that installs each (Debian/Ubuntu;
# .ci/run installs them all).  Mark such a test ``@pytest.mark.needs_tool("NAME")``.
SYSTEM_TOOLS = {
    "spamassassin": "sudo apt-get install spamassassin",
    "chromium": "sudo apt-get install chromium chromium-driver",
    "chromedriver": "sudo apt-get install chromium-driver",
    "pg_ctl": "sudo apt-get install postgresql",
}


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "needs_tool(name): the test runs a system tool; see SYSTEM_TOOLS in conftest.py")
    _compile_catalogs()


def _compile_catalogs() -> None:
    """The .mo files are build products (hatch_build.py): compile them from the .po files as
    they are now, so a test never reads a stale catalog.  Idempotent and atomic (xdist workers)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("hatch_build", REPO / "hatch_build.py")
    assert spec is not None and spec.loader is not None
    hatch_build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hatch_build)
    hatch_build.compile_catalogs()


def pytest_runtest_setup(item: pytest.Item) -> None:
    """A missing tool skips the test locally, naming the tool and its install command.
    (Under CI=true that skip then becomes a failure, below.)"""
    for marker in item.iter_markers("needs_tool"):
        name = marker.args[0]
        if name not in SYSTEM_TOOLS:
            pytest.fail(f"needs_tool({name!r}): add it and its install command to SYSTEM_TOOLS in conftest.py")
        if _which(name) is None:
            pytest.skip(f"{name} is not installed; install it with: {SYSTEM_TOOLS[name]}")


def _which(name: str) -> str | None:
    if name == "pg_ctl" and shutil.which(name) is None:
        # Debian keeps the PostgreSQL server binaries off PATH.
        return next((str(p) for p in sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))), None)
    return shutil.which(name)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Under CI=true no test may skip: a skipped test is a guarantee CI does not
    check (a missing SpamAssassin, browser or database).  CI installs every tool,
    so any skip there is turned into a failure that says why."""
    report = yield
    if _in_ci() and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true (CI must install what tests need): {reason}"
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Iterator[None]:
    """The same for a whole module skipped at import (``pytest.importorskip``)."""
    report = yield
    if _in_ci() and report.skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true (CI must install what tests need): {reason}"
    return report


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
    monkeypatch.setenv("LGP_MAILER_LANG", "en")
    monkeypatch.setenv("LANGUAGE", "en")
    yield
    from lgp_mailer import i18n

    if i18n.choice() != i18n.Choice("en", "LGP_MAILER_LANG"):  # a test switched to Hungarian in-process
        i18n.activate("en", "LGP_MAILER_LANG")


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


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """One private PostgreSQL server per test session (per xdist worker), stopped
    at the end; see pg_server.py.  Not installed: the test skips locally and
    fails under CI=true (pytest_runtest_makereport above)."""
    try:
        server = start_pg_server()
    except PgUnavailable as missing:
        pytest.skip(str(missing))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_url(pg_server: PgServer) -> str:
    """The URL of a fresh, empty database on the session's server (about 20 ms)."""
    return pg_server.create_database()


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger_target(request: pytest.FixtureRequest, tmp_path: Path) -> Path | str:
    """Where a ledger test opens its sent log, once per backend: a SQLite file,
    then a fresh database, already migrated, on the session's PostgreSQL server."""
    if request.param == "sqlite":
        return tmp_path / "sent-log.sqlite3"
    server: PgServer = request.getfixturevalue("pg_server")
    return server.create_ledger_database()


# The shipped example conference started on 2020-06-18 at 10.00 (Budapest); send refuses
# an invitation after that.  In-process send tests run on a clock set before it.
BEFORE_THE_EXAMPLE = datetime(2020, 6, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def before_the_example_conference() -> Iterator[None]:
    """A ticking clock that starts on 2020-06-01, before the shipped example conference."""
    with time_machine.travel(BEFORE_THE_EXAMPLE, tick=True):
        yield


# The browser fixtures live in browser.py; importing them here shares them with every test module.
from browser import artefacts, browser  # noqa: E402, F401
