"""The spool holds each message as it goes on the wire (``Stuffed``): stuffed once, in the
build, and written out by the sending process as it is.  The bytes on the wire must be
exactly ``dot_stuff`` of the message, as when the sending process stuffed it itself."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_transport import FROM, _WaitForData

from lgp_mailer.campaign import spool as spooling
from lgp_mailer.smtp.settings import SmtpSettings
from lgp_mailer.smtp.transport import SmtpTransport
from lgp_mailer.smtp.wire import Stuffed, crlf, dot_stuff


class _Built:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def wire_bytes(self) -> bytes:  # as ``Built.wire_bytes``: the letter with CRLF line ends
        return crlf(self.data)


class _Letters:
    """The one thing ``_spool_chunk`` asks of a factory: ``build(recipient, msgid=...)``;
    here the "recipient" is the message's own bytes, so any bytes can be spooled."""

    def build(self, recipient: bytes, *, msgid: str | None) -> _Built:
        return _Built(recipient)


def spooled(messages: list[bytes], root: Path) -> list[bytes]:
    """``messages`` through a real spool: built into a chunk file and read back, in order."""
    with spooling.Spool(root) as spool:
        work = [(seq, message, None) for seq, message in enumerate(messages)]
        lengths = spooling._spool_chunk(_Letters(), work, str(spool.folder))  # type: ignore[arg-type]
        assert isinstance(lengths, list)
        spool.add(spool.folder / spooling._chunk_name(0), range(len(messages)), lengths)
        out = list(spool.messages())
    assert [seq for seq, _ in out] == list(range(len(messages)))
    return [data for _, data in out]


PIECES = [b"a", b".", b"..", b"\r", b"\n", b"\r\n", b"\n.", b".\r\n", b"\r\n.\r\n", b"\xc5\x91"]
MESSAGE = st.lists(st.sampled_from(PIECES), max_size=14).map(b"".join)


@settings(max_examples=150, deadline=None)
@given(st.lists(MESSAGE, min_size=1, max_size=5))
def test_a_spooled_message_is_dot_stuff_of_the_message_and_is_not_stuffed_again(messages):
    with tempfile.TemporaryDirectory() as root:
        out = spooled(messages, Path(root))
    assert out == [dot_stuff(message) for message in messages]
    for data in out:
        assert type(data) is Stuffed
        assert dot_stuff(data) is data  # stuffed where it was built: never twice


def test_dot_stuff_of_plain_bytes_is_unchanged():
    assert dot_stuff(b".a\n..b\nc") == b"..a\r\n...b\r\nc\r\n.\r\n"
    assert dot_stuff(Stuffed(b"..a\r\n.\r\n")) == b"..a\r\n.\r\n"


LETTER = (
    b"Subject: =?utf-8?q?Megh=C3=ADv=C3=B3?=\n\n"
    b".a line starting with a dot\r\n"
    b"..two dots\n"
    b".\n"
    b"\xc5\x91 the last line ends without a line end"
)


@pytest.mark.parametrize("how", ["stuffed by the transport", "stuffed in the spool"])
def test_the_bytes_on_the_wire_are_the_same_either_way(how, tmp_path):
    message = LETTER if how == "stuffed by the transport" else spooled([LETTER], tmp_path)[0]
    server = _WaitForData((b"250 2.1.0 ok\r\n", b"250 2.1.5 ok\r\n", b"354 go ahead\r\n"))
    server.start()
    settings_ = SmtpSettings(host="127.0.0.1", port=server.port, security="none", timeout=2.0)
    with SmtpTransport(settings_, local_hostname="lgp-test.localhost") as t:
        result = t.send(message, FROM, "a@x.example")
    server.join(5)
    assert (result.status, result.code) == ("sent", 250)
    assert server.envelope == f"MAIL FROM:<{FROM}> BODY=8BITMIME\r\nRCPT TO:<a@x.example>\r\nDATA\r\n".encode()
    assert server.after == (
        b"Subject: =?utf-8?q?Megh=C3=ADv=C3=B3?=\r\n\r\n"
        b"..a line starting with a dot\r\n"
        b"...two dots\r\n"
        b"..\r\n"
        b"\xc5\x91 the last line ends without a line end\r\n"
        b".\r\n"
        b"quit\r\n"
    )
