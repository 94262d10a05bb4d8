"""Build hook: compile the interface catalogs (.po → .mo) so that the wheel speaks Hungarian.

Why a hook rather than committed .mo files: several branches add translations to the same
.po at once; a binary .mo in git would conflict on every merge, and could silently lag
behind its .po.  The .mo files are build products (git-ignored, listed as hatch
``artifacts`` so the wheel still carries them).  tests/conftest.py compiles them the same
way before a test run; by hand: ``pybabel compile -d lgp_mailer/locale -D lgp_mailer``.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from hatchling.builders.hooks.plugin.interface import BuildHookInterface

LOCALE_DIR = Path(__file__).resolve().parent / "lgp_mailer" / "locale"
DOMAIN = "lgp_mailer"


def compile_catalogs(locale_dir: Path = LOCALE_DIR) -> list[Path]:
    """Write ``<lang>/LC_MESSAGES/lgp_mailer.mo`` next to each .po (fuzzy entries left out);
    an unchanged .mo is not rewritten, and a new one replaces the old atomically."""
    written = []
    for po in sorted(locale_dir.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        with po.open("rb") as source:
            catalog = read_po(source, locale=po.parent.parent.name, domain=DOMAIN)
        buffer = io.BytesIO()
        write_mo(buffer, catalog, use_fuzzy=False)
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.read_bytes() != buffer.getvalue():
            partial = mo.with_name(f"{mo.name}.{id(buffer)}.tmp")
            partial.write_bytes(buffer.getvalue())
            partial.replace(mo)
        written.append(mo)
    return written


class CatalogBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        compile_catalogs(Path(self.root) / "lgp_mailer" / "locale")
