"""The core of ``lgp-mailer check``: everything that would go wrong, before sending.

``check_recipients`` takes a loaded :class:`RecipientSheet` and, optionally,
``render_one(recipient)`` -- a callable the campaign layer supplies to render
each message.  A :class:`TemplateError` is the template's fault, not the
row's: it stops the check (exit 2) naming the template and its line; any other
:class:`LgpError` becomes a problem row in the report.  Nothing is written or sent.
"""

from __future__ import annotations

import datetime as dt
import os
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from lgp_mailer.config import Campaign
from lgp_mailer.errors import ExitCode, LgpError, TemplateError
from lgp_mailer.i18n import N_, _
from lgp_mailer.sheets.limits import DEFAULT, Limits
from lgp_mailer.sheets.recipients import (
    MOJIBAKE,
    PROBLEM,
    WARNING,
    Finding,
    Recipient,
    RecipientSheet,
    RowCounts,
    load_recipients,
)

SALUTATION_KINDS = ("female", "male", "neutral", "explicit")
# How format_report names them; translated where shown.
SALUTATION_LABELS = {"female": N_("female"), "male": N_("male"), "neutral": N_("neutral"), "explicit": N_("explicit")}

RenderOne = Callable[[Recipient], None]


@dataclass(frozen=True)
class CheckReport:
    findings: tuple[Finding, ...]  # sorted: sheet order, row, problems before warnings
    recipients: int  # addresses that would be sent to
    municipalities: int  # distinct municipalities those addresses cover
    merged: int  # rows folded into an earlier row's recipient (copies, joint offices)
    rejected: int  # addresses or cells held back by problems
    salutations: dict[str, int]  # kind → count, every kind present (0 when none)
    rows: RowCounts = field(default_factory=RowCounts)  # rows read == own + merged + held

    @property
    def problems(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == PROBLEM)

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == WARNING)

    @property
    def exit_code(self) -> ExitCode:
        """0 when clean, 1 with problems or likely mojibake; other warnings never change it."""
        garbled = any(f.kind == MOJIBAKE for f in self.findings)
        return ExitCode.PROBLEMS if self.problems or garbled else ExitCode.OK


def check_recipients(sheet: RecipientSheet, *, render_one: RenderOne | None = None) -> CheckReport:
    """Report on a loaded sheet; with ``render_one``, render every message too."""
    findings = list(sheet.findings)
    if render_one is not None:
        findings.extend(_render_all(sheet, render_one))
    kinds = Counter(r.salutation_kind for r in sheet.recipients)
    municipalities = {m.casefold() for r in sheet.recipients for m in r.municipalities}
    return CheckReport(
        findings=tuple(sort_findings(findings, sheet.sheets)),
        recipients=len(sheet.recipients),
        municipalities=len(municipalities),
        merged=sheet.counts.merged,
        rejected=len(sheet.rejected),
        salutations={kind: kinds.get(kind, 0) for kind in SALUTATION_KINDS},
        rows=sheet.counts,
    )


def check_file(
    path: Path | str,
    *,
    sheet: str | None = None,
    columns: dict[str, str] | None = None,
    render_one: RenderOne | None = None,
    limits: Limits = DEFAULT,
) -> CheckReport:
    """Load and check in one call; RecipientsError (exit 2) when the file is unusable."""
    return check_recipients(load_recipients(path, sheet=sheet, columns=columns, limits=limits), render_one=render_one)


def _render_all(sheet: RecipientSheet, render_one: RenderOne) -> list[Finding]:
    found = []
    for recipient in sheet.recipients:
        try:
            render_one(recipient)
        except TemplateError as error:
            error.message = _("{message} (the message to {address})").format(
                message=error.message, address=recipient.email
            )
            raise
        except LgpError as error:
            found.append(
                Finding(
                    PROBLEM,
                    _("cannot render the message: {message}").format(message=error.message),
                    str(error.file or sheet.path or ""),
                    error.sheet or recipient.sheet,
                    error.row or (recipient.rows[0] if recipient.rows else None),
                    error.column,
                    recipient.email,
                )
            )
    return found


def sort_findings(findings: list[Finding], sheets: tuple[str, ...] = ()) -> list[Finding]:
    """Sheet order as read, then row, then problems before warnings, then column."""
    order = {name: i for i, name in enumerate(sheets)}

    def key(f: Finding) -> tuple[str, int, int, int, str, str]:
        return (
            f.file,
            order.get(f.sheet, len(order)) if f.sheet is not None else -1,
            f.row if f.row is not None else -1,
            0 if f.severity == PROBLEM else 1,
            f.column or "",
            f.problem,
        )

    return sorted(findings, key=key)


