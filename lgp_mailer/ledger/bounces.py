"""The SQL of the suppression list and of bounces: ``Ledger.suppress`` and friends,
``mark_bounced`` and the rows it looks at.  (``suppression.py`` is the core of
the ``suppress`` command, on top of these.)"""

from __future__ import annotations

from collections.abc import Sequence

from lgp_mailer.ledger.backend import Db
from lgp_mailer.ledger.connection import LedgerConnection
from lgp_mailer.ledger.rows import (
    _BOUNCEABLE_SQL,
    SUPPRESSIBLE,
    SUPPRESSION_SOURCES,
    LedgerRow,
    Suppression,
    _angled,
    _one_line,
    _row,
    _suppression_key,
)


class Bounces(LedgerConnection):
    """Suppressions and bounces of ``store.Ledger``."""

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
