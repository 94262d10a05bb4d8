"""Credentials: the lookup order, the recorded source, and the value never shown."""

from __future__ import annotations

import logging
import pickle
import sys

import pytest

from lgp_mailer.errors import CredentialsError
from lgp_mailer.smtp.credentials import Secret, get_secret
from lgp_mailer.smtp.settings import SmtpSettings

PW = "jelszó-Titok-42"
SETTINGS = SmtpSettings(host="mail.lgp.example", username="titkarsag", auth_method="password")


def no_keyring(service, username):
    return None


def fail_prompt(text):
    raise AssertionError("must not prompt")


def py_command(code: str) -> str:
    """A password command that runs this Python (quoted for shlex)."""
    return f'"{sys.executable}" -c "{code}"'


def lookup(settings=SETTINGS, env=None, **kw):
    kw.setdefault("interactive", False)
    kw.setdefault("keyring_get", no_keyring)
    kw.setdefault("prompt", fail_prompt)
    return get_secret(settings, env or {}, **kw)


def test_environment_first(tmp_path):
    path = tmp_path / "pw.txt"
    path.write_text("from-file\n", encoding="utf-8")
    secret = lookup(env={"LGP_SMTP_PASSWORD": PW, "LGP_SMTP_PASSWORD_FILE": str(path)})
    assert (secret.reveal(), secret.source) == (PW, "env LGP_SMTP_PASSWORD")


def test_password_file_first_line_utf8(tmp_path):
    path = tmp_path / "pw.txt"
    path.write_text(f"{PW}\r\nsecond line\n", encoding="utf-8")
    secret = lookup(env={"LGP_SMTP_PASSWORD_FILE": str(path)})
    assert (secret.reveal(), secret.source) == (PW, "file named by LGP_SMTP_PASSWORD_FILE")


def test_missing_password_file_is_an_error(tmp_path):
    with pytest.raises(CredentialsError, match="cannot read the password file"):
        lookup(env={"LGP_SMTP_PASSWORD_FILE": str(tmp_path / "missing")})


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX shlex quoting")
def test_password_command_runs_without_a_shell():
    settings = SmtpSettings(
        host="h", username="u", auth_method="password", password_command=py_command("print('" + PW + "'); print('x')")
    )
    secret = lookup(settings, keyring_get=lambda *a: "from-keyring")
    assert (secret.reveal(), secret.source) == (PW, "password_command")
    # no shell: metacharacters are plain arguments, never interpreted
    echo = SmtpSettings(
        host="h",
        username="u",
        auth_method="password",
        password_command=py_command("import sys; print(sys.argv[1:])") + " ; rm -rf x",
    )
    assert lookup(echo).reveal() == "[';', 'rm', '-rf', 'x']"


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX shlex quoting")
def test_failing_password_command():
    settings = SmtpSettings(
        host="h",
        username="u",
        auth_method="password",
        password_command=py_command("import sys; sys.exit('vault locked')"),
    )
    with pytest.raises(CredentialsError, match="exited with status 1: vault locked"):
        lookup(settings)
    missing = SmtpSettings(host="h", username="u", auth_method="password", password_command="/nonexistent/pw-tool")
    with pytest.raises(CredentialsError, match="cannot run the password_command"):
        lookup(missing)


def test_keyring_then_prompt_then_error():
    calls = []
    secret = lookup(keyring_get=lambda service, user: calls.append((service, user)) or PW)
    assert secret.source == "keyring lgp-mailer" and calls == [("lgp-mailer", "titkarsag")]
    prompted = lookup(interactive=True, prompt=lambda text: PW)
    assert prompted.source == "prompt"
    with pytest.raises(CredentialsError, match="not prompting in non-interactive mode"):
        lookup()


def test_a_broken_keyring_backend_is_skipped(monkeypatch):
    import keyring

    def broken(service, username):
        raise keyring.errors.NoKeyringError("no backend")

    monkeypatch.setattr(keyring, "get_password", broken)
    secret = get_secret(SETTINGS, {}, interactive=True, prompt=lambda text: PW)
    assert secret.source == "prompt"


def test_xoauth2_token_from_env_or_command():
    settings = SmtpSettings(
        host="h", username="u@lgp.example", auth_method="xoauth2", token_command=py_command("print('tok-from-cmd')")
    )
    env = lookup(settings, {"LGP_SMTP_OAUTH_TOKEN": "tok", "LGP_SMTP_PASSWORD": "pw"})
    assert (env.reveal(), env.kind, env.source) == ("tok", "token", "env LGP_SMTP_OAUTH_TOKEN")
    if sys.platform != "win32":
        assert lookup(settings).reveal() == "tok-from-cmd"
    with pytest.raises(CredentialsError, match="LGP_SMTP_OAUTH_TOKEN"):
        lookup(SmtpSettings(host="h", username="u", auth_method="xoauth2"), interactive=True)


def test_no_auth_needs_no_secret():
    assert lookup(SmtpSettings(host="localhost")) is None


def test_secret_never_shows_its_value(caplog, capsys):
    caplog.set_level(logging.DEBUG)
    secret = lookup(env={"LGP_SMTP_PASSWORD": PW})
    print(secret, repr(secret), f"{secret}", [secret], {"s": secret})
    logging.getLogger("test").info("secret %s %r", secret, secret)
    out = capsys.readouterr()
    assert PW not in out.out + out.err + caplog.text
    assert "env LGP_SMTP_PASSWORD" in caplog.text  # the source is logged
    with pytest.raises(TypeError):
        pickle.dumps(secret)
    assert isinstance(secret, Secret)