# --- Plain-text report (no rich: cron mails and log files read it too) --------

_TABLE_COLUMNS = (N_("file"), N_("sheet"), N_("row"), N_("column"), N_("value"), N_("problem"))
_VALUE_WIDTH = 40


def format_report(report: CheckReport) -> str:
    """The findings table, problems first, then warnings, then the summary."""
    lines: list[str] = []
    for title, findings in ((_("Problems ({count}):"), report.problems), (_("Warnings ({count}):"), report.warnings)):
        if findings:
            lines.append(title.format(count=len(findings)))
            lines.extend(_table(findings))
            lines.append("")
    kinds = ", ".join(
        _("{count} {kind}").format(count=count, kind=_(SALUTATION_LABELS.get(kind, kind)))
        for kind, count in report.salutations.items()
    )
    rows = report.rows
    split = _("; {count} more from cells with several addresses").format(count=rows.split) if rows.split else ""
    lines += [
        _(
            "Rows: {read} read = {own} recipient(s) + {merged} merged into an earlier row "
            "+ {held} held back by problems{split}."
        ).format(read=rows.rows, own=rows.own, merged=rows.merged, held=rows.held, split=split),
        _(
            "Recipients: {recipients} address(es) covering {municipalities} municipality(ies); "
            "{rejected} address(es) or cell(s) held back."
        ).format(recipients=report.recipients, municipalities=report.municipalities, rejected=report.rejected),
        _("Salutations: {kinds}.").format(kinds=kinds),
        _("Result: {problems} problem(s), {warnings} warning(s){garbled}.").format(
            problems=len(report.problems), warnings=len(report.warnings), garbled=_garbled(report)
        ),
    ]
    return "\n".join(lines)


def _garbled(report: CheckReport) -> str:
    count = sum(1 for f in report.warnings if f.kind == MOJIBAKE)
    if not count:
        return ""
    return _(
        ", {count} of them garbled text (exit 1): save the sheet as CSV UTF-8 "
        "(mentse CSV UTF-8 formátumban) from the original"
    ).format(count=count)


def _table(findings: tuple[Finding, ...]) -> list[str]:
    rows = [tuple(_(name) for name in _TABLE_COLUMNS)] + [
        (
            Path(f.file).name,
            f.sheet or "",
            "" if f.row is None else str(f.row),
            f.column or "",
            _short(f.value),
            f.problem,
        )
        for f in findings
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_TABLE_COLUMNS) - 1)]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[-1] for row in rows
    ]


def _short(value: str | None) -> str:
    text = " ".join((value or "").split())
    return text if len(text) <= _VALUE_WIDTH else text[: _VALUE_WIDTH - 1] + "…"


def check_campaign(campaign: Campaign, kind: str = "invitation") -> CheckReport:
    """``check`` for a campaign: its sheet, with every message of ``kind`` rendered.

    The event is loaded first, so a broken event file is an error (exit 2), not a row.
    """
    from lgp_mailer.event import load_event  # noqa: PLC0415 - loaded when a check runs
    from lgp_mailer.mail.attachments import checked_image  # noqa: PLC0415 - only when a check runs
    from lgp_mailer.mail.build import MessageFactory  # noqa: PLC0415 - Jinja2, css-inline: only when a check renders

    setting_problems: list[Finding] = []
    if campaign.sender.logo is not None:
        try:
            checked_image(campaign.sender.logo, campaign.root, campaign.limits.logo_bytes, key="sender.logo")
        except LgpError as error:  # a problem of the campaign, reported like a row's; rendered without it
            setting_problems.append(
                Finding(
                    PROBLEM,
                    error.message,
                    str(campaign.config_file),
                    None,
                    None,
                    "sender.logo",
                    str(campaign.sender.logo),
                )
            )
            campaign = replace(campaign, sender=replace(campaign.sender, logo=None))
    factory = MessageFactory(campaign, load_event(campaign.event_path), kind)

    def render_one(recipient: Recipient) -> None:
        factory.build(recipient)

    report = check_file(
        campaign.recipients_path,
        sheet=campaign.sheet,
        columns=dict(campaign.columns) or None,
        render_one=render_one,
        limits=campaign.limits,
    )
    return replace(report, findings=(*setting_problems, *report.findings))


# --- The whole campaign: inputs, guards, registrations, changes since the last run ----------


