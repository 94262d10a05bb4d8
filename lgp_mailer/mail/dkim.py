"""DKIM signing (optional extra: ``pip install 'lgp-mailer[dkim]'``, dkimpy).

The signature is made last, over the exact bytes that will be sent, and the
transport sends those bytes unchanged (``sendmail``-style, never
``send_message``, which would re-serialise and break the signature).
The ``[dkim]`` table is read by ``config.py`` into ``DkimSettings``.
"""

from __future__ import annotations

from lgp_mailer.config import DkimSettings
from lgp_mailer.errors import ConfigError
from lgp_mailer.i18n import _

# Signed even when absent (List-Unsubscribe-Post on a mailto-only message):
# a signed absent header cannot be added later without breaking the signature.
SIGNED_HEADERS = (
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "Content-Type",
    "MIME-Version",
    "Reply-To",
    "List-Id",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
)


class DkimSigner:
    def __init__(self, settings: DkimSettings) -> None:
        try:
            import dkim  # noqa: F401, PLC0415 - is the optional [dkim] extra installed?
        except ImportError:
            raise ConfigError(_("DKIM needs dkimpy: pip install 'lgp-mailer[dkim]'"), key="dkim") from None
        try:
            self._key = settings.key_file.read_bytes()
        except OSError as exc:
            raise ConfigError(
                _("cannot read the DKIM key: {reason}").format(reason=exc.strerror or exc),
                file=settings.key_file,
                key="dkim.key_file",
            ) from None
        self.settings = settings

    def sign(self, raw: bytes) -> bytes:
        import dkim  # noqa: PLC0415 - dkimpy is the optional [dkim] extra

        try:
            signature = dkim.sign(
                raw,
                self.settings.selector.encode("ascii"),
                self.settings.domain.encode("ascii"),
                self._key,
                canonicalize=(b"relaxed", b"relaxed"),
                include_headers=[h.encode("ascii") for h in SIGNED_HEADERS],
                linesep=b"\r\n",
            )
        except dkim.DKIMException as exc:
            raise ConfigError(
                _("DKIM signing failed: {exc}").format(exc=exc), file=self.settings.key_file, key="dkim"
            ) from None
        return bytes(signature) + raw
