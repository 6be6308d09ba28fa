"""Draw the site icon (a white five-pointed star, 满天星, on the site blue) as PNG images in an ICO file.

No image library is needed: each pixel is sampled 4×4 against a rounded square and a star polygon.
Run from anywhere: ``python scripts/make_favicon.py`` writes static/favicon.ico and static/apple-touch-icon.png.
"""

from __future__ import annotations

import math
import struct
import zlib
from pathlib import Path

STATIC = Path(__file__).resolve().parent.parent / "static"
BLUE = (0x0B, 0x4A, 0x8B)
WHITE = (255, 255, 255)
SAMPLES = 4


def star(cx: float, cy: float, r_out: float, r_in: float) -> list[tuple[float, float]]:
    """The ten corners of a five-pointed star pointing up."""
    corners = []
    for i in range(10):
        r = r_out if i % 2 == 0 else r_in
        angle = -math.pi / 2 + i * math.pi / 5
        corners.append((cx + r * math.cos(angle), cy + r * math.sin(angle)))
    return corners


def inside(polygon: list[tuple[float, float]], x: float, y: float) -> bool:
    """Even-odd point-in-polygon test."""
    result = False
    for i in range(len(polygon)):
        (x1, y1), (x2, y2) = polygon[i], polygon[i - 1]
        if (y1 > y) != (y2 > y) and x < (x2 - x1) * (y - y1) / (y2 - y1) + x1:
            result = not result
    return result


def pixel(size: int, polygon, x: int, y: int) -> bytes:
    radius = size * 0.18
    red = green = blue = alpha = 0
    for sy in range(SAMPLES):
        for sx in range(SAMPLES):
            px, py = x + (sx + .5) / SAMPLES, y + (sy + .5) / SAMPLES
            dx = max(radius - px, 0, px - (size - radius))
            dy = max(radius - py, 0, py - (size - radius))
            if dx * dx + dy * dy > radius * radius:
                continue  # outside the rounded corner
            colour = WHITE if inside(polygon, px, py) else BLUE
            red, green, blue, alpha = red + colour[0], green + colour[1], blue + colour[2], alpha + 255
    if not alpha:
        return bytes(4)
    return bytes([red * 255 // alpha, green * 255 // alpha, blue * 255 // alpha, alpha // SAMPLES ** 2])


def png(size: int) -> bytes:
    """One RGBA PNG of the icon, *size* pixels square."""
    polygon = star(size / 2, size * 0.54, size * 0.42, size * 0.17)
    raw = b"".join(b"\0" + b"".join(pixel(size, polygon, x, y) for x in range(size)) for y in range(size))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def ico(sizes: tuple[int, ...] = (16, 32, 48)) -> bytes:
    """An ICO file holding one PNG per size."""
    images = [png(size) for size in sizes]
    offset = 6 + 16 * len(images)
    entries, data = b"", b""
    for size, image in zip(sizes, images, strict=True):
        entries += struct.pack("<BBBBHHII", size, size, 0, 0, 1, 32, len(image), offset + len(data))
        data += image
    return struct.pack("<HHH", 0, 1, len(images)) + entries + data


if __name__ == "__main__":
    (STATIC / "favicon.ico").write_bytes(ico())
    (STATIC / "apple-touch-icon.png").write_bytes(png(180))
