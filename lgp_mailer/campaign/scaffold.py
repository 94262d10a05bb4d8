"""``init``: a new campaign folder from the shipped example, as mailmerge's ``--sample`` does."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from lgp_mailer.config import CAMPAIGN_FILE, new_campaign_id, shipped_root
from lgp_mailer.errors import ConfigError

_COPIED = ("templates", "events", "recipients", "registrations", "logos")


def init_campaign(target: Path) -> Path:
    """Copy the shipped templates, events and sheet into ``target`` with a fresh campaign_id."""
    target = Path(target)
    if target.exists() and not target.is_dir():
        raise ConfigError("exists and is not a folder", file=target)
    if (target / CAMPAIGN_FILE).exists():
        raise ConfigError("already holds a campaign; nothing was changed", file=target / CAMPAIGN_FILE)
    clashes = [name for name in _COPIED if (target / name).exists()]
    if clashes:
        raise ConfigError(f"already has {', '.join(clashes)}; choose an empty folder", file=target)
    source = shipped_root()
    target.mkdir(parents=True, exist_ok=True)
    for name in _COPIED:
        shutil.copytree(source / name, target / name, ignore=shutil.ignore_patterns("__pycache__"))
    text = (source / CAMPAIGN_FILE).read_text(encoding="utf-8")
    fresh = new_campaign_id(f"lgp-{target.resolve().name}")
    text, count = re.subn(r'(?m)^campaign_id\s*=\s*".*"$', f'campaign_id = "{fresh}"', text)
    if count != 1:  # pragma: no cover - guards the shipped file's shape
        raise ConfigError("shipped campaign file has no campaign_id line", file=source / CAMPAIGN_FILE)
    (target / CAMPAIGN_FILE).write_text(text, encoding="utf-8", newline="\n")
    return target / CAMPAIGN_FILE
