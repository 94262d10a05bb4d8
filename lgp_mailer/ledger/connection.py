"""The sent log's connection: ``LedgerConnection``, the base of ``store.Ledger``.

It holds the plumbing every part of the ledger runs its SQL through: the
public ``transaction`` (writes) and ``read`` (reads), both yielding a
``backend.Db``; ``now``; ``writer`` (a connection of its own for a sending
thread); ``close``; and ``_fault``, which turns a full or read-only disk
into one line.  The methods on the rows live in the mixins ``sync``,
``claims``, ``bounces`` and ``queries``; ``store.py`` puts them together.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import datetime
from pathlib import Path
from typing import Self

from lgp_mailer.errors import LedgerError
from lgp_mailer.i18n import _
from lgp_mailer.ledger.backend import POSTGRESQL, Db, PgDb, SqliteDb, Target, describe, is_url
from lgp_mailer.ledger.rows import _one_line, _utc_now, utc_iso
from lgp_mailer.storage import StorageError, storage_error


class LedgerConnection:
    """The open sent log's connection.  Safe to share between threads of one process."""

    def __init__(
        self,
        db: Db,
        target: Target,
        clock: Callable[[], datetime] = _utc_now,
        mutex: threading.RLock | None = None,
        opener: Callable[[], Db] | None = None,
    ):
        self.db = db
        self.dialect = db.dialect
        self.target = target
        # The SQLite file, or the URL without its password: what errors and status name.
        self.path: Path | str = target if isinstance(target, Path) else describe(target)
        self.clock = clock
        self._mutex = mutex or threading.RLock()
        self._opener = opener

    # -- plumbing -----------------------------------------------------------

    @property
    def concurrent_senders(self) -> bool:
        """May several processes send one campaign at once (``send --join``)?
        Not on SQLite: one writer at a time, on one PC's disk, gains nothing."""
        return bool(self.dialect == POSTGRESQL)

    def now(self) -> str:
        return utc_iso(self.clock())

    @contextmanager
    def transaction(self, *, exclusive: bool = True, durable: bool = True) -> Iterator[Db]:
        """BEGIN … COMMIT around the block, which runs its SQL on the yielded ``Db``.

        ``exclusive`` (the default): the ledger's write lock is taken up front
        (SQLite ``BEGIN IMMEDIATE``, a PostgreSQL advisory lock), so two
        processes never both read-then-write the same state.  ``exclusive=False``
        relies on row locks (a conditional UPDATE, ``FOR UPDATE SKIP LOCKED``)
        and lets PostgreSQL senders claim side by side.  ``durable=False``: this
        commit is not flushed on its own (see ``record``).  A database error
        becomes one line (``LedgerError``, or ``StorageError`` for a full or
        read-only disk), never a traceback."""
        with self._mutex:
            try:
                self.db.begin(exclusive=exclusive, durable=durable)
            except self.db.errors as error:
                with suppress(self.db.errors):
                    self.db.rollback()
                raise self._fault(error) or LedgerError(
                    _("cannot start a transaction: {error}").format(error=error), file=self.path
                ) from error
            try:
                yield self.db
                self.db.commit()
            except BaseException as error:
                with suppress(self.db.errors):  # a full disk may refuse even this; SQLite rolls back anyway
                    self.db.rollback()
                if isinstance(error, self.db.errors):  # an I/O error too: one line, never a traceback
                    raise self._fault(error) or LedgerError(
                        _("cannot write the sent log: {error}").format(error=_one_line(str(error))), file=self.path
                    ) from error
                raise

    @contextmanager
    def read(self) -> Iterator[Db]:
        """The connection for reads outside a transaction (each statement sees committed data)."""
        with self._mutex:
            try:
                yield self.db
            except self.db.errors as error:
                raise self._fault(error) or LedgerError(
                    _("cannot read the sent log: {error}").format(error=_one_line(str(error))), file=self.path
                ) from error

    def _fault(self, error: Exception) -> StorageError | None:
        """A full or read-only disk as one line (exit 2); the row in flight stays 'sending'."""
        if isinstance(self.target, Path):
            return storage_error(error, self.target, _("the sent log"))
        state = getattr(error, "sqlstate", None) or ""
        if state == "53100":  # disk_full
            return StorageError(_("the PostgreSQL server's disk is full: {error}").format(error=error), file=self.path)
        if state == "25006":  # read_only_sql_transaction: a standby, or default_transaction_read_only
            return StorageError(_("the PostgreSQL sent log is read-only: {error}").format(error=error), file=self.path)
        return None

    def close(self) -> None:
        with self._mutex:
            self.db.close()

    def leave_checkpoints(self) -> None:
        """A sending thread's connection: its commits never stop to checkpoint (copy the
        SQLite write-ahead log into the database, two fsyncs); another connection does
        (``checkpoint``)."""
        with self.read() as db:
            db.leave_checkpoints()

    def checkpoint(self) -> None:
        """A passive checkpoint (SQLite), outside the ledger's lock: the writers go on
        meanwhile.  It changes nothing a commit made durable or not."""
        try:
            self.db.checkpoint()
        except self.db.errors as error:
            raise self._fault(error) or LedgerError(
                _("cannot write the sent log: {error}").format(error=_one_line(str(error))), file=self.path
            ) from error

    def writer(self) -> Self:
        """The same sent log on a connection of its own, for one sending thread.

        SQLite takes one writer at a time whatever the connections, and a
        connection that finds the write lock taken polls for it with sleeps
        of up to 100 ms; so the writers of one process still take turns on
        this ledger's lock, which hands over at once.  Close it when the
        thread is done."""
        return type(self)(self._connect(), self.target, self.clock, self._mutex, self._opener)

    def _connect(self) -> Db:
        """Another connection to the same ledger."""
        try:
            return self._opener() if self._opener is not None else _open_db(self.target, None)
        except self.db.errors as error:
            raise LedgerError(
                _("cannot open the sent log: {error}").format(error=_one_line(str(error))), file=self.path
            ) from error

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def applied_migrations(self) -> list[tuple[int, str, str]]:
        with self.read() as db:
            cur = db.execute("SELECT number, name, applied_at FROM migrations ORDER BY number")
            return [(r[0], r[1], r[2]) for r in cur.fetchall()]


def _open_db(target: Target, password: str | None) -> Db:
    if isinstance(target, str) and is_url(target):
        return PgDb(target, password)
    return SqliteDb(Path(target))