@dataclass(frozen=True)
class CampaignCheck:
    """What ``lgp-mailer check`` reports for a campaign, beyond the sheet's rows."""

    report: CheckReport | None  # None when an input is missing
    missing: list[str]  # inputs that are not there yet, one line each
    warnings: list[str]  # the inputs themselves: dates, [calendar] uid, stray sheets, shared UIDs, placeholders
    registrations: list[str]  # the match report, when a registrations file is configured
    changes: list[str]  # the event and sheet since the campaign's last send run
    provenance: list[str]

    @property
    def exit_code(self) -> ExitCode:
        if self.missing or self.report is None:
            return ExitCode.USAGE
        return self.report.exit_code


def _missing(campaign: Campaign) -> list[str]:
    lines = []
    if not campaign.event_path.is_file():
        lines.append(
            _("Missing: {path}: the event file ('event' in {config})").format(
                path=campaign.event_path, config=campaign.config_file.name
            )
        )
    if not campaign.recipients_path.is_file():
        lines.append(
            _("Missing: {path}: the contact sheet; put it there or set 'recipients' in {config}").format(
                path=campaign.recipients_path, config=campaign.config_file.name
            )
        )
    if campaign.registrations_path is not None and not campaign.registrations_path.is_file():
        lines.append(
            _(
                "Missing: {path}: the registration form's export "
                "('registrations' in {config}; comment it out until you have one)"
            ).format(path=campaign.registrations_path, config=campaign.config_file.name)
        )
    return lines


def check_whole_campaign(
    campaign: Campaign,
    kind: str = "invitation",
    *,
    now: dt.datetime | None = None,
    env: Mapping[str, str] = os.environ,
) -> CampaignCheck:
    """``check`` for a campaign: its sheet and messages, and every guard on the inputs.

    A broken event file or sheet is an error (exit 2); a missing one is listed, with the others.
    """
    from lgp_mailer.campaign.inputs import (  # noqa: PLC0415 - only for a whole-campaign check
        another_conference,
        campaign_ledger_if_any,
        changes_since_last_run,
        input_warnings,
        leftover_links,
        now_utc,
        provenance,
        shared_uid_warnings,
    )
    from lgp_mailer.campaign.revisions import notice_warnings  # noqa: PLC0415 - only for a whole-campaign check
    from lgp_mailer.event import load_event  # noqa: PLC0415 - loaded when a check runs
    from lgp_mailer.ledger.store import open_ledger  # noqa: PLC0415 - only for a whole-campaign check

    now = now or now_utc()
    block = provenance(campaign, env)
    warnings: list[str] = []
    missing = _missing(campaign)
    if not campaign.event_path.is_file():
        return CampaignCheck(None, missing, warnings, [], [], block)
    event = load_event(campaign.event_path)
    warnings = input_warnings(campaign, event, now)
    if missing:
        return CampaignCheck(None, missing, warnings, [], [], block)
    report = check_campaign(campaign, kind)
    changes: list[str] = []
    ledger_path = campaign_ledger_if_any(campaign, env)
    if ledger_path is not None:
        with open_ledger(ledger_path, env=env, password_command=campaign.database_password_command) as ledger:
            rows = report.recipients + report.rejected
            changes = changes_since_last_run(ledger, campaign, event, rows)
            if (other := another_conference(ledger, campaign, event)) is not None:
                warnings.append(_("WARNING: {error}").format(error=other))  # send refuses it
            warnings += shared_uid_warnings(ledger)
            warnings += leftover_links(ledger, campaign, event)
            warnings += notice_warnings(ledger, campaign, event)
    return CampaignCheck(report, [], warnings, _registrations(campaign, now, env), changes, block)


def _registrations(campaign: Campaign, now: dt.datetime, env: Mapping[str, str] = os.environ) -> list[str]:
    from lgp_mailer.campaign.matching import (  # noqa: PLC0415 - only with a registrations file
        finding_lines,
        format_match_report,
        match_registrations,
    )
    from lgp_mailer.sheets.registrations import load_registrations  # noqa: PLC0415 - only with a registrations file

    if campaign.registrations_path is None:
        return []
    invited = load_recipients(campaign.recipients_path, sheet=campaign.sheet, columns=dict(campaign.columns) or None)
    regs = load_registrations(campaign.registrations_path, columns=dict(campaign.registration_columns))
    report = match_registrations(regs, list(invited.recipients))
    # The rows that cannot be used, as remind says them: a registrant check did not name would
    # otherwise get no join link without anyone noticing before the day.
    findings = [line for _problem, line in finding_lines(regs, day_before=True)]
    from lgp_mailer.campaign.remind import stale_registrations  # noqa: PLC0415 - only with a registrations file

    lines = format_match_report(report, regs, now, max_age_hours=campaign.registrations_max_age_hours)
    return lines + stale_registrations(campaign, regs, env) + findings
