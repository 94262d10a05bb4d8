"""The sent log's record of each notified revision of a campaign's event (migration 6).

A revision is written when the first run of its change or cancellation notice
starts, and never changes after: it is the event as that notice announced it.
The messages of a revision are ordinary ``messages`` rows of kind
``change-r<n>`` / ``cancellation-r<n>`` (see ``kinds.revision_name``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from lgp_mailer.ledger.events import SNAPSHOT_FIELDS, StoredSnapshot
from lgp_mailer.ledger.store import Ledger


@dataclass(frozen=True)
class Revision:
    campaign_id: str
    revision: int
    kind: str  # "change" or "cancellation"
    created_at: str  # ISO UTC
    fields: dict[str, str | None]


_COLUMNS = 'title, date, start, "end", platform, join_url, registration_url, agenda'


def revisions(ledger: Ledger, campaign_id: str) -> list[Revision]:
    """The campaign's revisions, oldest first (empty before its first notice)."""
    with ledger.read() as db:
        rows = db.execute(
            f"SELECT campaign_id, revision, kind, created_at, {_COLUMNS} FROM event_revisions"
            " WHERE campaign_id = ? ORDER BY revision",
            (campaign_id,),
        ).fetchall()
    return [
        Revision(
            str(r["campaign_id"]),
            int(r["revision"]),
            str(r["kind"]),
            str(r["created_at"]),
            {key: r[key] for key in SNAPSHOT_FIELDS},
        )
        for r in rows
    ]


def record_revision(
    ledger: Ledger, campaign_id: str, revision: int, kind: str, fields: Mapping[str, str | None]
) -> bool:
    """Record ``revision`` unless it is recorded already (a rerun, or a second run that lost the race).

    True when this call wrote it."""
    with ledger.transaction() as db:
        cur = db.execute(
            f"INSERT INTO event_revisions (campaign_id, revision, kind, created_at, {_COLUMNS})"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (campaign_id, revision) DO NOTHING",
            (campaign_id, revision, kind, ledger.now(), *(fields[key] for key in SNAPSHOT_FIELDS)),
        )
        return cur.rowcount == 1


def snapshots(ledger: Ledger, campaign_id: str) -> list[StoredSnapshot]:
    """Every send run's snapshot of the campaign, oldest first: what each run's letters said."""
    with ledger.read() as db:
        rows = db.execute("SELECT * FROM event_snapshots WHERE campaign_id = ? ORDER BY id", (campaign_id,)).fetchall()
    return [
        StoredSnapshot(
            {key: r[key] for key in SNAPSHOT_FIELDS},
            r["kind"],
            r["taken_at"],
            r["event_path"],
            r["sheet_path"],
            r["sheet_rows"],
        )
        for r in rows
    ]


__all__ = ["Revision", "record_revision", "revisions", "snapshots"]
