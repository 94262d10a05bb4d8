"""Revisions of a campaign's event: who is due for a change or cancellation notice, and SEQUENCE.

* **Revisions.** Each change or cancellation notice announces one revision of
  the event, numbered from 1 and recorded in the sent log when its first run
  starts (``ledger.revisions``).  Its letters are the sent-log kind
  ``change-r<n>`` / ``cancellation-r<n>``, so the claim/record protocol sends
  each revision to each recipient exactly once, and a crash leaves ``unknown``.
* **Who.** Everyone the campaign sent an invitation, a reminder, a nudge or an
  earlier notice to, by the sent log: an address that has since left the sheet
  is told too, with a neutral salutation.  Each recipient's letter compares the event file with the
  snapshot of the last letter that recipient was sent (the snapshot of the
  run that sent it), so a recipient who missed a notice still reads every
  change since; a recipient whose last letter already says it all is not due.
* **SEQUENCE** comes from the sent log: ``2 * revision`` plus the kind's offset
  (the reminder's 1).  A recipient's reminder of revision r carries 2r + 1, the
  next notice 2(r + 1): each entry a recipient is sent is higher than the last.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lgp_mailer import kinds
from lgp_mailer.campaign.changes import Snapshot, diff, snapshot
from lgp_mailer.campaign.matching import NO_MUNICIPALITY, match_registrations, reminder_recipients
from lgp_mailer.campaign.notice_text import sentences
from lgp_mailer.config import Campaign
from lgp_mailer.errors import ConfigError, NothingDueError
from lgp_mailer.event import Event
from lgp_mailer.hungarian import UNTITLED_NEUTRAL
from lgp_mailer.i18n import _, ngettext
from lgp_mailer.ledger.events import StoredSnapshot
from lgp_mailer.ledger.revisions import Revision, revisions, snapshots
from lgp_mailer.ledger.store import Ledger, LedgerRow
from lgp_mailer.mail.build import MessageFactory
from lgp_mailer.mail.ical import BUDAPEST, calendar_entry
from lgp_mailer.quoting import quoted
from lgp_mailer.sheets.recipients import Recipient, RecipientSheet
from lgp_mailer.sheets.registrations import load_registrations

STEP = 2  # SEQUENCE per revision: room for the reminder's +1 in between
# The letters whose recipients a notice goes to.
NOTIFIED_KINDS = (kinds.INVITATION.name, kinds.REMINDER.name, kinds.NUDGE.name)


def sequence_base(ledger: Ledger, campaign_id: str) -> int:
    """The SEQUENCE of the event's current revision (0 before any notice)."""
    found = revisions(ledger, campaign_id)
    return STEP * found[-1].revision if found else 0


def cancelled(ledger: Ledger, campaign_id: str) -> Revision | None:
    """The cancellation revision when the campaign's latest notice is one."""
    found = revisions(ledger, campaign_id)
    return found[-1] if found and found[-1].kind == kinds.CANCELLATION.name else None


def refuse_cancelled(ledger: Ledger, campaign_id: str) -> None:
    """After a cancellation nothing but its own notice goes out (exit 3, naming its date)."""
    revision = cancelled(ledger, campaign_id)
    if revision is not None:
        raise NothingDueError(
            _(
                "the conference was called off: its cancellation notice started going out on {date} "
                "(Europe/Budapest); nothing more is sent for this campaign"
            ).format(date=_local(revision.created_at))
        )


def _local(stamp: str) -> str:
    moment = dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return moment.astimezone(BUDAPEST).strftime("%Y-%m-%d %H:%M")


@dataclass
class NoticePlan:
    """One notice run's revision and, per recipient (lower-cased address), its sentences."""

    kind: kinds.Kind
    revision: int
    new: bool  # recorded in the sent log when the run starts
    snapshot: Snapshot
    recipients: list[Recipient]
    changes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    joined: frozenset[str] = frozenset()

    @property
    def ledger_kind(self) -> str:
        return kinds.revision_name(self.kind, self.revision)

    @property
    def sequence(self) -> int:
        return STEP * self.revision


def candidates(campaign: Campaign, sheet: RecipientSheet, registrations: Path | None) -> list[Recipient]:
    """The sheet's recipients, then the registrants (a reminder may have gone to an address not on the sheet)."""
    found = list(sheet.recipients)
    path = registrations or campaign.registrations_path
    if path is not None and path.is_file():
        regs = load_registrations(path, columns=dict(campaign.registration_columns), limits=campaign.limits)
        found.extend(reminder_recipients(match_registrations(regs, list(sheet.recipients))))
    return found


