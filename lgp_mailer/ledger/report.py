"""The committee report's raw material from the sent log, as plain rows (no pandas here).

``campaign.report`` builds its tables from these rows; every SQL statement of
the report lives here, because ``ledger/`` is the only owner of SQL.
"""

from __future__ import annotations

from lgp_mailer.ledger.attendance import current_import, sessions
from lgp_mailer.ledger.store import Ledger
from lgp_mailer.sheets.attendance import Session

# The columns of :func:`message_rows`, in order.
MESSAGE_COLUMNS = ("campaign_id", "kind", "address_key", "status", "municipalities", "county", "sent_at", "bounced")


def campaign_ids(ledger: Ledger) -> list[str]:
    """Every campaign with an invitation row, in the order its first letter went out."""
    with ledger.read() as db:
        cur = db.execute(
            "SELECT campaign_id FROM messages WHERE kind = 'invitation' GROUP BY campaign_id"
            " ORDER BY min(coalesce(sent_at, created_at)), campaign_id"
        )
        return [r[0] for r in cur.fetchall()]


def message_rows(ledger: Ledger, campaign_ids: list[str]) -> list[tuple[str, ...]]:
    """One tuple per ledger row of the campaigns (columns: :data:`MESSAGE_COLUMNS`), all text.

    ``bounced`` is '1' when the address is suppressed because of a bounce or
    the row failed after the server took it (``mark_bounced`` keeps sent_at).
    """
    if not campaign_ids:
        return []
    marks = ",".join("?" * len(campaign_ids))
    sql = (
        "SELECT m.campaign_id, m.kind, m.address_key, m.status, m.municipalities, coalesce(m.county, ''),"
        " coalesce(m.sent_at, ''),"
        " CASE WHEN s.source = 'bounce' OR (m.status = 'failed' AND m.sent_at IS NOT NULL) THEN '1' ELSE '0' END"
        " FROM messages m LEFT JOIN suppressions s ON s.address_key = m.address_key"
        f" WHERE m.campaign_id IN ({marks}) ORDER BY m.campaign_id, m.kind, m.address_key"
    )
    with ledger.read() as db:
        return db.tuples(sql, campaign_ids)  # plain tuples: 100,000 rows need no row objects


def current_sessions(ledger: Ledger, campaign_ids: list[str]) -> dict[str, list[Session]]:
    """Each campaign's sessions from its current attendance import (campaigns without one left out)."""
    found: dict[str, list[Session]] = {}
    for campaign_id in campaign_ids:
        stored = current_import(ledger, campaign_id)
        if stored is not None:
            found[campaign_id] = sessions(ledger, stored.id)
    return found


__all__ = ["MESSAGE_COLUMNS", "campaign_ids", "current_sessions", "message_rows"]
