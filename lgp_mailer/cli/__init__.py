"""The ``lgp-mailer`` command line: a thin Typer layer over the library core.

Each command module parses options, calls one core function and turns its
result or :class:`~lgp_mailer.errors.LgpError` into output and an exit code.
Heavy libraries (openpyxl, Jinja2, css-inline, icalendar) are imported inside the
commands so that ``lgp-mailer --help`` starts fast.
"""

from __future__ import annotations

# Importing the command modules registers their commands on ``app``.
from lgp_mailer.cli import attendance as _attendance  # noqa: F401
from lgp_mailer.cli import bounces as _bounces  # noqa: F401
from lgp_mailer.cli import check as _check  # noqa: F401
from lgp_mailer.cli import config as _config  # noqa: F401
from lgp_mailer.cli import followup as _followup  # noqa: F401
from lgp_mailer.cli import init as _init  # noqa: F401
from lgp_mailer.cli import ledger as _ledger  # noqa: F401
from lgp_mailer.cli import preview as _preview  # noqa: F401
from lgp_mailer.cli import remind as _remind  # noqa: F401
from lgp_mailer.cli import report as _report  # noqa: F401
from lgp_mailer.cli import send as _send  # noqa: F401
from lgp_mailer.cli import smtp as _smtp  # noqa: F401
from lgp_mailer.cli import status as _status  # noqa: F401
from lgp_mailer.cli import suppress as _suppress  # noqa: F401
from lgp_mailer.cli.app import app, main
from lgp_mailer.cli.helptext import set_metavars

set_metavars(app)

__all__ = ["app", "main"]
