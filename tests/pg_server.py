"""A private PostgreSQL server for tests (issue 22), started once per test session.

The fixtures ``pg_server`` (session) and ``pg_url`` (a fresh, empty database per
test) that use it live in ``conftest.py``.  The server:

* comes from the binaries ``pg_config --bindir`` names (Debian keeps them off
  PATH, in /usr/lib/postgresql/N/bin);
* is initialised by ``initdb`` in a temporary folder of its own; as root that
  folder belongs to the ``postgres`` user and initdb/pg_ctl run as that user
  through ``runuser -u postgres --`` (initdb refuses to run as root);
* listens on a free port of 127.0.0.1 only (``listen_addresses``), with its
  unix socket inside the temporary folder, so it never touches the packaged
  cluster ``main``, its socket in /var/run/postgresql or port 5432;
* runs with ``fsync=off``: a test database need not survive a power cut, and
  this makes creating a database per test cheap (20 ms on an idle machine);
* is stopped (``pg_ctl stop -m immediate``) and its folder removed at the end.

Authentication: the superuser ``lgp`` is trusted on 127.0.0.1; the role
``lgp_pw`` (password ``PASSWORD``) must give its password (scram-sha-256), for
the tests of where the password comes from.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path

SUPERUSER = "lgp"
PASSWORD_ROLE = "lgp_pw"
PASSWORD = "s3cret-t3st"
RUN_AS = "postgres"  # the system user that owns the server's files when we are root


class PgUnavailable(RuntimeError):
    """PostgreSQL's server binaries are not installed (or pg_config is not on PATH)."""


def pg_bindir() -> Path:
    """The server binaries' folder, from ``pg_config --bindir``."""
    pg_config = shutil.which("pg_config")
    if pg_config is None:
        raise PgUnavailable("pg_config is not on PATH; install it with: sudo apt-get install postgresql")
    bindir = Path(subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=True).stdout.strip())
    for tool in ("initdb", "pg_ctl", "postgres"):
        if not (bindir / tool).exists():
            raise PgUnavailable(f"{bindir / tool} is missing; install it with: sudo apt-get install postgresql")
    return bindir


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    if port == 5432:  # never the packaged cluster's port
        return free_port()
    return port


@dataclass
class PgServer:
    bindir: Path
    root: Path  # the temporary folder: data/, socket/, server.log
    port: int = 0
    _numbers: count[int] = field(default_factory=lambda: count(1))
    _template: str | None = None
    _strategy: str = ""

    @property
    def as_root(self) -> bool:
        return hasattr(os, "geteuid") and os.geteuid() == 0

    def _run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self.as_root:
            cmd = ["runuser", "-u", RUN_AS, "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=self.root)

    def url(self, database: str = "postgres", user: str = SUPERUSER, password: str | None = None) -> str:
        auth = f"{user}:{password}" if password is not None else user
        return f"postgresql://{auth}@127.0.0.1:{self.port}/{database}"

    def start(self) -> PgServer:
        data = self.root / "data"
        done = self._run(
            "initdb", "-D", str(data), "-U", SUPERUSER, "-E", "UTF8", "--locale=C", "--no-sync", "--auth=trust"
        )
        if done.returncode:
            raise RuntimeError(f"initdb failed:\n{done.stdout}{done.stderr}")
        # The password role's rule comes first: pg_hba takes the first line that matches.
        hba = data / "pg_hba.conf"
        rules = f"host all {PASSWORD_ROLE} 127.0.0.1/32 scram-sha-256\nhost all all 127.0.0.1/32 trust\n"
        hba.write_text(rules + "local all all trust\n", encoding="utf-8")
        for _attempt in range(3):  # a free port may be taken between the probe and the start
            self.port = free_port()
            options = (
                f"-c listen_addresses=127.0.0.1 -p {self.port} -c unix_socket_directories={self.root / 'socket'}"
                " -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=60"
            )
            done = self._run(
                "pg_ctl", "-D", str(data), "-l", str(self.root / "server.log"), "-o", options, "-w", "start"
            )
            if done.returncode == 0:
                break
        else:
            log = (self.root / "server.log").read_text(encoding="utf-8", errors="replace")
            raise RuntimeError(f"pg_ctl start failed:\n{done.stdout}{done.stderr}\n{log}")
        self.execute(f"CREATE ROLE {PASSWORD_ROLE} LOGIN PASSWORD '{PASSWORD}'")
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            if int(conn.info.server_version) >= 150000:  # STRATEGY is new in 15
                self._strategy = " STRATEGY FILE_COPY"
        return self

    def execute(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True, connect_timeout=10) as conn:
            conn.execute(sql)  # type: ignore[arg-type]

    def create_database(self, prefix: str = "t") -> str:
        """A new, empty database (owned by the password role too, so both users
        can use it); returns its URL for the superuser."""
        name = f"{prefix}_{os.getpid()}_{next(self._numbers)}"
        # FILE_COPY: with fsync off, copying the files beats WAL-logging them (PostgreSQL 15's default).
        self.execute(f"CREATE DATABASE {name} OWNER {PASSWORD_ROLE}{self._strategy}")
        return self.url(name)

    def create_ledger_database(self) -> str:
        """A new database that already holds the ledger's schema: a copy of a
        template migrated once per session (the migrations cost more than the
        copy).  Tests of the migrations themselves use ``create_database``."""
        if self._template is None:
            from lgp_mailer.ledger.store import open_ledger

            url = self.create_database("ledger_template")
            open_ledger(url).close()
            self._template = url.rsplit("/", 1)[1]
        name = f"l_{os.getpid()}_{next(self._numbers)}"
        self.execute(f"CREATE DATABASE {name} TEMPLATE {self._template} OWNER {PASSWORD_ROLE}{self._strategy}")
        return self.url(name)

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self._run("pg_ctl", "-D", str(self.root / "data"), "-m", "immediate", "-w", "stop", timeout=30)
        shutil.rmtree(self.root, ignore_errors=True)


def start_pg_server() -> PgServer:
    """Start a private server (raises PgUnavailable when PostgreSQL is not installed)."""
    bindir = pg_bindir()
    root = Path(tempfile.mkdtemp(prefix="lgp-pg-"))
    (root / "socket").mkdir()
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        for path in (root, root / "socket"):
            shutil.chown(path, RUN_AS, RUN_AS)
    server = PgServer(bindir, root)
    try:
        server.start()
    except BaseException:
        server.stop()
        raise
    return server
