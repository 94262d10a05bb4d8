"""The package's layout rules, checked by walking every import with ``ast``.

* The core (everything outside ``lgp_mailer/cli/``) never imports the CLI,
  typer or rich: it runs without a terminal, from cron or another program.
* No import cycles between modules.  Every import counts, also one inside a
  function: a deferred import hides a cycle from the interpreter, not from
  the reader.  (``if TYPE_CHECKING:`` imports count too; there are none.)
* Only ``lgp_mailer/ledger/`` imports ``sqlite3`` or ``psycopg`` (the
  PostgreSQL driver): the ledger owns the SQL, and both backends stand behind
  the same interface.

The graph has an edge for each ``import a.b`` / ``from a.b import c`` to the
module ``a.b`` (or ``a.b.c`` when that is a module); the implicit import of
parent packages is left out, as our ``__init__.py`` files import nothing.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "lgp_mailer"
CLI = "lgp_mailer.cli"
UI_LIBRARIES = ("typer", "rich")
LEDGER = "lgp_mailer.ledger"
# `python -m lgp_mailer` is the CLI's own entry point, not part of the core.
ENTRY_POINTS = frozenset({"lgp_mailer.__main__", "lgp_mailer.entry"})

# Known violations: none.  An entry that no longer occurs fails the test, so
# these lists can only shrink.
ALLOWED_CYCLES: frozenset[frozenset[str]] = frozenset()
ALLOWED_SQLITE3: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Import:
    importer: str  # dotted module name
    target: str  # dotted name as imported (a module, or a package plus a name)
    line: int

    @property
    def where(self) -> str:
        return f"{self.importer.replace('.', '/')}.py:{self.line}"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports_of(name: str, path: Path) -> Iterator[Import]:
    """Every import in the file, at any depth (functions, try blocks, if blocks)."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(name, alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against this module's package
                package = name.split(".") if is_package else name.split(".")[:-1]
                anchor = package[: len(package) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                yield Import(name, f"{base}.{alias.name}" if alias.name != "*" else base, node.lineno)


def all_imports() -> list[Import]:
    return [found for name, path in modules().items() for found in imports_of(name, path)]


def resolve(target: str, known: dict[str, Path]) -> str | None:
    """The package module an import names: the longest known prefix of ``target``."""
    parts = target.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in known:
            return candidate
    return None


def is_under(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def graph() -> dict[str, dict[str, Import]]:
    """module → {imported package module → the first import line that names it}."""
    known = modules()
    edges: dict[str, dict[str, Import]] = {name: {} for name in known}
    for found in all_imports():
        target = resolve(found.target, known)
        if target is not None and target != found.importer:
            edges[found.importer].setdefault(target, found)
    return edges


def cycles(edges: dict[str, dict[str, Import]]) -> list[frozenset[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in edges[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(frozenset(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def describe(component: frozenset[str], edges: dict[str, dict[str, Import]]) -> str:
    """The imports that tie a cycle together, one ``file:line imports module`` each."""
    links = [edge for name in sorted(component) for target, edge in edges[name].items() if target in component]
    return "; ".join(f"{edge.where} imports {edge.target}" for edge in links)


def core_ui_imports(found_imports: list[Import] | None = None) -> list[Import]:
    return [
        found
        for found in (all_imports() if found_imports is None else found_imports)
        if not is_under(found.importer, CLI)
        and found.importer not in ENTRY_POINTS
        and (is_under(found.target, CLI) or any(is_under(found.target, lib) for lib in UI_LIBRARIES))
    ]


DATABASE_DRIVERS = ("sqlite3", "psycopg")


def sqlite3_importers(found_imports: list[Import] | None = None) -> dict[str, Import]:
    """Modules outside the ledger that import a database driver (sqlite3 or psycopg)."""
    return {
        found.importer: found
        for found in (all_imports() if found_imports is None else found_imports)
        if any(is_under(found.target, driver) for driver in DATABASE_DRIVERS) and not is_under(found.importer, LEDGER)
    }


# -- the rules ------------------------------------------------------------------


def test_the_core_never_imports_the_cli_typer_or_rich() -> None:
    bad = [f"{found.where} imports {found.target}" for found in core_ui_imports()]
    assert bad == [], "core modules must not import the CLI, typer or rich:\n" + "\n".join(bad)


def test_no_import_cycles_between_modules() -> None:
    edges = graph()
    found = cycles(edges)
    new = [describe(c, edges) for c in found if c not in ALLOWED_CYCLES]
    assert new == [], "import cycle(s):\n" + "\n".join(new)
    stale = sorted(" <-> ".join(sorted(c)) for c in ALLOWED_CYCLES - set(found))
    assert stale == [], f"no longer a cycle: remove from ALLOWED_CYCLES: {stale}"


def test_only_the_ledger_imports_sqlite3_or_psycopg() -> None:
    importers = sqlite3_importers()
    new = [found.where for name, found in sorted(importers.items()) if name not in ALLOWED_SQLITE3]
    assert new == [], "sqlite3/psycopg outside lgp_mailer/ledger/ (the ledger owns all SQL): " + ", ".join(new)
    stale = sorted(ALLOWED_SQLITE3 - importers.keys())
    assert stale == [], f"no longer imports sqlite3: remove from ALLOWED_SQLITE3: {stale}"


# -- the checker itself can fail --------------------------------------------------


def test_the_walker_sees_imports_inside_functions_and_relative_ones(tmp_path: Path) -> None:
    source = tmp_path / "mod.py"
    source.write_text(
        "import sqlite3\n"
        "def f():\n"
        "    from lgp_mailer.campaign.run import run_parallel\n"
        "    import rich.console\n"
        "from . import sibling\n"
        "from ..ledger import store\n",
        encoding="utf-8",
    )
    got = [(i.target, i.line) for i in imports_of("lgp_mailer.campaign.mod", source)]
    assert sorted(got) == [
        ("lgp_mailer.campaign.run.run_parallel", 3),
        ("lgp_mailer.campaign.sibling", 5),
        ("lgp_mailer.ledger.store", 6),
        ("rich.console", 4),
        ("sqlite3", 1),
    ]


def test_a_core_import_of_the_cli_typer_rich_or_sqlite3_is_caught() -> None:
    found = [
        Import("lgp_mailer.campaign.send", "typer", 3),
        Import("lgp_mailer.ledger.store", "lgp_mailer.cli.output.echo", 5),
        Import("lgp_mailer.mail.lint", "rich.console.Console", 8),
        Import("lgp_mailer.cli.send", "typer", 1),  # the CLI may
        Import("lgp_mailer.__main__", "lgp_mailer.cli.main", 1),  # the entry point may
        Import("lgp_mailer.mail.render", "richtext", 2),  # not rich
        Import("lgp_mailer.campaign.run", "sqlite3", 70),
        Import("lgp_mailer.ledger.store", "sqlite3", 12),  # the ledger may
        Import("lgp_mailer.campaign.send", "psycopg.rows.tuple_row", 9),
        Import("lgp_mailer.ledger.backend", "psycopg", 200),  # the ledger may
    ]
    assert [i.where for i in core_ui_imports(found)] == [
        "lgp_mailer/campaign/send.py:3",
        "lgp_mailer/ledger/store.py:5",
        "lgp_mailer/mail/lint.py:8",
    ]
    assert [i.where for i in sqlite3_importers(found).values()] == [
        "lgp_mailer/campaign/run.py:70",
        "lgp_mailer/campaign/send.py:9",
    ]


def test_cycles_are_found_and_named_with_their_lines() -> None:
    def edge(a: str, b: str, line: int) -> Import:
        return Import(a, b, line)

    edges = {
        "a": {"b": edge("a", "b", 3)},
        "b": {"c": edge("b", "c", 7)},
        "c": {"a": edge("c", "a", 9)},
        "d": {"a": edge("d", "a", 1)},
    }
    [component] = cycles(edges)
    assert component == frozenset({"a", "b", "c"})
    assert describe(component, edges) == "a.py:3 imports b; b.py:7 imports c; c.py:9 imports a"
    assert cycles({"a": {"b": edge("a", "b", 1)}, "b": {}}) == []


def test_the_walk_covers_the_whole_package() -> None:
    names = modules()
    assert {
        "lgp_mailer.config",
        "lgp_mailer.cli.app",
        "lgp_mailer.ledger.store",
        "lgp_mailer.campaign.run",
    } <= names.keys()
    assert resolve("lgp_mailer.campaign.run.run_parallel", names) == "lgp_mailer.campaign.run"
    assert resolve("typer.testing", names) is None
    # Real edges: the CLI imports the core (allowed), and a deferred import counts.
    edges = graph()
    assert edges["lgp_mailer.cli.app"]["lgp_mailer.errors"].line == 11
    assert "lgp_mailer.campaign.send" in edges["lgp_mailer.cli.send"]  # inside run_send