def plan_notice(
    ledger: Ledger, campaign: Campaign, event: Event, kind: kinds.Kind, people: Iterable[Recipient]
) -> NoticePlan:
    """The revision this notice announces and who is due for it; NothingDueError when nobody is."""
    cid = campaign.campaign_id
    found = revisions(ledger, cid)
    latest = found[-1] if found else None
    current = snapshot(event)
    if latest is not None and latest.kind == kinds.CANCELLATION.name and kind is not kinds.CANCELLATION:
        refuse_cancelled(ledger, cid)
    same = latest is not None and latest.kind == kind.name and Snapshot.from_row(latest.fields) == current
    rerun = latest is not None and (same or (kind is kinds.CANCELLATION and latest.kind == kind.name))
    revision = latest.revision if rerun and latest is not None else (latest.revision if latest else 0) + 1
    rows = [r for r in ledger.rows(cid) if r.status == "sent" and r.sent_at]
    seen = _last_seen(rows, snapshots(ledger, cid), found, revision if rerun else None)
    joined = frozenset(r.address.lower() for r in rows if kinds.base_name(r.kind) == kinds.REMINDER.name)
    plan = NoticePlan(kind, revision, not rerun, current, [], joined=joined)
    taken: set[str] = set()
    # The sheet's and the registrations' people first, for their salutations; then anyone the
    # log says was sent something but who has since left both: they saved the old date too.
    for recipient in [*people, *(_from_log(row) for row in rows)]:
        key = recipient.email.lower()
        if key not in seen or key in taken:
            continue
        taken.add(key)
        if kind is kinds.CANCELLATION:
            plan.recipients.append(recipient)
            continue
        lines = tuple(sentences(seen[key], current, joined=key in joined))
        if lines:
            plan.changes[key] = lines
            plan.recipients.append(recipient)
    if not seen:
        raise NothingDueError(_("nothing was sent for this campaign yet: there is nobody to notify"))
    if not plan.recipients and not rerun:
        raise NothingDueError(_("nobody was sent older event details than the event file's: no change notice is due"))
    return plan


def _from_log(row: LedgerRow) -> Recipient:
    """A recipient known only from the sent log: its address and municipalities, a neutral salutation."""
    return Recipient(
        email=row.address,
        municipalities=row.municipalities or (NO_MUNICIPALITY,),
        salutation=UNTITLED_NEUTRAL,
        county=row.county,
    )


def _last_seen(
    rows: list[LedgerRow], stored: list[StoredSnapshot], found: list[Revision], rerun: int | None
) -> dict[str, Snapshot]:
    """Per address, the event as the last letter it was sent described it.

    A rerun of revision n compares with what the recipient knew before n, so
    that the rerun's letters say what the first run's said."""
    by_revision = {r.revision: Snapshot.from_row(r.fields) for r in found}
    last: dict[str, tuple[str, Snapshot]] = {}
    for row in sorted(rows, key=lambda r: r.sent_at or ""):
        base, number = kinds.split_revision(row.kind)
        if number is not None:
            if rerun is not None and number >= rerun:
                continue
            known = by_revision.get(number)
        elif base in NOTIFIED_KINDS:
            known = _snapshot_at(stored, row.kind, row.sent_at or "")
        else:
            continue
        if known is not None:
            last[row.address.lower()] = (row.sent_at or "", known)
    return {address: known for address, (_when, known) in last.items()}


def _snapshot_at(stored: list[StoredSnapshot], kind: str, when: str) -> Snapshot | None:
    """The snapshot of the latest ``kind`` run that started before ``when``."""
    match = None
    for item in stored:
        if item.kind == kind and item.taken_at <= when:
            match = item
    return Snapshot.from_row(match.fields) if match is not None else None


def _unannounced(ledger: Ledger, campaign: Campaign, event: Event) -> tuple[int, list[str]]:
    """How many recipients were last sent other event details than the file's, and which fields differ."""
    cid = campaign.campaign_id
    if cancelled(ledger, cid) is not None:
        return 0, []
    rows = [r for r in ledger.rows(cid) if r.status == "sent" and r.sent_at]
    current = snapshot(event)
    seen = _last_seen(rows, snapshots(ledger, cid), revisions(ledger, cid), None)
    joined = frozenset(r.address.lower() for r in rows if kinds.base_name(r.kind) == kinds.REMINDER.name)
    # Stale as notify counts it: a change its notice would name (a new join link only for those who had one).
    stale = [(key, known) for key, known in seen.items() if sentences(known, current, joined=key in joined)]
    fields: list[str] = []
    for key, known in stale:
        for change in diff(known, current):
            name = change.field.split("[", 1)[0]
            # A new join link is news only to those who had the old one.
            if name not in fields and (name != "join_url" or key in joined):
                fields.append(name)
    return len(stale), fields


