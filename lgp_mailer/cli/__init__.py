"""The ``lgp-mailer`` command line: a thin Typer layer over the library core.

Each command module parses options, calls one core function and turns its
result or :class:`~lgp_mailer.errors.LgpError` into output and an exit code.
Heavy libraries (openpyxl, Jinja2, css-inline, icalendar) are imported inside the
commands so that ``lgp-mailer --help`` starts fast.
"""

from __future__ import annotations

import os
import sys

from lgp_mailer import i18n

# The interface language is decided before the command modules are imported: their help
# texts are translated when Typer's options are declared, at import.  --lang is read from
# argv here (the app's own --lang option validates it); see lgp_mailer/i18n.py for the order.
_chosen = i18n.choose(i18n.flag_in_argv(sys.argv[1:]), os.environ)
i18n.activate(_chosen.language, _chosen.source)

# Importing the command modules registers their commands on ``app``.
from lgp_mailer.cli import attendance as _attendance  # noqa: E402, F401
from lgp_mailer.cli import bounces as _bounces  # noqa: E402, F401
from lgp_mailer.cli import check as _check  # noqa: E402, F401
from lgp_mailer.cli import config as _config  # noqa: E402, F401
from lgp_mailer.cli import followup as _followup  # noqa: E402, F401
from lgp_mailer.cli import init as _init  # noqa: E402, F401
from lgp_mailer.cli import ledger as _ledger  # noqa: E402, F401
from lgp_mailer.cli import notify as _notify  # noqa: E402, F401
from lgp_mailer.cli import preview as _preview  # noqa: E402, F401
from lgp_mailer.cli import remind as _remind  # noqa: E402, F401
from lgp_mailer.cli import report as _report  # noqa: E402, F401
from lgp_mailer.cli import send as _send  # noqa: E402, F401
from lgp_mailer.cli import smtp as _smtp  # noqa: E402, F401
from lgp_mailer.cli import status as _status  # noqa: E402, F401
from lgp_mailer.cli import suppress as _suppress  # noqa: E402, F401
from lgp_mailer.cli.app import app, main  # noqa: E402
from lgp_mailer.cli.click_text import translate_commands  # noqa: E402
from lgp_mailer.cli.helptext import set_metavars  # noqa: E402

set_metavars(app)
translate_commands(app)

__all__ = ["app", "main"]
