"""Babel extraction for the command line: the marked strings, plus each command's docstring.

Typer shows a command's docstring as its ``--help``, so the docstring of every function
decorated with ``@<app>.command(...)`` or ``@<app>.callback(...)`` is a message too;
``cli/click_text.translate_commands`` looks the same text up when the app is built.
babel.cfg maps ``lgp_mailer/cli/**.py`` to :func:`extract_cli`.
"""

from __future__ import annotations

import ast
import io
from collections.abc import Collection, Iterator, Mapping
from typing import IO, Any

from babel.messages.extract import extract_python


def help_docstrings(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """(line, cleaned docstring) of every Typer command and callback in ``tree``."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for decorator in node.decorator_list:
            func = decorator.func if isinstance(decorator, ast.Call) else decorator
            if isinstance(func, ast.Attribute) and func.attr in ("command", "callback"):
                doc = ast.get_docstring(node, clean=True)
                if doc:
                    yield node.body[0].lineno, doc
                break


def extract_cli(
    fileobj: IO[bytes], keywords: Mapping[str, Any], comment_tags: Collection[str], options: Any
) -> Iterator[tuple[Any, ...]]:
    """Babel's Python extraction of ``fileobj``, then the help docstrings."""
    source = fileobj.read()
    yield from extract_python(io.BytesIO(source), keywords, comment_tags, options)
    for lineno, doc in help_docstrings(ast.parse(source)):
        yield lineno, None, doc, ["help: the command's docstring"]
