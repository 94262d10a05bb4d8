"""The core speaks the interface language: its error messages, check report and gallery are marked.

An AST scan finds a user-facing message outside cli/ that is not wrapped in ``_()``
or ``ngettext()``: the message of every error the core raises (any LgpError subclass,
and the helpers that build one), what ``check`` prints, and the preview gallery's labels.
The Hungarian tests compile the catalog (tests/hungarian.py) and assert exact lines.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po
from hungarian import PO

import lgp_mailer

CORE = Path(lgp_mailer.__file__).parent
ROOT_ERRORS = {"LgpError", "AddressError"}  # AddressError is a ValueError whose text becomes a finding
# Functions that build an error or a finding (a row of the check table) from a message:
# every prose argument they get must be marked.
HELPERS = {"err", "error", "refused", "_over", "_named", "warn", "problem", "note"}
# Modules whose every prose literal is shown to the user (docstrings and marked strings aside).
ALL_PROSE = ("campaign/check.py", "campaign/gallery_text.py", "smtp/hints.py")
MARKERS = {"_", "N_", "ngettext"}
NOT_PROSE = {"python -m aiosmtpd -n -l 127.0.0.1:8025"}  # a command line, the same in every language


def core_files() -> list[Path]:
    return sorted(p for p in CORE.rglob("*.py") if "cli" not in p.relative_to(CORE).parts)


def error_classes(trees: list[ast.Module], roots: frozenset[str] = frozenset(ROOT_ERRORS)) -> set[str]:
    """LgpError and every class that derives from it, anywhere in the core (to a fixed point)."""
    names = set(roots)
    while True:
        more = {
            node.name
            for tree in trees
            for node in ast.walk(tree)
            if isinstance(node, ast.ClassDef) and any(isinstance(b, ast.Name) and b.id in names for b in node.bases)
        }
        if more <= names:
            return names
        names |= more


def is_prose(text: str) -> bool:
    return " " in text.strip()


def unmarked(node: ast.expr) -> bool:
    """True when ``node`` is (or contains at its top) user text that no _() translates."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str) and is_prose(node.value)
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(v, ast.Constant) and is_prose(str(v.value)) for v in node.values)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
        return isinstance(node.func.value, ast.Constant | ast.JoinedStr) or unmarked(node.func.value)
    if isinstance(node, ast.BinOp):
        return unmarked(node.left) or unmarked(node.right)
    if isinstance(node, ast.IfExp):
        return unmarked(node.body) or unmarked(node.orelse)
    return False


def _called(node: ast.Call) -> str | None:
    func = node.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None


def findings_in(source: str, errors: set[str], *, all_prose: bool = False, name: str = "<snippet>") -> list[str]:
    """``name:line: text`` for each unmarked message in ``source``."""
    tree = ast.parse(source)
    found: list[ast.expr] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and (_called(node) in errors or _called(node) in HELPERS):
            found += [arg for arg in node.args if unmarked(arg)]
            found += [k.value for k in node.keywords if k.arg == "message" and unmarked(k.value)]
        elif isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Attribute) and t.attr == "message" for t in node.targets
        ):
            found += [node.value] if unmarked(node.value) else []
    if all_prose:
        found += _loose_literals(tree)
    return [f"{name}:{n.lineno}: {ast.get_source_segment(source, n)}" for n in found]


def _loose_literals(tree: ast.Module) -> list[ast.expr]:
    """Prose literals that are neither docstrings nor inside _(), N_() or ngettext()."""
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _called(node) in MARKERS | {"format"}:
            for sub in ast.walk(node):
                if sub is not node.func:
                    inside.add(id(sub))
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            inside.add(id(node.value))  # a docstring
        if isinstance(node, ast.JoinedStr):
            inside.update(id(v) for v in node.values)  # judged as part of the whole f-string
        if isinstance(node, ast.Compare):
            inside.update(id(c) for c in [node.left, *node.comparators])  # matched against a server's reply
    return [
        n
        for n in ast.walk(tree)
        if id(n) not in inside
        and isinstance(n, ast.Constant | ast.JoinedStr)
        and unmarked(n)
        and getattr(n, "value", None) not in NOT_PROSE
    ]


def scan() -> list[str]:
    sources = {p: p.read_text(encoding="utf-8") for p in core_files()}
    errors = error_classes([ast.parse(s) for s in sources.values()])
    problems: list[str] = []
    for path, source in sources.items():
        rel = path.relative_to(CORE).as_posix()
        problems += findings_in(source, errors, all_prose=rel in ALL_PROSE, name=rel)
    return problems


def test_every_core_error_message_and_check_line_is_marked_for_translation():
    assert scan() == []


@pytest.mark.parametrize(
    "snippet",
    [
        'raise ConfigError("the file is missing", file=path)',
        'raise ConfigError(f"cannot read {path}: {reason}")',
        'raise ConfigError("cannot read {path}".format(path=path))',
        'raise err("sender.name", "missing key")',
        'raise ConfigError(_("ok") if x else "not ok at all")',
        'error.message = f"{error.message} (the message to {address})"',
        "class MineError(ConfigError): ...\nraise MineError('a new subclass is scanned too')",
    ],
)
def test_the_scan_finds_an_unmarked_message(snippet):
    source = snippet
    errors = error_classes([ast.parse(source)], frozenset({"ConfigError"}))
    assert len(findings_in(source, errors)) == 1


def test_the_scan_accepts_marked_messages_and_keys():
    source = (
        'raise ConfigError(_("cannot read {path}: {reason}").format(path=p, reason=r), key="sender.name")\n'
        'raise err(f"limits.{key}", _("missing key"))\n'
        'raise ConfigError(ngettext("{n} row", "{n} rows", n).format(n=n))\n'
    )
    assert findings_in(source, {"ConfigError"}) == []


def test_check_and_gallery_modules_have_no_loose_prose():
    assert findings_in('x = "a loose sentence"\ny = _("a marked one")\n', set(), all_prose=True) == [
        '<snippet>:1: "a loose sentence"'
    ]


def test_no_core_module_rebinds_the_translation_function():
    """A local ``_`` (a throwaway loop variable) would shadow _() in the whole function."""
    rebound = []
    for path in core_files():
        source = path.read_text(encoding="utf-8")
        if "from lgp_mailer.i18n import" not in source:
            continue
        tree = ast.parse(source)
        for fn in ast.walk(tree):
            if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            comprehension_targets = {
                id(t) for c in ast.walk(fn) if isinstance(c, ast.comprehension) for t in ast.walk(c.target)
            }
            rebound += [
                f"{path.relative_to(CORE)}:{n.lineno}"
                for n in ast.walk(fn)
                if isinstance(n, ast.Name)
                and n.id == "_"
                and isinstance(n.ctx, ast.Store)
                and id(n) not in comprehension_targets
            ]
    assert rebound == []


def test_every_string_the_core_marks_has_a_hungarian_translation():
    with PO.open("rb") as source:
        catalog = read_po(source)
    keywords = {"_": None, "N_": None, "ngettext": (1, 2)}
    missing = []
    for path in core_files():
        if path.name == "i18n.py":
            continue
        for line, message, _comments, _context in extract_from_file("python", str(path), keywords=keywords):
            msgid = message if isinstance(message, str) else message[0]
            entry = catalog.get(msgid)
            if entry is None or not entry.string or entry.fuzzy:
                missing.append(f"{path.relative_to(CORE)}:{line}: {msgid}")
    assert missing == []


if __name__ == "__main__":  # pragma: no cover - lists the findings while marking strings
    print("\n".join(scan()))
