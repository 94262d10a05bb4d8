"""Jinja2 rendering: event + recipient → subject, plain text and inlined HTML.

Two environments share one loader: the text one for subjects and plain text,
the HTML one with autoescape so that nothing from a spreadsheet can inject
markup.  Both use StrictUndefined and refuse to print ``None`` or NaN, so a
missing value is an error at render time, never a letter saying "None".
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from lgp_mailer import hungarian, kinds
from lgp_mailer.errors import TemplateError
from lgp_mailer.i18n import _
from lgp_mailer.mail.inline_cache import InlineCache, Tokens, tokenisable
from lgp_mailer.quoting import quoted

# Text that must never reach a recipient: template syntax and missing values.  This is
# r"\{\{|\}\}|\{%|%\}|\bNone\b|\b[Nn]a[Nn]\b|\bundefined\b" with each word's leading \b
# moved behind its first letter, so that every branch starts with a fixed character and the regex
# engine skips to those characters instead of trying each position (12x faster on a letter
# that says "finanszírozás", whose "nan" is a hint).
_LEAKS = re.compile(
    r"\{\{|\}\}|\{%|%\}|N(?<!\wN)one(?!\w)|N(?<!\wN)a[Nn](?!\w)|n(?<!\wn)a[Nn](?!\w)|u(?<!\wu)ndefined(?!\w)"
)
# Every _LEAKS match contains one of these.
_LEAK_HINTS = ("{{", "}}", "{%", "%}", "None", "nan", "NaN", "undefined")
_BRACE_HINTS = _LEAK_HINTS[:4]
_WORD_HINTS = _LEAK_HINTS[4:]


def _find_leak(text: str) -> str | None:
    # Substring tests are C-fast; the word-boundary regex runs only on a hint.
    if _hinted(text):
        match = _LEAKS.search(text)
        return match.group() if match else None
    return None


def _hinted(text: str) -> bool:
    """``any(hint in text for hint in _LEAK_HINTS)``, in half the time.

    A one-character search is a memchr; a letter has no braces once its CSS
    is inlined, so the four brace hints are tested only when a brace is there.
    """
    if ("{" in text or "}" in text) and any(hint in text for hint in _BRACE_HINTS):
        return True
    return any(hint in text for hint in _WORD_HINTS)


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


class _MissingValue(Exception):
    pass


def _finalize(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        raise _MissingValue("a value is missing (None/NaN) where text was expected")
    return value


def join_hu(items: Iterable[str], conjunction: str = "és") -> str:
    """``A``, ``A és B``, ``A, B és C`` -- a Hungarian enumeration."""
    items = [str(i) for i in items]
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {conjunction} {items[-1]}"


# The article rule lives with the language rules; kept importable from here.
article = hungarian.article


def _environment(dirs: Sequence[Path], *, html: bool, finalize: Callable[[Any], Any] = _finalize) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(d) for d in dirs], encoding="utf-8"),
        undefined=jinja2.StrictUndefined,
        autoescape=html,
        finalize=finalize,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,
    )
    # Babel formatting costs ~15 µs a call and an agenda has dozens of times
    # per letter; the values are few and immutable, so cache them.
    env.filters.update(
        hu_date=functools.cache(hungarian.long_date),
        hu_on_date=functools.cache(hungarian.on_date),
        hu_time=functools.cache(hungarian.clock),
        hu_weekday=functools.cache(hungarian.weekday),
        join_hu=join_hu,
        article=_text_cache(article),
        nest_quotes=_text_cache(hungarian.nest_quotes),
        quote=_text_cache(hungarian.quote),
        sentence=_text_cache(hungarian.as_sentence),
        continuation=_text_cache(hungarian.as_continuation),
    )
    return env


def _text_cache(function: Callable[[Any], str]) -> Callable[[Any], str]:
    """A pure text filter, remembered for plain ``str`` arguments.

    Most of what these filters get is the event's and sender's text, the
    same in every letter (``ZOOM|article`` costs ~3 µs a call); anything else
    (Markup, numbers) is passed through uncached, so the output cannot change.
    """
    cached = functools.lru_cache(maxsize=4096)(function)

    def text_filter(value: Any) -> str:
        return cached(value) if type(value) is str else function(value)

    return text_filter


class Renderer:
    """Renders one kind of message (see :mod:`lgp_mailer.kinds`) from ``templates/``.

    Templates are looked up in ``dirs`` in order, so a campaign can override a
    single template and inherit the rest from the shipped set.
    """

    def __init__(self, dirs: Sequence[Path], kind: str = "invitation", *, inline_css: bool = True) -> None:
        subject, text, html = kinds.get(kind).templates
        self.kind = kind
        self.dirs = tuple(dirs)
        self._text_env = _environment(self.dirs, html=False)
        # The HTML's printed values can become tokens, so that css-inline runs once per shape (inline_cache).
        self._tokens = Tokens(_finalize)
        self._html_env = _environment(self.dirs, html=True, finalize=self._tokens)
        self._subject = self._load(self._text_env, subject)
        self._text = self._load(self._text_env, text)
        self._html = self._load(self._html_env, html)
        self._inline = _css_inliner() if inline_css else None
        self._shapes = InlineCache(self._inline) if self._inline and tokenisable(self._html_env, html) else None

    def _load(self, env: jinja2.Environment, name: str) -> jinja2.Template:
        try:
            return env.get_template(name)
        except jinja2.TemplateNotFound:
            raise TemplateError(
                _("template not found in {folders}").format(folders=", ".join(map(str, self.dirs))), file=name
            ) from None
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateError(
                _("template syntax error: {message}").format(message=exc.message),
                file=exc.filename or name,
                line=exc.lineno,
            ) from None

    def render(self, context: Mapping[str, Any]) -> Rendered:
        subject = " ".join(self._run(self._subject, context).split())
        context = {**context, "subject": subject}
        text = self._run(self._text, context)
        html = self._inlined(context)
        for part, value in (("subject", subject), ("text", text), ("html", html)):
            leak = _find_leak(value)
            if leak:
                raise TemplateError(
                    _("rendered {part} contains {leak}: a value is missing or a tag is broken").format(
                        part=part, leak=quoted(leak)
                    ),
                    file=f"{self.kind} templates",
                )
        if not subject:
            raise TemplateError(_("the subject is empty"), file=self._subject.name)
        return Rendered(subject, text, html)

    def _inlined(self, context: Mapping[str, Any]) -> str:
        """The HTML part, its CSS inlined: through the shape cache when the templates allow it."""
        if self._shapes is None or self._inline is None:
            html = self._run(self._html, context)
            return self._inline(html) if self._inline is not None else html
        values: list[str] = []
        self._tokens.record(values)
        try:
            document = self._run(self._html, context)
        finally:
            self._tokens.record(None)
        inlined = self._shapes(document, values)
        return inlined if inlined is not None else self._inline(self._run(self._html, context))

    def _run(self, template: jinja2.Template, context: Mapping[str, Any]) -> str:
        try:
            return template.render(context)
        except (jinja2.UndefinedError, _MissingValue, jinja2.TemplateError, TypeError, ValueError) as exc:
            file, line = _template_position(exc, template.filename or template.name or "?")
            raise TemplateError(
                _("cannot render: {exc}").format(exc=_plain(exc, _source_line(file, line))), file=file, line=line
            ) from None


_NO_ATTRIBUTE = re.compile(r"^'(?P<owner>.*)' has no attribute '(?P<name>[^']+)'$")
_IS_UNDEFINED = re.compile(r"^'(?P<name>[^']+)' is undefined$")


def _plain(exc: BaseException, source: str) -> str:
    """A sentence for the office: Jinja's messages name Python types ("'dict object' has no attribute")."""
    if isinstance(exc, _MissingValue):
        shown = re.findall(r"\{\{-?\s*(.+?)\s*-?\}\}", source)
        what = repr(shown[0]) if len(shown) == 1 else _("a value in this line")
        return _("empty value: {what} is empty where text was expected").format(what=what)
    if isinstance(exc, jinja2.TemplateNotFound):
        return _("included template {name} not found").format(name=quoted(exc.name))
    message = (exc.message if isinstance(exc, jinja2.TemplateError) else None) or str(exc)
    if isinstance(exc, jinja2.UndefinedError):
        if found := _IS_UNDEFINED.match(message):
            return _("undefined name {name}").format(name=quoted(found["name"]))
        if found := _NO_ATTRIBUTE.match(message):
            name = found["name"]
            # The dotted expression as written in the template, e.g. event.venue.
            written = re.search(
                rf"([A-Za-z_][\w.]*)\s*(?:\.{re.escape(name)}\b|\[\s*['\"]{re.escape(name)}['\"]\s*\])", source
            )
            dotted = f"{written.group(1)}.{name}" if written else name
            if found["owner"] == "None":
                return _("empty value: {owner} is empty, so it has no {name}").format(
                    owner=quoted(dotted.rpartition(".")[0] or dotted), name=quoted(name)
                )
            return _("undefined name {name}").format(name=quoted(dotted))
        return _("undefined name")
    if isinstance(exc, jinja2.TemplateError):
        return message
    return _("a value of the wrong kind for this expression (text, number or list)")


def _source_line(file: str, line: int | None) -> str:
    if line is None:
        return ""
    try:
        lines = Path(file).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeError):
        return ""
    return lines[line - 1] if 0 < line <= len(lines) else ""


def _template_position(exc: BaseException, default: str) -> tuple[str, int | None]:
    """The innermost template frame of a rendering error (Jinja maps frames to template lines)."""
    file, line = default, None
    tb = exc.__traceback__
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if name.endswith(".j2"):
            file, line = name, tb.tb_lineno
        tb = tb.tb_next
    return file, line


def _css_inliner() -> Callable[[str], str]:
    import css_inline  # noqa: PLC0415 - css-inline only when an HTML letter is rendered

    inliner = css_inline.CSSInliner(keep_style_tags=False, load_remote_stylesheets=False)
    return inliner.inline
