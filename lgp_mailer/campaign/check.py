"""The core of ``lgp-mailer check``: everything that would go wrong, before sending.

``check_recipients`` takes a loaded :class:`RecipientSheet` and, optionally,
``render_one(recipient)`` -- a callable the campaign layer supplies to render
each message; it raises :class:`LgpError` on failure, which becomes a problem
row in the report.  Nothing is written or sent.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lgp_mailer.config import Campaign
from lgp_mailer.errors import ExitCode, LgpError
from lgp_mailer.sheets.recipients import PROBLEM, WARNING, Finding, Recipient, RecipientSheet, load_recipients

SALUTATION_KINDS = ("female", "male", "neutral", "explicit")

RenderOne = Callable[[Recipient], None]


@dataclass(frozen=True)
class CheckReport:
    findings: tuple[Finding, ...]  # sorted: sheet order, row, problems before warnings
    recipients: int  # addresses that would be sent to
    municipalities: int  # distinct municipalities those addresses cover
    merged: int  # addresses standing for more than one row (joint offices)
    rejected: int  # addresses or cells held back by problems
    salutations: dict[str, int]  # kind → count, every kind present (0 when none)

    @property
    def problems(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == PROBLEM)

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == WARNING)

    @property
    def exit_code(self) -> ExitCode:
        """0 when clean, 1 with problems; warnings never change it."""
        return ExitCode.PROBLEMS if self.problems else ExitCode.OK


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
        merged=sum(1 for r in sheet.recipients if len(r.rows) > 1),
        rejected=len(sheet.rejected),
        salutations={kind: kinds.get(kind, 0) for kind in SALUTATION_KINDS},
    )


def check_file(
    path: Path | str,
    *,
    sheet: str | None = None,
    columns: dict[str, str] | None = None,
    render_one: RenderOne | None = None,
) -> CheckReport:
    """Load and check in one call; RecipientsError (exit 2) when the file is unusable."""
    return check_recipients(load_recipients(path, sheet=sheet, columns=columns), render_one=render_one)


def _render_all(sheet: RecipientSheet, render_one: RenderOne) -> list[Finding]:
    found = []
    for recipient in sheet.recipients:
        try:
            render_one(recipient)
        except LgpError as error:
            found.append(
                Finding(
                    PROBLEM,
                    f"cannot render the message: {error.message}",
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

    def key(f: Finding):
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

_TABLE_COLUMNS = ("file", "sheet", "row", "column", "value", "problem")
_VALUE_WIDTH = 40


def format_report(report: CheckReport) -> str:
    """The findings table, problems first, then warnings, then the summary."""
    lines: list[str] = []
    for title, findings in (("Problems", report.problems), ("Warnings", report.warnings)):
        if findings:
            lines.append(f"{title} ({len(findings)}):")
            lines.extend(_table(findings))
            lines.append("")
    kinds = ", ".join(f"{count} {kind}" for kind, count in report.salutations.items())
    lines += [
        f"Recipients: {report.recipients} address(es) covering {report.municipalities} municipality(ies); "
        f"{report.merged} merged address(es); {report.rejected} held back by problems.",
        f"Salutations: {kinds}.",
        f"Result: {len(report.problems)} problem(s), {len(report.warnings)} warning(s).",
    ]
    return "\n".join(lines)


def _table(findings: tuple[Finding, ...]) -> list[str]:
    rows = [_TABLE_COLUMNS] + [
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
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[-1] for row in rows]


def _short(value: str | None) -> str:
    text = " ".join((value or "").split())
    return text if len(text) <= _VALUE_WIDTH else text[: _VALUE_WIDTH - 1] + "…"


def check_campaign(campaign: Campaign, kind: str = "invitation") -> CheckReport:
    """``check`` for a campaign: its sheet, with every message of ``kind`` rendered.

    The event is loaded first, so a broken event file is an error (exit 2), not a row.
    """
    from lgp_mailer.event import load_event  # noqa: PLC0415 - loaded when a check runs, not on import
    from lgp_mailer.mail.build import MessageFactory  # noqa: PLC0415 - Jinja2, css-inline: only when a check renders

    factory = MessageFactory(campaign, load_event(campaign.event_path), kind)

    def render_one(recipient: Recipient) -> None:
        factory.build(recipient)

    return check_file(campaign.recipients_path, sheet=campaign.sheet, columns=dict(campaign.columns) or None,
                      render_one=render_one)
