"""The sent log's records and the pure rules around them: statuses, rows, keys.

No SQL runs here (``store.py`` runs it); these are the values the ledger's
interface takes and returns, the same for every backend.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from lgp_mailer.i18n import N_, _

STATUSES = ("pending", "sending", "sent", "deferred", "failed", "unknown", "invalid", "suppressed")
# How the interface names each status: the one list, translated where shown by status_label().
# The sent log, status --json and the exports keep the plain ids (exports: export.STATUSES_HU).
STATUS_LABELS = {
    "pending": N_("pending"),
    "sending": N_("sending"),
    "sent": N_("sent"),
    "deferred": N_("deferred"),
    "failed": N_("failed"),
    "unknown": N_("unknown"),
    "invalid": N_("invalid"),
    "suppressed": N_("suppressed"),
}
# Outcomes ``record`` accepts for a claimed row.  ``pending`` gives a row back
# untouched-by-the-server (e.g. the run stopped on a fatal reply before DATA).
RECORDABLE = frozenset({"sent", "deferred", "failed", "unknown", "pending"})
BUSY_TIMEOUT_MS = 30_000
REPLY_MAX = 500
DB_ENV = "LGP_MAILER_DB"

SUPPRESSION_SOURCES = ("manual", "import", "bounce", "unsubscribe")
# Rows a suppression takes over: anything not (being) delivered.  'sent' is
# history and stays; 'sending' is in flight and is taken over at the next sync.
SUPPRESSIBLE = ("pending", "deferred", "failed", "unknown", "invalid")
# Rows a bounce can concern: the server took the message (or may have).
BOUNCEABLE = ("sent", "unknown", "failed")
_BOUNCEABLE_SQL = (
    "(status IN ('sent', 'unknown', 'failed')"
    " OR (status = 'suppressed' AND suppressed_from IN ('sent', 'unknown', 'failed')))"
)


def status_label(status: str) -> str:
    """``status`` in the interface language; a status this version does not know is shown as it is."""
    return _(STATUS_LABELS[status]) if status in STATUS_LABELS else status


def utc_iso(moment: datetime) -> str:
    """Fixed-width UTC ISO-8601 text, so that string order is time order."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: the ledger stores UTC only")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Entry:
    """One recipient of a campaign kind as the sheet gives it, in sheet order.

    ``invalid_reason`` set means check-level validation rejected the row; it
    is still recorded (status ``invalid``) so it is never silently lost.
    """

    address: str
    seq: int
    municipalities: Sequence[str] = ()
    county: str | None = None
    message_id: str | None = None
    invalid_reason: str | None = None


@dataclass(frozen=True)
class LedgerRow:
    campaign_id: str
    kind: str
    address: str
    status: str
    seq: int | None
    municipalities: tuple[str, ...]
    county: str | None
    message_id: str | None
    attempts: int
    last_code: int | None
    last_enhanced: str | None
    last_reply: str | None
    first_attempt_at: str | None
    last_attempt_at: str | None
    sent_at: str | None
    created_at: str
    updated_at: str


@dataclass(frozen=True)
class SyncResult:
    added: int
    invalid: int
    refreshed: int
    absent: int  # rows of this campaign kind no longer in the sheet
    suppressed: int = 0  # rows this sync found or made 'suppressed' that were not before


@dataclass(frozen=True)
class Suppression:
    """One address nobody in the organisation sends to any more."""

    address: str
    address_key: str
    reason: str
    source: str  # one of SUPPRESSION_SOURCES
    created_at: str  # UTC, the ledger's fixed-width ISO text


def address_key(address: str, seq: int) -> str:
    key = address.strip().lower()
    # A blank address cannot be keyed by address; keep each such row apart.
    return key or f"<blank #{seq}>"


def _row(r: Any) -> LedgerRow:  # an sqlite3.Row or a backend.Row
    fields = {k: r[k] for k in LedgerRow.__dataclass_fields__}
    fields["municipalities"] = tuple(json.loads(r["municipalities"] or "[]"))
    return LedgerRow(**fields)


def due_statuses(retry_failed: bool = False, resend_unknown: bool = False) -> tuple[str, ...]:
    """The statuses a run sends from: pending and deferred, plus failed and unknown on request."""
    statuses = ["pending", "deferred"]
    statuses += ["failed"] if retry_failed else []
    statuses += ["unknown"] if resend_unknown else []
    return tuple(statuses)


def _due_where(campaign_id: str, kind: str, statuses: Sequence[str]) -> tuple[str, list[object]]:
    marks = ",".join("?" * len(statuses))
    where = (
        f"campaign_id = ? AND kind = ? AND status IN ({marks}) AND seq IS NOT NULL"
        " AND address_key NOT IN (SELECT address_key FROM suppressions)"
    )
    return where, [campaign_id, kind, *statuses]


def _suppression_key(address: str) -> str:
    key = address.strip().lower()
    if not key:
        raise ValueError("a suppression needs an address")
    return key


def _angled(message_id: str | None) -> str | None:
    """``" <x@y> "`` and ``"x@y"`` → ``"<x@y>"``; None for nothing."""
    mid = (message_id or "").strip().strip("<>").strip()
    return f"<{mid}>" if mid else None


def _one_line(text: str | None) -> str | None:
    if text is None:
        return None
    line = " ".join(text.split())
    return line[:REPLY_MAX]
