"""One small picture per demonstration case, drawn from the case's own data (no Flask, no database).

A title card in the colour of the case's industry domain: a 5×5 mirrored emblem drawn from a hash of the
title (so no two cases share a picture) beside a bar chart of the case's real figures — budget against
contract amount (万元) and planned against actual delivery months.  Written as a plain PNG with ``zlib``,
served from storage like any other demonstration media.
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from collections.abc import Sequence

#: Domain colour (RGB) per industry-domain code; unknown domains take the first.
DOMAIN_COLOURS: dict[str, tuple[int, int, int]] = {
    "software": (11, 74, 139),
    "ic_design": (92, 60, 160),
    "industrial_design": (196, 90, 30),
    "infosec": (150, 32, 40),
    "ai": (23, 105, 170),
    "industrial_internet": (40, 96, 72),
    "iot_embedded": (0, 120, 120),
    "it_services": (70, 82, 100),
    "digital_content": (170, 50, 110),
    "data_services": (30, 90, 160),
    "internet_platform": (200, 120, 0),
    "emerging_tech": (60, 110, 30),
}
ACCENT = (232, 150, 30)
WIDTH, HEIGHT = 480, 270


def _png(width: int, height: int, pixels: bytearray) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    stride = width * 3
    raw = b"".join(b"\x00" + bytes(pixels[y * stride:(y + 1) * stride]) for y in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


class _Canvas:
    def __init__(self, width: int, height: int, background: tuple[int, int, int]) -> None:
        self.width, self.height = width, height
        self.pixels = bytearray(bytes(background) * (width * height))

    def rect(self, x0: int, y0: int, x1: int, y1: int, colour: tuple[int, int, int]) -> None:
        x0, x1 = max(0, x0), min(self.width, x1)
        if x1 <= x0:
            return
        run = bytes(colour) * (x1 - x0)
        for y in range(max(0, y0), min(self.height, y1)):
            start = (y * self.width + x0) * 3
            self.pixels[start:start + len(run)] = run

    def png(self) -> bytes:
        return _png(self.width, self.height, self.pixels)


def _tint(colour: tuple[int, int, int], share: float) -> tuple[int, int, int]:
    """``colour`` mixed with white (``share`` of white)."""
    return tuple(round(c + (255 - c) * share) for c in colour)  # type: ignore[return-value]


def case_picture(title: str, domain: str | None, figures: Sequence[tuple[float | None, float | None]]) -> bytes:
    """The PNG of one case: ``figures`` are pairs (planned, actual) such as (budget, contract amount) and
    (planned months, actual months); a missing value draws no bar."""
    colour = DOMAIN_COLOURS.get(domain or "", DOMAIN_COLOURS["software"])
    canvas = _Canvas(WIDTH, HEIGHT, _tint(colour, 0.9))
    canvas.rect(0, 0, WIDTH, 36, colour)
    # The emblem: 5×5 cells mirrored left to right, set by the title's hash.
    digest = hashlib.sha256(title.encode("utf-8")).digest()
    bits = int.from_bytes(digest[:4], "big")
    cell, left, top = 22, 26, 70
    canvas.rect(left - 8, top - 8, left + 5 * cell + 8, top + 5 * cell + 8, (255, 255, 255))
    shade = _tint(colour, 0.35 * (digest[4] % 3) / 2)
    for row in range(5):
        for col in range(3):
            if bits >> (row * 3 + col) & 1:
                for c in {col, 4 - col}:
                    canvas.rect(left + c * cell, top + row * cell, left + (c + 1) * cell, top + (row + 1) * cell,
                                shade)
    # A thin strip of the hash under the emblem (12 segments), so even equal emblems differ.
    for i in range(12):
        canvas.rect(left + i * 10, top + 5 * cell + 18, left + i * 10 + 8, top + 5 * cell + 24,
                    _tint(colour, (digest[5 + i] % 5) / 6))
    # The chart: one group of two bars per pair, each pair scaled to its own larger value.
    x0, y0, x1, y1 = 176, 56, 456, 248
    canvas.rect(x0, y0, x1, y1, (255, 255, 255))
    base = y1 - 20
    canvas.rect(x0 + 12, base, x1 - 12, base + 2, (160, 168, 180))
    usable = base - (y0 + 16)
    group = (x1 - x0 - 24) // max(1, len(figures))
    for g, pair in enumerate(figures):
        values = [v for v in pair if v]
        top_value = max(values) if values else 0
        for k, value in enumerate(pair):
            if not value or top_value <= 0:
                continue
            height = max(2, round(usable * value / top_value))
            bx = x0 + 12 + g * group + 18 + k * 42
            canvas.rect(bx, base - height, bx + 34, base, colour if k == 0 else ACCENT)
    return canvas.png()
