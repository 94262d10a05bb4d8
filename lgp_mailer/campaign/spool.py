"""Each letter built once: the build before a send, and the files of a dry run and a preview.

A send run keeps its safety check (every message of the run renders before
the first one goes), but the bytes built for the check are the bytes sent:
they are written to a spool, a private temporary folder, one file per chunk
of ``CHUNK`` messages, and the send loop reads them back in sheet order,
deleting each chunk file once read.  The spool holds at most the messages of
one run (``--batch`` and the daily quota bound it), is removed when the run
ends, and lives in the system's temporary folder (``TMPDIR``); the spool of
a run killed outright (SIGKILL) is removed by the next run's.

The building is done by worker processes (``spawn``, as on Windows; one per
core but one) and this process, each taking its turn of chunks, when there
are ``PROCESSES_FROM`` messages or more, else here only; a customised
factory always builds here.  The
workers also write a dry run's ``.eml`` files, and a preview's with their
review pages (preview_letters.py), themselves, so nothing big is pickled back.

A spooled message's Date header is the time it was built, not sent: with a
slow rate a letter may go out an hour after its Date, which mail systems
accept (they question dates days off, or in the future).
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import shutil
import tempfile
import threading
import time
from array import array
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any, Generic, TypeVar

from lgp_mailer import kinds
from lgp_mailer.errors import LgpError
from lgp_mailer.i18n import _
from lgp_mailer.mail.build import MessageFactory
from lgp_mailer.sheets.recipients import Recipient
from lgp_mailer.smtp.wire import CrlfOnly, Stuffed, dot_stuff
from lgp_mailer.storage import writing

CHUNK = 32  # messages per task and per spool file
WINDOW = 3  # tasks in flight per process
AHEAD = 16  # tasks read ahead per process while a worker is busy (or starting)
PROCESSES_FROM = 1000  # fewer: starting a process (~0.6 s) costs more than it saves (~1 ms a letter, halved)

T = TypeVar("T")
R = TypeVar("R")
Built = Callable[[int], None]  # progress: called with the messages built so far


def build_processes(count: int) -> int:
    """Worker processes worth starting for ``count`` messages (0: build here only).

    One fewer than the cores: this process builds its share too, so a
    process's memory (about 40 MiB each) is not spent on waiting."""
    return min(os.cpu_count() or 1, 8) - 1 if count >= PROCESSES_FROM else 0


_factory: MessageFactory | None = None  # a worker process's own


def _init_worker(campaign: Any, event: Any, kind: kinds.Kind, calendar: Any, parent: int) -> None:
    global _factory
    kinds.register(kind)  # a kind registered at run time is unknown to a spawned process
    _factory = MessageFactory(campaign, event, kind.name)
    _factory.calendar = calendar  # the parent's entry: one DTSTAMP, the same bytes as in one process
    threading.Thread(target=_exit_with_parent, args=(parent,), name="lgp-build-watch", daemon=True).start()


def _exit_with_parent(parent: int) -> None:
    """A SIGKILLed parent cannot shut its pool down: the workers watch for themselves."""
    import psutil  # noqa: PLC0415 - only in a worker process, not at every start-up

    while True:
        time.sleep(0.5)
        if os.getppid() != parent or not psutil.pid_exists(parent):
            os._exit(0)


def _pool(factory: MessageFactory, processes: int) -> ProcessPoolExecutor | None:
    # Only the plain factory can be rebuilt in another process; anything else builds here.
    if processes <= 0 or type(factory) is not MessageFactory or "build" in vars(factory):
        return None
    return ProcessPoolExecutor(
        processes,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_init_worker,
        initargs=(factory.campaign, factory.event, kinds.get(factory.kind), factory.calendar, os.getpid()),
    )


def _worker_factory(factory: MessageFactory | None) -> MessageFactory:
    built = factory if factory is not None else _factory
    assert built is not None, "a render process without its factory"
    return built


