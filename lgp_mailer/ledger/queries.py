"""The sent log's reads: due rows (whole or in pages), rows by campaign,
counts, the quota's counts, what a campaign kind was sent to."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from lgp_mailer.errors import LedgerError
from lgp_mailer.i18n import _
from lgp_mailer.ledger.claims import _QUOTA_ROWS, Claims, _of_account
from lgp_mailer.ledger.connection import LedgerConnection
from lgp_mailer.ledger.rows import STATUSES, LedgerRow, _due_where, _one_line, _row, due_statuses, utc_iso


class Queries(LedgerConnection):
    """The reads of ``store.Ledger``."""

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
            return Claims._quota_used(db, utc_iso(since), account)

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
