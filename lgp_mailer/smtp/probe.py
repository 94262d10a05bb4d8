"""``lgp-mailer smtp test``: can we reach, secure and log in to the mail server?  No mail is sent.

The session is :class:`~lgp_mailer.smtp.transport.SmtpTransport`'s own (the
same connect, STARTTLS or TLS, and AUTH as a send run), followed by RSET and
QUIT instead of MAIL FROM.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from lgp_mailer.smtp.credentials import Secret, get_secret
from lgp_mailer.smtp.hints import fix_lines
from lgp_mailer.smtp.settings import SmtpSettings, campaign_smtp_settings
from lgp_mailer.smtp.transport import SmtpTransport

if TYPE_CHECKING:
    from lgp_mailer.config import Campaign

_LABELS = {"connect": "connect", "tls": "TLS", "auth": "AUTH", "rset": "RSET", "quit": "QUIT"}


@dataclass(frozen=True)
class Step:
    name: str  # connect, TLS, AUTH, RSET, QUIT
    ok: bool
    detail: str


@dataclass
class ProbeReport:
    settings: SmtpSettings
    steps: list[Step] = field(default_factory=list)
    fixes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(step.ok for step in self.steps)


def _done(step: str, s: SmtpSettings) -> str:
    if step == "connect":
        return f"{s.address} answered"
    if step == "tls":
        return "STARTTLS, certificate trusted" if s.security == "starttls" else "implicit TLS, certificate trusted"
    if step == "auth":
        return f"logged in as {s.username} ({s.auth_method})"
    return "accepted"


def probe(settings: SmtpSettings, secret: Secret | None) -> ProbeReport:
    """Connect, negotiate TLS, authenticate, RSET and QUIT; report each step and, on failure, the fix."""
    report = ProbeReport(settings)
    for step, failure in SmtpTransport(settings, secret).probe():
        if failure is None:
            report.steps.append(Step(_LABELS[step], True, _done(step, settings)))
        else:
            # As SmtpTransport.open words it: the auth line already carries the server's code.
            detail = failure.reply if failure.code is None or failure.phase == "auth" else failure.line
            report.steps.append(Step(_LABELS[step], False, detail))
            report.fixes = fix_lines(step, failure.reply, settings, failure.code)
    return report


def probe_campaign(
    campaign: Campaign, flags: Mapping[str, object | None], env: Mapping[str, str], *, interactive: bool
) -> ProbeReport:
    """:func:`probe` with the settings a send of ``campaign`` would use (flag > env > toml > default)."""
    settings = campaign_smtp_settings(campaign, flags, env).settings
    return probe(settings, get_secret(settings, env, interactive=interactive))
