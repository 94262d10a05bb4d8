"""A simulated power cut for SQLite: a VFS that keeps, per file, only what was synced.

``PowerCutVfs`` is registered as the process's default SQLite VFS, so the
ledger's own ``sqlite3`` connections run over it unchanged.  It passes every
call through to SQLite's ``unix`` VFS, and at each ``xSync`` it takes a copy
of the file as the disk now holds it for sure: the *durable image*.  A write
after the last sync is only in the page cache, so a power cut loses it (a
SIGKILL does not: the kernel still writes it out).  The ``-shm`` index is
not a file SQLite syncs; a power cut loses it, and SQLite rebuilds it from
the WAL.  Dropping every unsynced write is the worst case: a real cut may
keep some of them, which SQLite's WAL checksums turn into the state at a
later commit, and keeping them all is what a SIGKILL does (test_send_crash.py).

``before_sync(n)`` is called at the start of the n-th sync, before it takes
effect: the moment a power cut loses most.  ``durable_images()`` then is
what the disk would hold after the cut; ``write_images`` lays it out as
files again, for a recovery run to open.

Why ctypes and not apsw: Python's ``sqlite3`` module has no VFS interface.
apsw has one, but a VFS is only seen by ``sqlite3`` if both use the same
SQLite library, and apsw's PyPI builds embed their own; built from source,
apsw needs an SQLite at least as new as itself (3.40.1 on Debian 12 fits
only apsw 3.40, whose source build downloads SQLite from sqlite.org).  So
the VFS is registered through the very library ``_sqlite3`` is linked to
(its symbols, looked up through the extension module), which needs no
compiler, no download and no pinned version.
"""

from __future__ import annotations

import _sqlite3
import ctypes
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from ctypes import CFUNCTYPE, POINTER, c_char_p, c_int, c_int64, c_void_p
from pathlib import Path

SQLITE_OK = 0
SQLITE_IOERR = 10
NAME = b"lgp-powercut"

_X_OPEN = CFUNCTYPE(c_int, c_void_p, c_void_p, c_void_p, c_int, POINTER(c_int))
_X_DELETE = CFUNCTYPE(c_int, c_void_p, c_void_p, c_int)
_X_CLOSE = CFUNCTYPE(c_int, c_void_p)
_X_WRITE = CFUNCTYPE(c_int, c_void_p, c_void_p, c_int, c_int64)
_X_SYNC = CFUNCTYPE(c_int, c_void_p, c_int)


class _Vfs(ctypes.Structure):
    """``struct sqlite3_vfs`` (version 3); the methods we do not replace stay opaque pointers."""

    _fields_ = [
        ("iVersion", c_int),
        ("szOsFile", c_int),
        ("mxPathname", c_int),
        ("pNext", c_void_p),
        ("zName", c_char_p),
        ("pAppData", c_void_p),
        ("xOpen", c_void_p),
        ("xDelete", c_void_p),
        *[(f"x{i}", c_void_p) for i in range(14)],  # xAccess … xNextSystemCall, passed through
    ]


class _IoMethods(ctypes.Structure):
    """``struct sqlite3_io_methods`` (version 3)."""

    _fields_ = [
        ("iVersion", c_int),
        ("xClose", c_void_p),
        ("xRead", c_void_p),
        ("xWrite", c_void_p),
        ("xTruncate", c_void_p),
        ("xSync", c_void_p),
        *[(f"x{i}", c_void_p) for i in range(13)],  # xFileSize … xUnfetch, passed through
    ]


class Unavailable(Exception):
    """This Python's ``sqlite3`` does not let ctypes reach its SQLite library."""


def _library() -> ctypes.CDLL:
    """The SQLite library ``sqlite3`` runs on (dlsym through ``_sqlite3`` finds its dependency)."""
    try:
        lib = ctypes.CDLL(_sqlite3.__file__)
        lib.sqlite3_vfs_find  # noqa: B018 - missing if SQLite is linked in with hidden symbols
    except (OSError, AttributeError) as error:
        raise Unavailable(f"cannot reach the SQLite library of {_sqlite3.__file__}: {error}") from error
    lib.sqlite3_libversion.restype = c_char_p
    lib.sqlite3_vfs_find.restype = c_void_p
    lib.sqlite3_vfs_find.argtypes = [c_char_p]
    lib.sqlite3_vfs_register.argtypes = [c_void_p, c_int]
    lib.sqlite3_vfs_unregister.argtypes = [c_void_p]
    return lib


