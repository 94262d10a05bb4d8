"""``lgp-mailer config``: the settings a send would use, and where each came from."""

from __future__ import annotations

import os
from typing import Any

import typer

from lgp_mailer import i18n
from lgp_mailer.cli import common as so
from lgp_mailer.cli.app import app, fail
from lgp_mailer.cli.common import CampaignOpt, resolve_campaign
from lgp_mailer.errors import LgpError
from lgp_mailer.i18n import _


@app.command("config")
@so.smtp_options()
def config(
    campaign: CampaignOpt = None,
    *,
    smtp: dict[str, Any],
) -> None:
    """Show the campaign, sender, sent-log and SMTP settings with the source of each value.

    Precedence: command-line flag > LGP_SMTP_* / LGP_MAILER_* environment > lgp-mailer.toml > default.
    Secrets are never shown, only where they would come from.

    \b
    Examples:
      lgp-mailer config
      LGP_SMTP_HOST=smtp.pelda.example lgp-mailer config
    """
    from lgp_mailer.ledger.store import DB_ENV, ledger_location
    from lgp_mailer.smtp.settings import campaign_run_settings, campaign_smtp_settings

    try:
        chosen = resolve_campaign(campaign)
        resolved = campaign_smtp_settings(chosen, smtp, os.environ)
        campaign_run_settings(chosen)
    except LgpError as error:
        raise fail(error) from None
    s = resolved.settings
    db_source = f"env {DB_ENV}" if os.environ.get(DB_ENV) else _("file") if chosen.database else _("default")
    language = i18n.choice()
    rows = [
        (_("campaign file"), chosen.config_file, _("shipped example") if chosen.shipped else _("found")),
        ("campaign_id", chosen.campaign_id, _("file")),
        (_("event"), chosen.event_path, _("file")),
        (_("recipients"), chosen.recipients_path, _("file")),
        (_("from"), f"{chosen.sender.name} <{chosen.sender.email}>", _("file")),
        ("reply-to", chosen.sender.reply_to or "-", _("file")),
        (_("envelope sender"), chosen.sender.envelope_from, _("file")),
        (_("sent log"), ledger_location(os.environ, chosen.database), db_source),
        (
            _("interface language"),
            language.language,
            _(language.source) if language.source == "default" else language.source,
        ),
        (_("smtp host"), s.host, resolved.sources["host"]),
        (_("smtp port"), s.port, resolved.sources["port"]),
        (_("security"), s.security, resolved.sources["security"]),
        (_("username"), s.username or "-", resolved.sources["username"]),
        (_("auth"), s.auth_method, resolved.sources["auth_method"]),
        (_("timeout"), f"{s.timeout:g} s", resolved.sources["timeout"]),
        (_("rate"), ", ".join(map(str, s.rates)) or _("unlimited"), resolved.sources["rate"]),
        (_("daily quota"), s.daily_quota or _("none"), resolved.sources["daily_quota"]),
        (_("messages per connection"), s.messages_per_connection, resolved.sources["messages_per_connection"]),
        (_("cafile"), s.cafile or _("system trust store"), resolved.sources["cafile"]),
        (
            _("password from"),
            _secret_source(s),
            "LGP_SMTP_PASSWORD > LGP_SMTP_PASSWORD_FILE > command > keyring > prompt",
        ),
    ]
    width = max(len(name) for name, _value, _source in rows)
    for name, value, source in rows:
        typer.echo(f"{name:<{width}}  {value}  [{source}]")


def _secret_source(s) -> str:
    if s.auth_method == "none":
        return _("not needed (auth none)")
    if s.auth_method == "xoauth2":
        return (
            "LGP_SMTP_OAUTH_TOKEN"
            if os.environ.get("LGP_SMTP_OAUTH_TOKEN")
            else (s.token_command and "token_command") or _("missing")
        )
    for name in ("LGP_SMTP_PASSWORD", "LGP_SMTP_PASSWORD_FILE"):
        if os.environ.get(name):
            return name
    return "password_command" if s.password_command else _("keyring, else a prompt")
