"""The campaign: a folder holding ``lgp-mailer.toml``, loaded into frozen settings.

Where a campaign comes from, in order:

1. ``--campaign PATH`` (a folder or the toml file itself);
2. ``LGP_MAILER_CAMPAIGN`` in the environment;
3. ``lgp-mailer.toml`` in the current folder;
4. the shipped example campaign (and the CLI says so).

Options given on the command line (``--event``, ``--recipients``...) override
the file's values; see :func:`dataclasses.replace`.  SMTP settings keep their
own flag > environment > file > default order (``smtp/settings.py``).

The shipped example campaign lives inside the wheel or beside the package in
a checkout: a wheel carries the top-level ``templates/``, ``events/``,
``recipients/``, ``registrations/`` and ``lgp-mailer.toml`` under
``lgp_mailer/_shipped/`` (see pyproject.toml); an editable install or a plain
checkout finds them beside the package (:func:`shipped_root`).
"""

from __future__ import annotations

import os
import re
import tomllib
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Protocol

from lgp_mailer import address_reasons
from lgp_mailer.errors import ConfigError
from lgp_mailer.i18n import _
from lgp_mailer.quoting import quoted
from lgp_mailer.sheets.limits import Limits

CAMPAIGN_FILE = "lgp-mailer.toml"
_CAMPAIGN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{2,99}$")
_TOP_KEYS = {
    "campaign_id",
    "event",
    "recipients",
    "sheet",
    "templates",
    "preview_dir",
    "outbox_dir",
    "database",
    "database_password_command",
    "sender",
    "columns",
    "smtp",
    "registrations",
    "registrations_max_age_hours",
    "registration_columns",
    "dkim",
    "limits",
}
_SENDER_KEYS = {"name", "email", "reply_to", "envelope", "logo", "unsubscribe", "unsubscribe_url", "list_id"}
_LIST_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]{0,200}$")


def _database(value: Any, rel: Callable[[str, Any, bool], Path | None]) -> Path | str | None:
    """The toml's ``database``: a ``postgresql://`` URL as written, else a path relative to the campaign."""
    from lgp_mailer.ledger.backend import is_url  # noqa: PLC0415 - the ledger stays off --help's start-up path

    if isinstance(value, str) and is_url(value):
        return value.strip()
    return rel("database", value, False)


@dataclass(frozen=True)
class Sender:
    name: str
    email: str
    reply_to: str | None = None
    envelope: str | None = None
    logo: Path | None = None
    unsubscribe: str | None = None  # the mailto: address for List-Unsubscribe
    unsubscribe_url: str | None = None  # an https: one-click URL (RFC 8058), optional
    list_id: str | None = None

    @property
    def domain(self) -> str:
        return self.email.rpartition("@")[2].lower()

    @property
    def envelope_from(self) -> str:
        return self.envelope or self.email

    @property
    def unsubscribe_address(self) -> str:
        return self.unsubscribe or self.reply_to or self.email

    @property
    def list_identifier(self) -> str:
        """RFC 2919 list id: one per organisation, so filters and opt-outs span conferences."""
        return self.list_id or f"meghivok.{self.domain}"


@dataclass(frozen=True)
class DkimSettings:
    key_file: Path
    selector: str
    domain: str


@dataclass(frozen=True)
class Campaign:
    """Everything a command needs to know about one mailing, resolved to absolute paths."""

    root: Path
    config_file: Path
    campaign_id: str
    event_path: Path
    recipients_path: Path
    sender: Sender
    sheet: str | None = None
    template_dirs: tuple[Path, ...] = ()
    preview_dir: Path | None = None
    outbox_dir: Path | None = None
    # A SQLite file, or a postgresql:// URL kept as written (issue 22); LGP_MAILER_DB overrides it.
    database: Path | str | None = None
    database_password_command: str | None = None  # a PostgreSQL sent log's password, as smtp.password_command
    columns: Mapping[str, str] = field(default_factory=dict)
    smtp: Mapping[str, Any] = field(default_factory=dict)
    shipped: bool = False
    registrations_path: Path | None = None
    registrations_max_age_hours: float = 12.0
    registration_columns: Mapping[str, str] = field(default_factory=dict)  # the export's headers → fields
    dkim: DkimSettings | None = None  # when the campaign signs its mail
    limits: Limits = field(default_factory=Limits)  # sizes of sheets and attachments ([limits])


