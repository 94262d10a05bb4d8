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


# A stop while the command line is still being imported (the first few tenths of a second): an
# import hook raises it at a fixed point, as a Ctrl-C or SIGTERM landing there would.
_STOP_DURING_IMPORT = """
import os, signal, sys
signal.signal(signal.SIGINT, signal.default_int_handler)  # a background job starts with Ctrl-C ignored
class Stop:
    def find_spec(self, name, path=None, target=None):
        if name == "lgp_mailer.cli.send":
            os.kill(os.getpid(), signal.SIG{sig})
        return None
sys.meta_path.insert(0, Stop())
sys.argv = ["lgp-mailer", "--help"]
from lgp_mailer.entry import main
main()
"""


@pytest.mark.parametrize(
    ("lang", "sig", "code", "line"),
    [
        ("en", "INT", 130, "lgp-mailer: interrupted"),
        ("hu", "INT", 130, "lgp-mailer: megszakítva"),
        ("en", "TERM", 143, "lgp-mailer: terminated"),
        ("hu", "TERM", 143, "lgp-mailer: leállítva"),
    ],
)
def test_a_stop_while_the_command_line_is_imported_is_one_line(
    tmp_path: Path, lang: str, sig: str, code: int, line: str
) -> None:
    env = dict(os.environ, LGP_MAILER_LANG=lang)
    proc = subprocess.run(
        [sys.executable, "-c", _STOP_DURING_IMPORT.format(sig=sig)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
    )
    assert (proc.returncode, proc.stderr, proc.stdout) == (code, line + "\n", "")


def test_the_console_script_and_python_m_go_through_the_guarded_entry_point() -> None:
    import tomllib

    root = Path(__file__).resolve().parent.parent
    scripts = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    assert scripts == {"lgp-mailer": "lgp_mailer.entry:main"}
    assert (root / "lgp_mailer" / "__main__.py").read_text(encoding="utf-8") == (
        "from lgp_mailer.entry import main\n\nmain()\n"
    )
