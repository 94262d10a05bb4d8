"""The sent log: one ledger for the whole organisation, all campaigns.

It lives in a SQLite file (the default) or in a PostgreSQL database
(``LGP_MAILER_DB=postgresql://…`` or the toml's ``database``), behind this one
interface; ``backend.py`` holds the few differences between the two.

The protocol that makes sending crash-safe (issue 4):

1. ``claim`` marks a row ``sending`` (atomic, committed) *before* SMTP DATA;
2. ``record`` stores the outcome (``sent``, ``deferred``, ``failed``,
   ``unknown``) as soon as the server has answered, committed;
3. a later run that holds the campaign's lock turns ``sending`` rows left by
   a crash into ``unknown`` (``recover_interrupted``); those are resent only
   on request, with the same Message-ID.

Rows are keyed by (campaign_id, kind, lower(address)), never by sheet row, so
editing or re-sorting the sheet cannot cause a resend.  Every commit is
durable (WAL + ``synchronous=FULL``) but ``record``'s: a power cut may lose
the last outcomes recorded since the previous durable commit, and those rows
come back ``sending`` → ``unknown`` (never resent unasked).  A claim is
always durable, so a message that went out is never ``pending`` again; a
``start`` is not, but the ``hold`` before it is, and a row held before a
restart of the machine comes back ``unknown`` (``recover_interrupted``).  The schema only changes through the numbered
``MIGRATIONS``; each one is applied in one transaction with its record.

Other ledger modules run their SQL through the public ``Ledger.transaction``
(writes) and ``Ledger.read`` (reads), both yielding a ``backend.Db``; the SQL
is the portable subset with ``?`` placeholders (see ``backend.py``).

This module puts ``Ledger`` together from its parts, by topic: the connection
(``connection.py``), the sheet sync (``sync.py``), the claim protocol and the
daily quota (``claims.py``), suppressions and bounces (``bounces.py``) and the
reads (``queries.py``).  It opens the sent log (``open_ledger``,
``open_campaign_ledger``) and migrates it (``migrate``), and re-exports the
record types of ``rows.py``: callers import all of it from here.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path

from lgp_mailer.errors import LedgerError, LgpError
from lgp_mailer.i18n import _
from lgp_mailer.ledger import migrations
from lgp_mailer.ledger.backend import Db, PgDb, SqliteDb, Target, describe, is_url
from lgp_mailer.ledger.bounces import Bounces
from lgp_mailer.ledger.claims import QUOTA_WINDOW, Claims, QuotaUsedUp
from lgp_mailer.ledger.netfs import refuse_network_sqlite
from lgp_mailer.ledger.queries import Queries
from lgp_mailer.ledger.rows import (  # re-exported: the ledger's interface types
    BOUNCEABLE,
    BUSY_TIMEOUT_MS,
    DB_ENV,
    RECORDABLE,
    STATUSES,
    SUPPRESSIBLE,
    SUPPRESSION_SOURCES,
    Entry,
    LedgerRow,
    Suppression,
    SyncResult,
    _utc_now,
    address_key,
    due_statuses,
    utc_iso,
)
from lgp_mailer.ledger.sync import Sync
from lgp_mailer.storage import storage_error


def default_ledger_path(env: Mapping[str, str] = os.environ, configured: Target | None = None) -> Target:
    """Where the sent log lives: ``LGP_MAILER_DB`` > ``configured`` (the
    toml's ``database``) > the user's data folder (platformdirs).  A
    ``postgresql://`` URL is returned as it is (a str); anything else is a path."""
    for chosen in (env.get(DB_ENV) or None, configured):
        if chosen is not None:
            return chosen.strip() if isinstance(chosen, str) and is_url(chosen) else Path(chosen).expanduser()
    from platformdirs import user_data_dir  # noqa: PLC0415 - only when no sent-log path is configured

    return Path(user_data_dir("lgp-mailer", appauthor=False)) / "sent-log.sqlite3"


def ledger_location(env: Mapping[str, str] = os.environ, configured: Target | None = None) -> str:
    """``default_ledger_path`` as it may be shown: a URL without its password."""
    return describe(default_ledger_path(env, configured))


class Ledger(Sync, Claims, Bounces, Queries):
    """The open sent log.  Safe to share between threads of one process."""


def migrate(ledger: Ledger) -> None:
    """Apply every migration not yet recorded, each in one transaction with its record.

    The statements are written once, in SQLite's DDL; ``Db.ddl`` gives
    PostgreSQL its own types (see backend.py).  An up-to-date ledger is only
    read: opening it takes no write lock, and a read-only one (a standby) opens."""
    try:
        with ledger.read() as db:
            applied = {r[0] for r in db.execute("SELECT number FROM migrations").fetchall()}
        if all(number in applied for number, _name, _s in migrations.MIGRATIONS):
            return
    except LedgerError:  # no migrations table yet (or worse: the write below says what)
        pass
    with ledger.transaction() as db:  # exclusive: two processes opening a new ledger cannot race
        db.execute(
            db.ddl(
                "CREATE TABLE IF NOT EXISTS migrations ("
                " number INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
            )
        )
    for number, name, statements in migrations.MIGRATIONS:  # looked up now: a test may append to it
        # Checked inside the write transaction: two processes opening a fresh
        # database at once cannot both apply the same migration.
        with ledger.transaction() as db:
            if db.execute("SELECT 1 FROM migrations WHERE number = ?", (number,)).fetchone():
                continue
            for sql in migrations.statements_for(statements, db.dialect):
                db.execute(db.ddl(sql))
            db.execute(
                "INSERT INTO migrations (number, name, applied_at) VALUES (?, ?, ?)",
                (number, name, ledger.now()),
            )


def open_ledger(
    target: Target,
    *,
    clock: Callable[[], datetime] = _utc_now,
    patience: float = 10.0,
    env: Mapping[str, str] = os.environ,
    password_command: str | None = None,
) -> Ledger:
    """Open (creating and migrating if needed) the sent log at ``target``:
    a SQLite file, or a ``postgresql://`` URL (its password from the sources
    ``pgauth`` lists, ``env`` and ``password_command`` among them).

    Two runs starting at once on a brand-new SQLite sent log both switch it to
    WAL; while one of them writes, SQLite refuses the other's switch with
    "database is locked" at once, without waiting for busy_timeout.  That is
    not a held lock, so it is retried for ``patience`` seconds.
    """
    if isinstance(target, str) and is_url(target):
        return _open_pg_ledger(target, clock, env, password_command)
    deadline = time.monotonic() + patience
    while True:
        try:
            return _open_ledger(Path(target), clock)
        except LedgerError as error:
            cause = error.__cause__
            locked = isinstance(cause, sqlite3.OperationalError) and "locked" in str(cause)
            if not locked or time.monotonic() >= deadline:
                raise
        time.sleep(0.05)


def open_campaign_ledger(
    configured: Target | None = None, env: Mapping[str, str] = os.environ, password_command: str | None = None
) -> Ledger:
    """The one way commands open the sent log: ``LGP_MAILER_DB`` > the toml's
    ``database`` (``configured``) > the user's data folder.  A SQLite file on
    a network share is refused (``netfs``)."""
    target = default_ledger_path(env, configured)
    if isinstance(target, Path):
        refuse_network_sqlite(target, env)
    return open_ledger(target, env=env, password_command=password_command)


def _open_ledger(path: Path, clock: Callable[[], datetime]) -> Ledger:
    db: Db | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = SqliteDb(path)
        ledger = Ledger(db, path, clock)
        migrate(ledger)
    except (sqlite3.Error, OSError, LgpError) as error:
        if db is not None:
            db.close()  # Windows cannot move or delete an open database
        if isinstance(error, LgpError):
            raise
        raise storage_error(error, path, _("the sent log")) or LedgerError(
            _("cannot open the sent log: {error}").format(error=error), file=path
        ) from error
    return ledger


def _open_pg_ledger(
    url: str, clock: Callable[[], datetime], env: Mapping[str, str], password_command: str | None
) -> Ledger:
    from lgp_mailer.ledger import pgauth  # noqa: PLC0415 - keyring and getpass only for a PostgreSQL ledger

    password = pgauth.connect_password(url, env, password_command)
    db = pgauth.connect(url, password)
    ledger = Ledger(db, url, clock, opener=lambda: PgDb(url, password))
    try:
        migrate(ledger)
    except BaseException:
        db.close()
        raise
    return ledger


# The interface, including the record types re-exported from rows.py.
__all__ = [
    "BOUNCEABLE",
    "BUSY_TIMEOUT_MS",
    "DB_ENV",
    "QUOTA_WINDOW",
    "RECORDABLE",
    "STATUSES",
    "SUPPRESSIBLE",
    "SUPPRESSION_SOURCES",
    "Entry",
    "Ledger",
    "LedgerRow",
    "QuotaUsedUp",
    "Suppression",
    "SyncResult",
    "address_key",
    "default_ledger_path",
    "due_statuses",
    "ledger_location",
    "migrate",
    "open_campaign_ledger",
    "open_ledger",
    "utc_iso",
]
