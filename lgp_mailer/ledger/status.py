"""Where each campaign stands: the data behind ``lgp-mailer status``.

Everything comes from the sent log alone (no sheet, no server), so ``status``
works from any folder and from cron.  :func:`ledger_status` returns a plain,
JSON-able dict; ``status --json`` prints exactly that::

    {
      "database": "/path/to/sent-log.sqlite3",
      "generated_at": "2026-11-24T02:00:00.000000Z",
      "campaigns": [                       # one entry per (campaign, kind)
        {
          "campaign_id": "lgp-2020-06-18-innovaciok",
          "kind": "invitation",            # any kind in the ledger (see kinds.py)
          "label": "meghívó",              # its Hungarian label (the kind itself if not declared)
          "command": "lgp-mailer send",    # the command that sends this kind
          "total": 3200,                   # rows, including rows no longer in the sheet
          "counts": {"pending": 0, "sending": 0, "sent": 3100, ...},   # every status, 0 when none
          "first_sent_at": "...Z" | null,  # UTC, first and last accepted message
          "last_sent_at": "...Z" | null,
          "last_attempt_at": "...Z" | null,
          "due": 40,                       # what the next plain run would send
          "due_by_status": {"pending": 30, "deferred": 10},
          "not_in_sheet": 2,               # rows whose address left the sheet: never due
          "superseded_by": None,           # a notice revision overtaken by a later one: "change-r2" (never due)
          "blocked": [                     # needs a decision or a fix; see BLOCKED
            {"status": "unknown", "count": 3, "meaning": "...", "command": "lgp-mailer send --resend-unknown"}
          ],
          "in_flight": 0,                  # 'sending' rows of live senders
          "lock": null | {"holder": ..., "pid": ..., "hostname": ..., "acquired_at": ..., "heartbeat_at": ...},
          "senders": [                     # every live sender holding a lease (send --join: several), oldest first
            {"holder": "anna@pc1", "pid": 4242, "hostname": "pc1", "acquired_at": ..., "heartbeat_at": ...,
             "in_flight": 2}               # its 'sending' rows of this kind
          ],
          "stopped": [...],                # leases of runs that died (same keys): the next send takes them over
          "counties": [                    # sheet order of first appearance; null = no county
            {"county": "Baranya", "total": 300, "sent": 290, "due": 5, "blocked": 5,
             "counts": {"pending": 5, ...}}
          ]
        }
      ]
    }

Timestamps are the ledger's UTC text (fixed width, string order is time
order); the terminal view converts them to Europe/Budapest.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from lgp_mailer import kinds
from lgp_mailer.i18n import N_, _
from lgp_mailer.ledger.revisions import revisions
from lgp_mailer.ledger.runlock import lease_is_stale, senders
from lgp_mailer.ledger.store import STATUSES, Ledger, LedgerRow, utc_iso

# Statuses that need attention, in the order shown, with what they mean and
# how to deal with them.  ``{command}`` is the kind's sending command.
# status --json carries them in English (stable); blocked_text() gives them in the interface language.
BLOCKED: dict[str, tuple[str, str]] = {
    "deferred": (
        N_("refused for now (4xx, timeout, dropped connection, or the run stopped on an account refusal)"),
        N_("{command}  (the next run retries them)"),
    ),
    "unknown": (
        N_("went out but no answer came: may or may not have arrived"),
        N_("check the server's log, then {command} --resend-unknown  (same Message-ID)"),
    ),
    "failed": (
        N_("refused for good for this address (5.1.x)"),
        N_("fix the addresses in the sheet, then {command} --retry-failed"),
    ),
    "invalid": (
        N_("the sheet row is not usable (bad address, missing municipality)"),
        N_("lgp-mailer check  (lists them; fix the sheet)"),
    ),
    "sending": (
        N_("left 'sending' by a run that is no longer alive"),
        N_("{command}  (the next run marks them 'unknown')"),
    ),
}
DUE_STATUSES = ("pending", "deferred")


def blocked_text(status: str, command: str) -> tuple[str, str]:
    """What a blocked ``status`` means and what to run, in the interface language (for the terminal view)."""
    meaning, action = BLOCKED[status]
    return _(meaning), _(action).format(command=command)


def command_for(kind: str) -> str:
    """The command that sends ``kind``, as ``kinds.py`` declares it."""
    declared = kinds.KINDS.get(kinds.base_name(kind))  # a revision's notices: its kind's command
    return declared.command if declared is not None else f"lgp-mailer send  (kind {kind})"


def _counts(rows: Iterable[LedgerRow]) -> dict[str, int]:
    counts = dict.fromkeys(STATUSES, 0)
    for row in rows:
        counts[row.status] = counts.get(row.status, 0) + 1
    return counts


def _is_due(row: LedgerRow) -> bool:
    return row.status in DUE_STATUSES and row.seq is not None


def _public_lock(lock: dict[str, object] | None) -> dict[str, object] | None:
    if lock is None:
        return None  # the token stays private: it is what proves ownership
    return {k: lock[k] for k in ("holder", "pid", "hostname", "acquired_at", "heartbeat_at")}


def _public_sender(lease: dict[str, object]) -> dict[str, object]:
    public = _public_lock(lease)
    assert public is not None
    return {**public, "in_flight": lease["in_flight"]}


def _counties(rows: list[LedgerRow]) -> list[dict[str, Any]]:
    groups: dict[str | None, list[LedgerRow]] = {}
    for row in rows:
        groups.setdefault(row.county or None, []).append(row)
    result = []
    for county, members in groups.items():
        counts = _counts(members)
        result.append(
            {
                "county": county,
                "total": len(members),
                "sent": counts["sent"],
                "due": sum(1 for r in members if _is_due(r)),
                "blocked": sum(counts[s] for s in ("unknown", "failed", "invalid")),
                "counts": counts,
            }
        )
    return result


def _overtaken_by(ledger: Ledger, campaign_id: str, kind: str) -> str | None:
    """The later revision's notice kind when ``kind`` is a notice of an older revision, else None."""
    if kinds.split_revision(kind)[1] is None:
        return None
    found = revisions(ledger, campaign_id)
    latest = found[-1] if found else None
    if latest is None or kind == kinds.revision_name(kinds.get(latest.kind), latest.revision):
        return None
    return kinds.revision_name(kinds.get(latest.kind), latest.revision)


