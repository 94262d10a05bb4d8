"""The names a server's certificate is for, to tell the user which host name to set.

Asked only after the certificate was refused for a host-name mismatch: a
second handshake with the same trust store and chain check, but without the
host-name check, reads the certificate's DNS names and IP addresses.  Nothing
is sent over it but EHLO and STARTTLS; any failure gives no names.
"""

from __future__ import annotations

import contextlib
import smtplib
import ssl

from lgp_mailer.smtp.settings import SmtpSettings

MAX_NAMES = 5


def certificate_names(settings: SmtpSettings, local_hostname: str) -> list[str]:
    """The subjectAltName entries (DNS names, IP addresses) of the server's certificate; [] when unknown."""
    context = ssl.create_default_context(cafile=str(settings.cafile) if settings.cafile else None)
    context.check_hostname = False  # the chain is still verified: only the name is not compared
    timeout = min(settings.timeout, 10.0)
    smtp: smtplib.SMTP | None = None
    try:
        if settings.security == "tls":
            smtp = smtplib.SMTP_SSL(settings.host, settings.port, local_hostname, timeout=timeout, context=context)
        else:
            smtp = smtplib.SMTP(settings.host, settings.port, local_hostname, timeout=timeout)
            smtp.ehlo()
            smtp.starttls(context=context)
        sock = smtp.sock
        peer = sock.getpeercert() if isinstance(sock, ssl.SSLSocket) else None
    except (smtplib.SMTPException, OSError):
        return []
    finally:
        if smtp is not None:
            with contextlib.suppress(OSError):
                smtp.close()
    entries: tuple[tuple[str, str], ...] = (peer or {}).get("subjectAltName", ())  # type: ignore[assignment]
    names = [value for kind, value in entries if kind in ("DNS", "IP Address")]
    return names[:MAX_NAMES]
