"""Sample images for the demo: drawn with Pillow, kept in the store, reused on the next run.

Every picture is an original JPEG and two thumbnails resized from it.  One PNG
(with transparency) and one SVG show that the store keeps any image type.  The
drawings are deterministic, so generating them again gives the same bytes.

A small manifest, ``.imageattach-demo.json`` in the store folder, records when
the gallery was generated (the ``created_at`` of every image, which
``store.locate()`` turns into the ``?_ts=`` cache buster).  Its name starts
with a dot, so the middleware never serves it.
"""

from __future__ import annotations

import io
import json
import math
import os
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Final

from PIL import Image, ImageDraw, ImageFont, ImageOps

from imageattach.core import HttpExposedFileSystemStore

__all__ = ["DemoImage", "Gallery", "Picture", "ensure_gallery"]

MANIFEST: Final = ".imageattach-demo.json"
MANIFEST_VERSION: Final = 1

ORIGINAL_SIZE: Final = (640, 480)
THUMBNAIL_SIZES: Final = ((320, 240), (160, 120))
STICKER_SIZE: Final = 256
ICON_SIZE: Final = 256

#: (colour name, RGB, shape) of each photo; the object id is the position + 1.
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
class DemoImage:
    """An image record: what a store needs to know of an image.

    The SQLAlchemy ``Image`` entity will be one; for the store API any object
    with these attributes will do.
    """

    object_type: str
    object_id: int
    width: int
    height: int
    mimetype: str
    created_at: datetime
    original: bool = True


@dataclass(frozen=True)
class Picture:
    """One picture of the gallery: its original and the thumbnails made from it."""

    title: str
    original: DemoImage
    thumbnails: tuple[DemoImage, ...] = ()

    @property
    def images(self) -> tuple[DemoImage, ...]:
        return (self.original, *self.thumbnails)

    def thumbnail(self, width: int) -> DemoImage:
        """The thumbnail of the given width (the original when there is none)."""
        return next((t for t in self.thumbnails if t.width == width), self.original)


@dataclass(frozen=True)
class Gallery:
    photos: tuple[Picture, ...]
    others: tuple[Picture, ...]  # the PNG and the SVG
    created_at: datetime
    generated: bool  # False when an existing store folder was reused

    @property
    def images(self) -> Iterator[DemoImage]:
        for picture in (*self.photos, *self.others):
            yield from picture.images


def plan(created_at: datetime) -> tuple[tuple[Picture, ...], tuple[Picture, ...]]:
    """The records of every image of the gallery."""
    photos = []
    for object_id, (colour, _rgb, shape) in enumerate(PHOTOS, start=1):
        original = DemoImage("photo", object_id, *ORIGINAL_SIZE, "image/jpeg", created_at)
        thumbnails = tuple(
            DemoImage("photo", object_id, w, h, "image/jpeg", created_at, original=False)
            for w, h in THUMBNAIL_SIZES
        )
        photos.append(Picture(f"{colour} {shape}", original, thumbnails))
    others = (
        Picture(
            "PNG with transparency",
            DemoImage("sticker", 1, STICKER_SIZE, STICKER_SIZE, "image/png", created_at),
        ),
        Picture(
            "SVG drawing",
            DemoImage("icon", 1, ICON_SIZE, ICON_SIZE, "image/svg+xml", created_at),
        ),
    )
    return tuple(photos), others


def ensure_gallery(store: HttpExposedFileSystemStore, path: str | os.PathLike[str]) -> Gallery:
    """Reuse the gallery in the store folder ``path``, or generate it there.

    Generating is idempotent: a complete gallery is reused as it is, an
    incomplete one (a run stopped half way, a deleted file) is made again.
    """
    folder = Path(path)
    created_at = _read_manifest(folder)
    if created_at is not None:
        photos, others = plan(created_at)
        gallery = Gallery(photos, others, created_at, generated=False)
        if all(_exists(store, image) for image in gallery.images):
            return gallery
    created_at = datetime.now(timezone.utc)
    photos, others = plan(created_at)
    for object_id, (picture, (_colour, rgb, shape)) in enumerate(
        zip(photos, PHOTOS, strict=True), start=1
    ):
        drawing = draw_photo(object_id, picture.title, rgb, shape)
        # store.store() takes an image record and a file; for a record whose
        # original is true it is put_file(..., reproducible=False).
        store.store(picture.original, io.BytesIO(_jpeg(drawing)))
        for thumbnail in picture.thumbnails:
            small = drawing.resize((thumbnail.width, thumbnail.height), Image.Resampling.LANCZOS)
            # The implementer's call, with the 1.1.0 signature: thumbnails can be
            # made again from the original, so they are "reproducible".
            store.put_file(
                io.BytesIO(_jpeg(small)),
                thumbnail.object_type,
                thumbnail.object_id,
                thumbnail.width,
                thumbnail.height,
                thumbnail.mimetype,
                True,
            )
    sticker, icon = others
    store.store(sticker.original, io.BytesIO(draw_sticker()))
    store.store(icon.original, io.BytesIO(draw_icon().encode()))
    _write_manifest(folder, created_at)
    return Gallery(photos, others, created_at, generated=True)


def _exists(store: HttpExposedFileSystemStore, image: DemoImage) -> bool:
    try:
        with store.open(image):
            return True
    except FileNotFoundError:
        return False


def _read_manifest(folder: Path) -> datetime | None:
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        if data["version"] != MANIFEST_VERSION:
            return None
        created_at = datetime.fromisoformat(data["created_at"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return created_at if created_at.tzinfo is not None else None


def _write_manifest(folder: Path, created_at: datetime) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    data = json.dumps({"version": MANIFEST_VERSION, "created_at": created_at.isoformat()})
    fd, temporary = tempfile.mkstemp(prefix=".", suffix=".tmp", dir=folder)
    try:
        with open(fd, "w", encoding="utf-8") as file:
            file.write(data + "\n")
        os.replace(temporary, folder / MANIFEST)
    except BaseException:
        os.unlink(temporary)
        raise


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
    left, middle = 28 * SCALE, band + 46 * SCALE
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
