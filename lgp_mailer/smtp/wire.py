"""A message as it goes over SMTP: CRLF line ends, leading dots doubled, the final dot.

Here, not in ``transport``, so that the build processes can make the line
ends CRLF (``crlf``) without importing smtplib and ssl.
"""

from __future__ import annotations


class CrlfOnly(bytes):
    """A message whose line ends are all CRLF already (``crlf`` was applied where it was
    built, in a build process): ``dot_stuff`` skips that step, about two thirds of its work.
    To any other reader it is the message's bytes."""

    __slots__ = ()


class Stuffed(bytes):
    """A message as it goes on the wire: ``dot_stuff`` was applied where it was built (a
    build process writing the spool), so the sending process writes these bytes as they
    are, with no copy; ``dot_stuff`` returns them unchanged, so nothing is stuffed twice.
    Unlike ``CrlfOnly``, these are not the message's bytes: leading dots are doubled and
    they end with the final ``.`` line."""

    __slots__ = ()


def crlf(msg: bytes) -> bytes:
    """Every line end CRLF, as SMTP has them (``as_bytes`` ends lines with LF)."""
    return msg.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def dot_stuff(msg: bytes) -> bytes:
    """CRLF line ends, leading dots doubled, and the terminating ``.``."""
    if isinstance(msg, Stuffed):
        return msg  # stuffed where it was built
    # bytes.replace, not re.sub: about 20 times faster on a 30 kB letter, which counts at 1,000 a second.
    data = (msg if isinstance(msg, CrlfOnly) else crlf(msg)).replace(b"\n.", b"\n..")
    if data.startswith(b"."):
        data = b"." + data
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return data + b".\r\n"


__all__ = ["CrlfOnly", "Stuffed", "crlf", "dot_stuff"]
