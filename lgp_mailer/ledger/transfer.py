"""``lgp-mailer ledger migrate --to postgresql://…``: copy a SQLite sent log into PostgreSQL, then verify.

Every table the SQLite file holds is copied (whatever the migrations made, the
ones added after this module was written too), parents before children, all in
one PostgreSQL transaction: a failure leaves the target as it was.  The target
must be a ledger with no rows yet, migrated to the same schema.  Then each table
is read back from both sides and compared: the row count and a SHA-256 over the
rows in a fixed order.  Every difference is one line in ``Verification.problems``.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lgp_mailer.errors import LedgerError
from lgp_mailer.i18n import _, ngettext
from lgp_mailer.ledger.backend import SQLITE, Target, is_url
from lgp_mailer.ledger.runlock import lease_is_stale
from lgp_mailer.ledger.store import Ledger, open_ledger
from lgp_mailer.quoting import quoted

BATCH = 1000


@dataclass(frozen=True)
class TableCheck:
    table: str
    source_rows: int
    target_rows: int
    source_sha256: str
    target_sha256: str

    @property
    def ok(self) -> bool:
        return self.source_rows == self.target_rows and self.source_sha256 == self.target_sha256


@dataclass(frozen=True)
class Verification:
    tables: list[TableCheck]
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def tables(source: Ledger) -> list[str]:
    """The SQLite ledger's tables (not the migrations record), parents before children."""
    with source.read() as db:
        names = [
            r[0]
            for r in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
                " AND name != 'migrations' ORDER BY name"
            ).fetchall()
        ]
        parents = {name: {r["table"] for r in db.execute(f'PRAGMA foreign_key_list("{name}")')} for name in names}
    ordered: list[str] = []
    while len(ordered) < len(names):
        ready = [n for n in names if n not in ordered and parents[n] <= {*ordered, n}]
        if not ready:  # a cycle: cannot happen with this schema; copy the rest as they come
            ready = [n for n in names if n not in ordered]
        ordered.extend(ready)
    return ordered


def columns(source: Ledger, table: str) -> list[str]:
    with source.read() as db:
        return [r["name"] for r in db.execute(f'PRAGMA table_info("{table}")')]


def _migrations(ledger: Ledger) -> list[int]:
    return [number for number, _name, _at in ledger.applied_migrations()]


def copy_ledger(source: Ledger, target: Ledger) -> dict[str, int]:
    """Copy every row of ``source`` (SQLite) into ``target`` (an empty, migrated ledger); rows per table."""
    if source.dialect != SQLITE:
        raise LedgerError(_("the sent log to copy from must be a SQLite file"), file=source.path)
    if _migrations(source) != _migrations(target):
        raise LedgerError(
            _(
                "the two sent logs are at different schema versions ({source} and {target}): "
                "open both with this version first"
            ).format(source=max(_migrations(source), default=0), target=max(_migrations(target), default=0)),
            file=target.path,
        )
    names = tables(source)
    copied: dict[str, int] = {}
    with target.transaction() as out:
        for table in names:
            found = out.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
            if found:
                raise LedgerError(
                    ngettext(
                        "the target sent log is not empty: table {table} has {n} row; nothing was copied",
                        "the target sent log is not empty: table {table} has {n} rows; nothing was copied",
                        found,
                    ).format(table=table, n=found),
                    file=target.path,
                )
        for table in names:
            cols = columns(source, table)
            names_sql = ", ".join(f'"{c}"' for c in cols)
            insert = f'INSERT INTO "{table}" ({names_sql}) VALUES ({", ".join("?" * len(cols))})'
            copied[table] = 0
            for batch in _batches(source, f'SELECT {names_sql} FROM "{table}"'):
                out.executemany(insert, batch)
                copied[table] += len(batch)
            if "id" in cols:
                out.reset_ids(table)
    return copied


