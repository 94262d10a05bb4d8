"""A discarding SMTP sink that waits DELAY ms before it answers the final dot: a relay with latency.

    python bench/delayed_sink.py --port 2525 --delay-ms 20

Postfix's ``smtp-sink`` can only delay in whole seconds (``-w``, ``-W``),
and a relay that takes 10-50 ms to queue a message is what an
organisation's own server or a provider looks like.  Like ``smtp-sink`` it
offers PIPELINING and 8BITMIME, accepts every command and throws the
message away.  The wait is an event-loop timer, so sessions wait side by
side, as on a real relay; one connection's commands are answered in order
(input that arrives during the wait is read after the reply).  Written on
asyncio's protocol interface rather than aiosmtpd, whose line-by-line DATA
reading costs about a millisecond of CPU per 33 KB message, which on 2
shared cores would be taken from the senders being measured.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib

GREETING = b"220 delayed-sink.example ESMTP\r\n"
EHLO = b"250-delayed-sink.example\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-SIZE 10240000\r\n250 SMTPUTF8\r\n"
END = b"\r\n.\r\n"


class Session(asyncio.Protocol):
    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.buffer = bytearray()
        self.in_data = False
        self.waiting = False  # the final reply is due after the delay: read nothing meanwhile
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(GREETING)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if not self.waiting:
            self.process()

    def process(self) -> None:
        assert self.transport is not None
        out = bytearray()
        while not self.waiting:
            if self.in_data:
                if self.buffer.startswith(b".\r\n"):  # an empty body: the dot line comes first
                    cut = 3
                else:
                    at = self.buffer.find(END)
                    if at < 0:
                        break
                    cut = at + len(END)
                del self.buffer[:cut]
                self.in_data = False
                self.waiting = True
                asyncio.get_running_loop().call_later(self.delay, self.accepted)
                break
            line_end = self.buffer.find(b"\r\n")
            if line_end < 0:
                break
            verb = bytes(self.buffer[:4]).upper()
            del self.buffer[: line_end + 2]
            if verb in (b"EHLO", b"HELO"):
                out += EHLO if verb == b"EHLO" else b"250 delayed-sink.example\r\n"
            elif verb == b"DATA":
                out += b"354 End data with <CR><LF>.<CR><LF>\r\n"
                self.in_data = True
            elif verb == b"QUIT":
                out += b"221 2.0.0 Bye\r\n"
                self.transport.write(bytes(out))
                self.transport.close()
                return
            else:  # MAIL, RCPT, RSET, NOOP: accepted
                out += b"250 2.0.0 Ok\r\n"
        if out:
            self.transport.write(bytes(out))

    def accepted(self) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        self.transport.write(b"250 2.0.0 Ok: queued\r\n")
        self.waiting = False
        self.process()


async def serve(host: str, port: int, delay_ms: float) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Session(delay_ms / 1000), host, port, backlog=256)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, required=True, help="port to listen on")
    parser.add_argument("--delay-ms", type=float, default=20.0, help="milliseconds before the reply to the final dot")
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.host, args.port, args.delay_ms))


if __name__ == "__main__":
    main()
