"""``Ledger.sync``: the recipients of the sheet into the sent log, a page of rows at a time."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

from lgp_mailer.ledger.backend import POSTGRESQL, Db
from lgp_mailer.ledger.bounces import Bounces
from lgp_mailer.ledger.connection import LedgerConnection
from lgp_mailer.ledger.rows import Entry, SyncResult, _one_line, address_key


class Sync(LedgerConnection):
    """The sheet sync of ``store.Ledger``."""

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
            for page in _sync_pages(entries, SYNC_PAGE):
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
            suppressed += Bounces._apply_suppressions(db, now, "campaign_id = ? AND kind = ?", (campaign_id, kind))
            absent = db.execute(
                "SELECT count(*) FROM messages WHERE campaign_id = ? AND kind = ? AND seq IS NULL",
                (campaign_id, kind),
            ).fetchone()[0]
        return SyncResult(new.get("pending", 0), new.get("invalid", 0), refreshed, absent, suppressed)


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


def _sync_pages(entries: Iterable[Entry], size: int) -> Iterator[list[tuple[object, ...]]]:
    """The entries as ``sync_page`` rows, ``SYNC_PAGE`` at a time, in sheet order.

    An address the page already holds starts the next page: its second row
    then finds the first one in the ledger, as it did row by row."""
    page: list[tuple[object, ...]] = []
    keys: set[str] = set()
    for e in entries:
        key = address_key(e.address, e.seq)
        if len(page) == size or key in keys:
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
