"""What to change, and where, when the mail server cannot be reached, secured or logged in to.

One wording for ``lgp-mailer smtp test`` and for the connection errors of
``send`` and ``remind``: each hint names the toml ``[smtp]`` key, the
environment variable and the flag, because people set the server in
different places.
"""

from __future__ import annotations

from lgp_mailer.smtp.settings import KEYS, SmtpSettings

PRACTICE_SERVER = "python -m aiosmtpd -n -l 127.0.0.1:8025"


def where(*names: str) -> str:
    """``[smtp] host / LGP_SMTP_HOST / --host`` for each setting name (as in ``settings.KEYS``)."""
    keys = " and ".join(f"[smtp] {KEYS[n][0]}" for n in names)
    env = " and ".join(KEYS[n][1] for n in names)
    flags = " and ".join("--" + ("auth" if n == "auth_method" else n.replace("_", "-")) for n in names)
    return f"{keys} in lgp-mailer.toml, or {env} in the environment, or {flags}"


def fix_lines(phase: str, why: str, settings: SmtpSettings) -> list[str]:
    """What to change after a failure in ``phase`` (connect, tls, auth, rset, quit)."""
    if phase == "connect":
        return [
            f"set the mail server: {where('host', 'port')} (now {settings.address})",
            f"to practise, start a local test server with '{PRACTICE_SERVER}' "
            "and use --host 127.0.0.1 --port 8025 --security none",
        ]
    if phase == "tls":
        if "not trusted" in why:
            return [f"trust the server's certificate authority: {where('cafile')}"]
        if settings.is_local:
            return [f"a local test server speaks no TLS: set security to none: {where('security')}"]
        if "STARTTLS" in why:
            return [
                "the server offers no STARTTLS on this port: use implicit TLS on port 465, "
                f"{where('security', 'port')} (security tls, port 465)"
            ]
        return [f"TLS and port do not match (starttls goes with 587, tls with 465): {where('security', 'port')}"]
    if phase == "auth":
        if "does not offer AUTH" in why:
            return [f"the server takes mail without logging in here: set auth to none: {where('auth_method')}"]
        return [
            f"check the user name: {where('username')}",
            "check the password: LGP_SMTP_PASSWORD or LGP_SMTP_PASSWORD_FILE in the environment, "
            "[smtp] password_command, or the keyring (never in lgp-mailer.toml)",
        ]
    return [f"the server broke off the session; try again later or ask its administrator ({settings.address})"]


def hint_line(phase: str, why: str, settings: SmtpSettings) -> str:
    """The hints of :func:`fix_lines` as one sentence, for the end of an error line."""
    return "to fix: " + "; ".join(fix_lines(phase, why, settings))
