"""Seal images for development and tests.

Decree 30/2020 wants the image of the agency's seal on its digital signature: red, at the
seal's real size, a PNG on a transparent background. Real agencies configure the scan of their
seal; the development setup and the tests draw one, marked as a development seal.
"""

from __future__ import annotations

import io
import math

from PIL import Image, ImageDraw, ImageFont

from service import fonts

RED = (200, 16, 16, 255)


def development_seal(agency_name: str, size: int = 360) -> bytes:
    """A round red seal: two rings, the agency's name around, a star and "THỬ NGHIỆM"."""
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    c = size / 2
    draw.ellipse((6, 6, size - 6, size - 6), outline=RED, width=10)
    draw.ellipse((size * 0.2, size * 0.2, size * 0.8, size * 0.8), outline=RED, width=4)
    _star(draw, c, c - size * 0.08, size * 0.09)
    small = ImageFont.truetype(str(fonts.BOLD), int(size * 0.07))
    draw.text((c, c + size * 0.1), "THỬ NGHIỆM", font=small, fill=RED, anchor="mm")
    _around(image, agency_name.upper(), ImageFont.truetype(str(fonts.BOLD), int(size * 0.065)),
            radius=size * 0.39)
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()


def _star(draw: ImageDraw.ImageDraw, cx: float, cy: float, r: float) -> None:
    points = []
    for i in range(10):
        angle = -math.pi / 2 + i * math.pi / 5
        radius = r if i % 2 == 0 else r * 0.4
        points.append((cx + radius * math.cos(angle), cy + radius * math.sin(angle)))
    draw.polygon(points, fill=RED)


def _around(image: Image.Image, text: str, font: ImageFont.FreeTypeFont, radius: float) -> None:
    """Text along the upper arc of the ring, one rotated letter at a time."""
    text = text[:48]
    c = image.width / 2
    span = min(math.radians(300), len(text) * math.radians(11))
    for i, letter in enumerate(text):
        angle = -math.pi / 2 - span / 2 + span * (i + 0.5) / len(text)
        side = int(font.size * 2)  # the size asked for, a whole number of pixels
        tile = Image.new("RGBA", (side, side), (0, 0, 0, 0))
        ImageDraw.Draw(tile).text((font.size, font.size), letter, font=font, fill=RED,
                                  anchor="mm")
        tile = tile.rotate(-math.degrees(angle) - 90, resample=Image.Resampling.BICUBIC)
        x = c + radius * math.cos(angle) - tile.width / 2
        y = c + radius * math.sin(angle) - tile.height / 2
        image.alpha_composite(tile, (int(x), int(y)))
