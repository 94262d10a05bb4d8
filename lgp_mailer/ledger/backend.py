"""The two databases behind the one ``Ledger``: SQLite (embedded, the default) and PostgreSQL.

The ledger's SQL is written once, in the portable subset both understand, with
``?`` placeholders.  What differs is said here and nowhere else:

* placeholders: PostgreSQL (psycopg 3) takes ``%s``; ``Db.execute`` rewrites
  ``?`` outside quoted text and doubles a literal ``%``;
* transactions: SQLite's ``BEGIN IMMEDIATE`` takes the database's one write
  lock up front.  On PostgreSQL an *exclusive* transaction (the default) takes
  a transaction-level advisory lock of the whole ledger, which gives every
  read-then-write the same one-writer-at-a-time guarantee.  A transaction
  opened with ``exclusive=False`` relies on row locks only: a conditional
  ``UPDATE … WHERE status IN (…)`` (a claim) or ``SELECT … FOR UPDATE SKIP
  LOCKED``; on SQLite it is ``BEGIN IMMEDIATE`` as well;
* durability: a transaction opened with ``durable=False`` is not flushed on
  its own (SQLite ``synchronous=NORMAL``, PostgreSQL ``synchronous_commit=off``);
* the schema: ``ddl`` turns the migrations' SQLite DDL into PostgreSQL's:
  ``id INTEGER PRIMARY KEY`` becomes an identity column, ``REAL`` double
  precision, and ``TEXT`` compares byte-wise (``COLLATE "C"``, as SQLite does)
  so that ordering and the fixed-width UTC timestamps sort the same on both;
* errors: ``Db.errors`` is the driver's base exception class, for the ledger
  to turn into one line (``LedgerError``/``StorageError``).

Rows come back indexable by position and by column name on both (``r[0]``,
``r["status"]``, ``dict(r)``).  psycopg is imported only when a
``postgresql://`` ledger is opened.

Adding a query: write it once, with ``?``, in ``with ledger.transaction() as db:``
(or ``ledger.read()``); ``INSERT … ON CONFLICT DO NOTHING``, ``… RETURNING id``
and ``IS DISTINCT FROM`` work on both, ``INSERT OR IGNORE``, ``lastrowid`` and
``? IS NULL`` (PostgreSQL cannot type the parameter) do not.  A new table is a
migration in ``migrations.py`` (SQLite DDL, see ``ddl``) and a line in its
docstring's schema list.  ``tests/conftest.py``'s ``ledger_target`` runs a test
on both backends.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from lgp_mailer.errors import LedgerError
from lgp_mailer.i18n import _
from lgp_mailer.ledger.rows import BUSY_TIMEOUT_MS

SQLITE = "sqlite"
POSTGRESQL = "postgresql"
URL_SCHEMES = ("postgresql://", "postgres://")
# pg_advisory_xact_lock key of a whole ledger (exclusive transactions): "lgp-mail" as bytes.
LEDGER_LOCK_KEY = 0x6C67702D6D61696C
CONNECT_TIMEOUT = 15  # seconds
Target = Path | str  # a SQLite file, or a postgresql:// URL


def is_url(target: Target | None) -> bool:
    """True for a ``postgresql://`` (or ``postgres://``) URL."""
    return isinstance(target, str) and target.strip().lower().startswith(URL_SCHEMES)


