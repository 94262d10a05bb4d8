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
"""

from __future__ import annotations

import functools
import json
import os
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from lgp_mailer.errors import LedgerError, LgpError
from lgp_mailer.i18n import _
from lgp_mailer.ledger import migrations
from lgp_mailer.ledger.backend import POSTGRESQL, Db, PgDb, SqliteDb, Target, describe, is_url
from lgp_mailer.ledger.netfs import refuse_network_sqlite
from lgp_mailer.ledger.rows import (  # re-exported: the ledger's interface types
    _BOUNCEABLE_SQL,
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
    _angled,
    _due_where,
    _one_line,
    _row,
    _suppression_key,
    _utc_now,
    address_key,
    due_statuses,
    utc_iso,
)
from lgp_mailer.quoting import quoted
from lgp_mailer.storage import StorageError, storage_error

QUOTA_WINDOW = timedelta(days=1)  # a daily quota is a rolling 24 hours
# The rows a daily quota counts since a moment (two ``?``: the moment, twice).
_QUOTA_ROWS = "(sent_at >= ? OR (status IN ('sending', 'unknown') AND last_attempt_at >= ?))"


def _of_account(account: str | None) -> tuple[str, tuple[str, ...]]:
    """The quota rows of one relay account, and those sent before accounts were recorded."""
    return ("", ()) if account is None else (" AND (account = ? OR account IS NULL)", (account,))


class QuotaUsedUp(Exception):
    """A claim found the relay account's daily quota used up (by any sender)."""

    def __init__(self, account: str, quota: int) -> None:
        super().__init__(f"the daily quota of {quota} messages of {account} is used up")
        self.account = account
        self.quota = quota


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


