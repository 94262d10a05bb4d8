"""What to change, and where, when the mail server cannot be reached, secured or logged in to.

One wording for ``lgp-mailer smtp test`` and for the connection errors of
``send`` and ``remind``: each hint names the toml ``[smtp]`` key, the
environment variable and the flag, because people set the server in
different places.
"""

from __future__ import annotations

from lgp_mailer.i18n import _
from lgp_mailer.smtp.settings import KEYS, SmtpSettings

PRACTICE_SERVER = "python -m aiosmtpd -n -l 127.0.0.1:8025"


def where(*names: str) -> str:
    """``[smtp] host / LGP_SMTP_HOST / --host`` for each setting name (as in ``settings.KEYS``)."""
    and_ = _(" and ")
    keys = and_.join(f"[smtp] {KEYS[n][0]}" for n in names)
    env = and_.join(KEYS[n][1] for n in names)
    flags = and_.join("--" + ("auth" if n == "auth_method" else n.replace("_", "-")) for n in names)
    return _("{keys} in lgp-mailer.toml, or {env} in the environment, or {flags}").format(
        keys=keys, env=env, flags=flags
    )


def fix_lines(phase: str, why: str, settings: SmtpSettings, code: int | None = None) -> list[str]:
    """What to change after a failure in ``phase`` (connect, tls, auth, rset, quit); ``code``: the server's reply."""
    if phase == "connect" and "sent no greeting" in why:
        return [
            _(
                "a port for implicit TLS (usually 465) waits for TLS before it says anything: "
                "set security to tls: {where}"
            ).format(where=where("security"))
        ]
    if phase == "connect" and (code is None or not 400 <= code < 600):
        return [
            _("set the mail server: {where} (now {address})").format(
                where=where("host", "port"), address=settings.address
            ),
            _(
                "to practise, start a local test server with '{server}' "
                "and use --host 127.0.0.1 --port 8025 --security none"
            ).format(server=PRACTICE_SERVER),
        ]
    if phase == "tls":
        if "not trusted" in why:
            return [_("trust the server's certificate authority: {where}").format(where=where("cafile"))]
        if "certificate is not for" in why:
            return [
                _("set the host to a name the certificate is for, as the mail provider gives it: {where}").format(
                    where=where("host")
                )
            ]
        if "answered in plain text" in why:
            return [
                _(
                    "this port starts in plain text: set security to starttls (usually port 587), "
                    "or to none for a local test server: {where}"
                ).format(where=where("security", "port"))
            ]
        if settings.is_local:
            return [
                _("a local test server speaks no TLS: set security to none: {where}").format(where=where("security"))
            ]
        if "STARTTLS" in why:
            return [
                _(
                    "the server offers no STARTTLS on this port: use implicit TLS on port 465, "
                    "{where} (security tls, port 465)"
                ).format(where=where("security", "port"))
            ]
        return [
            _("TLS and port do not match (starttls goes with 587, tls with 465): {where}").format(
                where=where("security", "port")
            )
        ]
    if phase == "auth":
        if "does not offer AUTH" in why:
            return [
                _("the server takes mail without logging in here: set auth to none: {where}").format(
                    where=where("auth_method")
                )
            ]
        if code is not None and 400 <= code < 500:
            return [
                _(
                    "the server refused the login for now, not the password: try again later, "
                    "or ask its administrator ({address})"
                ).format(address=settings.address)
            ]
        if "lgp-mailer logs in with" in why:
            return [
                _(
                    "ask the mail server's administrator to allow AUTH PLAIN or LOGIN over TLS for this account, "
                    "or use OAuth2: {where} (xoauth2)"
                ).format(where=where("auth_method"))
            ]
        return [
            _("check the user name: {where}").format(where=where("username")),
            _(
                "check the password: LGP_SMTP_PASSWORD or LGP_SMTP_PASSWORD_FILE in the environment, "
                "[smtp] password_command, or the keyring (never in lgp-mailer.toml)"
            ),
        ]
    return [
        _("the server broke off the session; try again later or ask its administrator ({address})").format(
            address=settings.address
        )
    ]


def hint_line(phase: str, why: str, settings: SmtpSettings, code: int | None = None) -> str:
    """The hints of :func:`fix_lines` as one sentence, for the end of an error line."""
    return _("to fix: {hints}").format(hints="; ".join(fix_lines(phase, why, settings, code)))
