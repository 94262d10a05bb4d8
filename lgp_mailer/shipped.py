"""Where the shipped example campaign lives: inside the wheel or in a checkout.

A wheel carries the top-level ``templates/``, ``events/``, ``recipients/`` and
``lgp-mailer.toml`` under ``lgp_mailer/_shipped/`` (see pyproject.toml); an
editable install or a plain checkout finds them beside the package.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from lgp_mailer.errors import ConfigError

CAMPAIGN_FILE = "lgp-mailer.toml"


@cache
def shipped_root() -> Path:
    package = Path(__file__).resolve().parent
    for root in (package / "_shipped", package.parent):
        if (root / CAMPAIGN_FILE).is_file() and (root / "templates").is_dir():
            return root
    raise ConfigError("the shipped example campaign is missing from this installation; reinstall lgp-mailer")


def shipped_templates() -> Path:
    return shipped_root() / "templates"
