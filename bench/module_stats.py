"""Module count, the largest modules and the longest functions of lgp_mailer (for issue notes).

python bench/module_stats.py [PACKAGE_DIR]
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path


def main(root: Path) -> None:
    modules = sorted(root.rglob("*.py"))
    sizes = sorted(((len(p.read_text(encoding="utf-8").splitlines()), p) for p in modules), reverse=True)
    functions: list[tuple[int, str]] = []
    for path in modules:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno is not None:
                functions.append((node.end_lineno - node.lineno + 1, f"{path}:{node.lineno} {node.name}"))
    functions.sort(reverse=True)
    plain = sum(1 for p in modules if p.name != "__init__.py")
    print(f"modules: {len(modules)} ({plain} without __init__.py)")
    print("largest modules (lines):", *(f"{n} {p}" for n, p in sizes[:5]), sep="\n  ")
    print("longest functions (lines):", *(f"{n} {where}" for n, where in functions[:5]), sep="\n  ")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / "lgp_mailer")
