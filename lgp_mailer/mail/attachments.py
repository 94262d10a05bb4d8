"""Files a setting attaches to every message: only images from the campaign folder.

A setting such as ``logo = "/etc/passwd"`` (or a symlink in the folder that
points there) must not mail a file to 3,200 offices.  So an attached file

* resolves, after every symlink, inside the campaign folder;
* is a PNG, JPEG or GIF by its first bytes (the name proves nothing);
* is within ``[limits] logo_bytes``.

Every future attachment setting goes through :func:`checked_image`.
"""

from __future__ import annotations

from pathlib import Path

from lgp_mailer.errors import ConfigError, LgpError
from lgp_mailer.i18n import _, format_number

# Magic bytes → MIME subtype of image/*.
_IMAGES = (
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
)


def image_subtype(head: bytes) -> str | None:
    """``png``, ``jpeg`` or ``gif`` from a file's first bytes; None for anything else."""
    return next((kind for magic, kind in _IMAGES if head.startswith(magic)), None)


def checked_image(
    path: Path,
    root: Path,
    limit: int,
    *,
    key: str,
    config: Path | None = None,
    limit_name: str = "[limits] logo_bytes",
    error: type[LgpError] = ConfigError,
) -> str:
    """The image subtype (png, jpeg, gif) of ``path``; ``error`` (a ConfigError by default)
    naming ``config`` and ``key`` when it may not be attached."""

    def refused(message: str) -> LgpError:
        return error(message, file=config, key=key)

    real = path.resolve()
    if not real.is_relative_to(root.resolve()):
        raise refused(
            _("{real} is outside the campaign folder {root}; copy the image into it").format(real=real, root=root)
        )
    try:
        size = real.stat().st_size
        with real.open("rb") as stream:
            head = stream.read(8)
    except OSError as error:
        raise refused(_("cannot read {real}: {reason}").format(real=real, reason=error.strerror or error)) from None
    subtype = image_subtype(head)
    if subtype is None:
        raise refused(_("{name} is not a PNG, JPEG or GIF image").format(name=real.name))
    if size > limit:
        raise refused(
            _("{name} is {size} bytes, over the limit of {limit} ({limit_name})").format(
                name=real.name, size=format_number(size), limit=format_number(limit), limit_name=limit_name
            )
        )
    return subtype


__all__ = ["checked_image", "image_subtype"]
