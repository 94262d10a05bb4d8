"""SMTP settings: precedence flag > env > file > default, sources, validation."""

from __future__ import annotations

import pytest

from lgp_mailer.errors import ConfigError
from lgp_mailer.smtp.settings import Rate, SmtpSettings, parse_rate, resolve_smtp_settings

FILE = {"host": "mail.lgp.example", "port": 2525, "username": "titkarsag", "rate": "30/min"}


def resolve(file=None, env=None, flags=None, **kw):
    return resolve_smtp_settings(file or {}, env or {}, flags or {}, **kw)


def test_defaults():
    r = resolve()
    assert r.settings == SmtpSettings()
    assert (r.settings.security, r.settings.port, r.settings.auth_method) == ("starttls", 587, "none")
    assert r.sources["security"] == "default" and r.sources["port"] == "default for starttls"


def test_precedence_flag_env_file_default_with_sources():
    env = {"LGP_SMTP_HOST": "env.lgp.example", "LGP_SMTP_PORT": "465", "LGP_SMTP_SECURITY": "tls"}
    flags = {"host": "flag.lgp.example", "port": None, "timeout": 7}
    r = resolve(FILE, env, flags)
    s = r.settings
    assert (s.host, s.port, s.security, s.username, s.timeout) == ("flag.lgp.example", 465, "tls", "titkarsag", 7.0)
    assert r.sources["host"] == "flag"
    assert r.sources["port"] == "env LGP_SMTP_PORT"
    assert r.sources["username"] == "file"
    assert r.sources["timeout"] == "flag"
    assert r.sources["messages_per_connection"] == "default"
    assert s.auth_method == "password"  # a username implies password auth


@pytest.mark.parametrize(("security", "port"), [("starttls", 587), ("tls", 465), ("none", 25)])
def test_port_follows_security(security, port):
    assert resolve({"host": "localhost", "security": security}).settings.port == port


def test_empty_env_value_does_not_override():
    assert resolve(FILE, {"LGP_SMTP_HOST": ""}).settings.host == "mail.lgp.example"


@pytest.mark.parametrize(
    ("text", "count", "period"),
    [
        ("30/min", 30, 60),
        ("5/s", 5, 1),
        ("2000/day", 2000, 86400),
        ("100 / hour", 100, 3600),
        ("10/mins", 10, 60),
    ],
)
def test_parse_rate(text, count, period):
    rate = parse_rate(text)
    assert (rate.count, rate.period) == (count, period)


@pytest.mark.parametrize("text", ["30", "30/fortnight", "0/min", "-1/s", "many/min"])
def test_bad_rate_names_the_key(text):
    with pytest.raises(ConfigError, match="rate"):
        resolve({"rate": text})


def test_rate_list_splits_pace_and_daily_quota():
    r = resolve({"rate": ["30/min", "2000/day"]})
    assert r.settings.rates == (Rate(30, 60.0, "30/min"),)
    assert r.settings.daily_quota == 2000 and r.sources["daily_quota"] == "file (rate)"
    env = resolve({}, {"LGP_SMTP_RATE": "5/s, 1500/day"}).settings
    assert (env.rates[0].count, env.daily_quota) == (5, 1500)
    explicit = resolve({"rate": "2000/day", "daily_quota": 500}).settings
    assert explicit.daily_quota == 500 and explicit.rates == ()


@pytest.mark.parametrize("key", ["password", "Password", "token", "access_token"])
def test_secrets_in_the_toml_are_refused(key):
    with pytest.raises(ConfigError, match="passwords never come from the toml") as caught:
        resolve({**FILE, key: "hunter2"})
    assert "hunter2" not in str(caught.value) and caught.value.key == f"smtp.{key}"


def test_unknown_key_is_reported_unless_allowed():
    with pytest.raises(ConfigError, match="unknown SMTP setting") as caught:
        resolve({"hots": "x"})
    assert caught.value.key == "smtp.hots"
    assert resolve({"from": "a@b.example"}, allow_keys={"from"}).settings.host == "localhost"


@pytest.mark.parametrize(
    ("file", "env", "flags", "key"),
    [
        ({"security": "ssl"}, {}, {}, "smtp.security"),
        ({}, {"LGP_SMTP_PORT": "smtp"}, {}, "LGP_SMTP_PORT"),
        ({"port": 70000}, {}, {}, "smtp.port"),
        ({}, {}, {"timeout": "0"}, "--timeout"),
        ({"messages_per_connection": 0}, {}, {}, "smtp.messages_per_connection"),
        ({"insecure": "maybe"}, {}, {}, "smtp.insecure"),
        ({"auth": "kerberos"}, {}, {}, "smtp.auth"),
        ({"cafile": "/nonexistent/ca.pem"}, {}, {}, "smtp.cafile"),
        ({"auth": "xoauth2"}, {}, {}, "smtp.username"),
    ],
)
def test_validation_errors_name_the_key(file, env, flags, key):
    with pytest.raises(ConfigError) as caught:
        resolve(file, env, flags)
    assert caught.value.key == key


def test_clear_text_only_to_localhost_or_insecure():
    with pytest.raises(ConfigError, match="only for localhost or with --insecure"):
        resolve({"host": "mail.lgp.example", "security": "none"})
    assert resolve({"host": "mail.lgp.example", "security": "none"}, flags={"insecure": True}).settings.insecure
    assert resolve({"host": "127.0.0.1", "security": "none"}).settings.port == 25
    with pytest.raises(ConfigError, match="password or token in clear text"):
        resolve({"host": "mail.lgp.example", "security": "none", "insecure": True, "username": "u"})
    assert resolve({"host": "localhost", "security": "none", "username": "u"}).settings.auth_method == "password"


def test_settings_are_frozen():
    s = resolve(FILE).settings
    with pytest.raises(AttributeError):
        s.host = "other"  # type: ignore[misc]