class PowerCutVfs:
    """Install with ``with PowerCutVfs().installed():`` (then every new SQLite connection uses it)."""

    def __init__(self, before_sync: Callable[[int], None] | None = None) -> None:
        self.before_sync = before_sync
        self.syncs = 0  # completed xSync calls
        self.writes = 0  # xWrite calls
        self.errors: list[BaseException] = []  # raised inside a callback (SQLite got SQLITE_IOERR)
        self._durable: dict[str, bytes | None] = {}  # path -> bytes as of its last sync; None: not on disk
        self._open: dict[int, str] = {}  # sqlite3_file* -> path
        self._methods: dict[int, _IoMethods] = {}  # the unix VFS's table -> ours (kept alive)
        self._by_ours: dict[int, int] = {}  # ours -> the unix VFS's
        self._lock = threading.Lock()
        self._lib = _library()
        if self._lib.sqlite3_libversion().decode() != sqlite3.sqlite_version:
            raise Unavailable("ctypes found another SQLite library than the one the sqlite3 module uses")
        self._unix_ptr = self._lib.sqlite3_vfs_find(b"unix")
        if not self._unix_ptr:
            raise Unavailable("this SQLite has no unix VFS to wrap")
        unix = _Vfs.from_address(self._unix_ptr)
        self._real_open = _X_OPEN(unix.xOpen)
        self._real_delete = _X_DELETE(unix.xDelete)
        # Our callbacks, kept referenced for as long as SQLite may call them.
        self._cb_open, self._cb_delete = _X_OPEN(self._x_open), _X_DELETE(self._x_delete)
        self._cb_close, self._cb_write, self._cb_sync = (
            _X_CLOSE(self._x_close),
            _X_WRITE(self._x_write),
            _X_SYNC(self._x_sync),
        )
        self._real: dict[int, tuple[_X_CLOSE, _X_WRITE, _X_SYNC]] = {}
        self._vfs = _Vfs.from_buffer_copy(unix)
        self._vfs.pNext = None
        self._vfs.zName = NAME
        self._vfs.xOpen = ctypes.cast(self._cb_open, c_void_p).value
        self._vfs.xDelete = ctypes.cast(self._cb_delete, c_void_p).value

    @contextmanager
    def installed(self) -> Iterator[PowerCutVfs]:
        """The default VFS for the block; ``unix`` again after it (close every connection first)."""
        if self._lib.sqlite3_vfs_register(ctypes.addressof(self._vfs), 1) != SQLITE_OK:
            raise RuntimeError("sqlite3_vfs_register failed")
        try:
            yield self
        finally:
            self._lib.sqlite3_vfs_unregister(ctypes.addressof(self._vfs))
            self._lib.sqlite3_vfs_register(self._unix_ptr, 1)
        if self._open:
            raise AssertionError(f"files still open through the power-cut VFS: {sorted(set(self._open.values()))}")

    def durable_images(self) -> dict[str, bytes | None]:
        """What each file seen would hold after a power cut now (None: it would not exist)."""
        with self._lock:
            return dict(self._durable)

    # -- the callbacks (an exception must not reach ctypes: SQLite would read 0 as success)

    def _guard(self, call: Callable[[], int]) -> int:
        try:
            return call()
        except BaseException as error:
            self.errors.append(error)
            return SQLITE_IOERR

    def _x_open(self, vfs: int, name: int | None, file: int, flags: int, out_flags: object) -> int:
        def call() -> int:
            path = ctypes.string_at(name).decode() if name else None
            existed = path is not None and Path(path).exists()
            rc = int(self._real_open(self._unix_ptr, name, file, flags, out_flags))
            if rc != SQLITE_OK or path is None:
                return rc
            with self._lock:
                if path not in self._durable:  # there before this process opened it: on disk already
                    self._durable[path] = Path(path).read_bytes() if existed else None
                self._open[file] = path
            methods = ctypes.c_void_p.from_address(file)  # sqlite3_file.pMethods
            if methods.value:
                methods.value = ctypes.addressof(self._ours(methods.value))
            return rc

        return self._guard(call)

    def _ours(self, real_ptr: int) -> _IoMethods:
        """A copy of the unix VFS's method table with xClose, xWrite and xSync ours."""
        if real_ptr not in self._methods:
            real = _IoMethods.from_address(real_ptr)
            self._real[real_ptr] = (_X_CLOSE(real.xClose), _X_WRITE(real.xWrite), _X_SYNC(real.xSync))
            ours = _IoMethods.from_buffer_copy(real)
            ours.xClose = ctypes.cast(self._cb_close, c_void_p).value
            ours.xWrite = ctypes.cast(self._cb_write, c_void_p).value
            ours.xSync = ctypes.cast(self._cb_sync, c_void_p).value
            self._methods[real_ptr] = ours
            self._by_ours = {ctypes.addressof(v): k for k, v in self._methods.items()}
        return self._methods[real_ptr]

    def _real_of(self, file: int) -> tuple[_X_CLOSE, _X_WRITE, _X_SYNC]:
        return self._real[self._by_ours[ctypes.c_void_p.from_address(file).value or 0]]

    def _x_close(self, file: int) -> int:
        def call() -> int:
            real_close = self._real_of(file)[0]
            with self._lock:
                self._open.pop(file, None)
            return int(real_close(file))

        return self._guard(call)

    def _x_write(self, file: int, data: int, amount: int, offset: int) -> int:
        with self._lock:
            self.writes += 1
        return self._guard(lambda: int(self._real_of(file)[1](file, data, amount, offset)))

    def _x_sync(self, file: int, flags: int) -> int:
        def call() -> int:
            if self.before_sync is not None:
                self.before_sync(self.syncs + 1)
            rc = int(self._real_of(file)[2](file, flags))
            if rc == SQLITE_OK:
                path = self._open.get(file)
                if path is not None:  # SQLite holds the file's lock: no other write to it meanwhile
                    image = Path(path).read_bytes()
                    with self._lock:
                        self._durable[path] = image
                self.syncs += 1
            return rc

        return self._guard(call)

    def _x_delete(self, vfs: int, name: int, sync_dir: int) -> int:
        def call() -> int:
            rc = int(self._real_delete(self._unix_ptr, name, sync_dir))
            if rc == SQLITE_OK:
                with self._lock:  # SQLite deletes a WAL only once it is all in the database file
                    self._durable[ctypes.string_at(name).decode()] = None
            return rc

        return self._guard(call)


def write_images(images: Mapping[str, bytes | None], rename: Callable[[Path], Path]) -> None:
    """Lay the durable images out as files (at ``rename(original path)``); the ``-shm`` is never among them."""
    for original, image in images.items():
        if image is not None and not original.endswith("-shm"):
            target = rename(Path(original))
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(image)