def _batches(source: Ledger, sql: str) -> Any:
    with source.read() as db:
        rows = db.tuples(sql)
    for start in range(0, len(rows), BATCH):
        yield rows[start : start + BATCH]


def _digest(rows: Sequence[tuple[Any, ...]]) -> str:
    """Order-free: the rows' JSON texts, sorted, hashed."""
    digest = hashlib.sha256()
    for text in sorted(json.dumps(list(r), ensure_ascii=False) for r in rows):
        digest.update(text.encode("utf-8") + b"\n")
    return digest.hexdigest()


def verify(source: Ledger, target: Ledger) -> Verification:
    """Compare every table of ``source`` with ``target``: counts and checksums, one line per difference."""
    checks: list[TableCheck] = []
    problems: list[str] = []
    for table in tables(source):
        cols = ", ".join(f'"{c}"' for c in columns(source, table))
        with source.read() as db:
            mine = db.tuples(f'SELECT {cols} FROM "{table}"')
        try:
            with target.read() as db:
                theirs = db.tuples(f'SELECT {cols} FROM "{table}"')
        except LedgerError as error:
            problems.append(_("{table}: cannot read it in the target: {error}").format(table=table, error=error))
            continue
        check = TableCheck(table, len(mine), len(theirs), _digest(mine), _digest(theirs))
        checks.append(check)
        if check.source_rows != check.target_rows:
            problems.append(
                ngettext(
                    "{table}: {source} row in the SQLite sent log, {target} in PostgreSQL",
                    "{table}: {source} rows in the SQLite sent log, {target} in PostgreSQL",
                    check.source_rows,
                ).format(table=table, source=check.source_rows, target=check.target_rows)
            )
        elif check.source_sha256 != check.target_sha256:
            problems.append(
                _("{table}: same number of rows ({n}) but different contents (SHA-256 {source} vs {target})").format(
                    table=table, n=check.source_rows, source=check.source_sha256[:12], target=check.target_sha256[:12]
                )
            )
    return Verification(checks, problems)


def refuse_live_senders(source: Ledger) -> None:
    """LedgerError while a run sends from ``source``: it goes on writing there after
    the copy, and the PostgreSQL sent log, still showing those rows due, would send
    them again.  A dead run's lease is copied (the first sender there takes it over)."""
    with source.read() as db:
        leases = [dict(row) for row in db.execute("SELECT * FROM run_locks ORDER BY acquired_at, token").fetchall()]
    for lease in leases:
        if not lease_is_stale(lease, source.clock()):
            raise LedgerError(
                _(
                    "campaign {campaign_id} is being sent from this sent log by {holder} (host {host}, pid {pid}):"
                    " migrate when that run has ended, or the letters it sends meanwhile would go again from"
                    " PostgreSQL; nothing was copied"
                ).format(
                    campaign_id=quoted(str(lease["campaign_id"])),
                    holder=lease["holder"],
                    host=lease["hostname"],
                    pid=lease["pid"],
                ),
                file=source.path,
            )


def migrate_ledger(
    source: Target, url: str, *, env: Mapping[str, str] = os.environ, password_command: str | None = None
) -> tuple[dict[str, int], Verification]:
    """Copy the SQLite sent log ``source`` into the PostgreSQL database at ``url``, then verify both."""
    if not is_url(url):
        raise LedgerError(_("--to must be a postgresql:// URL, not {to}").format(to=quoted(url)))
    if not isinstance(source, Path):
        raise LedgerError(_("the sent log to copy from must be a SQLite file, not a URL"))
    if not source.is_file():
        raise LedgerError(_("no SQLite sent log here"), file=source)
    with open_ledger(source) as old, open_ledger(url, env=env, password_command=password_command) as new:
        refuse_live_senders(old)
        copied = copy_ledger(old, new)
        return copied, verify(old, new)


__all__ = ["TableCheck", "Verification", "copy_ledger", "migrate_ledger", "refuse_live_senders", "tables", "verify"]
