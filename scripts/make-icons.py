#!/usr/bin/env python3
"""Draws Coaster's app icons (a pager coaster with its light ring) as PNGs.

Pure Python, so it runs anywhere the repository does; the PNGs it writes are
committed, and this script is how they change. Usage: scripts/make-icons.py
"""
import math
import struct
import zlib
from pathlib import Path

BLUE = (29, 78, 216)
WHITE = (255, 255, 255)
AMBER = (245, 158, 11)
OUT = Path(__file__).resolve().parent.parent / "frontend" / "public" / "icons"


def png(path, size, pixel):
    rows = []
    for y in range(size):
        row = bytearray([0])
        for x in range(size):
            row.extend(pixel((x + 0.5) / size, (y + 0.5) / size))
        rows.append(bytes(row))
    raw = zlib.compress(b"".join(rows), 9)

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b""))


def coaster(u, v, scale):
    """The coaster drawn in a circle of radius `scale` around the centre."""
    r = math.hypot(u - 0.5, v - 0.5) / scale
    if r < 0.22:
        return AMBER  # the light
    if r < 0.42:
        return BLUE
    if r < 0.62:
        return WHITE  # the ring of the coaster's edge
    return None


def blend(color, alpha):
    return bytes((*color, alpha))


def any_icon(u, v):
    # A rounded square, transparent outside, the coaster inside.
    dx, dy = max(abs(u - 0.5) - 0.32, 0), max(abs(v - 0.5) - 0.32, 0)
    if math.hypot(dx, dy) > 0.16:
        return blend(BLUE, 0)
    return blend(coaster(u, v, 0.62) or BLUE, 255)


def maskable_icon(u, v):
    # Full bleed; the coaster stays inside the 80 % safe zone.
    return blend(coaster(u, v, 0.5) or BLUE, 255)


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    for size in (192, 512):
        png(OUT / f"icon-{size}.png", size, any_icon)
        png(OUT / f"maskable-{size}.png", size, maskable_icon)
    png(OUT / "apple-touch-icon.png", 180, maskable_icon)
    print("wrote", ", ".join(sorted(p.name for p in OUT.glob("*.png"))))
