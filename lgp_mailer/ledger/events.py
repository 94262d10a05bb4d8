"""The sent log's memory of each campaign's event: its calendar UID and the event snapshots of its runs.

Migration 4 made the tables; this module owns their SQL (as ``store`` owns the
messages').  A campaign's calendar UID is written once, at its first send, and
read back ever after: a change of sender domain or of the derivation rule can
never make calendars see a second conference.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from lgp_mailer.ledger.store import Ledger

# The snapshot's fields as stored (``campaign.changes.Snapshot.as_row`` gives them; agenda is JSON text).
SNAPSHOT_FIELDS = ("title", "date", "start", "end", "platform", "join_url", "registration_url", "agenda")


@dataclass(frozen=True)
class StoredSnapshot:
    fields: dict[str, str | None]
    kind: str
    taken_at: str
    event_path: str
    sheet_path: str | None
    sheet_rows: int | None


def calendar_uid(ledger: Ledger, campaign_id: str) -> str | None:
    """The campaign's recorded calendar UID, None before its first send."""
    with ledger.read() as db:
        row = db.execute("SELECT uid FROM campaign_calendars WHERE campaign_id = ?", (campaign_id,)).fetchone()
    return str(row["uid"]) if row else None


def record_calendar_uid(ledger: Ledger, campaign_id: str, uid: str) -> str:
    """Record ``uid`` unless the campaign has one already; return the one that stands."""
    with ledger.transaction() as db:
        db.execute(
            "INSERT INTO campaign_calendars (campaign_id, uid, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            (campaign_id, uid, ledger.now()),
        )
        row = db.execute("SELECT uid FROM campaign_calendars WHERE campaign_id = ?", (campaign_id,)).fetchone()
    return str(row["uid"])


def shared_calendar_uids(ledger: Ledger) -> dict[str, list[str]]:
    """UIDs that more than one campaign carries: uid -> the campaign ids, sorted."""
    with ledger.read() as db:
        rows = db.execute(
            "SELECT uid, campaign_id FROM campaign_calendars WHERE uid IN "
            "(SELECT uid FROM campaign_calendars GROUP BY uid HAVING count(*) > 1) ORDER BY uid, campaign_id"
        ).fetchall()
    shared: dict[str, list[str]] = {}
    for row in rows:
        shared.setdefault(str(row["uid"]), []).append(str(row["campaign_id"]))
    return shared


def record_snapshot(
    ledger: Ledger,
    campaign_id: str,
    kind: str,
    fields: Mapping[str, str | None],
    *,
    event_path: str,
    sheet_path: str | None,
    sheet_rows: int | None,
) -> None:
    with ledger.transaction() as db:
        db.execute(
            'INSERT INTO event_snapshots (campaign_id, kind, taken_at, event_path, title, date, start, "end", '
            "platform, join_url, registration_url, agenda, sheet_path, sheet_rows) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                campaign_id,
                kind,
                ledger.now(),
                event_path,
                *(fields[k] for k in SNAPSHOT_FIELDS),
                sheet_path,
                sheet_rows,
            ),
        )


def last_snapshot(ledger: Ledger, campaign_id: str, kind: str | None = None) -> StoredSnapshot | None:
    """The latest run's snapshot of the campaign (of one kind, or of any)."""
    of_kind, params = (" AND kind = ?", (campaign_id, kind)) if kind is not None else ("", (campaign_id,))
    with ledger.read() as db:
        row = db.execute(
            f"SELECT * FROM event_snapshots WHERE campaign_id = ?{of_kind} ORDER BY id DESC LIMIT 1", params
        ).fetchone()
    if row is None:
        return None
    fields = {key: row[key] for key in SNAPSHOT_FIELDS}
    return StoredSnapshot(fields, row["kind"], row["taken_at"], row["event_path"], row["sheet_path"], row["sheet_rows"])


def other_campaigns_links(ledger: Ledger, campaign_id: str) -> list[dict[str, str | None]]:
    """Every other campaign's latest snapshot: its id, title, date, registration_url and join_url."""
    with ledger.read() as db:
        rows = db.execute(
            "SELECT s.campaign_id, s.title, s.date, s.registration_url, s.join_url FROM event_snapshots s "
            "WHERE s.campaign_id <> ? AND s.id = "
            "(SELECT max(t.id) FROM event_snapshots t WHERE t.campaign_id = s.campaign_id) ORDER BY s.campaign_id",
            (campaign_id,),
        ).fetchall()
    keys = ("campaign_id", "title", "date", "registration_url", "join_url")
    return [{key: row[key] for key in keys} for row in rows]


def first_snapshot_at(ledger: Ledger, campaign_id: str, kind: str) -> str | None:
    """When the campaign's first real run of ``kind`` started (its first snapshot), None before it."""
    with ledger.read() as db:
        row = db.execute(
            "SELECT min(taken_at) AS first FROM event_snapshots WHERE campaign_id = ? AND kind = ?", (campaign_id, kind)
        ).fetchone()
    return str(row["first"]) if row is not None and row["first"] is not None else None
