"""Sample photos for the demo: drawn with Pillow on the first run, kept in the database.

The first run draws twelve JPEG photos, a PNG with transparency and an SVG drawing,
and attaches each to a new :class:`~examples.demo.models.Photo` the way an
application attaches an upload: ``photo.picture.from_blob(data)``, then
``photo.picture.generate_thumbnail(width=...)`` for the smaller sizes.  One commit
writes the rows and, at its flush, the files.  The next runs find them in the
database and draw nothing.

The drawings are deterministic, so drawing them again gives the same bytes.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from PIL import Image, ImageDraw, ImageFont, ImageOps
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from imageattach.core import Store, store_context

from .models import DemoState, Photo, PhotoPicture
from .photos import attach_picture

__all__ = ["SEEDED", "Seeding", "ensure_gallery", "samples"]

#: The key of the :class:`~examples.demo.models.DemoState` row of the first run.
SEEDED: Final = "samples"

ORIGINAL_SIZE: Final = (640, 480)
STICKER_SIZE: Final = 256
ICON_SIZE: Final = 256

#: (colour name, RGB, shape) of each photo.
PHOTOS: Final = (
    ("Tomato", (255, 99, 71), "circle"),
    ("Orange", (255, 159, 28), "square"),
    ("Gold", (245, 197, 24), "triangle"),
    ("Lime", (132, 204, 22), "diamond"),
    ("Sea green", (46, 160, 110), "pentagon"),
    ("Teal", (20, 170, 170), "hexagon"),
    ("Sky", (56, 176, 245), "octagon"),
    ("Royal blue", (65, 105, 225), "star"),
    ("Violet", (138, 92, 246), "ring"),
    ("Orchid", (218, 112, 214), "cross"),
    ("Pink", (244, 84, 150), "heart"),
    ("Sienna", (190, 105, 60), "arrow"),
)


@dataclass(frozen=True)
class Seeding:
    """What :func:`ensure_gallery` found or did."""

    photos: int  # how many photos the database holds now
    images: int  # and how many images (originals and thumbnails)
    generated: bool  # True when this run put the samples in


def samples() -> list[tuple[str, bytes]]:
    """The title and the file of every sample photo, in order."""
    drawn = [
        (f"{colour} {shape}", _jpeg(draw_photo(number, f"{colour} {shape}", rgb, shape)))
        for number, (colour, rgb, shape) in enumerate(PHOTOS, start=1)
    ]
    drawn.append(("PNG with transparency", draw_sticker()))
    drawn.append(("SVG drawing", draw_icon().encode()))
    return drawn


def ensure_gallery(sessions: sessionmaker[Session], store: Store) -> Seeding:
    """Put the sample photos in on the first run; on the next ones, reuse what is there.

    The samples and the :class:`~examples.demo.models.DemoState` row that says so are
    committed together: a first run stopped half way leaves no row, so the next run
    puts the samples in again (over the files the first one may have written).
    """
    with sessions() as session, store_context(store):
        generated = session.get(DemoState, SEEDED) is None
        if generated:
            for title, data in samples():
                photo = Photo(title=title)
                attach_picture(photo, data)
                session.add(photo)
            session.add(DemoState(key=SEEDED))
            session.commit()
        photos = session.scalar(select(func.count()).select_from(Photo)) or 0
        images = session.scalar(select(func.count()).select_from(PhotoPicture)) or 0
    return Seeding(photos, images, generated)


# --- drawing -----------------------------------------------------------------------------

SCALE: Final = 2  # draw at twice the size, then scale down: smooth edges without effort
INK: Final = (15, 23, 42)  # the dark slate of the page


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    # Pillow ships a scalable font (Aileron) since 10.1: no system font needed.
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow 10.0: only the small bitmap font
        return ImageFont.load_default()


def _mix(a: Sequence[int], b: Sequence[int], t: float) -> tuple[int, int, int]:
    r, g, bl = (round(x + (y - x) * t) for x, y in zip(a, b, strict=True))
    return r, g, bl


def _regular(
    cx: float, cy: float, r: float, n: int, start: float = -90.0
) -> list[tuple[float, float]]:
    return [
        (
            cx + r * math.cos(math.radians(start + 360 * k / n)),
            cy + r * math.sin(math.radians(start + 360 * k / n)),
        )
        for k in range(n)
    ]


def _shape(kind: str, cx: float, cy: float, r: float) -> list[tuple[float, float]] | None:
    """The outline of a shape as a polygon; None for the round ones."""
    sides = {"triangle": 3, "diamond": 4, "pentagon": 5, "hexagon": 6, "octagon": 8}
    if kind in sides:
        n = sides[kind]
        return _regular(cx, cy, r, n, -90.0 if n % 2 or n == 4 else -90.0 + 180 / n)
    if kind == "star":
        outer, inner = _regular(cx, cy, r, 5), _regular(cx, cy, r * 0.45, 5, -90.0 + 36)
        return [point for pair in zip(outer, inner, strict=True) for point in pair]
    if kind == "cross":
        a, b = r * 0.34, r
        return [
            (cx + x, cy + y)
            for x, y in (
                (-a, -b), (a, -b), (a, -a), (b, -a), (b, a), (a, a),
                (a, b), (-a, b), (-a, a), (-b, a), (-b, -a), (-a, -a),
            )
        ]  # fmt: skip
    if kind == "heart":
        points = []
        for k in range(120):
            t = 2 * math.pi * k / 120
            x = 16 * math.sin(t) ** 3
            y = 13 * math.cos(t) - 5 * math.cos(2 * t) - 2 * math.cos(3 * t) - math.cos(4 * t)
            points.append((cx + x * r / 16, cy - y * r / 16 - r * 0.1))
        return points
    if kind == "arrow":
        return [
            (cx + x * r, cy + y * r)
            for x, y in (
                (-0.9, -0.3), (0.15, -0.3), (0.15, -0.75), (0.95, 0.0),
                (0.15, 0.75), (0.15, 0.3), (-0.9, 0.3),
            )
        ]  # fmt: skip
    return None


def draw_photo(number: int, title: str, rgb: tuple[int, int, int], shape: str) -> Image.Image:
    """A 640x480 picture: a shape on a gradient, with its number and name."""
    width, height = (side * SCALE for side in ORIGINAL_SIZE)
    # A spotlight: light behind the shape, darker towards the corners.
    gradient = Image.radial_gradient("L").resize((width, height))
    canvas = ImageOps.colorize(gradient, _mix(rgb, (255, 255, 255), 0.6), _mix(rgb, INK, 0.8))
    draw = ImageDraw.Draw(canvas)
    cx, cy, r = width / 2, height * 0.43, height * 0.3
    white, line = (255, 255, 255), 6 * SCALE
    # A soft shadow first, then the shape itself.
    shadow_offset = 8 * SCALE
    for offset, fill in ((shadow_offset, _mix(rgb, INK, 0.85)), (0, rgb)):
        x, y = cx + offset, cy + offset
        outline = None if offset else white
        if shape == "circle":
            draw.ellipse((x - r, y - r, x + r, y + r), fill=fill, outline=outline, width=line)
        elif shape == "square":
            s = r * 0.85
            draw.rounded_rectangle(
                (x - s, y - s, x + s, y + s), 24 * SCALE, fill=fill, outline=outline, width=line
            )
        elif shape == "ring":
            draw.ellipse((x - r, y - r, x + r, y + r), outline=fill, width=round(r * 0.38))
            if outline:
                draw.ellipse((x - r, y - r, x + r, y + r), outline=white, width=line)
                inner = r * 0.62
                draw.ellipse(
                    (x - inner, y - inner, x + inner, y + inner), outline=white, width=line
                )
        else:
            points = _shape(shape, x, y, r)
            assert points is not None, shape
            draw.polygon(points, fill=fill, outline=outline, width=line)
    # The label: a dark band at the bottom with the number and the title.
    band = height - 92 * SCALE
    draw.rectangle((0, band, width, height), fill=_mix(rgb, INK, 0.9))
    label, font = f"#{number}", _font(44 * SCALE)
    left: float = 28 * SCALE
    middle = band + 46 * SCALE
    draw.text((left, middle), label, font=font, fill=rgb, anchor="lm")
    left += draw.textlength(label, font=font) + 18 * SCALE
    draw.text((left, middle), title, font=_font(40 * SCALE), fill=white, anchor="lm")
    return canvas.resize(ORIGINAL_SIZE, Image.Resampling.LANCZOS)


def _jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=88, optimize=True)
    return buffer.getvalue()


def draw_sticker() -> bytes:
    """A 256x256 PNG sticker with a transparent background."""
    size = STICKER_SIZE * SCALE
    canvas = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(canvas)
    teal, white = (20, 170, 170, 255), (255, 255, 255, 255)
    margin = 14 * SCALE
    draw.ellipse((margin, margin, size - margin, size - margin), fill=(*INK, 255))
    draw.ellipse(
        (margin * 2, margin * 2, size - margin * 2, size - margin * 2),
        outline=teal,
        width=10 * SCALE,
    )
    draw.text((size / 2, size * 0.44), "PNG", font=_font(64 * SCALE), fill=white, anchor="mm")
    draw.text((size / 2, size * 0.64), "alpha", font=_font(30 * SCALE), fill=teal, anchor="mm")
    canvas = canvas.resize((STICKER_SIZE, STICKER_SIZE), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    canvas.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


def draw_icon() -> str:
    """A 256x256 SVG drawing."""
    return f"""\
<svg xmlns="http://www.w3.org/2000/svg" width="{ICON_SIZE}" height="{ICON_SIZE}" \
viewBox="0 0 256 256">
  <defs>
    <linearGradient id="sky" x1="0" y1="0" x2="1" y2="1">
      <stop offset="0" stop-color="#8a5cf6"/>
      <stop offset="1" stop-color="#38b0f5"/>
    </linearGradient>
  </defs>
  <rect x="8" y="8" width="240" height="240" rx="40" fill="url(#sky)"/>
  <circle cx="184" cy="76" r="26" fill="#fff5c2"/>
  <path d="M8 200 L88 112 L140 168 L172 136 L248 210 L248 208 Q248 248 208 248 L48 248 \
Q8 248 8 208 Z" fill="#0f172a" fill-opacity="0.8"/>
  <text x="128" y="226" text-anchor="middle" font-family="sans-serif" font-size="34" \
font-weight="bold" fill="#ffffff">SVG</text>
</svg>
"""
