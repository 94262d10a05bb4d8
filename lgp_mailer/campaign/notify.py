"""``lgp-mailer notify``'s core: the revision to announce, its recipients, and the letters' inputs.

The sending itself is ``campaign.send.send`` with the plan in the request:
the same claim/record loop, lock, recovery and exit codes as ``send``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from lgp_mailer import kinds
from lgp_mailer.campaign.matching import match_registrations, reminder_recipients
from lgp_mailer.campaign.preview import load_inputs
from lgp_mailer.campaign.revisions import NoticePlan, plan_notice
from lgp_mailer.config import Campaign
from lgp_mailer.event import Event
from lgp_mailer.ledger.store import open_campaign_ledger
from lgp_mailer.sheets.recipients import Recipient, RecipientSheet
from lgp_mailer.sheets.registrations import load_registrations


def candidates(campaign: Campaign, sheet: RecipientSheet, registrations: Path | None) -> list[Recipient]:
    """The sheet's recipients, then the registrants (a reminder may have gone to an address not on the sheet)."""
    found = list(sheet.recipients)
    path = registrations or campaign.registrations_path
    if path is not None and path.is_file():
        regs = load_registrations(path, limits=campaign.limits)
        found.extend(reminder_recipients(match_registrations(regs, sheet.recipients)))
    return found


def notice_targets(
    campaign: Campaign,
    kind: kinds.Kind,
    *,
    registrations: Path | None = None,
    env: Mapping[str, str] = os.environ,
) -> tuple[Event, RecipientSheet, NoticePlan]:
    """The event, the notice's recipients as a sheet, and the plan; NothingDueError when nobody is due."""
    event, sheet = load_inputs(campaign)
    everyone = candidates(campaign, sheet, registrations)
    with open_campaign_ledger(campaign.database, env) as ledger:
        plan = plan_notice(ledger, campaign, event, kind, everyone)
    return event, RecipientSheet(plan.recipients, [], campaign.recipients_path), plan


__all__ = ["candidates", "notice_targets"]
