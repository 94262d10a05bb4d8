"""The Typer application, the global options, and the one place errors become exit codes."""

from __future__ import annotations

import signal
import sys
from typing import Annotated

import typer

from lgp_mailer.errors import ExitCode, LgpError

app = typer.Typer(
    name="lgp-mailer",
    help="Hungarian conference invitations for the Legjobb Önkormányzati Gyakorlatok Programja: "
    "preview, check, send and remind, with a crash-safe sent log.\n\n\b\nExample:\n  lgp-mailer preview --open",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

_state = {"debug": False}


def debug_enabled() -> bool:
    return _state["debug"]


def _show_version(value: bool) -> None:
    if value:
        from lgp_mailer import __version__

        typer.echo(f"lgp-mailer {__version__}")
        raise typer.Exit()


@app.callback()
def _global_options(
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks for errors.")] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_show_version, is_eager=True, help="Show the version and exit."),
    ] = False,
) -> None:
    _state["debug"] = debug


def fail(error: LgpError) -> typer.Exit:
    """Print the error's one line on stderr and return the Exit to raise.

    ``--debug`` adds the traceback above the line; it never changes the exit code."""
    if debug_enabled():
        _print_traceback(error)
    typer.echo(f"lgp-mailer: error: {error}", err=True)
    return typer.Exit(int(error.exit_code))


def _print_traceback(error: BaseException) -> None:
    import traceback  # only for --debug

    traceback.print_exception(error, file=sys.stderr)


def _on_sigterm(signum, frame):  # pragma: no cover - exercised in subprocess tests
    raise SystemExit(int(ExitCode.TERMINATED))


def main() -> None:
    """Console-script entry point: run the app, mapping stray errors to exit codes."""
    if hasattr(signal, "SIGTERM"):
        signal.signal(signal.SIGTERM, _on_sigterm)
    # A Windows console or a redirected file may be cp1250: a bar glyph it cannot
    # encode must show as '?', not end the command with UnicodeEncodeError.
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")
    try:
        app()
    except LgpError as error:  # a command that forgot to catch: still one line
        if _state["debug"]:
            _print_traceback(error)
        print(f"lgp-mailer: error: {error}", file=sys.stderr)
        sys.exit(int(error.exit_code))
    except KeyboardInterrupt:
        print("lgp-mailer: interrupted", file=sys.stderr)
        sys.exit(int(ExitCode.INTERRUPTED))
