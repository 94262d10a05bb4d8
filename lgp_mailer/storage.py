"""A full or read-only disk, said in one line: the sent log, the outbox, the preview folder.

A 40-line ``sqlite3.OperationalError`` traceback tells a programme office
nothing.  What it needs is the path and whether the disk is full or
read-only; the exit code is 2 (an unusable environment), even mid-run.  The
message in flight at that moment stays ``sending`` in the sent log, exactly
as after a crash, and the next run marks it ``unknown``.

SQLite reports some of these only as "disk I/O error" or "unable to open
database file"; then the file system itself is asked (``os.statvfs``).
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from lgp_mailer.errors import LgpError
from lgp_mailer.i18n import N_, _

FULL = N_("disk full")  # translated where shown
READ_ONLY = N_("read-only")
_FULL_ERRNOS = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}


class StorageError(LgpError):
    """A file we must write cannot be: the disk is full or read-only (exit 2)."""


def _by_file_system(path: Path) -> str | None:
    if not hasattr(os, "statvfs"):  # Windows reports ENOSPC/EROFS-like errors by errno
        return None
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        stats = os.statvfs(probe)
    except OSError:
        return None
    if stats.f_flag & os.ST_RDONLY:
        return READ_ONLY
    if stats.f_bavail == 0:
        return FULL
    return None


def diagnose(error: BaseException, path: Path) -> str | None:
    """FULL or READ_ONLY when ``error`` (OSError or an SQLite error) is one, else None."""
    if isinstance(error, OSError):
        if error.errno in _FULL_ERRNOS:
            return FULL
        if error.errno == errno.EROFS:
            return READ_ONLY
        return _by_file_system(path) if error.errno in (errno.EIO, errno.EACCES, errno.EPERM) else None
    text = str(error).lower()
    if "database or disk is full" in text:
        return FULL
    if "readonly database" in text or "read-only" in text:
        return READ_ONLY
    if "disk i/o error" in text or "unable to open database file" in text:
        return _by_file_system(path)
    return None


def storage_error(error: BaseException, path: Path, what: str) -> StorageError | None:
    """The one line for ``error`` while writing ``what`` at ``path``, or None when it is something else."""
    why = diagnose(error, path)
    if why is None:
        return None
    advice = _("free some space") if why == FULL else _("make it writable or choose another folder")
    return StorageError(
        _("cannot write {what}: {why} ({advice}, then run the same command again)").format(
            what=what, why=_(why), advice=advice
        ),
        file=path,
    )


@contextmanager
def writing(path: Path, what: str) -> Iterator[None]:
    """Around file writes under ``path``: a full or read-only disk becomes a StorageError."""
    try:
        yield
    except OSError as error:
        fault = storage_error(error, path, what)
        if fault is None:
            raise
        raise fault from None


__all__ = ["FULL", "READ_ONLY", "StorageError", "diagnose", "storage_error", "writing"]
