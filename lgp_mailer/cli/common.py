"""Options and helpers shared by the commands."""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.models import OptionInfo

from lgp_mailer import kinds
from lgp_mailer.config import Campaign, find_campaign
from lgp_mailer.i18n import _
from lgp_mailer.quoting import quoted

CampaignOpt = Annotated[
    Path | None,
    typer.Option(
        "--campaign",
        "-c",
        help=_(
            "Campaign folder (or its lgp-mailer.toml). "
            "Default: $LGP_MAILER_CAMPAIGN, then ./lgp-mailer.toml, then the shipped example."
        ),
    ),
]
EventOpt = Annotated[Path | None, typer.Option("--event", help=_("Conference file (overrides the campaign's)."))]
RecipientsOpt = Annotated[
    Path | None, typer.Option("--recipients", help=_("Recipient sheet (overrides the campaign's)."))
]
SheetOpt = Annotated[str | None, typer.Option("--sheet", help=_("Worksheet name, or 'all' for one sheet per county."))]
ColumnOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--column", help=_('Map a sheet header to a field, e.g. --column "Hivatali e-mail=email". Repeatable.')
    ),
]


def parse_columns(values: list[str] | None) -> dict[str, str]:
    from lgp_mailer.errors import ConfigError

    mapping: dict[str, str] = {}
    for value in values or []:
        header, sep, field = value.rpartition("=")
        if not sep or not header.strip() or not field.strip():
            raise ConfigError(_("expected HEADER=FIELD, got {value}").format(value=quoted(value)), key="--column")
        mapping[header.strip()] = field.strip()
    return mapping


def resolve_campaign(
    campaign: Path | None,
    event: Path | None = None,
    recipients: Path | None = None,
    sheet: str | None = None,
    columns: list[str] | None = None,
    *,
    quiet: bool = False,
) -> Campaign:
    """Load the campaign and apply command-line overrides (flags beat the file)."""
    found = find_campaign(campaign)
    changes: dict[str, Any] = {}
    if event is not None:
        changes["event_path"] = event.resolve()
    if recipients is not None:
        changes["recipients_path"] = recipients.resolve()
    if sheet is not None:
        changes["sheet"] = sheet
    extra = parse_columns(columns)
    if extra:
        changes["columns"] = {**found.columns, **extra}
    if found.shipped and not quiet:
        typer.echo(
            _(
                "No lgp-mailer.toml in this folder: using the shipped example campaign ({root}). "
                "Run 'lgp-mailer init DIR' to start your own."
            ).format(root=found.root),
            err=True,
        )
    return dataclasses.replace(found, **changes) if changes else found


def open_ledger_for(campaign: Path | None):  # -> Ledger (imported lazily: start-up stays fast)
    """The sent log the campaign uses (``LGP_MAILER_DB`` > its ``database`` > the default)."""
    from lgp_mailer.ledger.store import open_campaign_ledger

    chosen = resolve_campaign(campaign, quiet=True)
    return open_campaign_ledger(chosen.database, password_command=chosen.database_password_command)


# Options of the sending commands (send, remind, notify, followup): one definition, one help text.
BatchOpt = Annotated[int | None, typer.Option(min=1, help=_("Send the next N due messages, then stop."))]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help=_("Do not ask for confirmation."))]
DryRunOpt = Annotated[
    bool, typer.Option("--dry-run", help=_("Everything but SMTP: write the due messages to the outbox folder."))
]
TestToOpt = Annotated[
    str | None, typer.Option("--test-to", help=_("Send a proof copy of one message to this address (not logged)."))
]
RetryFailedOpt = Annotated[
    bool, typer.Option("--retry-failed", help=_("Also resend messages that failed permanently."))
]
ResendUnknownOpt = Annotated[
    bool, typer.Option("--resend-unknown", help=_("Also resend messages whose outcome is unknown (same Message-ID)."))
]
NonInteractiveOpt = Annotated[
    bool,
    typer.Option(
        "--non-interactive", help=_("Never prompt (for a password or a confirmation): fail instead. For cron.")
    ),
]
QuietOpt = Annotated[
    bool, typer.Option("--quiet", "-q", help=_("Only errors and the final summary; silent when nothing is due."))
]
JoinOpt = Annotated[
    bool,
    typer.Option(
        "--join",
        help=_(
            "Send alongside the senders already running this campaign (other PCs, other processes): each"
            " message goes once, and the relay account's daily quota is shared. Needs a PostgreSQL sent log."
        ),
    ),
]
ConnectionsOpt = Annotated[
    int,
    typer.Option(
        "--connections",
        min=1,
        max=32,
        help=_("SMTP sessions in parallel; one rate limit and one daily quota for all of them."),
    ),
]


