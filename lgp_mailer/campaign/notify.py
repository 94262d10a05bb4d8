"""``lgp-mailer notify``'s core: the revision to announce, its recipients, and the letters' inputs.

The sending itself is ``campaign.send.send`` with the plan in the request:
the same claim/record loop, lock, recovery and exit codes as ``send``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from lgp_mailer import kinds
from lgp_mailer.campaign.inputs import refuse_ended
from lgp_mailer.campaign.preview import load_inputs
from lgp_mailer.campaign.revisions import NoticePlan, candidates, plan_notice
from lgp_mailer.config import Campaign
from lgp_mailer.event import Event
from lgp_mailer.ledger.store import open_campaign_ledger
from lgp_mailer.sheets.recipients import RecipientSheet


def notice_targets(
    campaign: Campaign,
    kind: kinds.Kind,
    *,
    registrations: Path | None = None,
    env: Mapping[str, str] = os.environ,
) -> tuple[Event, RecipientSheet, NoticePlan]:
    """The event, the notice's recipients as a sheet, and the plan; NothingDueError when nobody is due."""
    event, sheet = load_inputs(campaign)
    refuse_ended(event)  # before anyone is counted: the wrong event file is the likely cause
    everyone = candidates(campaign, sheet, registrations)
    with open_campaign_ledger(campaign.database, env) as ledger:
        plan = plan_notice(ledger, campaign, event, kind, everyone)
    return event, RecipientSheet(plan.recipients, [], campaign.recipients_path), plan


__all__ = ["notice_targets"]