def redact(url: str) -> str:
    """The URL with any password replaced by ``***`` (in the user part and in ``?password=``)."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _at, hostport = netloc.rpartition("@")
        if ":" in userinfo:
            netloc = f"{userinfo.split(':', 1)[0]}:***@{hostport}"
    query = urlencode(
        [(k, "***" if k.lower() == "password" else v) for k, v in parse_qsl(parts.query, keep_blank_values=True)],
        safe="*",
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def url_password(url: str) -> str | None:
    """The password written in the URL itself, if any."""
    parts = urlsplit(url)
    if parts.password is not None:
        return parts.password
    return next((v for k, v in parse_qsl(parts.query) if k.lower() == "password"), None)


def describe(target: Target) -> str:
    """How errors and ``status`` name the ledger: the path, or the URL without its password."""
    return redact(target) if isinstance(target, str) and is_url(target) else str(target)


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Row(tuple[Any, ...]):
    """A PostgreSQL row that behaves like ``sqlite3.Row``: by index, by name, ``dict(row)``."""

    _names: dict[str, int]

    def __new__(cls, values: Sequence[Any], names: dict[str, int]) -> Row:
        row = super().__new__(cls, values)
        row._names = names
        return row

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return tuple.__getitem__(self, self._names[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._names)


_TOKENS = re.compile(r"'(?:[^']|'')*'|\"[^\"]*\"|\?|%")


@lru_cache(maxsize=512)
def pg_sql(sql: str) -> str:
    """``?`` placeholders as psycopg's ``%s``, a literal ``%`` doubled (quoted text left alone)."""
    return _TOKENS.sub(lambda m: "%s" if m[0] == "?" else "%%" if m[0] == "%" else m[0], sql)


_DDL = (
    (re.compile(r"\bid INTEGER PRIMARY KEY\b"), "id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"),
    (re.compile(r"\bREAL\b"), "DOUBLE PRECISION"),
    (re.compile(r"\bTEXT\b"), 'TEXT COLLATE "C"'),
)


