"""The claim protocol of the sent log (see ``store.py``): a row is claimed
``sending`` before its DATA and its outcome recorded after; ``hold`` and
``start`` claim ahead with one flush per batch; ``recover_interrupted`` turns
what a crash left ``sending`` into ``unknown``.  Also the daily quota's
count (``QUOTA_WINDOW``, ``QuotaUsedUp``)."""

from __future__ import annotations

import functools
import os
import socket
from collections.abc import Iterable, Sequence
from datetime import timedelta
from pathlib import Path

from lgp_mailer.errors import LedgerError
from lgp_mailer.i18n import _
from lgp_mailer.ledger.backend import Db
from lgp_mailer.ledger.connection import LedgerConnection
from lgp_mailer.ledger.rows import RECORDABLE, LedgerRow, _due_where, _one_line, _row, utc_iso
from lgp_mailer.quoting import quoted

QUOTA_WINDOW = timedelta(days=1)  # a daily quota is a rolling 24 hours
HOLD_PAGE = 500  # addresses per statement of ``hold`` (well under SQLite's limit of bound values)
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


class Claims(LedgerConnection):
    """The claim protocol of ``store.Ledger``."""

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
        keys = list(dict.fromkeys(a.strip().lower() for a in addresses))
        held: set[str] = set()
        # One statement per HOLD_PAGE rows, not one per row: the senders wait for this commit.
        # "status || ''" keeps SQLite's planner off messages_due (campaign_id, kind, status): with
        # it, each hold walked every pending row, 100,000 at the start of a national campaign;
        # the unique (campaign_id, kind, address_key) index finds the page's rows directly.
        with self.transaction() as db:
            for start in range(0, len(keys), HOLD_PAGE):
                page = keys[start : start + HOLD_PAGE]
                rows = db.execute(
                    "UPDATE messages SET held = ?, updated_at = ?"
                    f" WHERE campaign_id = ? AND kind = ? AND address_key IN ({','.join('?' * len(page))})"
                    " AND status || '' = 'pending' AND address_key NOT IN (SELECT address_key FROM suppressions)"
                    " RETURNING address_key",
                    (boot, now, campaign_id, kind, *page),
                ).fetchall()
                held.update(r[0] for r in rows)
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
            return self._start(db, now, campaign_id, kind, address, sender, account)

    @staticmethod
    def _start(
        db: Db, now: str, campaign_id: str, kind: str, address: str, sender: str | None, account: str | None
    ) -> bool:
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
            self._record(db, now, campaign_id, kind, address, status, code, enhanced, reply)

    def reopen_failed(self, campaign_id: str, kind: str, addresses: Iterable[str]) -> int:
        """Rows recorded ``failed`` back to ``deferred`` (due again, with their reply): refusals that
        the run found were about the relay, not about these addresses.  Returns how many changed."""
        now = self.now()
        changed = 0
        with self.transaction() as db:
            for address in addresses:
                cur = db.execute(
                    "UPDATE messages SET status = 'deferred', updated_at = ?"
                    " WHERE campaign_id = ? AND kind = ? AND address_key = ? AND status = 'failed'",
                    (now, campaign_id, kind, address.strip().lower()),
                )
                changed += cur.rowcount
        return changed

    def record_then_start(
        self,
        campaign_id: str,
        kind: str,
        address: str,
        status: str,
        code: int | None,
        enhanced: str | None,
        reply: str | None,
        following: str,
        *,
        sender: str | None = None,
        account: str | None = None,
    ) -> bool:
        """``record`` of one message and ``start`` of the held row ``following``,
        in one commit, not flushed (as neither is on its own): the send loop's
        step from a message answered to the next one at hand, one transaction
        instead of two.  A crash before the commit leaves the first ``sending``
        (then ``unknown``) and the second held, as a crash between the two
        commits would; after it, both as they would be after both commits.
        Returns ``start``'s answer; nothing is recorded if the record fails."""
        if status not in RECORDABLE:
            raise ValueError(f"cannot record status {status!r}")
        now = self.now()
        with self.transaction(exclusive=False, durable=False) as db:
            self._record(db, now, campaign_id, kind, address, status, code, enhanced, reply)
            return self._start(db, now, campaign_id, kind, following, sender, account)

    def _record(
        self,
        db: Db,
        now: str,
        campaign_id: str,
        kind: str,
        address: str,
        status: str,
        code: int | None,
        enhanced: str | None,
        reply: str | None,
    ) -> None:
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
                _("campaign {campaign_id} {kind}: {address} was not being sent; outcome {status} not recorded").format(
                    campaign_id=quoted(campaign_id), kind=kind, address=address, status=quoted(status)
                ),
                file=self.path,
            )


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
