"""A preview's letters, built and written in chunks: by worker processes for large N (spool.map_chunks).

Whoever builds a chunk writes each letter's ``.eml`` and review page itself
and sends back only what the table and the summary need: each letter's
subject, or the problem that stopped it.  A page links to the pages of the
letters before and after it; across a chunk's edges the builder assumes
those letters were built, and the preview relinks the few pages whose
neighbour was not (:class:`Relinker`), so the pages are the same bytes
whoever built them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from lgp_mailer.campaign.gallery import Gallery, Links
from lgp_mailer.campaign.spool import Failed, _worker_factory
from lgp_mailer.errors import LgpError, TemplateError
from lgp_mailer.i18n import activate, current_language
from lgp_mailer.mail.build import Built, MessageFactory
from lgp_mailer.sheets.recipients import Recipient


@dataclass(frozen=True)
class Letter:
    """One letter to build: its number, recipient, the sheet's warnings about its row, its file names."""

    n: int
    recipient: Recipient
    warnings: list[str]
    stem: str  # the .eml and .html files' name without the suffix
    before: str | None  # the page of letter n - 1 (None for the first)
    after: str | None  # the page of letter n + 1 (None for the last)

    @property
    def href(self) -> str:
        return f"{self.stem}.html"


@dataclass(frozen=True)
class Written:
    """A chunk's letters as the table needs them: a subject, or the problem instead."""

    subjects: list[str | None]
    problems: list[str | None]
    first: Built | None = None  # built in this process: the chunk's first letter, shown on the terminal


@dataclass(frozen=True)
class Run:
    """What every chunk of one preview shares (pickled with each chunk: small)."""

    token: str  # one preview: a process's page writer serves one run (its record of written files)
    out: str
    label: str
    total: int
    now: dt.datetime | None
    language: str


_pages: tuple[str, Gallery] | None = None  # this process's page writer, for the run of that token


def _gallery(run: Run) -> Gallery:
    global _pages
    if _pages is None or _pages[0] != run.token:
        _pages = (run.token, Gallery(Path(run.out), run.label, run.total))
    return _pages[1]


def write_letters(factory: MessageFactory | None, chunk: list[Letter], run: Run) -> Written | Failed:
    """Build ``chunk``, write each letter's .eml and review page; a template error stops it (``Failed``)."""
    builder = _worker_factory(factory)
    if current_language() != run.language:  # a spawned process starts in the default language
        activate(run.language, "the preview")
    subjects: list[str | None] = []
    problems: list[str | None] = []
    built: list[Built] = []
    for index, letter in enumerate(chunk):
        try:
            letter_built = builder.build(letter.recipient, now=run.now)
        except TemplateError as error:  # the template's fault, not this row's: the preview stops
            return Failed(index, error)
        except LgpError as error:  # this row's problem: the table says so
            subjects.append(None)
            problems.append(str(error))
            continue
        (Path(run.out) / f"{letter.stem}.eml").write_bytes(letter_built.as_bytes())
        subjects.append(letter_built.rendered.subject)
        problems.append(None)
        built.append(letter_built)
    gallery = _gallery(run)
    pages = [letter for letter, problem in zip(chunk, problems, strict=True) if problem is None]
    for letter, letter_built, links in zip(pages, built, chunk_links(chunk, problems), strict=True):
        gallery.page(letter.n, letter.recipient, letter.warnings, letter_built, letter.href, links)
    return Written(subjects, problems, built[0] if built and factory is not None else None)


def chunk_links(chunk: list[Letter], problems: list[str | None]) -> list[Links]:
    """The links of each built letter's page as its builder wrote them.

    Inside the chunk they skip the letters that were not built; at its edges
    they point at the letters just outside, assumed built."""
    hrefs = [letter.href for letter, problem in zip(chunk, problems, strict=True) if problem is None]
    if not hrefs:
        return []
    previous = [chunk[0].before, *hrefs[:-1]]
    following = [*hrefs[1:], chunk[-1].after]
    return list(zip(previous, following, strict=True))


class Relinker:
    """Follows the pages in order and fixes each whose written links are not its neighbours'."""

    def __init__(self, gallery: Gallery) -> None:
        self.gallery = gallery
        self._last: tuple[int, str, Links, str | None] | None = None  # n, href, written links, true previous

    def add(self, n: int, href: str, written: Links) -> None:
        """The next built letter's page, with the links it was written with."""
        previous = self._settle(href)
        self._last = (n, href, written, previous)

    def finish(self) -> None:
        self._settle(None)

    def _settle(self, following: str | None) -> str | None:
        """Relink the last page if need be, now that the page after it is known; its href."""
        if self._last is None:
            return None
        n, href, written, previous = self._last
        if written != (previous, following):
            self.gallery.relink(n, href, written, (previous, following))
        return href