@cache
def shipped_root() -> Path:
    """The folder holding the shipped example campaign (wheel or checkout)."""
    package = Path(__file__).resolve().parent
    for root in (package / "_shipped", package.parent):
        if (root / CAMPAIGN_FILE).is_file() and (root / "templates").is_dir():
            return root
    raise ConfigError(_("the shipped example campaign is missing from this installation; reinstall lgp-mailer"))


def shipped_templates() -> Path:
    return shipped_root() / "templates"


def find_campaign(
    explicit: Path | None = None, *, cwd: Path | None = None, env: Mapping[str, str] = os.environ
) -> Campaign:
    """Locate and load the campaign in the documented order.

    The variable naming another campaign than the current folder's own is refused: left
    from the last conference, it would have every command in the new folder read (and
    send) the old campaign."""
    here = (cwd or Path.cwd()) / CAMPAIGN_FILE
    from_env = explicit is None and bool(env.get("LGP_MAILER_CAMPAIGN"))
    if from_env:
        explicit = Path(env["LGP_MAILER_CAMPAIGN"])
    if explicit is not None:
        path = explicit / CAMPAIGN_FILE if explicit.is_dir() else explicit
        if not path.is_file():
            raise ConfigError(_("no campaign file here (expected lgp-mailer.toml)"), file=path)
        if from_env and here.is_file() and here.resolve() != path.resolve():
            raise ConfigError(
                _(
                    "this folder's campaign is not the one LGP_MAILER_CAMPAIGN names ({path}): say which with"
                    " --campaign, or unset LGP_MAILER_CAMPAIGN"
                ).format(path=path.resolve()),
                file=here.resolve(),
            )
        return load_campaign(path)
    if here.is_file():
        return load_campaign(here)
    return load_campaign(shipped_root() / CAMPAIGN_FILE, shipped=True)


# The helpers load_campaign hands to the table readers below: ``err(key, message)``
# makes the ConfigError that names the key; ``rel(key, value, required)`` resolves
# a path against the campaign folder (None only when not required and absent).
_Err = Callable[[str, str], ConfigError]


class _Rel(Protocol):
    def __call__(self, key: str, value: Any, required: bool = True) -> Path | None: ...


CONFIG_BYTES = 1024 * 1024  # lgp-mailer.toml is a few KiB; a larger file is refused before parsing