def map_chunks(
    factory: MessageFactory,
    task: Callable[..., R],
    items: Iterable[T],
    args: Sequence[Any] = (),
    *,
    processes: int,
) -> Iterator[tuple[list[T], R]]:
    """``task(factory, chunk, *args)`` over ``items`` in chunks, results in order.

    In ``processes`` worker processes and this one, which builds every
    ``processes + 1``-th chunk while the workers build theirs (a few chunks in
    flight, never the whole list); only here when the factory cannot be
    rebuilt elsewhere or ``processes`` is 0.  A worker gets ``None`` for the
    factory and uses its own.  This process never waits while there is work
    it can do: while a worker is busy (or still starting, about half a
    second), it builds its own chunks ahead and takes back the workers'
    chunks that have not started.
    """
    source = iter(items)
    pool = _pool(factory, processes)
    if pool is None:
        while chunk := list(islice(source, CHUNK)):
            yield chunk, task(factory, chunk, *args)
        return
    pending: deque[_Task[T, R]] = deque()
    numbers = itertools.count()

    def submit() -> bool:
        chunk = list(islice(source, CHUNK))
        if chunk:
            here = next(numbers) % (processes + 1) == 0  # None: built here when its turn comes
            pending.append(_Task(chunk, None if here else pool.submit(task, None, chunk, *args)))
        return bool(chunk)

    def ahead() -> bool:
        return len(pending) < AHEAD * (processes + 1) and submit()

    try:
        for _slot in range(WINDOW * (processes + 1)):
            submit()
        while pending:
            first = pending[0]
            busy = not first.ready() and not first.take_back()
            # While a worker has it: build this process's next chunk, reading on if need be.
            if busy and (any(t.build_here(factory, task, args) for t in pending if t.future is None) or ahead()):
                continue
            pending.popleft()
            first.build_here(factory, task, args)
            submit()
            yield first.chunk, first.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


class _Task(Generic[T, R]):
    """One chunk of ``map_chunks``: built here or by a worker (``future``)."""

    def __init__(self, chunk: list[T], future: Future[R] | None) -> None:
        self.chunk, self.future = chunk, future
        self.done = False
        self.value: R | None = None
        self.error: BaseException | None = None

    def ready(self) -> bool:
        return self.done or (self.future is not None and self.future.done())

    def take_back(self) -> bool:
        """A worker's chunk it has not started is built here instead."""
        if self.future is not None and self.future.cancel():
            self.future = None
        return self.future is None

    def build_here(self, factory: MessageFactory, task: Callable[..., R], args: Sequence[Any]) -> bool:
        """Build it here if it is not built yet and no worker has started it; did it?"""
        if self.done or not self.take_back():
            return False
        try:
            self.value = task(factory, self.chunk, *args)
        except Exception as error:  # raised in order, when its turn comes
            self.error = error
        self.done = True
        return True

    def result(self) -> R:
        if self.future is not None:
            return self.future.result()
        if self.error is not None:
            raise self.error
        return self.value  # type: ignore[return-value]  # built: done is True


# -- the spool of a send run --------------------------------------------------------------


@dataclass(frozen=True)
class Failed:
    """The first message of a chunk that did not build, and why (pickled back from a worker)."""

    index: int
    error: BaseException


def _spool_chunk(
    factory: MessageFactory | None, work: list[tuple[int, Recipient, str | None]], folder: str
) -> list[int] | Failed:
    """Build ``work`` into one spool file (named by its first seq); the messages' lengths, or the first failure.

    Their line ends are CRLF as built (``Built.wire_bytes``), and each is written as it goes
    on the wire (``dot_stuff``: leading dots doubled, the final dot), here in a build process,
    not by the sending process, which writes it out as it is (``Stuffed``): about 60 us of its
    CPU a message, on 33 KB letters."""
    built = _worker_factory(factory)
    lengths: list[int] = []
    with (Path(folder) / _chunk_name(work[0][0])).open("wb") as out:
        for index, (_seq, recipient, msgid) in enumerate(work):
            try:
                data = dot_stuff(CrlfOnly(built.build(recipient, msgid=msgid).wire_bytes()))
            except Exception as error:  # raised by the parent, naming the recipient
                return Failed(index, error)
            out.write(data)
            lengths.append(len(data))
    return lengths


def _chunk_name(first_seq: int) -> str:
    return f"{first_seq:012d}.eml-chunk"


_PREFIX = "lgp-spool-"


