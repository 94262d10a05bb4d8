"""The supporters' logos: image files from the campaign folder, checked, as inline images.

An event file names them (``[[supporters.logos]]`` with ``file`` and ``alt``);
the HTML letter shows them through ``cid:`` and mime.py attaches them in
multipart/related.  Only files inside the campaign folder are read (after
symlinks are resolved), only real PNG, JPEG or GIF images (by their first
bytes, not their names), and only small ones: a letter to 3,200 offices
should not carry a megabyte of pictures.
"""

from __future__ import annotations

from pathlib import Path

from lgp_mailer.errors import EventError
from lgp_mailer.event import Event
from lgp_mailer.i18n import _
from lgp_mailer.mail.attachments import checked_image
from lgp_mailer.mail.mime import InlineImage

MAX_BYTES = 100 * 1024  # per logo
MAX_LOGOS = 12


def supporter_logos(event: Event, campaign_root: Path) -> tuple[InlineImage, ...]:
    """The event's logos as inline images, or an :class:`EventError` naming the file and key."""
    if len(event.supporter_logos) > MAX_LOGOS:
        raise EventError(
            _("at most {max_logos} logos, not {count}").format(max_logos=MAX_LOGOS, count=len(event.supporter_logos)),
            file=event.path,
            key="supporters.logos",
        )
    root = campaign_root.resolve()
    images = []
    for number, logo in enumerate(event.supporter_logos, start=1):
        key = f"{logo.key}.file"

        def error(message: str, key: str = key) -> EventError:
            return EventError(message, file=event.path, key=key)

        path = root / logo.file
        if not path.resolve().is_file() and path.resolve().is_relative_to(root):
            raise error(_("logo file not found: {path}").format(path=path))
        subtype = checked_image(
            path, root, MAX_BYTES, key=key, config=event.path, limit_name="a supporter's logo", error=EventError
        )
        data = path.resolve().read_bytes()
        images.append(InlineImage(f"tamogato-{number}.lgp-mailer", data, subtype, path.name, logo.alt))
    return tuple(images)
