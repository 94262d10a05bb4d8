"""``lgp-mailer init DIR``: a campaign folder for the next conference (or ``--example``)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from lgp_mailer.cli.app import app, fail
from lgp_mailer.cli.runtime import can_prompt
from lgp_mailer.errors import ConfigError, LgpError

_TIME_HELP = "HH.MM or HH:MM"


def _date(value: str, key: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise ConfigError(f"{value!r} is not a date; write it as 2027-03-11", key=key) from None


def _time(value: str, key: str) -> dt.time:
    try:
        return dt.time.fromisoformat(value.strip().replace(".", ":").zfill(5))
    except ValueError:
        raise ConfigError(f"{value!r} is not a time; write it as 10.00 or 9:30", key=key) from None


_ASKED = (
    ("title", "--title", "Conference title"),
    ("date", "--date", "Date (YYYY-MM-DD)"),
    ("start", "--start", f"Start time ({_TIME_HELP})"),
    ("end", "--end", f"End time ({_TIME_HELP})"),
    ("platform", "--platform", "Platform (e.g. ZOOM, Microsoft Teams)"),
    ("registration_url", "--registration-url", "Registration form link"),
)


@app.command()
def init(
    directory: Annotated[
        Path, typer.Argument(metavar="DIR", help="New campaign folder (created if missing; must be empty).")
    ],
    title: Annotated[str | None, typer.Option(metavar="TEXT", help="The conference's title.")] = None,
    date: Annotated[str | None, typer.Option(metavar="YYYY-MM-DD", help="The conference's date.")] = None,
    start: Annotated[str | None, typer.Option(metavar="HH.MM", help="When it starts (local time).")] = None,
    end: Annotated[str | None, typer.Option(metavar="HH.MM", help="When it ends (local time).")] = None,
    platform: Annotated[str | None, typer.Option(metavar="TEXT", help="Where it is held: ZOOM, Teams ...")] = None,
    registration_url: Annotated[
        str | None, typer.Option("--registration-url", metavar="URL", help="The registration form's link.")
    ] = None,
    example: Annotated[
        bool, typer.Option("--example", help="Copy the shipped example conference instead, to try the tool.")
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
    typer.echo(f"Created {config}.")
    if example:
        typer.echo(f"Next: {command_line('lgp-mailer preview', '--campaign', str(directory))}")
        return
    typer.echo(
        f"Next: fill in the agenda in {directory / 'events'}, put the contact sheet in {directory / 'recipients'}, "
        f"then run '{command_line('lgp-mailer check', '--campaign', str(directory))}'"
    )


def _ask_missing(given: dict[str, str | None]) -> dict[str, str]:
    missing = [(name, flag, question) for name, flag, question in _ASKED if not given[name]]
    if missing and not can_prompt(False):
        flags = ", ".join(flag for _, flag, _ in missing)
        raise ConfigError(f"a new conference needs {flags} (no terminal to ask on); or use --example", key="init")
    values = {name: value for name, value in given.items() if value}
    for name, _, question in missing:
        values[name] = typer.prompt(question).strip()
    return values