class Ledger:
    """The open sent log.  Safe to share between threads of one process."""

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

    def writer(self) -> Ledger:
        """The same sent log on a connection of its own, for one sending thread.

        SQLite takes one writer at a time whatever the connections, and a
        connection that finds the write lock taken polls for it with sleeps
        of up to 100 ms; so the writers of one process still take turns on
        this ledger's lock, which hands over at once.  Close it when the
        thread is done."""
        return Ledger(self._connect(), self.target, self.clock, self._mutex, self._opener)

    def _connect(self) -> Db:
        """Another connection to the same ledger."""
        try:
            return self._opener() if self._opener is not None else _open_db(self.target, None)
        except self.db.errors as error:
            raise LedgerError(
                _("cannot open the sent log: {error}").format(error=_one_line(str(error))), file=self.path
            ) from error

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def applied_migrations(self) -> list[tuple[int, str, str]]:
        with self.read() as db:
            cur = db.execute("SELECT number, name, applied_at FROM migrations ORDER BY number")
            return [(r[0], r[1], r[2]) for r in cur.fetchall()]

    # -- campaign rows ------------------------------------------------------

    def sync(self, campaign_id: str, kind: str, entries: Iterable[Entry]) -> SyncResult:
        """Make the ledger know every recipient of the sheet.

        New addresses become ``pending`` (or ``invalid``).  Rows already
        present keep their status, attempts and Message-ID; only their sheet
        order (``seq``) is refreshed, and a row nothing was attempted for yet
        (``pending``/``invalid``) also takes the sheet's municipalities, county
        and validity.  Rows whose address left the sheet get ``seq = NULL`` and
        are no longer due; their history stays.

        An address on the suppression list is never due: its new rows are
        recorded ``suppressed``, and its rows not (being) delivered (see
        ``SUPPRESSIBLE``) become ``suppressed``; ``sent`` rows stay.

        The rows go in pages of ``SYNC_PAGE`` (a page never holds one address
        twice, so its rows can be written together): a constant number of
        statements per page, whatever the round trip to the database costs.
        """
        now = self.now()
        new: dict[str, int] = {}  # first status of the rows this sync added -> how many
        refreshed = 0
        with self.transaction() as db:
            for table in _SYNC_TABLES:  # this connection's own, dropped (or rolled back) below
                db.execute(db.ddl(table))
            analysed = 0  # rows added when PostgreSQL last took the table's statistics
            for page in _sync_pages(entries):
                refreshed += _sync_page(db, campaign_id, kind, page, now, new)
                added = sum(new.values())
                if db.dialect == POSTGRESQL and added >= max(SYNC_PAGE, 2 * analysed):
                    # Planned on statistics of a smaller table, each page's statements would
                    # scan the whole campaign (minutes for 100,000 rows); after 1,000, 2,000,
                    # 4,000, … rows added.  Rows this transaction added count as live.
                    db.execute("ANALYZE messages")
                    analysed = added
            # Left the sheet.  Rows whose seq is unchanged are not rewritten (on
            # PostgreSQL every rewrite is a new row version, with its index entries).
            db.execute(
                "UPDATE messages SET seq = NULL WHERE campaign_id = ? AND kind = ? AND seq IS NOT NULL"
                " AND NOT EXISTS (SELECT 1 FROM sync_seen k WHERE k.address_key = messages.address_key)",
                (campaign_id, kind),
            )
            db.execute("DROP TABLE sync_page")
            db.execute("DROP TABLE sync_seen")
            suppressed = new.get("suppressed", 0)
            suppressed += self._apply_suppressions(db, now, "campaign_id = ? AND kind = ?", (campaign_id, kind))
            absent = db.execute(
                "SELECT count(*) FROM messages WHERE campaign_id = ? AND kind = ? AND seq IS NULL",
                (campaign_id, kind),
            ).fetchone()[0]
        return SyncResult(new.get("pending", 0), new.get("invalid", 0), refreshed, absent, suppressed)

    @staticmethod
    def _apply_suppressions(db: Db, now: str, where: str, params: Sequence[object]) -> int:
        """Turn the matching rows of suppressed addresses that were not
        delivered into ``suppressed``, remembering their status."""
        marks = ",".join("?" * len(SUPPRESSIBLE))
        cur = db.execute(
            "UPDATE messages SET suppressed_from = status, status = 'suppressed', updated_at = ?"
            f" WHERE {where} AND status IN ({marks})"
            " AND address_key IN (SELECT address_key FROM suppressions)",
            (now, *params, *SUPPRESSIBLE),
        )
        return cur.rowcount

    def recover_interrupted(self, campaign_id: str, kind: str, sender: str | None = None) -> int:
        """Turn ``sending`` rows left by a crashed sender into ``unknown``.

        Only a holder of one of the campaign's leases (``runlock``; ``sender``
        is its token, else this process's lease) may do this, once it has
        cleared the stale leases: a ``sending`` row whose claimer still holds
        a lease is in flight, not interrupted, and is left alone.
        """
        now = self.now()
        with self.transaction() as db:
            if sender is not None:
                held = db.execute(
                    "SELECT 1 FROM run_locks WHERE campaign_id = ? AND token = ?", (campaign_id, sender)
                ).fetchone()
            else:
                held = db.execute(
                    "SELECT 1 FROM run_locks WHERE campaign_id = ? AND pid = ? AND hostname = ?",
                    (campaign_id, os.getpid(), socket.gethostname()),
                ).fetchone()
            if not held:
                raise LedgerError(
                    _("campaign {campaign_id}: recovering interrupted sends needs the run lock").format(
                        campaign_id=quoted(campaign_id)
                    ),
                    file=self.path,
                )
            # Held (see ``hold``) in an earlier boot and still pending: a power cut may
            # have lost its start, so it may have gone out.  Held in this boot and still
            # pending: never started, as the operating system kept any start written.
            lost = db.execute(
                "UPDATE messages SET status = 'unknown', held = NULL, updated_at = ?,"
                " last_reply = 'claimed before a restart of the machine; outcome unknown'"
                " WHERE campaign_id = ? AND kind = ? AND status = 'pending' AND held IS NOT NULL AND held <> ?",
                (now, campaign_id, kind, boot_id() or ""),
            ).rowcount
            db.execute(
                "UPDATE messages SET held = NULL WHERE campaign_id = ? AND kind = ? AND held IS NOT NULL",
                (campaign_id, kind),
            )
            cur = db.execute(
                "UPDATE messages SET status = 'unknown', updated_at = ?,"
                " last_reply = coalesce(last_reply, 'interrupted while sending; outcome unknown')"
                " WHERE campaign_id = ? AND kind = ? AND status = 'sending'"
                " AND (sender IS NULL OR sender NOT IN (SELECT token FROM run_locks))",
                (now, campaign_id, kind),
            )
            return cur.rowcount + lost

    def due(
        self,
        campaign_id: str,
        kind: str,
        *,
        retry_failed: bool = False,
        resend_unknown: bool = False,
        limit: int | None = None,
    ) -> list[LedgerRow]:
        """Rows to send now, in sheet order: pending and deferred, plus failed
        and unknown on request.  Rows no longer in the sheet, and rows of
        suppressed addresses, are never due."""
        where, params = _due_where(campaign_id, kind, due_statuses(retry_failed, resend_unknown))
        sql = f"SELECT * FROM messages WHERE {where} ORDER BY seq, address_key"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        with self.read() as db:
            return [_row(r) for r in db.execute(sql, params).fetchall()]

    def due_pages(
        self,
        campaign_id: str,
        kind: str,
        *,
        retry_failed: bool = False,
        resend_unknown: bool = False,
        page: int = 1000,
        after: int = -1,
    ) -> Iterator[LedgerRow]:
        """The rows ``due`` returns, in the same order, read ``page`` rows at a
        time so that 100,000 recipients are never 100,000 ``LedgerRow``s in
        memory at once (about 150 MB); only those whose seq is above ``after``."""
        statuses = due_statuses(retry_failed, resend_unknown)
        return (_row(r) for r in self._due_paged(campaign_id, kind, statuses, "*", page, after))

    def due_addresses(
        self, campaign_id: str, kind: str, *, retry_failed: bool = False, resend_unknown: bool = False, page: int = 1000
    ) -> Iterator[str]:
        """The addresses of ``due_pages``, cheaply (for counting what a run will send)."""
        statuses = due_statuses(retry_failed, resend_unknown)
        return (r["address"] for r in self._due_paged(campaign_id, kind, statuses, "seq, address", page))

    def _due_paged(
        self, campaign_id: str, kind: str, statuses: Sequence[str], columns: str, page: int, after: int = -1
    ) -> Iterator[Any]:
        # Its own read connection: in WAL mode a reader never blocks the
        # senders' commits.  Keyset paging on seq (unique among the sheet's
        # rows): rows claimed since are behind the cursor and never come back.
        where, params = _due_where(campaign_id, kind, statuses)
        conn = self._connect()
        try:
            while True:
                rows = conn.execute(
                    f"SELECT {columns} FROM messages WHERE {where} AND seq > ? ORDER BY seq LIMIT ?",
                    (*params, after, page),
                ).fetchall()
                yield from rows
                if len(rows) < page:
                    return
                after = rows[-1]["seq"]
        except conn.errors as error:
            raise LedgerError(
                _("cannot read the due messages: {error}").format(error=_one_line(str(error))), file=self.path
            ) from error
        finally:
            conn.close()

    def claim(
        self,
        campaign_id: str,
        kind: str,
        address: str,
        from_statuses: Iterable[str],
        *,
        sender: str | None = None,
        account: str | None = None,
        daily_quota: int | None = None,
    ) -> bool:
        """Atomically mark one row ``sending`` if it is still in one of
        ``from_statuses``; committed before any byte of DATA goes out.
        False means another sender (or an earlier step) got there first, or
        the address was suppressed since the row was read.

        The row records who claimed it (``sender``, a lease token) and the
        relay ``account`` it goes to.  With a ``daily_quota`` the account's
        messages of the rolling 24 hours, every sender's, are counted in the
        same transaction, after the account's row is locked, so senders
        sharing it never overshoot: ``QuotaUsedUp`` when it is full."""
        statuses = list(from_statuses)
        if not statuses or "sending" in statuses:
            raise ValueError("claim needs from_statuses, excluding 'sending'")
        now = self.now()
        marks = ",".join("?" * len(statuses))
        # A conditional UPDATE is atomic on both databases: of two senders, the
        # second finds the row 'sending' (PostgreSQL re-checks the WHERE after
        # waiting for the first's row lock) and claims nothing.
        with self.transaction(exclusive=False) as db:
            if account is not None and daily_quota is not None:
                # The account's row first: of two senders claiming for it, the
                # second waits here for the first's commit, then counts it.
                db.execute(
                    "INSERT INTO relay_accounts (account, claims) VALUES (?, 1)"
                    " ON CONFLICT (account) DO UPDATE SET claims = relay_accounts.claims + 1",
                    (account,),
                )
                since = utc_iso(self.clock() - QUOTA_WINDOW)
                if self._quota_used(db, since, account) >= daily_quota:
                    raise QuotaUsedUp(account, daily_quota)
            cur = db.execute(
                "UPDATE messages SET status = 'sending', attempts = attempts + 1, sender = ?, account = ?,"
                " first_attempt_at = coalesce(first_attempt_at, ?), last_attempt_at = ?, updated_at = ?"
                f" WHERE campaign_id = ? AND kind = ? AND address_key = ? AND status IN ({marks})"
                " AND address_key NOT IN (SELECT address_key FROM suppressions)",
                (sender, account, now, now, now, campaign_id, kind, address.strip().lower(), *statuses),
            )
            return cur.rowcount == 1

    @staticmethod
    def _quota_used(db: Db, since: str, account: str | None) -> int:
        """What ``sent_since`` counts, plus the rows in flight (``sending``): they may go out any moment."""
        mine, params = _of_account(account)
        count: int = db.execute(
            f"SELECT count(*) FROM messages WHERE {_QUOTA_ROWS}{mine}", (since, since, *params)
        ).fetchone()[0]
        return count

    def claim_next(
        self, campaign_id: str, kind: str, from_statuses: Iterable[str], *, limit: int = 1, sender: str | None = None
    ) -> list[LedgerRow]:
        """Claim the next ``limit`` due rows (sheet order) in one statement;
        returns them as they are now (``sending``), in sheet order.

        For several senders draining one campaign: on PostgreSQL the rows are
        picked with ``FOR UPDATE SKIP LOCKED``, so each sender takes different
        rows without waiting for the others; on SQLite the write lock
        serialises the claims."""
        statuses = list(from_statuses)
        if not statuses or "sending" in statuses:
            raise ValueError("claim_next needs from_statuses, excluding 'sending'")
        now = self.now()
        where, params = _due_where(campaign_id, kind, statuses)
        with self.transaction(exclusive=False) as db:
            rows = db.execute(
                "UPDATE messages SET status = 'sending', attempts = attempts + 1, sender = ?,"
                " first_attempt_at = coalesce(first_attempt_at, ?), last_attempt_at = ?, updated_at = ?"
                f" WHERE id IN (SELECT id FROM messages WHERE {where} ORDER BY seq LIMIT ?{db.skip_locked})"
                " RETURNING *",
                (sender, now, now, now, *params, limit),
            ).fetchall()
        return sorted((_row(r) for r in rows), key=lambda r: r.seq or 0)

    def hold(self, campaign_id: str, kind: str, addresses: Sequence[str]) -> set[str]:
        """Mark the ``pending`` rows of ``addresses`` as held by this boot of the
        machine, in one durable commit; the address keys held.

        A held row is claimed by ``start`` (``pending`` → ``sending``, a commit
        without a flush of its own) right before its DATA, so a run flushes
        once per ``hold``, not once per message.  A run that ends clears the
        marks of the rows it never started (``release_held``); after a crash,
        ``recover_interrupted`` clears them when the machine has not restarted
        since (the operating system kept every start written before the
        crash, so a row still ``pending`` was never started) and turns those
        rows ``unknown`` when it has (a power cut may have lost a start).
        """
        boot = boot_id()
        if boot is None or not addresses:
            return set()
        now = self.now()
        held: set[str] = set()
        with self.transaction() as db:
            for key in dict.fromkeys(a.strip().lower() for a in addresses):
                cur = db.execute(
                    "UPDATE messages SET held = ?, updated_at = ?"
                    " WHERE campaign_id = ? AND kind = ? AND address_key = ? AND status = 'pending'"
                    " AND address_key NOT IN (SELECT address_key FROM suppressions)",
                    (boot, now, campaign_id, kind, key),
                )
                if cur.rowcount == 1:
                    held.add(key)
        return held

    def start(
        self, campaign_id: str, kind: str, address: str, *, sender: str | None = None, account: str | None = None
    ) -> bool:
        """``claim`` for a held row, right before its DATA: ``sending``, without a flush
        (the ``hold`` was flushed); like ``claim`` it records the sender and account.

        False if it is not held any more (released), not ``pending`` (another
        run took it) or the address was suppressed since: then nothing may be sent.
        Holding is for a SQLite sent log without a daily quota (``run.hold_ahead``):
        on PostgreSQL every commit is the server's, and a quota is counted at ``claim``."""
        now = self.now()
        with self.transaction(durable=False) as db:
            cur = db.execute(
                "UPDATE messages SET status = 'sending', held = NULL, attempts = attempts + 1, sender = ?, account = ?,"
                " first_attempt_at = coalesce(first_attempt_at, ?), last_attempt_at = ?, updated_at = ?"
                " WHERE campaign_id = ? AND kind = ? AND address_key = ? AND status = 'pending' AND held = ?"
                " AND address_key NOT IN (SELECT address_key FROM suppressions)",
                (sender, account, now, now, now, campaign_id, kind, address.strip().lower(), boot_id() or ""),
            )
            return cur.rowcount == 1

    def release_held(self, campaign_id: str, kind: str) -> int:
        """At the end of a run: the marks of the held rows it never started (still ``pending``)."""
        with self.transaction() as db:
            cur = db.execute(
                "UPDATE messages SET held = NULL WHERE campaign_id = ? AND kind = ? AND held IS NOT NULL",
                (campaign_id, kind),
            )
            return cur.rowcount

    def record(
        self,
        campaign_id: str,
        kind: str,
        address: str,
        status: str,
        code: int | None = None,
        enhanced: str | None = None,
        reply: str | None = None,
    ) -> None:
        """Store the outcome of a claimed row (must be ``sending``), committed."""
        if status not in RECORDABLE:
            raise ValueError(f"cannot record status {status!r}")
        now = self.now()
        # Not fsync'd on its own (synchronous=NORMAL for this commit): lost in a
        # power cut, the row stays 'sending' and comes back 'unknown', never
        # resent unasked.  The next durable commit (a claim) syncs it anyway.
        with self.transaction(exclusive=False, durable=False) as db:
            cur = db.execute(
                "UPDATE messages SET status = ?, last_code = ?, last_enhanced = ?, last_reply = ?,"
                " sent_at = CASE WHEN ? = 'sent' THEN ? ELSE sent_at END, updated_at = ?"
                " WHERE campaign_id = ? AND kind = ? AND address_key = ? AND status = 'sending'",
                (
                    status,
                    code,
                    enhanced,
                    _one_line(reply),
                    status,
                    now,
                    now,
                    campaign_id,
                    kind,
                    address.strip().lower(),
                ),
            )
            if cur.rowcount != 1:
                raise LedgerError(
                    _(
                        "campaign {campaign_id} {kind}: {address} was not being sent; outcome {status} not recorded"
                    ).format(campaign_id=quoted(campaign_id), kind=kind, address=address, status=quoted(status)),
                    file=self.path,
                )

    # -- suppressions and bounces ------------------------------------------

    def suppress(self, address: str, reason: str = "", source: str = "manual") -> bool:
        """Put ``address`` on the organisation-wide suppression list.

        Its rows in every campaign that were not (being) delivered become
        ``suppressed`` at once.  True when the address is new on the list; an
        address already there keeps its first reason, source and time.
        """
        if source not in SUPPRESSION_SOURCES:
            raise ValueError(f"suppression source must be one of {', '.join(SUPPRESSION_SOURCES)}")
        key = _suppression_key(address)
        now = self.now()
        with self.transaction() as db:
            cur = db.execute(
                "INSERT INTO suppressions (address_key, address, reason, source, created_at)"
                " VALUES (?,?,?,?,?) ON CONFLICT DO NOTHING",
                (key, address.strip(), _one_line(reason) or "", source, now),
            )
            self._apply_suppressions(db, now, "address_key = ?", (key,))
        return cur.rowcount == 1

    def unsuppress(self, address: str) -> bool:
        """Take ``address`` off the list; its ``suppressed`` rows get back the
        status they had.  False when it was not on the list."""
        key = _suppression_key(address)
        now = self.now()
        with self.transaction() as db:
            cur = db.execute("DELETE FROM suppressions WHERE address_key = ?", (key,))
            db.execute(
                "UPDATE messages SET status = coalesce(suppressed_from, 'pending'), suppressed_from = NULL,"
                " updated_at = ? WHERE address_key = ? AND status = 'suppressed'",
                (now, key),
            )
        return cur.rowcount == 1

    def suppressions(self, source: str | None = None) -> list[Suppression]:
        """The suppression list (optionally of one source), oldest first."""
        where, params = ("WHERE source = ?", (source,)) if source is not None else ("", ())
        with self.read() as db:
            cur = db.execute(f"SELECT * FROM suppressions {where} ORDER BY created_at, address_key", params)
            return [Suppression(**{k: r[k] for k in Suppression.__dataclass_fields__}) for r in cur.fetchall()]

    def suppression(self, address: str) -> Suppression | None:
        with self.read() as db:
            r = db.execute("SELECT * FROM suppressions WHERE address_key = ?", (_suppression_key(address),)).fetchone()
        return Suppression(**{k: r[k] for k in Suppression.__dataclass_fields__}) if r else None

    def is_suppressed(self, address: str) -> bool:
        return self.suppression(address) is not None

    def by_message_id(self, message_id: str) -> LedgerRow | None:
        """The row that was sent with ``message_id`` (with or without <>)."""
        mid = _angled(message_id)
        if not mid:
            return None
        with self.read() as db:
            r = db.execute(
                "SELECT * FROM messages WHERE message_id IN (?, ?) ORDER BY id LIMIT 1", (mid, mid.lower())
            ).fetchone()
        return _row(r) if r else None

    def rows_for_address(self, address: str) -> list[LedgerRow]:
        """Every row of ``address`` in every campaign, latest activity first."""
        with self.read() as db:
            cur = db.execute(
                "SELECT * FROM messages WHERE address_key = ?"
                " ORDER BY coalesce(sent_at, last_attempt_at, updated_at) DESC, id DESC",
                (address.strip().lower(),),
            )
            return [_row(r) for r in cur.fetchall()]

    def mark_bounced(
        self,
        *,
        message_id: str | None = None,
        address: str | None = None,
        reason: str,
        code: int | None = None,
        enhanced: str | None = None,
    ) -> LedgerRow | None:
        """Record a permanent delivery failure reported after the server took the message.

        The row is found by ``message_id`` first (ours are unique per campaign,
        kind and address), else by ``address``: its latest ``sent`` or
        ``unknown`` row across all campaigns (a ``failed`` one if that is all
        there is).  A ``sent``/``unknown``/``failed`` row, or one that was so
        before its address was suppressed, becomes ``failed`` with the reason
        (a later ``sync`` makes it ``suppressed`` again); ``sent_at`` stays,
        the server did take it.  Other rows are left as they are.  Returns
        the row as it is now, or None when no row matches.
        """
        with self.transaction() as db:
            r = None
            mid = _angled(message_id)
            if mid:
                r = db.execute(
                    "SELECT * FROM messages WHERE message_id IN (?, ?) ORDER BY id LIMIT 1", (mid, mid.lower())
                ).fetchone()
            if r is None and address and address.strip():
                r = db.execute(
                    f"SELECT * FROM messages WHERE address_key = ? AND {_BOUNCEABLE_SQL}"
                    " ORDER BY coalesce(suppressed_from, status) = 'failed',"
                    " coalesce(sent_at, last_attempt_at) DESC, id DESC LIMIT 1",
                    (address.strip().lower(),),
                ).fetchone()
            if r is None:
                return None
            db.execute(
                "UPDATE messages SET status = 'failed', suppressed_from = NULL, last_code = ?, last_enhanced = ?,"
                f" last_reply = ?, updated_at = ? WHERE id = ? AND {_BOUNCEABLE_SQL}",
                (code, enhanced, _one_line(reason), self.now(), r["id"]),
            )
            r = db.execute("SELECT * FROM messages WHERE id = ?", (r["id"],)).fetchone()
        return _row(r)

    # -- reading ------------------------------------------------------------

    def get(self, campaign_id: str, kind: str, address: str) -> LedgerRow | None:
        with self.read() as db:
            r = db.execute(
                "SELECT * FROM messages WHERE campaign_id = ? AND kind = ? AND address_key = ?",
                (campaign_id, kind, address.strip().lower()),
            ).fetchone()
        return _row(r) if r else None

    def counts(self, campaign_id: str, kind: str) -> dict[str, int]:
        """Rows by status (every status present, zero when none)."""
        result = dict.fromkeys(STATUSES, 0)
        with self.read() as db:
            cur = db.execute(
                "SELECT status, count(*) FROM messages WHERE campaign_id = ? AND kind = ? GROUP BY status",
                (campaign_id, kind),
            )
            result.update(dict(cur.fetchall()))
        return result

    def sent_since(self, since: datetime, account: str | None = None) -> int:
        """Messages handed to the server since ``since`` (UTC), all campaigns
        and all senders; with ``account``, only that relay account's (and
        those sent before accounts were recorded).

        For daily quotas.  ``unknown`` and ``sending`` rows count too: the
        server may well have taken them, and a quota is better undershot
        than overshot.
        """
        with self.read() as db:
            return self._quota_used(db, utc_iso(since), account)

    def first_sent_since(self, since: datetime, account: str | None = None) -> datetime | None:
        """The oldest of the messages ``sent_since`` counts: when the rolling quota frees its first slot."""
        stamp = utc_iso(since)
        mine, params = _of_account(account)
        with self.read() as db:
            first = db.execute(
                "SELECT min(CASE WHEN sent_at >= ? THEN sent_at ELSE last_attempt_at END) FROM messages"
                f" WHERE {_QUOTA_ROWS}{mine}",
                (stamp, stamp, stamp, *params),
            ).fetchone()[0]
        return datetime.fromisoformat(first.replace("Z", "+00:00")) if first else None

    def unowned_in_flight(self, campaign_id: str, kind: str) -> int:
        """``sending`` rows claimed with no sender recorded (before migration 7)."""
        with self.read() as db:
            count: int = db.execute(
                "SELECT count(*) FROM messages WHERE campaign_id = ? AND kind = ? AND status = 'sending'"
                " AND sender IS NULL",
                (campaign_id, kind),
            ).fetchone()[0]
        return count

    def sent_addresses(self, campaign_id: str, kind: str) -> set[str]:
        """The lower-cased addresses a campaign kind was sent to."""
        with self.read() as db:
            cur = db.execute(
                "SELECT address FROM messages WHERE campaign_id = ? AND kind = ? AND status = 'sent'",
                (campaign_id, kind),
            )
            return {r["address"].lower() for r in cur.fetchall()}

    def campaign_kinds(self) -> list[tuple[str, str]]:
        """Every (campaign_id, kind) the ledger knows, for ``status``."""
        with self.read() as db:
            cur = db.execute("SELECT DISTINCT campaign_id, kind FROM messages ORDER BY campaign_id, kind")
            return [(r[0], r[1]) for r in cur.fetchall()]

    def addresses_in(self, campaign_id: str, kind: str, statuses: Sequence[str]) -> dict[str, list[str]]:
        """The addresses of one campaign kind's rows in ``statuses``, by status, in ``rows`` order
        (not every row of a 100,000-row campaign as objects, as ``rows`` would be)."""
        marks = ",".join("?" * len(statuses))
        sql = f"SELECT status, address FROM messages WHERE campaign_id = ? AND kind = ? AND status IN ({marks})"
        sql += " ORDER BY seq IS NULL, seq, address_key"
        found: dict[str, list[str]] = {}
        with self.read() as db:
            for row in db.execute(sql, (campaign_id, kind, *statuses)):
                found.setdefault(row["status"], []).append(row["address"])
        return found

    def rows(self, campaign_id: str | None = None, kind: str | None = None) -> list[LedgerRow]:
        """Every row (optionally of one campaign / kind), for status and export."""
        terms = [
            (column, value) for column, value in (("campaign_id", campaign_id), ("kind", kind)) if value is not None
        ]
        sql = "SELECT * FROM messages WHERE 1 = 1" + "".join(f" AND {column} = ?" for column, _v in terms)
        sql += " ORDER BY campaign_id, kind, seq IS NULL, seq, address_key"
        with self.read() as db:
            cur = db.execute(sql, [value for _c, value in terms])
            return [_row(r) for r in cur.fetchall()]


