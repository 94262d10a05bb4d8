"""Invented placeholder logos for the shipped example, as hand-built PNG bytes (no Pillow)."""

import struct
import sys
import zlib
from pathlib import Path


def png(width, height, pixel):
    raw = b"".join(b"\0" + b"".join(bytes(pixel(x, y)) for x in range(width)) for y in range(height))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def logo(colour, shape):
    w, h = 144, 48
    white = (255, 255, 255)

    def pixel(x, y):
        cx, cy, r = 24, 24, 18
        inside = {
            "circle": (x - cx) ** 2 + (y - cy) ** 2 <= r * r,
            "square": abs(x - cx) <= 16 and abs(y - cy) <= 16,
            "diamond": abs(x - cx) + abs(y - cy) <= 20,
        }[shape]
        if inside:
            return colour
        # three grey bars standing in for a name
        for top, length in ((12, 96), (22, 80), (32, 64)):
            if top <= y < top + 5 and 52 <= x < 52 + length:
                return (75, 85, 99)
        return white

    return png(w, h, pixel)


out = Path(sys.argv[1])
for name, colour, shape in (
    ("pelda-tamogato-1.png", (30, 64, 175), "circle"),
    ("pelda-tamogato-2.png", (4, 120, 87), "square"),
    ("pelda-tamogato-3.png", (180, 83, 9), "diamond"),
):
    (out / name).write_bytes(logo(colour, shape))
