"""``lgp-mailer ledger migrate``: move the sent log from its SQLite file into PostgreSQL."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from lgp_mailer.cli.app import app, fail
from lgp_mailer.cli.common import CampaignOpt, resolve_campaign
from lgp_mailer.errors import ExitCode, LgpError
from lgp_mailer.i18n import _, ngettext

ledger_app = typer.Typer(
    help=_(
        "The sent log itself: move it from its SQLite file to a PostgreSQL server shared by the office."
        "\n\n\b\nExample:\n  lgp-mailer ledger migrate --to postgresql://lgp@db.pelda.example/lgp"
    ),
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(ledger_app, name="ledger")


@ledger_app.command("migrate")
def migrate(
    to: Annotated[
        str,
        typer.Option(
            "--to",
            help=_(
                "The PostgreSQL database to copy into (postgresql://USER@HOST[:PORT]/DATABASE); it must have no "
                "rows yet. Put no password in it: see README, 'The sent log on PostgreSQL'."
            ),
        ),
    ],
    source: Annotated[
        Path | None,
        typer.Option(
            "--from", help=_("The SQLite sent log to copy (default: the campaign's, as 'lgp-mailer config' shows).")
        ),
    ] = None,
    campaign: CampaignOpt = None,
) -> None:
    """Copy every row of the SQLite sent log into PostgreSQL, then compare both, table by table.

    The SQLite file is only read.  Afterwards point the campaign at the new
    sent log: database = "postgresql://..." in lgp-mailer.toml, or LGP_MAILER_DB.

    \b
    Examples:
      lgp-mailer ledger migrate --to postgresql://lgp@db.pelda.example/lgp
      lgp-mailer ledger migrate --from naplo.sqlite3 --to postgresql://lgp@127.0.0.1:5433/lgp
    """
    from lgp_mailer.ledger.backend import redact
    from lgp_mailer.ledger.store import default_ledger_path
    from lgp_mailer.ledger.transfer import migrate_ledger

    try:
        chosen = resolve_campaign(campaign, quiet=True)
        origin = source if source is not None else default_ledger_path(os.environ, chosen.database)
        copied, verification = migrate_ledger(origin, to, password_command=chosen.database_password_command)
    except LgpError as error:
        raise fail(error) from None
    total = sum(copied.values())
    typer.echo(
        ngettext(
            "Copied {n} row from {source} to {target}:", "Copied {n} rows from {source} to {target}:", total
        ).format(n=total, source=origin, target=redact(to))
    )
    for check in verification.tables:
        typer.echo(
            ngettext(
                "  {table}: {n} row, SHA-256 {sha}", "  {table}: {n} rows, SHA-256 {sha}", check.target_rows
            ).format(table=check.table, n=check.target_rows, sha=check.target_sha256[:12])
        )
    for problem in verification.problems:
        typer.echo(_("lgp-mailer: problem: {problem}").format(problem=problem), err=True)
    if not verification.ok:
        raise typer.Exit(int(ExitCode.PROBLEMS))
    typer.echo(_("Verified: every table holds the same rows in both (counts and checksums)."))
