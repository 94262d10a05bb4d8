"""The Typer application, the global options, and the one place errors become exit codes."""

from __future__ import annotations

import signal
import sys
from typing import Annotated

import typer

from lgp_mailer.errors import ExitCode, LgpError
from lgp_mailer.i18n import LANGUAGES, _, activate, choice, current_language

app = typer.Typer(
    name="lgp-mailer",
    help=_(
        "Hungarian conference invitations for the Legjobb Önkormányzati Gyakorlatok Programja: "
        "preview, check, send and remind, with a crash-safe sent log."
    )
    + "\n\n\b\n"
    + _("Example:")
    + "\n  lgp-mailer preview --open",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

_state = {"debug": False, "interrupted": False, "terminated": False}


def debug_enabled() -> bool:
    return _state["debug"]


def _show_version(value: bool) -> None:
    if value:
        from lgp_mailer import __version__

        typer.echo(f"lgp-mailer {__version__}")
        raise typer.Exit()


def _check_lang(value: str | None) -> str | None:
    """``--lang`` was already read from argv before the commands were imported (``cli/__init__.py``);
    here it is validated, and applied when the app is invoked in-process (tests)."""
    if value is None:
        return None
    if value not in LANGUAGES:
        raise typer.BadParameter(_("choose hu (Hungarian) or en (English)"))
    if choice().source != "--lang" or current_language() != value:
        activate(value, "--lang")
    return value


@app.callback()
def _global_options(
    debug: Annotated[bool, typer.Option("--debug", help=_("Show full tracebacks for errors."))] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_show_version, is_eager=True, help=_("Show the version and exit.")),
    ] = False,
    lang: Annotated[
        str | None,
        typer.Option(
            "--lang",
            metavar="hu|en",
            callback=_check_lang,
            is_eager=True,
            help=_("Interface language. Default: $LGP_MAILER_LANG, then the locale (LANG), then English."),
        ),
    ] = None,
) -> None:
    _state["debug"] = debug


def fail(error: LgpError) -> typer.Exit:
    """Print the error's one line on stderr and return the Exit to raise.

    ``--debug`` adds the traceback above the line; it never changes the exit code."""
    if debug_enabled():
        _print_traceback(error)
    typer.echo(error_line(error), err=True)
    return typer.Exit(int(error.exit_code))


def error_line(error: BaseException) -> str:
    return _("lgp-mailer: error: {error}").format(error=error)


def _print_traceback(error: BaseException) -> None:
    import traceback  # only for --debug

    traceback.print_exception(error, file=sys.stderr)


def _on_sigterm(signum, frame):  # pragma: no cover - exercised in subprocess tests
    _state["terminated"] = True  # main() says so; printing here could cut into a line being written
    raise SystemExit(int(ExitCode.TERMINATED))


def _on_sigint(signum, frame):  # pragma: no cover - exercised in subprocess tests
    # Typer turns a KeyboardInterrupt into a silent exit 130; remember it, so that
    # main() can say why the command stopped.  (A send's own handler, runtime.StopSignal,
    # replaces this one while it runs and says so itself.)
    _state["interrupted"] = True
    raise KeyboardInterrupt


def main() -> None:
    """Console-script entry point: run the app, mapping stray errors to exit codes."""
    if hasattr(signal, "SIGTERM"):
        signal.signal(signal.SIGTERM, _on_sigterm)
    signal.signal(signal.SIGINT, _on_sigint)
    # A Windows console or a redirected file may be cp1250: a bar glyph it cannot
    # encode must show as '?', not end the command with UnicodeEncodeError.
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")
    from lgp_mailer.cli.click_text import show_click_error

    try:
        # standalone_mode=False: Click's usage errors come back here to be shown in the
        # interface language (click_text.show_click_error) instead of Click's English.
        code = app(standalone_mode=False)
    except SystemExit:
        if _state["terminated"]:  # SIGTERM outside a send, whose own handler words it
            print(_("lgp-mailer: terminated"), file=sys.stderr)
        raise
    except typer.TyperException as error:  # Click's usage errors
        show_click_error(error)
        sys.exit(error.exit_code)
    except typer.Abort:
        print(_("Aborted!"), file=sys.stderr)
        sys.exit(1)
    except LgpError as error:  # a command that forgot to catch: still one line
        if _state["debug"]:
            _print_traceback(error)
        print(error_line(error), file=sys.stderr)
        sys.exit(int(error.exit_code))
    except KeyboardInterrupt:
        print(_("lgp-mailer: interrupted"), file=sys.stderr)
        sys.exit(int(ExitCode.INTERRUPTED))
    if _state["interrupted"] and code == ExitCode.INTERRUPTED:
        print(_("lgp-mailer: interrupted"), file=sys.stderr)
    sys.exit(code if isinstance(code, int) else 0)