class Db:
    """One connection to the ledger, in the ledger's SQL (see the module docstring)."""

    dialect: str
    errors: type[Exception]
    # Appended to a SELECT of rows to claim: PostgreSQL locks them and passes over
    # rows another sender holds; SQLite's one write lock serialises claims anyway.
    skip_locked = ""

    def __init__(self, conn: Any, label: str) -> None:
        self.conn = conn  # the driver's own connection (sqlite3 or psycopg)
        self.label = label  # the path or redacted URL, for messages

    def execute(self, sql: str, params: Sequence[object] = ()) -> Cursor:
        raise NotImplementedError

    def executemany(self, sql: str, rows: Sequence[Sequence[object]]) -> None:
        raise NotImplementedError

    def tuples(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """Plain tuples (cheaper than rows, for 100,000 of them)."""
        raise NotImplementedError

    def begin(self, *, exclusive: bool = True, durable: bool = True) -> None:
        raise NotImplementedError

    def commit(self) -> None:
        self.execute("COMMIT")

    def rollback(self) -> None:
        if self.in_transaction:
            self.execute("ROLLBACK")

    @property
    def in_transaction(self) -> bool:
        raise NotImplementedError

    def ddl(self, sql: str) -> str:
        """A migration statement in this database's dialect (written for SQLite)."""
        return sql

    def reset_ids(self, table: str) -> None:
        """After rows were copied in with their ids: new rows get ids after them."""

    def leave_checkpoints(self) -> None:
        """Its commits do not copy the write-ahead log into the database (``checkpoint`` does)."""

    def checkpoint(self) -> None:
        """Copy what it can of the write-ahead log into the database, without waiting for writers."""

    def close(self) -> None:
        self.conn.close()


class SqliteDb(Db):
    dialect = SQLITE
    errors = sqlite3.Error

    def __init__(self, path: Path) -> None:
        # isolation_level=None: we issue BEGIN/COMMIT ourselves, nothing implicit.
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False)
        try:
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode.lower() != "wal":
                raise LedgerError(_("cannot switch the sent log to WAL mode (got {mode})").format(mode=mode), file=path)
            conn.execute("PRAGMA synchronous = FULL")
        except BaseException:
            conn.close()
            raise
        super().__init__(conn, str(path))
        self._durable = True  # synchronous is FULL

    def execute(self, sql: str, params: Sequence[object] = ()) -> Cursor:
        return self.conn.execute(sql, params)  # type: ignore[no-any-return]

    def executemany(self, sql: str, rows: Sequence[Sequence[object]]) -> None:
        self.conn.executemany(sql, rows)

    def tuples(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        cursor = self.conn.cursor()
        cursor.row_factory = None
        return cursor.execute(sql, params).fetchall()  # type: ignore[no-any-return]

    def begin(self, *, exclusive: bool = True, durable: bool = True) -> None:
        # WAL: a commit under synchronous=NORMAL is not fsync'd on its own.  The level is set
        # before each transaction that needs another one, not reset after it: every write is
        # in a transaction, and a sending connection's record commits then run back to back
        # without two PRAGMA statements each.
        if durable != self._durable:
            self.conn.execute("PRAGMA synchronous = FULL" if durable else "PRAGMA synchronous = NORMAL")
            self._durable = durable
        self.conn.execute("BEGIN IMMEDIATE")

    @property
    def in_transaction(self) -> bool:
        return bool(self.conn.in_transaction)

    def leave_checkpoints(self) -> None:
        self.conn.execute("PRAGMA wal_autocheckpoint = 0")

    def checkpoint(self) -> None:
        self.conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()


def load_psycopg() -> Any:
    try:
        import psycopg  # noqa: PLC0415 - only for a postgresql:// ledger (an optional extra)
    except ImportError as error:
        raise LedgerError(_("a PostgreSQL sent log needs psycopg: pip install 'lgp-mailer[postgresql]'")) from error
    return psycopg


def _row_factory(cursor: Any) -> Callable[[Sequence[Any]], Any]:
    names = {column.name: i for i, column in enumerate(cursor.description or ())}
    return lambda values: Row(values, names)


class PgDb(Db):
    dialect = POSTGRESQL
    skip_locked = " FOR UPDATE SKIP LOCKED"

    def __init__(self, url: str, password: str | None = None) -> None:
        psycopg = load_psycopg()
        self.errors = psycopg.Error
        extra: dict[str, object] = {"connect_timeout": CONNECT_TIMEOUT, "application_name": "lgp-mailer"}
        if password is not None:
            extra["password"] = password
        conn = psycopg.connect(url, autocommit=True, row_factory=_row_factory, **extra)
        super().__init__(conn, redact(url))
        self._idle = psycopg.pq.TransactionStatus.IDLE

    def execute(self, sql: str, params: Sequence[object] = ()) -> Cursor:
        if params:
            return self.conn.execute(pg_sql(sql), params)  # type: ignore[no-any-return]
        return self.conn.execute(sql)  # type: ignore[no-any-return]

    def executemany(self, sql: str, rows: Sequence[Sequence[object]]) -> None:
        with self.conn.cursor() as cursor:
            cursor.executemany(pg_sql(sql), rows)

    def tuples(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        from psycopg.rows import tuple_row  # noqa: PLC0415 - psycopg is imported only for a PostgreSQL ledger

        with self.conn.cursor(row_factory=tuple_row) as cursor:
            return cursor.execute(pg_sql(sql) if params else sql, params or None).fetchall()  # type: ignore[no-any-return]

    def begin(self, *, exclusive: bool = True, durable: bool = True) -> None:
        self.conn.execute("BEGIN")
        if not durable:
            self.conn.execute("SET LOCAL synchronous_commit = off")
        if exclusive:  # released by COMMIT/ROLLBACK
            self.conn.execute("SELECT pg_advisory_xact_lock(%s)", (LEDGER_LOCK_KEY,))

    @property
    def in_transaction(self) -> bool:
        return bool(self.conn.info.transaction_status != self._idle)

    def ddl(self, sql: str) -> str:
        for pattern, replacement in _DDL:
            sql = pattern.sub(replacement, sql)
        return sql

    def reset_ids(self, table: str) -> None:
        # An identity column's sequence does not see explicit ids.
        self.conn.execute(
            f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), coalesce(max(id), 0) + 1, false)"
            f' FROM "{table}"'
        )


__all__ = [
    "POSTGRESQL",
    "SQLITE",
    "URL_SCHEMES",
    "Cursor",
    "Db",
    "PgDb",
    "Row",
    "SqliteDb",
    "Target",
    "describe",
    "is_url",
    "load_psycopg",
    "pg_sql",
    "redact",
    "url_password",
]
