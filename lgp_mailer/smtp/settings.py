"""SMTP transport settings and where each value came from.

Precedence, highest first: command-line flag > ``LGP_SMTP_*`` environment
variable > the ``[smtp]`` table of ``lgp-mailer.toml`` > default.  Every
resolved value keeps its source ("flag", "env LGP_SMTP_HOST", "file",
"default") so ``lgp-mailer config`` can show it.

Only transport settings live here (From, Reply-To and the envelope sender
belong to the campaign).  Passwords and tokens never come from the toml: a
``password``/``token`` key there is an error, not a silent ignore.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lgp_mailer.errors import ConfigError
from lgp_mailer.i18n import _
from lgp_mailer.quoting import quoted

if TYPE_CHECKING:
    from lgp_mailer.config import Campaign

SECURITIES = ("starttls", "tls", "none")
AUTH_METHODS = ("password", "xoauth2", "none")
DEFAULT_PORTS = {"starttls": 587, "tls": 465, "none": 25}
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})
DAY = 86_400.0
_UNITS = {
    "s": 1.0, "sec": 1.0, "second": 1.0,
    "min": 60.0, "m": 60.0, "minute": 60.0,
    "h": 3600.0, "hour": 3600.0,
    "d": DAY, "day": DAY,
}  # fmt: skip
_SECRET_KEYS = ("password", "pass", "passwd", "token", "access_token", "oauth_token", "secret")


@dataclass(frozen=True)
class Rate:
    """``count`` messages per ``period`` seconds, e.g. 30/min."""

    count: int
    period: float
    text: str

    @property
    def interval(self) -> float:
        """Seconds between two messages when spaced evenly."""
        return self.period / self.count

    @property
    def is_quota(self) -> bool:
        """A per-day (or longer) rate is a quota to stop at, not a pace to space by."""
        return self.period >= DAY

    def __str__(self) -> str:
        return self.text


def parse_rate(text: str, *, key: str = "rate") -> Rate:
    """Parse "30/min", "5/s", "2000/day", "100 / hour"."""
    m = re.fullmatch(r"\s*(\d+)\s*/\s*([a-z]+?)s?\s*", str(text).lower())
    if not m or m.group(2) not in _UNITS or int(m.group(1)) <= 0:
        raise ConfigError(
            _("{text} is not a rate; write e.g. '30/min', '5/s' or '2000/day'").format(text=quoted(text)), key=key
        )
    return Rate(int(m.group(1)), _UNITS[m.group(2)], f"{int(m.group(1))}/{m.group(2)}")


@dataclass(frozen=True)
class SmtpSettings:
    host: str = "localhost"
    port: int = 587
    security: str = "starttls"
    username: str | None = None
    auth_method: str = "none"
    timeout: float = 60.0
    rates: tuple[Rate, ...] = ()  # paces (per second/minute/hour)
    daily_quota: int | None = None  # per rolling 24 hours, from the ledger
    messages_per_connection: int = 100
    cafile: Path | None = None
    insecure: bool = False
    password_command: str | None = None
    token_command: str | None = None
    keyring_service: str = "lgp-mailer"

    @property
    def is_local(self) -> bool:
        return self.host.lower() in LOCAL_HOSTS

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class ResolvedSettings:
    settings: SmtpSettings
    sources: Mapping[str, str] = field(default_factory=dict)


# setting name -> (file key, environment variable)
KEYS: dict[str, tuple[str, str]] = {
    "host": ("host", "LGP_SMTP_HOST"),
    "port": ("port", "LGP_SMTP_PORT"),
    "security": ("security", "LGP_SMTP_SECURITY"),
    "username": ("username", "LGP_SMTP_USERNAME"),
    "auth_method": ("auth", "LGP_SMTP_AUTH"),
    "timeout": ("timeout", "LGP_SMTP_TIMEOUT"),
    "rate": ("rate", "LGP_SMTP_RATE"),
    "daily_quota": ("daily_quota", "LGP_SMTP_DAILY_QUOTA"),
    "messages_per_connection": ("messages_per_connection", "LGP_SMTP_MESSAGES_PER_CONNECTION"),
    "cafile": ("cafile", "LGP_SMTP_CAFILE"),
    "insecure": ("insecure", "LGP_SMTP_INSECURE"),
    "password_command": ("password_command", "LGP_SMTP_PASSWORD_COMMAND"),
    "token_command": ("token_command", "LGP_SMTP_TOKEN_COMMAND"),
    "keyring_service": ("keyring_service", "LGP_SMTP_KEYRING_SERVICE"),
}


def _pick(
    name: str, file_table: Mapping[str, Any], env: Mapping[str, str], flags: Mapping[str, object | None]
) -> tuple[Any, str]:
    file_key, env_name = KEYS[name]
    if flags.get(name) is not None:
        return flags[name], "flag"
    if env.get(env_name, "") != "":
        return env[env_name], f"env {env_name}"
    if file_table.get(file_key) is not None:
        return file_table[file_key], "file"
    return None, "default"


def _int(value: Any, key: str, *, minimum: int = 1) -> int:
    try:
        number = int(str(value).strip()) if not isinstance(value, bool) else None
    except ValueError:
        number = None
    if number is None or number < minimum:
        raise ConfigError(
            _("{value} is not a whole number of at least {minimum}").format(value=quoted(value), minimum=minimum),
            key=key,
        )
    return number


def _bool(value: Any, key: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigError(_("{value} is not true or false").format(value=quoted(value)), key=key)


def _choice(value: Any, key: str, choices: tuple[str, ...]) -> str:
    text = str(value).strip().lower()
    if text not in choices:
        raise ConfigError(
            _("{value} is not one of {choices}").format(value=quoted(value), choices=", ".join(choices)), key=key
        )
    return text


def _rates(value: Any, key: str) -> list[Rate]:
    items = value if isinstance(value, list | tuple) else str(value).split(",")
    return [parse_rate(item, key=key) for item in items if str(item).strip()]


def _check_file_table(file_table: Mapping[str, Any], allow_keys: Collection[str]) -> None:
    for key in file_table:
        if str(key).lower() in _SECRET_KEYS:
            raise ConfigError(
                _(
                    "passwords never come from the toml; use LGP_SMTP_PASSWORD, LGP_SMTP_PASSWORD_FILE, "
                    "password_command, the keyring or the prompt (tokens: LGP_SMTP_OAUTH_TOKEN or "
                    "token_command)"
                ),
                key=f"smtp.{key}",
            )
    known = {file_key for file_key, _ in KEYS.values()}
    unknown = sorted(str(k) for k in file_table if k not in known and k not in allow_keys)
    if unknown:
        raise ConfigError(
            _("unknown SMTP setting; known: {known}").format(known=", ".join(sorted(known))), key=f"smtp.{unknown[0]}"
        )


def resolve_smtp_settings(
    file_table: Mapping[str, Any],
    env: Mapping[str, str],
    flags: Mapping[str, object | None],
    *,
    allow_keys: Collection[str] = (),
) -> ResolvedSettings:
    """Merge flag > env > file > default and validate; ConfigError names the key.

    ``file_table`` is the toml's ``[smtp]`` table; a key that is neither a
    transport setting nor in ``allow_keys`` (keys other modules read from the
    same table) is reported, so a typo does not silently fall back.
    ``flags`` maps setting names (``host``, ``port``, ``rate`` …) to the
    option's value, None when not given.
    """
    _check_file_table(file_table, allow_keys)
    raw: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for name in KEYS:
        raw[name], sources[name] = _pick(name, file_table, env, flags)

    def key(name: str) -> str:  # the name the user wrote, for error messages
        source = sources[name]
        if source.startswith("env "):
            return source[4:]
        if source == "flag":
            return "--" + name.replace("_", "-")
        return f"smtp.{KEYS[name][0]}"

    values: dict[str, Any] = {}
    for name in ("host", "username", "password_command", "token_command", "keyring_service"):
        if raw[name] is not None and str(raw[name]).strip():
            values[name] = str(raw[name]).strip()
    values["security"] = _choice(raw["security"] or "starttls", key("security"), SECURITIES)
    if raw["port"] is not None:
        values["port"] = _int(raw["port"], key("port"))
        if values["port"] > 65535:
            raise ConfigError(_("{port} is not a port number").format(port=quoted(raw["port"])), key=key("port"))
    else:
        values["port"] = DEFAULT_PORTS[values["security"]]
        sources["port"] = f"default for {values['security']}"
    default_auth = "password" if values.get("username") else "none"
    values["auth_method"] = _choice(raw["auth_method"] or default_auth, key("auth_method"), AUTH_METHODS)
    if raw["auth_method"] is None:
        sources["auth_method"] = "default"
    if raw["timeout"] is not None:
        try:
            values["timeout"] = float(raw["timeout"])
        except (TypeError, ValueError):
            values["timeout"] = 0.0
        if not values["timeout"] > 0:
            raise ConfigError(
                _("{timeout} is not a positive number of seconds").format(timeout=quoted(raw["timeout"])),
                key=key("timeout"),
            )
    if raw["messages_per_connection"] is not None:
        values["messages_per_connection"] = _int(raw["messages_per_connection"], key("messages_per_connection"))
    if raw["cafile"] is not None:
        values["cafile"] = Path(str(raw["cafile"])).expanduser()
        if not values["cafile"].is_file():
            raise ConfigError(_("CA file {cafile} does not exist").format(cafile=values["cafile"]), key=key("cafile"))
    values["insecure"] = _bool(raw["insecure"], key("insecure")) if raw["insecure"] is not None else False
    _rates_and_quota(raw, values, sources, key)
    settings = SmtpSettings(**values)
    _validate(settings, key)
    return ResolvedSettings(settings, sources)


def _rates_and_quota(raw: dict[str, Any], values: dict[str, Any], sources: dict[str, str], key: Any) -> None:
    rates = _rates(raw["rate"], key("rate")) if raw["rate"] is not None else []
    values["rates"] = tuple(r for r in rates if not r.is_quota)
    # "2000/day" in rate is a quota; an explicit daily_quota wins over it.
    quotas = [round(r.count * DAY / r.period) for r in rates if r.is_quota]
    if raw["daily_quota"] is not None:
        values["daily_quota"] = _int(raw["daily_quota"], key("daily_quota"))
    elif quotas:
        values["daily_quota"] = min(quotas)
        sources["daily_quota"] = f"{sources['rate']} (rate)"


def _validate(s: SmtpSettings, key: Any) -> None:
    if s.security == "none" and not s.is_local and not s.insecure:
        raise ConfigError(
            _("security 'none' sends in clear text to {host}; allowed only for localhost or with --insecure").format(
                host=s.host
            ),
            key=key("security"),
        )
    if s.auth_method != "none" and not s.username:
        raise ConfigError(
            _("auth {auth_method} needs a username").format(auth_method=quoted(s.auth_method)), key=key("username")
        )
    if s.auth_method != "none" and s.security == "none" and not s.is_local:
        raise ConfigError(
            _("refusing to send a password or token in clear text to {host}; use starttls or tls").format(host=s.host),
            key=key("security"),
        )


# Keys of the [smtp] table that the send run reads itself (not transport settings).
RUN_KEYS = ("retries", "retry_delay", "max_consecutive_failures")


def campaign_smtp_settings(
    campaign: Campaign, flags: Mapping[str, object | None], env: Mapping[str, str]
) -> ResolvedSettings:
    """The campaign's ``[smtp]`` table under the flags and the environment."""
    table = dict(campaign.smtp)
    if isinstance(table.get("cafile"), str):  # paths in the toml are relative to its folder
        table["cafile"] = str(campaign.root / Path(table["cafile"]).expanduser())
    return resolve_smtp_settings(table, env, flags, allow_keys=RUN_KEYS)


def campaign_run_settings(campaign: Campaign) -> dict[str, Any]:
    """Retry and circuit-breaker settings from the [smtp] table, validated."""
    table = campaign.smtp
    out: dict[str, Any] = {}
    for key, kind, minimum in (("retries", int, 1), ("retry_delay", float, 0.0), ("max_consecutive_failures", int, 1)):
        if key in table:
            value = table[key]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < minimum:
                raise ConfigError(
                    _("must be a number of at least {minimum}").format(minimum=minimum),
                    file=campaign.config_file,
                    key=f"smtp.{key}",
                )
            out[key] = kind(value)
    return out
