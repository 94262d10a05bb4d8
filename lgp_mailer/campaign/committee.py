"""``lgp-mailer report``: the committee report from the sent log, as a workbook and an HTML page.

The one core call of the command.  It needs the optional extra
``lgp-mailer[report]`` (pandas, matplotlib); without it, one line says so.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from lgp_mailer.config import Campaign
from lgp_mailer.errors import ConfigError
from lgp_mailer.event import Event, load_event
from lgp_mailer.i18n import _, format_number, ngettext
from lgp_mailer.ledger.store import open_campaign_ledger
from lgp_mailer.quoting import quoted

if TYPE_CHECKING:
    from lgp_mailer.campaign.report import CampaignInput

EXTRA = "pip install 'lgp-mailer[report]'"


@dataclass(frozen=True)
class ReportRequest:
    out: Path  # a folder (jelentes.xlsx + jelentes.html inside) or a FILE.xlsx (FILE.html beside it)
    campaign_ids: tuple[str, ...] = ()  # empty: every campaign in the sent log
    detail: bool = False  # add the municipalities sheet
    ledger_only: bool = False  # ignore the campaign's sheet and registrations


@dataclass(frozen=True)
class ReportOutcome:
    workbook: Path
    page: Path
    lines: list[str]


def output_paths(out: Path) -> tuple[Path, Path]:
    if out.suffix.lower() == ".xlsx":
        return out, out.with_suffix(".html")
    if out.suffix:
        raise ConfigError(
            _("--out must be a folder or a .xlsx file, not {name}").format(name=quoted(out.name)), key="out"
        )
    return out / "jelentes.xlsx", out / "jelentes.html"


def _require_extra() -> None:
    try:
        import matplotlib  # noqa: F401
        import pandas  # noqa: F401
    except ImportError as error:
        raise ConfigError(
            _("the report needs {name}: {extra}").format(name=error.name, extra=EXTRA), key="report"
        ) from None


def make_report(
    campaign: Campaign | None, request: ReportRequest, env: Mapping[str, str] = os.environ
) -> ReportOutcome:
    """Read the sent log (and the campaign's lists), write the workbook and the page."""
    _require_extra()
    from lgp_mailer.campaign.report import collect, select_campaigns
    from lgp_mailer.campaign.report_html import write_page
    from lgp_mailer.campaign.report_xlsx import write_workbook

    workbook, page = output_paths(request.out)
    event: Event | None = None
    extra: CampaignInput | None = None
    if campaign is not None and not request.ledger_only:
        event = load_event(campaign.event_path)
        extra = _campaign_input(campaign)
    threshold = event.attendance_minutes if event is not None else Event.attendance_minutes
    database = campaign.database if campaign is not None else None
    command = campaign.database_password_command if campaign is not None else None
    with open_campaign_ledger(database, env, command) as ledger:
        chosen = select_campaigns(ledger, request.campaign_ids)
        if extra is not None and extra.campaign_id not in chosen:
            extra = None
        data = collect(ledger, chosen, extra, threshold)
    try:
        workbook.parent.mkdir(parents=True, exist_ok=True)
        write_workbook(data, workbook, detail=request.detail)
        write_page(data, page, threshold=threshold)
    except OSError as error:
        raise ConfigError(
            _("cannot write the report: {reason}").format(reason=error.strerror or error), file=error.filename
        ) from None
    invited = int(data.funnel["invited"].sum())
    lines = [
        _("Report: {campaigns}, {invitations}").format(
            campaigns=ngettext("{n} campaign", "{n} campaigns", len(chosen)).format(n=format_number(len(chosen))),
            invitations=ngettext("{n} invitation", "{n} invitations", invited).format(n=format_number(invited)),
        ),
        _("Workbook: {path}").format(path=workbook),
        _("Page: {path}").format(path=page),
    ]
    return ReportOutcome(workbook, page, lines)


def _campaign_input(campaign: Campaign) -> CampaignInput:
    from lgp_mailer.campaign.report import CampaignInput
    from lgp_mailer.sheets.recipients import load_recipients
    from lgp_mailer.sheets.registrations import load_registrations

    columns = dict(campaign.columns) or None
    recipients = list(load_recipients(campaign.recipients_path, sheet=campaign.sheet, columns=columns).recipients)
    path = campaign.registrations_path
    registrations = load_registrations(path, columns=dict(campaign.registration_columns)) if path else None
    return CampaignInput(campaign.campaign_id, recipients, registrations)


__all__ = ["ReportOutcome", "ReportRequest", "make_report", "output_paths"]