def load_campaign(path: Path, *, shipped: bool = False) -> Campaign:
    path = Path(path).resolve()
    try:
        with path.open("rb") as stream:
            raw = stream.read(CONFIG_BYTES + 1)  # never the whole of a hostile or wrong file
        if len(raw) > CONFIG_BYTES:
            raise ConfigError(
                _("over {size} MiB: not a campaign file (one is a few KiB)").format(size=CONFIG_BYTES // (1024 * 1024)),
                file=path,
            )
        # utf-8-sig: Windows Notepad starts UTF-8 files with a BOM, which TOML refuses.
        data = tomllib.loads(raw.decode("utf-8-sig"))
    except OSError as exc:
        raise ConfigError(_("cannot read: {reason}").format(reason=exc.strerror or exc), file=path) from None
    except UnicodeDecodeError:
        raise ConfigError(_("not UTF-8 text"), file=path) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(_("not valid TOML: {exc}").format(exc=exc), file=path) from None
    root = path.parent

    def err(key: str, message: str) -> ConfigError:
        return ConfigError(message, file=path, key=key)

    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise err(
            unknown[0],
            _("unknown key (a typo? expected one of: {top_keys})").format(top_keys=", ".join(sorted(_TOP_KEYS))),
        )

    def text(key: str, value: Any, required: bool = True) -> str | None:
        if value is None and not required:
            return None
        if not isinstance(value, str) or not value.strip():
            raise err(
                key,
                _("missing key")
                if value is None
                else _("must be a non-empty text, not {value}").format(value=quoted(value)),
            )
        return value.strip()

    def rel(key: str, value: Any, required: bool = True) -> Path | None:
        raw = text(key, value, required)
        if raw is not None and "\0" in raw:  # no file system takes one; pathlib would raise ValueError
            raise err(key, _("a path cannot hold a NUL character (U+0000)"))
        return None if raw is None else (root / raw).resolve()

    campaign_id = text("campaign_id", data.get("campaign_id"))
    assert campaign_id is not None
    if not _CAMPAIGN_ID.match(campaign_id):
        raise err("campaign_id", _("use 3-100 letters, digits, '.', '_' or '-'"))
    limits = _limits(data.get("limits"), err)
    sender = _sender(data.get("sender"), err, rel)
    columns = data.get("columns") or {}
    if not isinstance(columns, dict) or not all(isinstance(v, str) for v in columns.values()):
        raise err("columns", _('must be a table of "Header" = "field"'))
    registration_columns = data.get("registration_columns") or {}
    if not isinstance(registration_columns, dict) or not all(isinstance(v, str) for v in registration_columns.values()):
        raise err("registration_columns", _('must be a table of "Header" = "field"'))
    smtp = data.get("smtp") or {}
    if not isinstance(smtp, dict):
        raise err("smtp", _("must be a table"))
    own_templates = rel("templates", data.get("templates", "templates"))
    template_dirs = tuple(dict.fromkeys(d for d in (own_templates, shipped_templates()) if d and d.is_dir()))
    sheet = data.get("sheet")
    max_age = data.get("registrations_max_age_hours", 12.0)
    if isinstance(max_age, bool) or not isinstance(max_age, (int, float)) or max_age <= 0:
        raise err("registrations_max_age_hours", _("must be a positive number of hours"))
    return Campaign(
        root=root,
        config_file=path,
        campaign_id=campaign_id,
        event_path=rel("event", data.get("event")),  # type: ignore[arg-type]  # required=True: rel() raised if missing
        recipients_path=rel("recipients", data.get("recipients")),  # type: ignore[arg-type]  # required=True: rel() raised if missing
        sender=sender,
        sheet=text("sheet", sheet, required=False),
        template_dirs=template_dirs,
        preview_dir=rel("preview_dir", data.get("preview_dir", "preview")),
        outbox_dir=rel("outbox_dir", data.get("outbox_dir", "outbox")),
        database=_database(data.get("database"), rel),
        database_password_command=text("database_password_command", data.get("database_password_command"), False),
        columns=dict(columns),
        smtp=dict(smtp),
        shipped=shipped,
        registrations_path=rel("registrations", data.get("registrations"), required=False),
        registrations_max_age_hours=float(max_age),
        registration_columns=dict(registration_columns),
        dkim=dkim_settings(data.get("dkim"), root, err),
        limits=limits,
    )


def _limits(table: object, err: _Err) -> Limits:
    """``[limits]``: whole numbers that may only raise (or lower) the defaults of sheets/limits.py."""
    if table is None:
        return Limits()
    if not isinstance(table, dict):
        raise err(
            "limits", _("must be a table with some of: {toml_keys}").format(toml_keys=", ".join(Limits.toml_keys()))
        )
    for key, value in table.items():
        if key not in Limits.toml_keys():
            raise err(
                f"limits.{key}",
                _("unknown key (expected one of: {toml_keys})").format(toml_keys=", ".join(Limits.toml_keys())),
            )
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise err(f"limits.{key}", _("must be a positive whole number, not {value}").format(value=quoted(value)))
    return Limits(**table)


def _sender(raw: Any, err: _Err, rel: _Rel) -> Sender:
    from email_validator import EmailNotValidError, validate_email  # noqa: PLC0415 - email_validator loads dnspython; only when a sender is validated

    if not isinstance(raw, dict):
        raise err("sender", _("missing table [sender] with name and email"))
    unknown = sorted(set(raw) - _SENDER_KEYS)
    if unknown:
        raise err(
            f"sender.{unknown[0]}",
            _("unknown key (expected one of: {sender_keys})").format(sender_keys=", ".join(sorted(_SENDER_KEYS))),
        )
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise err("sender.name", _("missing key"))

    def address(key: str, required: bool) -> str | None:
        value = raw.get(key)
        if value is None and not required:
            return None
        if not isinstance(value, str):
            raise err(f"sender.{key}", _("missing key") if value is None else _("must be an e-mail address"))
        try:
            # ASCII (punycode) form: it goes into the envelope, Message-ID and List-Id.
            return validate_email(value.strip(), check_deliverability=False, allow_smtputf8=False).ascii_email
        except EmailNotValidError as exc:
            raise err(
                f"sender.{key}",
                _("{value} is not an e-mail address: {exc}").format(
                    value=quoted(value), exc=address_reasons.reason(exc)
                ),
            ) from None

    logo = rel("sender.logo", raw.get("logo"), required=False)
    if logo is not None and not logo.is_file():
        raise err("sender.logo", _("logo file not found: {logo}").format(logo=logo))
    url = raw.get("unsubscribe_url")
    if url is not None and (not isinstance(url, str) or not re.match(r"^https://[^\s/]+\S*$", url.strip())):
        raise err("sender.unsubscribe_url", _("must be an https:// address (one-click unsubscribe needs https)"))
    if url is not None and not url.isascii():
        raise err("sender.unsubscribe_url", _("must be ASCII: percent-encode accented letters (leiratkoz%C3%A1s)"))
    list_id = raw.get("list_id")
    if list_id is not None and (not isinstance(list_id, str) or not _LIST_ID.match(list_id)):
        raise err("sender.list_id", _("use letters, digits, '.' and '-', e.g. meghivok.lgp.example.org"))
    return Sender(
        name=" ".join(name.split()),
        email=address("email", True),  # type: ignore[arg-type]  # required: address() raised if missing
        reply_to=address("reply_to", False),
        envelope=address("envelope", False),
        logo=logo,
        unsubscribe=address("unsubscribe", False),
        unsubscribe_url=url.strip() if url else None,
        list_id=list_id,
    )


def dkim_settings(table: object, root: Path, err: _Err) -> DkimSettings | None:
    """The campaign's ``[dkim]`` table (key_file, selector, domain), validated; None when absent."""
    if table is None:
        return None
    if not isinstance(table, dict):
        raise err("dkim", _("must be a table with key_file, selector and domain"))
    unknown = sorted(set(table) - {"key_file", "selector", "domain"})
    if unknown:
        raise err(f"dkim.{unknown[0]}", _("unknown key (expected key_file, selector, domain)"))
    for key in ("key_file", "selector", "domain"):
        if not isinstance(table.get(key), str) or not table[key].strip():
            raise err(f"dkim.{key}", _("missing key"))
    if "\0" in table["key_file"]:
        raise err("dkim.key_file", _("a path cannot hold a NUL character (U+0000)"))
    return DkimSettings(
        (root / table["key_file"]).resolve(), table["selector"].strip(), table["domain"].strip().lower()
    )


def new_campaign_id(hint: str = "lgp") -> str:
    """A fresh, stable identifier for ``init``: readable prefix plus random suffix."""
    slug = re.sub(r"[^A-Za-z0-9]+", "-", hint).strip("-").lower() or "lgp"
    return f"{slug[:60]}-{uuid.uuid4().hex[:12]}"
