"""Shared fixtures: every test runs away from the real home folder and ledger."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _isolated_environment(tmp_path_factory, monkeypatch):
    """No LGP_* setting or real sent log leaks in from the developer's machine."""
    for name in list(os.environ):
        if name.startswith(("LGP_SMTP_", "LGP_MAILER_")):
            monkeypatch.delenv(name, raising=False)
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("USERPROFILE", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("LGP_MAILER_DB", str(home / "sent-log.sqlite3"))
    monkeypatch.setenv("COLUMNS", "200")


@pytest.fixture
def repo() -> Path:
    return REPO
