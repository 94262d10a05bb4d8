"""``lgp-mailer init DIR``: a campaign folder for the next conference (or ``--example``)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from lgp_mailer.cli.app import app, fail
from lgp_mailer.cli.runtime import can_prompt
from lgp_mailer.errors import ConfigError, LgpError
from lgp_mailer.i18n import N_, _
from lgp_mailer.quoting import quoted

_TIME_HELP = N_("HH.MM or HH:MM")


def _date(value: str, key: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise ConfigError(
            _("{value} is not a date; write it as 2027-03-11").format(value=quoted(value)), key=key
        ) from None


def _time(value: str, key: str) -> dt.time:
    try:
        return dt.time.fromisoformat(value.strip().replace(".", ":").zfill(5))
    except ValueError:
        raise ConfigError(
            _("{value} is not a time; write it as 10.00 or 9:30").format(value=quoted(value)), key=key
        ) from None


# The prompts, marked here and translated when asked ("{format}" is _TIME_HELP).
_ASKED = (
    ("title", "--title", N_("Conference title")),
    ("date", "--date", N_("Date (YYYY-MM-DD)")),
    ("start", "--start", N_("Start time ({format})")),
    ("end", "--end", N_("End time ({format})")),
    ("platform", "--platform", N_("Platform (e.g. ZOOM, Microsoft Teams)")),
    ("registration_url", "--registration-url", N_("Registration form link")),
)


@app.command()
def init(
    directory: Annotated[
        Path, typer.Argument(metavar="DIR", help=_("New campaign folder (created if missing; must be empty)."))
    ],
    title: Annotated[str | None, typer.Option(metavar="TEXT", help=_("The conference's title."))] = None,
    date: Annotated[str | None, typer.Option(metavar="YYYY-MM-DD", help=_("The conference's date."))] = None,
    start: Annotated[str | None, typer.Option(metavar="HH.MM", help=_("When it starts (local time)."))] = None,
    end: Annotated[str | None, typer.Option(metavar="HH.MM", help=_("When it ends (local time)."))] = None,
    platform: Annotated[str | None, typer.Option(metavar="TEXT", help=_("Where it is held: ZOOM, Teams ..."))] = None,
    registration_url: Annotated[
        str | None, typer.Option("--registration-url", metavar="URL", help=_("The registration form's link."))
    ] = None,
    example: Annotated[
        bool, typer.Option("--example", help=_("Copy the shipped example conference instead, to try the tool."))
    ] = False,
) -> None:
    """Create a campaign folder for a new conference: its event file, empty sheet folders, a fresh campaign_id.

    Asks for what is not given as a flag when run on a terminal.

    \b
    Examples:
      lgp-mailer init 2027-klima --title "Klímaalkalmazkodás" --date 2027-03-11 \\
          --start 13.30 --end 15.45 --platform "Microsoft Teams" --registration-url https://forms.example.org/klima
      lgp-mailer init proba --example
    """
    from lgp_mailer.campaign.next_steps import command_line
    from lgp_mailer.campaign.scaffold import NewConference, init_campaign, init_example

    given = {
        "title": title, "date": date, "start": start, "end": end, "platform": platform,
        "registration_url": registration_url,
    }  # fmt: skip
    try:
        if example:
            config = init_example(directory)
        else:
            values = _ask_missing(given)
            conference = NewConference(
                title=values["title"],
                date=_date(values["date"], "--date"),
                start=_time(values["start"], "--start"),
                end=_time(values["end"], "--end"),
                platform=values["platform"],
                registration_url=values["registration_url"],
            )
            config = init_campaign(directory, conference)
    except LgpError as error:
        raise fail(error) from None
    typer.echo(_("Created {path}.").format(path=config))
    if example:
        typer.echo(_("Next: {hint}").format(hint=command_line("lgp-mailer preview", "--campaign", str(directory))))
        return
    hint = _("fill in the agenda in {events}, put the contact sheet in {recipients}, then run '{command}'").format(
        events=directory / "events",
        recipients=directory / "recipients",
        command=command_line("lgp-mailer check", "--campaign", str(directory)),
    )
    typer.echo(_("Next: {hint}").format(hint=hint))


def _ask_missing(given: dict[str, str | None]) -> dict[str, str]:
    missing = [(name, flag, question) for name, flag, question in _ASKED if not given[name]]
    if missing and not can_prompt(False):
        flags = ", ".join(flag for _name, flag, _question in missing)
        raise ConfigError(
            _("a new conference needs {flags} (no terminal to ask on); or use --example").format(flags=flags),
            key="init",
        )
    values = {name: value for name, value in given.items() if value}
    for name, _flag, question in missing:
        values[name] = typer.prompt(_(question).format(format=_(_TIME_HELP))).strip()
    return values