def refuse_unannounced(ledger: Ledger, campaign: Campaign, event: Event) -> None:
    """A reminder or nudge about an event its recipients were not told had changed: ConfigError (exit 2).

    The letter would give the new date or link (and move the calendar entry) without a
    word that anything changed; an event file of another conference looks the same."""
    stale, fields = _unannounced(ledger, campaign, event)
    # A new registration form misstates nothing in a reminder; a nudge gives the new one.
    if stale and set(fields) - {"registration_url"}:
        raise ConfigError(
            ngettext(
                "the event changed ({fields}) since {n} recipient was last sent something: a reminder would not"
                " say what changed; send '{command}' first, or check that this is the conference's event file",
                "the event changed ({fields}) since {n} recipients were last sent something: a reminder would not"
                " say what changed; send '{command}' first, or check that this is the conference's event file",
                stale,
            ).format(fields=", ".join(fields), n=stale, command=kinds.CHANGE.command),
            file=event.path,
        )


def refuse_another_conference(ledger: Ledger, campaign: Campaign, event: Event) -> None:
    """A follow-up about a conference none of the campaign's letters described: ConfigError (exit 2).

    After the conference no notice can announce a new title or date, so an event file
    whose title and date no recipient was ever sent is another conference's (last
    week's file, a colleague's copy): its thanks would name the wrong one."""
    cid = campaign.campaign_id
    rows = [r for r in ledger.rows(cid) if r.status == "sent" and r.sent_at]
    seen = _last_seen(rows, snapshots(ledger, cid), revisions(ledger, cid), None)
    told = {(known.title, known.date) for known in seen.values()}
    if not told or (event.title, event.date.isoformat()) in told:
        return
    # The latest letter's version, as the one to compare with.
    when = {r.address.lower(): r.sent_at or "" for r in sorted(rows, key=lambda r: r.sent_at or "")}
    latest = max(seen.items(), key=lambda item: when.get(item[0], ""))
    raise ConfigError(
        _(
            "the event file is of {title} on {date}, but this campaign's letters were about {told_title} on"
            " {told_date}: check that this is the conference's event file ('event' in lgp-mailer.toml, or --event)"
        ).format(
            title=quoted(event.title),
            date=event.date.isoformat(),
            told_title=quoted(latest[1].title),
            told_date=latest[1].date,
        ),
        file=event.path,
        key="conference.date" if latest[1].title == event.title else "conference.title",
    )


def notice_warnings(ledger: Ledger, campaign: Campaign, event: Event) -> list[str]:
    """``check``'s warning when recipients were last sent other event details than the file's."""
    stale, _fields = _unannounced(ledger, campaign, event)
    if not stale:
        return []
    return [
        ngettext(
            "WARNING: the event changed since {n} recipient was last sent something: "
            "run '{command}' to tell them and update their calendars",
            "WARNING: the event changed since {n} recipients were last sent something: "
            "run '{command}' to tell them and update their calendars",
            stale,
        ).format(n=stale, command=kinds.CHANGE.command)
    ]


class NoticeFactory(MessageFactory):
    """A notice's letters: each recipient's own list of changes, and the join link for those who had it.

    Builds in this process (the spool's workers make plain factories)."""

    def __init__(self, campaign: Campaign, event: Event, plan: NoticePlan, *, calendar_uid: str | None) -> None:
        super().__init__(campaign, event, plan.ledger_kind, calendar_uid=calendar_uid, calendar_sequence=plan.sequence)
        self.plan = plan
        joined = (
            calendar_entry(
                event,
                uid=self.calendar_uid,
                organizer_name=campaign.sender.name,
                organizer_email=campaign.sender.reply_to or campaign.sender.email,
                kind=self.declared,
                stamp=dt.datetime.now(dt.UTC),
                sequence=plan.sequence,
                join_link=True,
            )
            if self.calendar is not None
            else None
        )
        self._joined_calendar = joined

    def _joined(self, recipient: Recipient) -> bool:
        # A cancellation gives nobody the link: there is nothing left to join.
        return (
            self.plan.kind is kinds.CHANGE and recipient.email.lower() in self.plan.joined and bool(self.event.join_url)
        )

    def context(self, recipient: Recipient) -> Mapping[str, Any]:
        joined = self._joined(recipient)
        return {
            **super().context(recipient),
            "changes": self.plan.changes.get(recipient.email.lower(), ()),
            "joined": joined,
            "calendar_links": self.links(joined),
        }

    def calendar_for(self, recipient: Recipient) -> str | None:
        return self._joined_calendar if self._joined(recipient) else self.calendar


__all__ = [
    "NoticeFactory",
    "NoticePlan",
    "cancelled",
    "candidates",
    "notice_warnings",
    "plan_notice",
    "refuse_another_conference",
    "refuse_cancelled",
    "refuse_unannounced",
    "sequence_base",
]
