"""A full or read-only disk under the sent log, the outbox and the preview folder (issue 15).

A real tmpfs is mounted at the test's temporary folder and filled during a
real send to the aiosmtpd server (or remounted read-only), and unmounted in
a finalizer.  Mounting needs root on Linux: CI runs as root and must not
skip these (a CI run without root fails); elsewhere they are skipped.
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from test_send_cli import counts, one_error_line, people, runner, send
from test_send_crash import WAIT, Run, make_campaign, run  # the 2099 example: subprocesses run on the real clock

from lgp_mailer.cli import app

pytestmark = pytest.mark.slow


def _root_on_linux() -> bool:
    return sys.platform == "linux" and os.geteuid() == 0


@pytest.fixture
def disk(tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    """A 2 MiB tmpfs mounted at ``tmp_path / "disk"``."""
    if not _root_on_linux():
        if os.environ.get("CI"):
            pytest.fail("CI must run the full-disk tests as root on Linux (mount -t tmpfs)")
        pytest.skip("mounting a tmpfs needs root on Linux; CI runs these as root")
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m,mode=0755", "tmpfs", str(mount)], check=True)
    request.addfinalizer(lambda: subprocess.run(["umount", "-l", str(mount)], check=False))
    return mount


def fill(mount: Path) -> Path:
    """Write until the file system says ENOSPC; the filler file, to remove later."""
    filler = mount / "filler.bin"
    with filler.open("wb", buffering=0) as stream:
        try:
            while True:
                stream.write(b"\0" * 4096)
        except OSError as error:
            assert error.errno == errno.ENOSPC
    return filler


def remount_read_only(mount: Path) -> Callable[[], None]:
    subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True)
    return lambda: subprocess.run(["mount", "-o", "remount,rw", str(mount)], check=True)


def test_the_disk_fills_up_mid_send_one_line_exit_2_and_the_message_in_flight_becomes_unknown(
    smtp_server, disk, tmp_path, monkeypatch
):
    db = disk / "sent-log.sqlite3"
    monkeypatch.setenv("LGP_MAILER_DB", str(db))
    camp = make_campaign(tmp_path, smtp_server, rows=people(5))
    a = camp.addresses
    hold = smtp_server.handler.hold(3)
    sender = Run(camp)
    assert hold.reached.wait(WAIT)
    filler = fill(disk)  # the disk fills while the server holds its answer to the third message
    hold.release("250 2.0.0 queued as 3")
    code = sender.finish()
    out, err = sender.stdout, sender.stderr
    assert code == 2, out + err
    assert "Traceback" not in out + err
    assert err.splitlines()[-1] == (
        f"lgp-mailer: error: {db}: cannot write the sent log: disk full "
        "(free some space, then run the same command again)"
    )
    filler.unlink()
    assert camp.states() == {a[0]: "sent", a[1]: "sent", a[2]: "sending", a[3]: "pending", a[4]: "pending"}

    code, out, err = run(camp)  # exactly as after a crash
    assert code == 1, out + err
    assert "Recovered:  1 message interrupted by a crash is now 'unknown'" in out
    assert camp.counts() == counts(sent=4, unknown=1)
    assert err.splitlines()[-1] == f"Outstanding: unknown 1 ({a[2]})"
    assert [m.rcpt_tos[0] for m in smtp_server.received] == a  # the held one was taken: never sent twice


def test_a_read_only_sent_log_is_one_line_naming_it(smtp_server, disk, tmp_path, monkeypatch):
    db = disk / "sent-log.sqlite3"
    monkeypatch.setenv("LGP_MAILER_DB", str(db))
    camp = make_campaign(tmp_path, smtp_server)
    assert send(camp, "--yes", "--batch", "2").exit_code == 0
    writable_again = remount_read_only(disk)
    try:
        result = send(camp, "--yes")
        assert result.exit_code == 2, result.output
        assert one_error_line(result) == (
            f"lgp-mailer: error: {db}: cannot write the sent log: read-only "
            "(make it writable or choose another folder, then run the same command again)"
        )
    finally:
        writable_again()
    assert len(smtp_server.received) == 2


def test_a_full_or_read_only_preview_folder_and_outbox(smtp_server, disk, tmp_path):
    camp = make_campaign(tmp_path, smtp_server)
    config = camp.root / "lgp-mailer.toml"
    config.write_text(f'outbox_dir = "{disk / "outbox"}"\n' + config.read_text(encoding="utf-8"), encoding="utf-8")
    filler = fill(disk)
    preview = runner.invoke(app, ["preview", "--campaign", str(camp.root), "--out", str(disk / "elonezet")])
    assert preview.exit_code == 2, preview.output
    assert one_error_line(preview) == (
        f"lgp-mailer: error: {disk / 'elonezet'}: cannot write the preview folder: disk full "
        "(free some space, then run the same command again)"
    )
    dry = send(camp, "--dry-run")
    assert dry.exit_code == 2, dry.output
    assert one_error_line(dry) == (
        f"lgp-mailer: error: {disk / 'outbox' / 'invitation'}: cannot write the outbox: disk full "
        "(free some space, then run the same command again)"
    )
    filler.unlink()
    writable_again = remount_read_only(disk)
    try:
        preview = runner.invoke(app, ["preview", "--campaign", str(camp.root), "--out", str(disk / "elonezet")])
        assert preview.exit_code == 2, preview.output
        assert one_error_line(preview) == (
            f"lgp-mailer: error: {disk / 'elonezet'}: cannot write the preview folder: read-only "
            "(make it writable or choose another folder, then run the same command again)"
        )
    finally:
        writable_again()
    assert smtp_server.received == []


def test_a_full_temporary_folder_stops_the_build_spool_before_anything_is_sent(
    smtp_server, disk, tmp_path, monkeypatch
):
    camp = make_campaign(tmp_path, smtp_server)
    monkeypatch.setattr("tempfile.tempdir", str(disk))  # where the run builds its spool (issue 16)
    filler = fill(disk)
    result = send(camp, "--yes")
    assert result.exit_code == 2, result.output
    assert one_error_line(result) == (
        f"lgp-mailer: error: {disk}: cannot write the build spool: disk full "
        "(free some space, then run the same command again)"
    )
    filler.unlink()
    assert smtp_server.received == []
    assert camp.counts() == counts(pending=len(camp.addresses))