# -- sync, a page of sheet rows at a time -------------------------------------

SYNC_PAGE = 1000  # sheet rows written together by ``Ledger.sync``
# A page of sheet rows, joined against ``messages``, and every address of the
# sheet so far (SQLite DDL, see ``Db.ddl``).
_SYNC_TABLES = (
    "CREATE TEMP TABLE sync_page (pos INTEGER PRIMARY KEY, address_key TEXT NOT NULL UNIQUE, address TEXT NOT NULL,"
    " status TEXT NOT NULL, seq INTEGER NOT NULL, municipalities TEXT NOT NULL, county TEXT, message_id TEXT,"
    " last_reply TEXT)",
    "CREATE TEMP TABLE sync_seen (address_key TEXT PRIMARY KEY)",
)
# A page row's first status: 'suppressed' for an address on the suppression list.
_FIRST = "CASE WHEN s.address_key IS NULL THEN p.status ELSE 'suppressed' END"
_PAGE_JOIN = "sync_page p LEFT JOIN suppressions s ON s.address_key = p.address_key"
# The rows of the page's addresses.  Not a join (UPDATE … FROM): SQLite would
# then scan the whole campaign for each page, rather than look up each address.
_IN_PAGE = "campaign_id = ? AND kind = ? AND address_key IN (SELECT address_key FROM sync_page)"
_ABSENT = (
    "NOT EXISTS (SELECT 1 FROM messages m WHERE m.campaign_id = ? AND m.kind = ? AND m.address_key = p.address_key)"
)