def kind_status(ledger: Ledger, campaign_id: str, kind: str) -> dict[str, Any]:
    """The status of one campaign kind (see the module docstring for the shape)."""
    rows = ledger.rows(campaign_id, kind)
    counts = _counts(rows)
    sent_times = [r.sent_at for r in rows if r.sent_at]
    attempts = [r.last_attempt_at for r in rows if r.last_attempt_at]
    # A dead run's lease stays until the next sender removes it: its rows are not in flight.
    leases: list[dict[str, object]] = []
    stopped: list[dict[str, object]] = []
    for lease in senders(ledger, campaign_id, kind):
        (stopped if lease_is_stale(lease, ledger.clock(), reused_pid=False) else leases).append(lease)
    lock = _public_lock(leases[0] if leases else None)
    command = command_for(kind)
    overtaken = _overtaken_by(ledger, campaign_id, kind)
    # A revision overtaken by a later one is never sent again: the later notice went instead.
    due_by_status = {
        s: 0 if overtaken else sum(1 for r in rows if r.status == s and r.seq is not None) for s in DUE_STATUSES
    }
    # 'sending' is in flight when its sender holds a lease (a row claimed
    # before senders were recorded: while anyone does), a crash's leftover otherwise.
    unowned = ledger.unowned_in_flight(campaign_id, kind) if leases else 0
    in_flight = sum(int(str(lease["in_flight"])) for lease in leases) + unowned
    blocked = []
    for status, (meaning, action) in BLOCKED.items():
        count = counts[status] - (in_flight if status == "sending" else 0)
        if count:
            blocked.append(
                {"status": status, "count": count, "meaning": meaning, "command": action.format(command=command)}
            )
    return {
        "campaign_id": campaign_id,
        "kind": kind,
        "label": kinds.label(kind),
        "command": command,
        "total": len(rows),
        "counts": counts,
        "first_sent_at": min(sent_times, default=None),
        "last_sent_at": max(sent_times, default=None),
        "last_attempt_at": max(attempts, default=None),
        "due": sum(due_by_status.values()),
        "due_by_status": due_by_status,
        "not_in_sheet": sum(1 for r in rows if r.seq is None),
        "superseded_by": overtaken,
        "blocked": blocked,
        "in_flight": in_flight,
        "lock": lock,
        "senders": [_public_sender(lease) for lease in leases],
        "stopped": [_public_sender(lease) for lease in stopped],
        "counties": _counties(rows),
    }


def ledger_status(
    ledger: Ledger, campaign_id: str | None = None, kind: str | None = None, *, now: datetime | None = None
) -> dict[str, Any]:
    """Every (campaign, kind) in the ledger, or only the ones asked for."""
    pairs = [
        (c, k)
        for c, k in ledger.campaign_kinds()
        if (campaign_id is None or c == campaign_id) and (kind is None or k == kind)
    ]
    return {
        "database": str(ledger.path),
        "generated_at": utc_iso(now or datetime.now(UTC)),
        "campaigns": [kind_status(ledger, c, k) for c, k in pairs],
    }


__all__ = ["BLOCKED", "blocked_text", "command_for", "kind_status", "ledger_status"]