def _sweep(parent: Path) -> None:
    """Remove the spools of runs that died without cleaning up (SIGKILL, a power cut)."""
    import psutil  # noqa: PLC0415 - only when a run builds a spool, not at every start-up

    for old in parent.glob(f"{_PREFIX}*-*"):
        pid = old.name[len(_PREFIX) :].split("-", 1)[0]
        if pid.isdigit() and not psutil.pid_exists(int(pid)):
            shutil.rmtree(old, ignore_errors=True)


class Spool:
    """The messages of one send run, built, on disk in the order they go."""

    def __init__(self, root: Path | None = None) -> None:
        parent = Path(root or tempfile.gettempdir())
        _sweep(parent)
        self.folder = Path(tempfile.mkdtemp(prefix=f"{_PREFIX}{os.getpid()}-", dir=parent))
        self._chunks: list[tuple[Path, array[int], array[int]]] = []
        self.count = 0
        self.size = 0

    def add(self, path: Path, seqs: Iterable[int], lengths: Iterable[int]) -> None:
        seq_array, length_array = array("q", seqs), array("q", lengths)
        self._chunks.append((path, seq_array, length_array))
        self.count += len(seq_array)
        self.size += sum(length_array)

    def messages(self) -> Iterator[tuple[int, bytes]]:
        """(seq, bytes) in the order built, as they go on the wire (``Stuffed``); each chunk
        file is deleted once read."""
        for path, seqs, lengths in self._chunks:
            data = memoryview(path.read_bytes())
            path.unlink()
            start = 0
            for seq, length in zip(seqs, lengths, strict=True):
                yield seq, Stuffed(data[start : start + length])  # the one copy: the sender writes it as is
                start += length

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def build_spool(
    factory: MessageFactory,
    work: Iterable[tuple[int, Recipient, str | None]],
    count: int,
    *,
    progress: Built | None = None,
    processes: int | None = None,
) -> Spool:
    """Build every message of ``work`` (seq, recipient, Message-ID) into a new spool.

    A message that does not build stops the build with its error, naming the
    recipient; the spool is then removed and nothing has been sent.
    """
    with writing(Path(tempfile.gettempdir()), _("the build spool")):  # a full or read-only disk: one line, exit 2
        return _build_spool(factory, work, count, progress, processes)


def _build_spool(
    factory: MessageFactory,
    work: Iterable[tuple[int, Recipient, str | None]],
    count: int,
    progress: Built | None,
    processes: int | None,
) -> Spool:
    spool = Spool()
    chosen = build_processes(count) if processes is None else processes
    try:
        done = 0
        for chunk, lengths in map_chunks(factory, _spool_chunk, work, (str(spool.folder),), processes=chosen):
            if isinstance(lengths, Failed):
                raise _named(lengths.error, chunk[lengths.index][1])
            spool.add(spool.folder / _chunk_name(chunk[0][0]), (seq for seq, _, _ in chunk), lengths)
            done += len(chunk)
            if progress is not None:
                progress(done)
    except BaseException:
        spool.close()
        raise
    return spool


def _named(error: BaseException, recipient: Recipient) -> BaseException:
    if isinstance(error, LgpError):
        error.message = _("{message} (the message to {address}; nothing was sent)").format(
            message=error.message, address=recipient.email
        )
    return error


# -- a dry run's files, written by the workers ----------------------------------------


def write_emls(factory: MessageFactory | None, work: list[tuple[str, Recipient, str | None]]) -> list[str] | Failed:
    """Build each (path, recipient, Message-ID) and write it to its .eml file; the paths, or the first failure."""
    built = _worker_factory(factory)
    for index, (path, recipient, msgid) in enumerate(work):
        try:
            data = built.build(recipient, msgid=msgid).as_bytes()
        except Exception as error:  # raised by the parent, naming the recipient
            return Failed(index, error)
        Path(path).write_bytes(data)
    return [path for path, _, _ in work]


def written_emls(chunks: Iterable[tuple[list[tuple[str, Recipient, str | None]], list[str] | Failed]]) -> list[str]:
    """The paths a dry run's chunks wrote, in order; the first failure raised, naming its recipient."""
    paths: list[str] = []
    for chunk, result in chunks:
        if isinstance(result, Failed):
            raise _named(result.error, chunk[result.index][1])
        paths += result
    return paths
