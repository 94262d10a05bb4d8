"""A SQLite sent log on a network share is refused; a local one is opened (issue 22).

The boundary stubbed is the mount table (and Windows' drive type): everything
from there on, the prefix match, the refusal line and the exit code, is real.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath, PureWindowsPath

import pytest
from typer.testing import CliRunner

from lgp_mailer.errors import ConfigError, ExitCode
from lgp_mailer.ledger import netfs
from lgp_mailer.ledger.netfs import Mount, mount_of, network_location, parse_mountinfo, refuse_network_sqlite
from lgp_mailer.ledger.store import open_campaign_ledger

MOUNTINFO = (
    "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
    "30 22 0:25 / /mnt/office rw,relatime shared:7 - cifs //files.example/iroda rw,vers=3.1.1\n"
    "31 30 8:2 / /mnt/office/local\\040disk rw - ext4 /dev/sdb1 rw\n"
    "32 22 0:26 / /srv/nfs rw master:3 - nfs4 nas.example:/export rw\n"
    "33 22 0:27 / /mnt/c rw - 9p drvfs rw\n"
)


def test_mountinfo_is_parsed_with_escapes_and_optional_fields() -> None:
    garbled = "not a mountinfo line\n40 22 0:30 / /x rw - nfs\n"  # no separator; nothing after the type
    assert parse_mountinfo(MOUNTINFO + garbled) == [
        Mount("/", "ext4", "/dev/sda1"),
        Mount("/mnt/office", "cifs", "//files.example/iroda"),
        Mount("/mnt/office/local disk", "ext4", "/dev/sdb1"),
        Mount("/srv/nfs", "nfs4", "nas.example:/export"),
        Mount("/mnt/c", "9p", "drvfs"),
    ]


@pytest.mark.parametrize(
    ("path", "mountpoint"),
    [
        ("/mnt/office/2026/sent-log.sqlite3", "/mnt/office"),
        ("/mnt/office/local disk/sent-log.sqlite3", "/mnt/office/local disk"),  # the longest prefix wins
        ("/mnt/officer/sent-log.sqlite3", "/"),  # a prefix of the text is not a parent folder
        ("/srv/nfs", "/srv/nfs"),
    ],
)
def test_the_longest_mount_point_holds_the_path(path: str, mountpoint: str) -> None:
    found = mount_of(PurePosixPath(path), parse_mountinfo(MOUNTINFO))
    assert found is not None and found.mountpoint == mountpoint


@pytest.mark.parametrize(
    ("path", "where"),
    [
        ("/mnt/office/sent-log.sqlite3", "cifs at /mnt/office"),
        ("/srv/nfs/a/b.sqlite3", "nfs4 at /srv/nfs"),
        ("/mnt/c/Users/anna/sent-log.sqlite3", "9p at /mnt/c"),
        ("/mnt/office/local disk/sent-log.sqlite3", None),
        ("/home/anna/sent-log.sqlite3", None),
    ],
)
def test_linux_mount_types(path: str, where: str | None) -> None:
    assert network_location(PurePosixPath(path), windows=False, mounts=lambda: parse_mountinfo(MOUNTINFO)) == where


@pytest.mark.parametrize(
    ("path", "where"),
    [
        (r"\\files.example\iroda\sent-log.sqlite3", r"network share \\files.example\iroda"),
        (r"Z:\kiküldés\sent-log.sqlite3", "network drive Z:"),
        (r"C:\Users\anna\sent-log.sqlite3", None),
    ],
)
def test_windows_drive_types(path: str, where: str | None) -> None:
    types = {"Z:\\": netfs.DRIVE_REMOTE, "C:\\": 3}  # 3 = DRIVE_FIXED
    assert network_location(PureWindowsPath(path), windows=True, drive_type=types.__getitem__) == where


def test_a_ledger_on_a_share_is_refused_in_one_line_naming_postgresql(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(netfs, "_resolved", lambda path: path)
    locate = lambda p: network_location(p, windows=False, mounts=lambda: parse_mountinfo(MOUNTINFO))  # noqa: E731
    with pytest.raises(ConfigError) as caught:
        refuse_network_sqlite(Path("/mnt/office/sent-log.sqlite3"), {}, locate=locate)
    assert str(caught.value) == (
        "/mnt/office/sent-log.sqlite3: the sent log is on a network file system (cifs at /mnt/office),"
        " where SQLite can corrupt it or send twice; share one PostgreSQL sent log instead"
        " (LGP_MAILER_DB=postgresql://…), or set LGP_MAILER_ALLOW_NETWORK_SQLITE=1 to accept the risk"
    )
    assert caught.value.exit_code == ExitCode.USAGE
    # The documented override, at the user's own risk.
    refuse_network_sqlite(Path("/mnt/office/sent-log.sqlite3"), {"LGP_MAILER_ALLOW_NETWORK_SQLITE": "1"}, locate=locate)


def test_a_local_ledger_is_accepted_and_opened(tmp_path: Path) -> None:
    """No stub: this machine's real mount table, and the test's own (local) folder."""
    path = tmp_path / "sent-log.sqlite3"
    if network_location(path.resolve()) is not None:
        pytest.skip(f"{tmp_path} is itself on a network file system")
    with open_campaign_ledger(env={"LGP_MAILER_DB": str(path)}) as ledger:
        assert ledger.applied_migrations()
    assert path.exists()


def test_status_refuses_a_ledger_on_a_share(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from lgp_mailer.cli.app import app

    share = tmp_path / "share"
    share.mkdir()
    real = share.resolve()
    monkeypatch.setattr(netfs, "system_mounts", lambda: [Mount("/", "ext4"), Mount(str(real), "cifs")])
    monkeypatch.setenv("LGP_MAILER_DB", str(share / "sent-log.sqlite3"))
    result = CliRunner().invoke(app, ["status"])
    assert result.exit_code == ExitCode.USAGE
    assert f"the sent log is on a network file system (cifs at {real})" in result.output
    assert "LGP_MAILER_DB=postgresql://" in result.output
    assert "Traceback" not in result.output
    assert not (share / "sent-log.sqlite3").exists()