# SMTP options of send, remind, config and smtp: settings resolve flag > env > file > default.
HostOpt = Annotated[
    str | None, typer.Option("--host", help=_("SMTP server (env LGP_SMTP_HOST)."), rich_help_panel="SMTP")
]
PortOpt = Annotated[
    int | None, typer.Option("--port", help=_("SMTP port (env LGP_SMTP_PORT)."), rich_help_panel="SMTP")
]
SecurityOpt = Annotated[
    str | None,
    typer.Option(
        "--security",
        help=_("starttls (587), tls (465) or none (localhost or --insecure only)."),
        rich_help_panel="SMTP",
    ),
]
UsernameOpt = Annotated[
    str | None, typer.Option("--username", help=_("SMTP user name (env LGP_SMTP_USERNAME)."), rich_help_panel="SMTP")
]
AuthOpt = Annotated[str | None, typer.Option("--auth", help=_("password, xoauth2 or none."), rich_help_panel="SMTP")]
RateOpt = Annotated[
    list[str] | None,
    typer.Option("--rate", help=_("Pace and quota, e.g. --rate 30/min --rate 2000/day."), rich_help_panel="SMTP"),
]
QuotaOpt = Annotated[
    int | None, typer.Option("--daily-quota", help=_("Messages per rolling 24 hours."), rich_help_panel="SMTP")
]
TimeoutOpt = Annotated[
    float | None, typer.Option("--timeout", help=_("Seconds to wait for the server."), rich_help_panel="SMTP")
]
PerConnOpt = Annotated[
    int | None,
    typer.Option("--messages-per-connection", help=_("Reconnect after this many messages."), rich_help_panel="SMTP"),
]
CafileOpt = Annotated[
    Path | None, typer.Option("--cafile", help=_("CA certificate file for a private CA."), rich_help_panel="SMTP")
]
InsecureOpt = Annotated[
    bool,
    typer.Option("--insecure", help=_("Allow security 'none' to a host other than localhost."), rich_help_panel="SMTP"),
]


def smtp_flags(
    host=None,
    port=None,
    security=None,
    username=None,
    auth=None,
    rate=None,
    daily_quota=None,
    timeout=None,
    messages_per_connection=None,
    cafile=None,
    insecure=False,
) -> dict[str, Any]:
    return {
        "host": host, "port": port, "security": security, "username": username, "auth_method": auth,
        "rate": list(rate) if rate else None, "daily_quota": daily_quota, "timeout": timeout,
        "messages_per_connection": messages_per_connection, "cafile": cafile, "insecure": True if insecure else None,
    }  # fmt: skip


# The SMTP override options, in the order --help lists them: (parameter, its option, default).
_SMTP_OPTIONS = (
    ("host", HostOpt, None),
    ("port", PortOpt, None),
    ("security", SecurityOpt, None),
    ("username", UsernameOpt, None),
    ("auth", AuthOpt, None),
    ("rate", RateOpt, None),
    ("daily_quota", QuotaOpt, None),
    ("timeout", TimeoutOpt, None),
    ("messages_per_connection", PerConnOpt, None),
    ("cafile", CafileOpt, None),
    ("insecure", InsecureOpt, False),
)
# What `smtp test` offers: it sends nothing, so no pacing options.
PROBE_OPTIONS = ("host", "port", "security", "username", "auth", "timeout", "cafile", "insecure")


