"""Help shows what to type (PATH, TEXT, N), never Python types such as ``<list[str]>``.

Typer derives a placeholder from each parameter's Python type.  ``set_metavars``
gives every option and argument that has no metavar of its own one from its
type, once, after the commands are registered (``cli/__init__.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, get_args, get_origin, get_type_hints

import typer
from typer.core import TyperArgument
from typer.models import ParameterInfo

from lgp_mailer.i18n import N_, _

# The placeholders are words too: translated (ÚTVONAL, SZÖVEG) when set_metavars runs.
_METAVARS: tuple[tuple[type, str], ...] = (
    (Path, N_("PATH")), (bool, ""), (int, "N"), (float, N_("NUMBER")), (str, N_("TEXT")),
)  # fmt: skip


def _metavar(annotation: object) -> str | None:
    for arg in (annotation, *get_args(annotation)):
        for inner in (arg, *get_args(arg)):  # list[str] | None -> list[str] -> str
            for kind, metavar in _METAVARS:
                if inner is kind:
                    return _(metavar) if metavar else None
    return None


_display_type = getattr(TyperArgument, "display_type", None)  # Typer 0.29+; earlier ones print no type


def _argument_type(self: TyperArgument, ctx: Any) -> str | None:
    # Typer 0.29+ prints an argument's Python type after its name ("DIR <path>"); the metavar says it all.
    if self.metavar or _display_type is None:
        return None
    shown: str | None = _display_type(self, ctx)
    return shown


if _display_type is not None:
    setattr(TyperArgument, "display_type_rich", _argument_type)  # noqa: B010 - only Typer 0.29+ has it


def set_metavars(group: typer.Typer) -> None:
    """Give every option and argument without a metavar one from its type (PATH, TEXT, N)."""
    for command in group.registered_commands:
        if command.callback is None:
            continue
        hints = get_type_hints(command.callback, include_extras=True)
        for hint in hints.values():
            if get_origin(hint) is not Annotated:
                continue
            base, *extras = get_args(hint)
            for info in extras:
                if isinstance(info, ParameterInfo) and info.metavar is None:
                    info.metavar = _metavar(base)
        # Keep the evaluated hints: string annotations would make Typer build fresh options without them.
        command.callback.__annotations__ = hints
    for sub in group.registered_groups:
        if sub.typer_instance is not None:
            set_metavars(sub.typer_instance)
