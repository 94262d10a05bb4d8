"""The ``lgp-mailer`` console script's entry point.

Importing the command line takes a few tenths of a second, before ``cli.app.main``
installs its signal handlers: a Ctrl-C or SIGTERM then ends as it does later, with
one line and exit 130 or 143, not a traceback.  Nothing heavy is imported here.
"""

from __future__ import annotations

import signal
import sys


def main() -> None:
    """Import the command line and run it; a stop during the import is one line."""
    if hasattr(signal, "SIGTERM"):
        signal.signal(signal.SIGTERM, _terminated)
    try:
        from lgp_mailer.cli import main as run  # noqa: PLC0415 - the import this guards
    except KeyboardInterrupt:
        _stop("interrupted", 130)
    except _Terminated:
        _stop("terminated", 143)
    run()


class _Terminated(BaseException):
    """SIGTERM during the import (``cli.app.main`` handles it afterwards)."""


def _terminated(signum: int, frame: object) -> None:
    raise _Terminated


def _stop(why: str, code: int) -> None:
    try:  # in the interface language if the import got that far; else English
        from lgp_mailer.i18n import _  # noqa: PLC0415

        line = _("lgp-mailer: interrupted") if why == "interrupted" else _("lgp-mailer: terminated")
    except BaseException:  # a second Ctrl-C: the line is still written
        line = f"lgp-mailer: {why}"
    sys.stderr.write(line + "\n")
    sys.exit(code)
