"""A SQLite sent log on a network share is refused (issue 22).

SQLite's WAL mode needs shared memory that a network file system does not
provide, and SQLite's own documentation warns that byte-range locking over
SMB/CIFS and NFS is unreliable: two colleagues writing one file on the office
share can corrupt it, or both send the same letter.  The shared sent log an
office needs is a database server (``LGP_MAILER_DB=postgresql://…``).

How a path is known to be remote:

* Linux: the mount that holds the resolved path (the longest mount point
  that is a prefix of it, from ``/proc/self/mountinfo``) has a network
  file-system type (``NETWORK_TYPES``).  9p counts: it is how WSL2 shows
  Windows drives and how virtual machines share host folders, and its locks
  are no better than SMB's.
* Windows: a UNC path (``\\\\server\\share\\…``), or a drive letter whose
  ``GetDriveTypeW`` is ``DRIVE_REMOTE`` (a mapped network drive).
* Elsewhere (macOS): ``psutil.disk_partitions`` gives the mounts.

``LGP_MAILER_ALLOW_NETWORK_SQLITE=1`` skips the check, at the user's own risk.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePath, PureWindowsPath

from lgp_mailer.errors import ConfigError
from lgp_mailer.i18n import _

ALLOW_ENV = "LGP_MAILER_ALLOW_NETWORK_SQLITE"
# Mount types whose locking SQLite cannot trust (Linux names; smbfs/afpfs/webdav as macOS calls them).
NETWORK_TYPES = frozenset(
    {
        "cifs",
        "smb3",
        "smbfs",
        "nfs",
        "nfs4",
        "9p",
        "afs",
        "ceph",
        "glusterfs",
        "lustre",
        "ncpfs",
        "afpfs",
        "webdav",
        "davfs",
        "fuse.sshfs",
        "fuse.glusterfs",
        "fuse.davfs2",
        "fuse.rclone",
    }
)
DRIVE_REMOTE = 4  # GetDriveTypeW's answer for a mapped network drive


@dataclass(frozen=True)
class Mount:
    mountpoint: str
    fstype: str
    source: str = ""


def _unescape(field: str) -> str:
    r"""mountinfo writes space, tab, newline and backslash as \040, \011, \012, \134."""
    out, i = [], 0
    while i < len(field):
        if field[i] == "\\" and field[i + 1 : i + 4].isdigit() and len(field[i + 1 : i + 4]) == 3:
            out.append(chr(int(field[i + 1 : i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def parse_mountinfo(text: str) -> list[Mount]:
    """The mounts of ``/proc/self/mountinfo`` (see proc(5)): mount point is field 5,
    and the file-system type and source follow the ``-`` separator."""
    mounts = []
    for line in text.splitlines():
        fields = line.split(" ")
        if "-" not in fields[6:]:
            continue
        dash = fields.index("-", 6)
        if len(fields) < dash + 3:
            continue
        mounts.append(Mount(_unescape(fields[4]), fields[dash + 1], _unescape(fields[dash + 2])))
    return mounts


def system_mounts() -> list[Mount]:
    """This machine's mounts (empty when they cannot be read)."""
    try:
        return parse_mountinfo(Path("/proc/self/mountinfo").read_text(encoding="utf-8", errors="replace"))
    except OSError:
        pass
    try:
        import psutil  # noqa: PLC0415 - only where /proc is missing (macOS)

        return [Mount(p.mountpoint, p.fstype, p.device) for p in psutil.disk_partitions(all=True)]
    except Exception:  # no mount table at all: nothing to refuse on
        return []


def mount_of(path: PurePath, mounts: Iterable[Mount]) -> Mount | None:
    """The mount holding ``path`` (absolute, resolved): the longest mount point that is a prefix of it."""
    best: Mount | None = None
    for mount in mounts:
        point = PurePath(mount.mountpoint)
        if (path == point or point in path.parents) and (
            best is None or len(point.parts) >= len(PurePath(best.mountpoint).parts)
        ):
            best = mount  # a later mount on the same point hides the earlier one
    return best


def windows_drive_type(root: str) -> int:
    """``GetDriveTypeW`` of a drive root such as ``Z:\\`` (0 = unknown off Windows)."""
    if sys.platform == "win32":
        import ctypes  # noqa: PLC0415 - Windows only

        return int(ctypes.windll.kernel32.GetDriveTypeW(root))
    return 0


def network_location(
    path: PurePath,
    *,
    windows: bool = sys.platform == "win32",
    mounts: Callable[[], Iterable[Mount]] | None = None,
    drive_type: Callable[[str], int] | None = None,
) -> str | None:
    """What makes ``path`` remote ("cifs at /mnt/office", "network drive Z:"), or None when it is local.

    ``mounts`` and ``drive_type`` are the boundary to the system (default:
    ``system_mounts`` and ``windows_drive_type``, looked up when called)."""
    if windows:
        win = PureWindowsPath(path)
        if win.anchor.startswith("\\\\"):
            return _("network share {share}").format(share=win.anchor.rstrip("\\"))
        if win.drive and (drive_type or windows_drive_type)(win.drive + "\\") == DRIVE_REMOTE:
            return _("network drive {drive}").format(drive=win.drive)
        return None
    found = mount_of(path, (mounts or system_mounts)())
    if found is not None and found.fstype.lower() in NETWORK_TYPES:
        return _("{fstype} at {mountpoint}").format(fstype=found.fstype, mountpoint=found.mountpoint)
    return None


def refuse_network_sqlite(
    path: Path,
    env: Mapping[str, str] = os.environ,
    *,
    locate: Callable[[PurePath], str | None] | None = None,
) -> None:
    """ConfigError (exit 2) when the SQLite sent log ``path`` is on a network file system."""
    if env.get(ALLOW_ENV, "").strip().lower() in ("1", "true", "yes"):
        return
    where = (locate or network_location)(_resolved(path))
    if where is None:
        return
    raise ConfigError(
        _(
            "the sent log is on a network file system ({where}), where SQLite can corrupt it or send twice;"
            " share one PostgreSQL sent log instead (LGP_MAILER_DB=postgresql://…),"
            " or set {allow}=1 to accept the risk"
        ).format(where=where, allow=ALLOW_ENV),
        file=path,
    )


def _resolved(path: Path) -> Path:
    """The real location (symlinks followed) even when the file is not created yet."""
    try:
        return path.expanduser().resolve()
    except OSError:
        return path.expanduser().absolute()


__all__ = [
    "ALLOW_ENV",
    "NETWORK_TYPES",
    "Mount",
    "mount_of",
    "network_location",
    "parse_mountinfo",
    "refuse_network_sqlite",
    "system_mounts",
]