def _sync_pages(entries: Iterable[Entry]) -> Iterator[list[tuple[object, ...]]]:
    """The entries as ``sync_page`` rows, ``SYNC_PAGE`` at a time, in sheet order.

    An address the page already holds starts the next page: its second row
    then finds the first one in the ledger, as it did row by row."""
    page: list[tuple[object, ...]] = []
    keys: set[str] = set()
    for e in entries:
        key = address_key(e.address, e.seq)
        if len(page) == SYNC_PAGE or key in keys:
            yield page
            page, keys = [], set()
        keys.add(key)
        munis = json.dumps(list(e.municipalities), ensure_ascii=False)
        status = "invalid" if e.invalid_reason else "pending"
        reason = _one_line(e.invalid_reason)
        page.append((len(page), key, e.address.strip(), status, e.seq, munis, e.county, e.message_id, reason))
    if page:
        yield page


def _sync_page(
    db: Db, campaign_id: str, kind: str, page: list[tuple[object, ...]], now: str, new: dict[str, int]
) -> int:
    """Write one page of ``Ledger.sync``: add its new rows (counted into
    ``new`` by first status), refresh the others; returns how many rows
    nothing was attempted for took the sheet's changed values."""
    # PostgreSQL keeps deleted rows until a vacuum, which never comes within the transaction.
    db.execute("TRUNCATE sync_page" if db.dialect == POSTGRESQL else "DELETE FROM sync_page")
    db.executemany(
        "INSERT INTO sync_page (pos, address_key, address, status, seq, municipalities, county, message_id,"
        " last_reply) VALUES (?,?,?,?,?,?,?,?,?)",
        page,
    )
    for first, n in db.execute(
        f"SELECT {_FIRST}, count(*) FROM {_PAGE_JOIN} WHERE {_ABSENT} GROUP BY 1", (campaign_id, kind)
    ):
        new[first] = new.get(first, 0) + n
    db.execute(
        "INSERT INTO messages (campaign_id, kind, address, address_key, status, suppressed_from, seq,"
        " municipalities, county, message_id, last_reply, created_at, updated_at)"
        f" SELECT ?, ?, p.address, p.address_key, {_FIRST},"
        " CASE WHEN s.address_key IS NULL THEN NULL ELSE p.status END,"
        f" p.seq, p.municipalities, p.county, p.message_id, p.last_reply, ?, ? FROM {_PAGE_JOIN}"
        " WHERE true ORDER BY p.pos ON CONFLICT DO NOTHING",  # WHERE: SQLite's upsert after a join needs one
        (campaign_id, kind, now, now),
    )
    db.execute(
        "UPDATE messages SET seq = (SELECT p.seq FROM sync_page p WHERE p.address_key = messages.address_key)"
        f" WHERE {_IN_PAGE} AND seq IS DISTINCT FROM"
        " (SELECT p.seq FROM sync_page p WHERE p.address_key = messages.address_key)",
        (campaign_id, kind),
    )
    db.execute("INSERT INTO sync_seen SELECT address_key FROM sync_page WHERE true ON CONFLICT DO NOTHING")
    # Rows just added match their page row, so only rows present before can change here.
    return db.execute(
        "UPDATE messages SET (status, municipalities, county, last_reply) = (SELECT p.status, p.municipalities,"
        " p.county, p.last_reply FROM sync_page p WHERE p.address_key = messages.address_key), updated_at = ?"
        f" WHERE {_IN_PAGE} AND EXISTS (SELECT 1 FROM sync_page p WHERE p.address_key = messages.address_key"
        # In here, not beside _IN_PAGE, where SQLite would look the rows up by status (messages_due).
        " AND messages.status IN ('pending', 'invalid') AND messages.attempts = 0"
        " AND (messages.status != p.status OR messages.municipalities != p.municipalities"
        " OR messages.county IS DISTINCT FROM p.county))",
        (now, campaign_id, kind),
    ).rowcount


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
            for sql in statements:
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


def _open_db(target: Target, password: str | None) -> Db:
    if isinstance(target, str) and is_url(target):
        return PgDb(target, password)
    return SqliteDb(Path(target))


@functools.cache
def boot_id() -> str | None:
    """This start of the machine (Linux: the kernel's boot id; elsewhere the boot
    time to 10 s); None if unknown, and then nothing is claimed ahead."""
    try:
        return "linux:" + Path("/proc/sys/kernel/random/boot_id").read_text(encoding="utf-8").strip()
    except OSError:
        pass
    try:
        import psutil  # noqa: PLC0415 - only where Linux's boot id is missing (Windows, macOS)

        return f"boot:{round(psutil.boot_time() / 10)}"
    except Exception:  # no boot time: claim one message at a time, as before
        return None


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
