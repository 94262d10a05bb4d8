"""Ctrl-C or SIGTERM outside a send: one line and exit 130 or 143, in the interface language.

Typer turns a KeyboardInterrupt into a silent exit 130; check, preview, a dry
run or a hanging ``smtp test`` then stopped without a word.  A real process,
a real SIGINT, a real socket that never answers.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process is POSIX-only")


@pytest.mark.parametrize(
    ("lang", "signum", "code", "line"),
    [
        ("en", signal.SIGINT, 130, "lgp-mailer: interrupted"),
        ("hu", signal.SIGINT, 130, "lgp-mailer: megszakítva"),
        ("en", signal.SIGTERM, 143, "lgp-mailer: terminated"),
        ("hu", signal.SIGTERM, 143, "lgp-mailer: leállítva"),
    ],
)
def test_ctrl_c_or_sigterm_while_waiting_for_a_server_says_so(
    tmp_path: Path, lang: str, signum: int, code: int, line: str
) -> None:
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts, never sends its greeting
        port = silent.getsockname()[1]
        env = dict(os.environ, LGP_MAILER_LANG=lang, LGP_MAILER_DB=str(tmp_path / "log.sqlite3"))
        command = [sys.executable, "-m", "lgp_mailer", "smtp", "test", "--host", "127.0.0.1", "--port", str(port)]
        command += ["--security", "none", "--auth", "none", "--timeout", "60", "--non-interactive"]
        proc = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            silent.settimeout(30)
            connection, _ = silent.accept()  # the command is now waiting for the greeting
            with connection:
                proc.send_signal(signum)
                _, err = proc.communicate(timeout=30)
        finally:
            proc.kill()
    assert proc.returncode == code
    assert err.decode("utf-8").splitlines()[-1] == line  # after the "no campaign here" notice
    assert "Traceback" not in err.decode("utf-8")
