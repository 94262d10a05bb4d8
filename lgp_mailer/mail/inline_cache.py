"""CSS inlined once per letter shape, not once per letter, with the same bytes.

Every letter of a run is the same HTML but for the values its template prints.
The HTML template is rendered with each printed value replaced by a numbered
token (``Tokens``); letters whose token document is the same share one
css-inline run (``InlineCache``), and each gets its values put back where the
tokens came out, escaped as css-inline's serialiser escapes text.

A value is tokenised only where that provably gives css-inline's own result:
it is not empty, neither starts nor ends with HTML white space (so the parser
builds the same tree for it as for a token: text in the same place), and has
no characters the HTML parser rewrites (CR, NUL, controls) or the tokens use;
anything else is printed as it is.  A token document is cached only when
every token comes out once and in text (not in a style block, a tag or a
character reference) and a probe proves it: the document with every token
replaced by a string of every special character must inline to exactly what
putting that string back predicts.  A token that comes out in an attribute
must hold the value it held then; otherwise the letter is inlined on its own.
A document whose own text holds a token character is rendered again without
tokens, as before.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Callable
from typing import Any

import jinja2
from jinja2 import nodes
from markupsafe import escape

_OPEN, _CLOSE = "\ue000", "\ue001"  # private use: never in a tokenised value
_TOKEN = re.compile("\ue000(\\d+)\ue001")
# A value printed as it is: empty, white space at either end, or a character the parser rewrites.
_LITERAL = re.compile(
    "\\A\\Z|\\A[\\t\\n\\f\\r ]|[\\t\\n\\f\\r ]\\Z|[\\x00-\\x08\\x0b-\\x1f\\x7f-\\x9f\\ud800-\\udfff\\ue000-\\ue005]"
)
# A token right after "&", "<", "</" or "<!": part of a character reference or a tag, not text.
_NOT_TEXT = re.compile("(?:&[#\\w]*|<[/!?]?)\ue000")
# Every character css-inline's serialiser escapes, in text or in an attribute, among others it keeps.
_PROBE = (
    "&<>\"'\u00a0 \t\n;=#/!?-"
    + "".join(map(chr, range(0x21, 0x7F)))
    + "".join(map(chr, range(0xA1, 0x180)))
    + "\u2013\u2014\u2018\u2019\u201c\u201d\u201e\u2026\u00bb\u00ab\u20ac\u2028\ufeff\U0001f600\U00010000"
)
_CACHED = 64  # token documents kept: a run has a few (a kind's letters differ in optional lines)
_MADE = 16  # shapes made before the cache must prove it pays (8 letters a shape), or it makes no more


@functools.lru_cache(maxsize=8192)
def as_text(value: str) -> str:
    """``value`` as css-inline writes a text node (html5ever's serialiser)."""
    return value.replace("&", "&amp;").replace("\u00a0", "&nbsp;").replace("<", "&lt;").replace(">", "&gt;")


@functools.lru_cache(maxsize=1024)
def _as_attribute(value: str) -> str:
    return value.replace("&", "&amp;").replace("\u00a0", "&nbsp;").replace('"', "&quot;")


def _token(index: int) -> str:
    return f"{_OPEN}{index}{_CLOSE}"


class _Recording(threading.local):
    values: list[str] | None = None  # this thread's printed values, while it records


class Tokens:
    """The ``finalize`` of the HTML environment: while recording, each printed value becomes a token."""

    def __init__(self, finalize: Callable[[Any], Any]) -> None:
        self._finalize = finalize
        self._recording = _Recording()  # a renderer may be shared by threads (the send's producer)
        self._tokens: list[str] = []
        self._literal: dict[str, bool] = {}  # the values of a run repeat: their test, remembered

    def __call__(self, value: Any) -> Any:
        if type(value) is not str:  # a str is never None or NaN, nor Markup
            value = self._finalize(value)
            if hasattr(value, "__html__"):  # Markup (a macro's output) is part of the shape
                return value
        values = self._recording.values
        if values is None:
            return value
        text = str(value)  # what escape() would print
        literal = self._literal.get(text)
        if literal is None:
            if len(self._literal) > 8192:
                self._literal.clear()
            literal = self._literal[text] = _LITERAL.search(text) is not None
        if literal:
            return text
        index = len(values)
        values.append(text)
        tokens = self._tokens
        if index == len(tokens):
            tokens.append(_token(index))
        # A plain str: Jinja escapes it (a token has nothing to escape) as it would have escaped the value.
        return tokens[index]

    def record(self, values: list[str] | None) -> None:
        """Collect this thread's printed values into ``values`` (None: print them as Jinja does)."""
        self._recording.values = values


class _Shape:
    """A token document's inlined form: the pieces between its tokens, and where each token came out."""

    def __init__(self, pieces: list[str], order: list[int], attributes: dict[int, str]) -> None:
        self.pieces = pieces  # len(order) + 1 pieces around the text tokens, in output order
        self.order = order  # the text token that came out after each piece
        self.attributes = attributes  # token → the value it must hold (in an attribute: it is in the pieces)

    def fill(self, values: list[str]) -> str | None:
        """The letter's inlined HTML, or None when an attribute's value differs."""
        held = self.attributes
        for index, value in held.items():
            if values[index] != value:
                return None
        pieces = self.pieces
        out = [pieces[0]]
        for n, index in enumerate(self.order, 1):
            out.append(as_text(values[index]))
            out.append(pieces[n])
        return "".join(out)


class InlineCache:
    """``inline(html)`` for token documents, one css-inline run per shape (see the module's doc)."""

    def __init__(self, inline: Callable[[str], str]) -> None:
        self._inline = inline
        # A document's shape; None: inlined alone; False: its tokens are not only ours (see __call__).
        self._shapes: dict[str, _Shape | bool | None] = {}
        self._made = self._used = 0  # shapes made (~4 css-inline runs each) and letters that found theirs

    def __call__(self, document: str, values: list[str]) -> str | None:
        """The inlined HTML; None when the document cannot stand for it (render it without tokens)."""
        if document not in self._shapes:
            if self._made >= _MADE and self._used < 8 * self._made:  # letters that rarely share a shape
                return self._inline(fill_in(document, values))
            self._made += 1
            if len(self._shapes) >= _CACHED:
                self._shapes.clear()
            # The template's own text (or a Markup value) holding a token character would be read as a token.
            if document.count(_OPEN) != len(values) or document.count(_CLOSE) != len(values):
                self._shapes[document] = False
                return None
            try:
                self._shapes[document] = self._shape(document, values)
            except Exception:  # css-inline refused a token or a probe (in a style attribute): inline alone
                self._shapes[document] = None
        else:
            self._used += 1
        shape = self._shapes[document]
        if shape is False:
            return None
        filled = shape.fill(values) if isinstance(shape, _Shape) else None
        return filled if filled is not None else self._inline(fill_in(document, values))

    def _shape(self, document: str, values: list[str]) -> _Shape | None:
        if not values or _NOT_TEXT.search(document) or "<link" in document.lower():
            return None
        contexts = self._contexts(document, len(values))
        if contexts is None:
            return None
        held = {n: values[n] for n, in_text in enumerate(contexts) if not in_text}
        # Attributes hold their real values (a selector may read them); the text keeps its tokens.
        fixed = _TOKEN.sub(lambda m: str(escape(values[int(m[1])])) if int(m[1]) in held else m[0], document)
        parts = _TOKEN.split(self._inline(fixed))
        pieces, order = parts[::2], [int(n) for n in parts[1::2]]
        if sorted(order) != [n for n, in_text in enumerate(contexts) if in_text]:
            return None
        # The proof: a probe for every text token comes out as the serialiser writes it, and nothing else changes.
        probes = {n: _probe(n) for n in order}
        probed = self._inline(_TOKEN.sub(lambda m: str(escape(probes[int(m[1])])), fixed))
        predicted = pieces[0] + "".join(as_text(probes[n]) + piece for n, piece in zip(order, pieces[1:], strict=True))
        return _Shape(pieces, order, held) if predicted == probed else None

    def _contexts(self, document: str, count: int) -> list[bool] | None:
        """For each token: does it come out in text (True) or in an attribute (False)? None: elsewhere too."""
        probes = [_probe(n) for n in range(count)]
        probed = self._inline(fill_in(document, probes))
        written = [(int(m[1]), m[0]) for m in re.finditer("\ue002(\\d+)\ue003.*?\ue004", probed, re.DOTALL)]
        if sorted(n for n, _ in written) != list(range(count)):
            return None  # a token dropped or repeated (one in a style block, a foster-parented copy)
        contexts = [False] * count
        for n, found in written:
            if found == as_text(probes[n]):
                contexts[n] = True
            elif found != _as_attribute(probes[n]):
                return None  # neither text nor an attribute: a raw text element, a tag name...
        return contexts


def _probe(index: int) -> str:
    return f"\ue002{index}\ue003{_PROBE}\ue004"


def fill_in(document: str, values: list[str]) -> str:
    """The token document with each value escaped where its token is: what Jinja printed."""
    return _TOKEN.sub(lambda m: str(escape(values[int(m[1])])), document)


# What lets a printed value reach the output other than straight: captured (set blocks, macros,
# filter and call blocks, blocks of a layout) or printed without escaping (autoescape blocks).
_CAPTURES = (
    nodes.AssignBlock,
    nodes.FilterBlock,
    nodes.Macro,
    nodes.CallBlock,
    nodes.Block,
    nodes.Extends,
    nodes.Import,
    nodes.FromImport,
    nodes.EvalContextModifier,
)


def tokenisable(env: jinja2.Environment, name: str, seen: frozenset[str] = frozenset()) -> bool:
    """Does every value ``name`` prints go straight to the output, escaped (so a token can stand for it)?

    Its includes are checked too; an include whose name is not a constant is not followed, so no.
    """
    if name in seen:
        return False
    source, _file, _uptodate = env.loader.get_source(env, name) if env.loader else ("", None, None)
    tree = env.parse(source, name)
    if any(True for _ in tree.find_all(_CAPTURES)):
        return False
    for include in tree.find_all(nodes.Include):
        if not isinstance(include.template, nodes.Const) or not isinstance(include.template.value, str):
            return False
        if not tokenisable(env, include.template.value, seen | {name}):
            return False
    return True
