"""No user-facing English in lgp_mailer/cli/ escapes translation: an AST scan for string
literals with words in them that reach the user without going through _(), ngettext() or N_().

Where it looks: help= of typer.Option/Argument/Typer; the text of typer.echo/secho,
console.print, print, typer.prompt/confirm; the message of an error raised in cli/
(ConfigError, typer.BadParameter, ...).  Command docstrings are extracted by
lgp_mailer/i18n_extract.py and looked up by cli/click_text.py, so they need no marking.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

CLI = Path(__file__).resolve().parent.parent / "lgp_mailer" / "cli"
MARKERS = {"_", "ngettext", "N_"}
OUTPUT_CALLS = {"echo", "secho", "print", "prompt", "confirm"}
ERRORS = re.compile(r"(Error|BadParameter|Exception)$")
# Not words to translate: command lines, flags, e-mail addresses, file names, placeholders.
NOT_WORDS = re.compile(
    r"lgp-mailer(?: [\w./@:=-]+)*|--?[\w-]+|\S+@\S+|\S+\.(?:xlsx|csv|toml|html)\b|\{[^}]*\}|\[/?\w*\]|\bUTC\b"
)
WORD = re.compile(r"[A-Za-z]{3,}")


def _name(func: ast.expr) -> str:
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def _literal_text(node: ast.expr) -> list[str]:
    """The literal text an expression shows, unless it went through a marker."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.JoinedStr):
        return [part.value for part in node.values if isinstance(part, ast.Constant) and isinstance(part.value, str)]
    if isinstance(node, ast.BinOp):
        return _literal_text(node.left) + _literal_text(node.right)
    if isinstance(node, ast.IfExp):
        return _literal_text(node.body) + _literal_text(node.orelse)
    if isinstance(node, ast.Call) and _name(node.func) == "format" and isinstance(node.func, ast.Attribute):
        return _literal_text(node.func.value)
    return []  # a variable, or a call of _() / ngettext() / N_()


def _shown(node: ast.Call) -> list[ast.expr]:
    name = _name(node.func)
    if name in ("Option", "Argument", "Typer"):
        return [k.value for k in node.keywords if k.arg == "help"]
    if name in OUTPUT_CALLS or ERRORS.search(name):
        return node.args[:1]
    return []


def unmarked(source: str) -> list[tuple[int, str]]:
    findings = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.JoinedStr):  # Babel does not extract a _("...") written inside an f-string
            for part in ast.walk(node):
                if (
                    isinstance(part, ast.Call)
                    and _name(part.func) in MARKERS
                    and part.args
                    and isinstance(part.args[0], ast.Constant)
                ):
                    findings.append((part.lineno, f"inside an f-string: {part.args[0].value}"))
        if not isinstance(node, ast.Call) or _name(node.func) in MARKERS:
            continue
        for shown in _shown(node):
            for text in _literal_text(shown):
                if WORD.search(NOT_WORDS.sub(" ", text)):
                    findings.append((shown.lineno, text))
    return findings


def test_every_user_facing_string_in_cli_is_marked():
    findings = [
        f"{path.name}:{line}: {text!r}"
        for path in sorted(CLI.glob("*.py"))
        for line, text in unmarked(path.read_text(encoding="utf-8"))
    ]
    assert findings == []


def test_the_scan_finds_what_it_should():
    source = """
import typer
opt = typer.Option("--x", help="Send it.")
ok = typer.Option("--y", help=_("Send it."))
typer.echo(f"Sent {n} letters to {host}.")
typer.echo(_("Sent {n} letters.").format(n=n))
typer.echo(f"{name:<{width}}  {value}")
typer.echo("Next: " + hint)
typer.echo(ngettext("{n} row", "{n} rows", n).format(n=n))
raise ConfigError(f"expected HEADER=FIELD, got {value!r}", key="--column")
typer.echo(f"lgp-mailer {version}")
console.print(f"[red]{word}[/red] {address}")
typer.echo(f"{_('hidden')} {_(status)}")
"""
    assert unmarked(source) == [
        (3, "Send it."),
        (5, "Sent "),
        (5, " letters to "),
        (8, "Next: "),
        (10, "expected HEADER=FIELD, got "),
        (13, "inside an f-string: hidden"),
    ]