def smtp_options(*names: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Give a command the SMTP override options (all, or ``names``) without spelling them out.

    The command declares a keyword parameter ``smtp`` and receives the options in it as
    ``smtp_flags`` builds them."""
    return _options_into("smtp", [option for option in _SMTP_OPTIONS if not names or option[0] in names], smtp_flags)


@dataclasses.dataclass(frozen=True)
class RunFlags:
    """What the sending commands (send, remind, notify, followup) are told about the run, as one value."""

    batch: int | None = None
    yes: bool = False
    dry_run: bool = False
    test_to: str | None = None
    retry_failed: bool = False
    resend_unknown: bool = False
    non_interactive: bool = False
    quiet: bool = False
    connections: int = 1


# The run options, in the order --help lists them: (parameter, its option, default).
_RUN_OPTIONS = (
    ("batch", BatchOpt, None),
    ("yes", YesOpt, False),
    ("dry_run", DryRunOpt, False),
    ("test_to", TestToOpt, None),
    ("retry_failed", RetryFailedOpt, False),
    ("resend_unknown", ResendUnknownOpt, False),
    ("non_interactive", NonInteractiveOpt, False),
    ("quiet", QuietOpt, False),
    ("connections", ConnectionsOpt, 1),
)


def run_options() -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Give a sending command the run options (``RunFlags``) without spelling them out.

    The command declares a keyword parameter ``run`` and receives them in it."""
    return _options_into("run", list(_RUN_OPTIONS), RunFlags)


def _options_into(
    name: str, chosen: list[tuple[str, Any, Any]], make: Callable[..., Any]
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """A decorator: Typer sees the ``chosen`` options (parameter, annotated option, default)
    in the wrapper's signature, after the command's own; the command gets ``make(**them)`` as ``name``."""

    def decorate(command: Callable[..., None]) -> Callable[..., None]:
        signature = inspect.signature(command, eval_str=True)
        own = [p for p in signature.parameters.values() if p.name != name]
        added = [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, default=d, annotation=a) for n, a, d in chosen]

        @functools.wraps(command)
        def wrapper(**values: Any) -> None:
            given = {option: values.pop(option) for option, _annotated, _default in chosen}
            command(**values, **{name: make(**given)})

        parameters = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own] + added
        wrapper.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {p.name: p.annotation for p in parameters} | {"return": None}
        return wrapper

    return decorate


# -- --kind: the choices come from the kinds registry when the command runs -----------------


def _either(names: tuple[str, ...]) -> str:
    if len(names) < 2:
        return "".join(names)
    return _("{names} or {last}").format(names=", ".join(names[:-1]), last=names[-1])


class _KindOptionInfo(OptionInfo):
    """A ``--kind`` option whose help names the kinds declared when the command is built.

    Typer builds the click command from this object on every run, so reading
    ``help`` then rather than at import lets a kind registered later show up.
    """

    def __init__(self, text: str, *, strict: bool) -> None:
        self._text = text
        super().__init__(default=..., param_decls=("--kind",), metavar="KIND", callback=_known_kind if strict else None)

    @property
    def help(self) -> str:
        return _(self._text).format(kinds=_either(kinds.names()))

    @help.setter
    def help(self, value: object) -> None:  # OptionInfo.__init__ sets it; ours is computed
        pass


def _known_kind(value: str | None) -> str | None:
    if value is not None and value not in kinds.KINDS:
        raise typer.BadParameter(
            _("unknown message kind {value} (expected one of: {kinds})").format(
                value=quoted(value), kinds=", ".join(kinds.names())
            )
        )
    return value


def kind_option(text: str) -> Any:
    """A ``--kind`` that must name a declared kind; ``{kinds}`` in ``text`` lists them."""
    return _KindOptionInfo(text, strict=True)


def kind_filter_option(text: str) -> Any:
    """A ``--kind`` filter over the sent log: any kind in it, declared or not (help lists the declared ones)."""
    return _KindOptionInfo(text, strict=False)
