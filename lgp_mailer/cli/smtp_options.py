"""SMTP options shared by ``send``, ``remind`` and ``config``; settings resolved flag > env > file > default."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from lgp_mailer.config import Campaign
from lgp_mailer.errors import ConfigError

# Keys of the [smtp] table that the run reads itself (not transport settings).
RUN_KEYS = ("retries", "retry_delay", "max_consecutive_failures")

HostOpt = Annotated[str | None, typer.Option("--host", help="SMTP server (env LGP_SMTP_HOST).", rich_help_panel="SMTP")]
PortOpt = Annotated[int | None, typer.Option("--port", help="SMTP port (env LGP_SMTP_PORT).", rich_help_panel="SMTP")]
SecurityOpt = Annotated[
    str | None,
    typer.Option("--security", help="starttls (587), tls (465) or none (localhost or --insecure only).", rich_help_panel="SMTP"),
]
UsernameOpt = Annotated[str | None, typer.Option("--username", help="SMTP user name (env LGP_SMTP_USERNAME).", rich_help_panel="SMTP")]
AuthOpt = Annotated[str | None, typer.Option("--auth", help="password, xoauth2 or none.", rich_help_panel="SMTP")]
RateOpt = Annotated[
    list[str] | None,
    typer.Option("--rate", help="Pace and quota, e.g. --rate 30/min --rate 2000/day.", rich_help_panel="SMTP"),
]
QuotaOpt = Annotated[int | None, typer.Option("--daily-quota", help="Messages per rolling 24 hours.", rich_help_panel="SMTP")]
TimeoutOpt = Annotated[float | None, typer.Option("--timeout", help="Seconds to wait for the server.", rich_help_panel="SMTP")]
PerConnOpt = Annotated[
    int | None, typer.Option("--messages-per-connection", help="Reconnect after this many messages.", rich_help_panel="SMTP")
]
CafileOpt = Annotated[Path | None, typer.Option("--cafile", help="CA certificate file for a private CA.", rich_help_panel="SMTP")]
InsecureOpt = Annotated[
    bool, typer.Option("--insecure", help="Allow security 'none' to a host other than localhost.", rich_help_panel="SMTP")
]


def smtp_flags(host=None, port=None, security=None, username=None, auth=None, rate=None, daily_quota=None,
               timeout=None, messages_per_connection=None, cafile=None, insecure=False) -> dict[str, Any]:
    return {
        "host": host, "port": port, "security": security, "username": username, "auth_method": auth,
        "rate": list(rate) if rate else None, "daily_quota": daily_quota, "timeout": timeout,
        "messages_per_connection": messages_per_connection, "cafile": cafile, "insecure": True if insecure else None,
    }  # fmt: skip


def resolve(campaign: Campaign, flags: dict[str, Any]):
    from lgp_mailer.smtp.settings import resolve_smtp_settings

    table = dict(campaign.smtp)
    if isinstance(table.get("cafile"), str):  # paths in the toml are relative to its folder
        table["cafile"] = str(campaign.root / Path(table["cafile"]).expanduser())
    return resolve_smtp_settings(table, os.environ, flags, allow_keys=RUN_KEYS)


def run_settings(campaign: Campaign) -> dict[str, Any]:
    """Retry and circuit-breaker settings from the [smtp] table, validated."""
    table = campaign.smtp
    out: dict[str, Any] = {}
    for key, kind, minimum in (("retries", int, 1), ("retry_delay", float, 0.0), ("max_consecutive_failures", int, 1)):
        if key in table:
            value = table[key]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < minimum:
                raise ConfigError(f"must be a number of at least {minimum}", file=campaign.config_file, key=f"smtp.{key}")
            out[key] = kind(value)
    return out
