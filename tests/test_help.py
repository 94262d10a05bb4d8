"""Every command and every option of ``lgp-mailer`` explains itself.

The test walks the real Typer/click tree, so a command or option added later
is held to the same rule without anyone listing it here.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import typer
from typer.testing import CliRunner

from lgp_mailer.cli import app

# typer vendors click; its Command and Group are reached through the objects.
_ROOT = typer.main.get_command(app)


def _walk(command: object, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], object]]:
    yield path, command
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        yield from _walk(sub, (*path, name))


COMMANDS = list(_walk(_ROOT, ()))
IDS = [" ".join(path) or "lgp-mailer" for path, _ in COMMANDS]


def test_the_walk_sees_every_registered_command() -> None:
    # Guards the walk itself: an empty tree would make the tests below pass vacuously.
    names = {" ".join(path) for path, _ in COMMANDS}
    assert {"preview", "check", "send", "remind", "status", "config", "init"} <= names
    assert {"bounces import", "log export", "suppress add"} <= names


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=IDS)
def test_every_option_and_argument_has_help(path: tuple[str, ...], command: object) -> None:
    missing = [
        param.name
        for param in command.params  # type: ignore[attr-defined]
        if param.param_type_name in ("option", "argument") and not (getattr(param, "help", None) or "").strip()
    ]
    assert missing == [], f"lgp-mailer {' '.join(path)}: no help text for {missing}"


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=IDS)
def test_every_command_has_help_with_an_example(path: tuple[str, ...], command: object) -> None:
    result = CliRunner().invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    text = result.output
    assert (command.help or "").strip(), f"lgp-mailer {' '.join(path)}: no help text"  # type: ignore[attr-defined]
    assert "Example:" in text or "Examples:" in text, f"lgp-mailer {' '.join(path)} --help shows no example"
    # The example is the command itself, on a line of its own, not re-wrapped into the prose.
    example_lines = [line.strip() for line in text.splitlines() if line.strip().startswith("lgp-mailer ")]
    assert any(line.startswith(" ".join(("lgp-mailer", *path))) for line in example_lines), text
