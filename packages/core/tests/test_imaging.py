"""Reading images and making thumbnails (imageattach.core._imaging), on real bytes.

Every image is made here, with Pillow (HEIC with pillow-heif, PDF with Pillow's PDF
writer, SVG as text); nothing binary is kept in the repository.
"""

from __future__ import annotations

import io
import random
import socket
import struct
import sys
import tracemalloc
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageCms, ImageFile, ImageOps, features
from PIL.PngImagePlugin import PngInfo

from imageattach.core import guess_extension
from imageattach.core._errors import (
    CorruptImageError,
    ImageTooLargeError,
    InvalidImageError,
    MissingExtraError,
    UnsupportedImageError,
)
from imageattach.core._imaging import (
    DEFAULT_LIMITS,
    ImageInfo,
    ImageLimits,
    make_thumbnail,
    probe_image,
    thumbnail_size,
)

RED = (255, 0, 0)
BLUE = (0, 0, 255)
WHITE = (255, 255, 255)
SRGB_ICC = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


# --- making images --------------------------------------------------------------------


def encode(im: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    im.save(buffer, fmt, **options)
    return buffer.getvalue()


def flag(size: tuple[int, int] = (40, 20), mode: str = "RGB") -> Image.Image:
    """Blue, with a red block in the top-left corner: shows which way is up."""
    im = Image.new("RGB", size, BLUE)
    im.paste(RED, (0, 0, size[0] * 2 // 5, size[1] // 2))
    return im.convert(mode)


def half_transparent(size: tuple[int, int] = (40, 20)) -> Image.Image:
    """Left half transparent (red under it), right half opaque blue."""
    im = Image.new("RGBA", size, (*BLUE, 255))
    im.paste((*RED, 0), (0, 0, size[0] // 2, size[1]))
    return im


def can_write_heic() -> bool:
    try:
        import pillow_heif
    except ImportError:
        return False
    return bool(pillow_heif.libheif_info().get("HEIF"))


def heic(im: Image.Image, **options: object) -> bytes:
    import pillow_heif

    buffer = io.BytesIO()
    pillow_heif.from_pillow(im).save(buffer, quality=95, **options)
    return buffer.getvalue()


def svg(body: str = "", width: str = "40", height: str = "20", extra: str = "") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<!-- drawn by hand -->\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        f'width="{width}" height="{height}" {extra}>'
        f'<rect width="100%" height="100%" fill="white"/>{body}</svg>'
    ).encode()


def flag_svg() -> bytes:
    return svg(
        '<rect width="40" height="20" fill="blue"/><rect width="16" height="10" fill="red"/>'
    )


def pdf(im: Image.Image) -> bytes:
    return encode(im, "PDF", resolution=72.0)  # 1 px of the image is 1 pt of the page


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height``, and whose pixels are missing."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + png_chunk(b"IEND", b"")
    )


def gif_with_frame(screen: tuple[int, int], frame: tuple[int, int]) -> bytes:
    """A GIF whose logical screen is ``screen`` and whose first frame is ``frame``."""
    return (
        b"GIF89a"
        + struct.pack("<HHBBB", *screen, 0x80, 0, 0)
        + b"\x00\x00\x00\xff\xff\xff"
        + b","
        + struct.pack("<HHHHB", 0, 0, *frame, 0)
        + b"\x02\x02\x44\x01\x00;"
    )


def animated(fmt: str, colours: list[tuple[int, int, int]], **options: object) -> bytes:
    frames = [Image.new("RGB", (40, 20), colour) for colour in colours]
    return encode(frames[0], fmt, save_all=True, append_images=frames[1:], **options)


def exif(orientation: int) -> Image.Exif:
    data = Image.Exif()
    data[0x0112] = orientation
    return data


EPS = (
    b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 40 20\n%%EndComments\n"
    b"1 0 0 setrgbcolor 0 0 40 20 rectfill\nshowpage\n%%EOF\n"
)


# --- the formats ----------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    make: Callable[[], bytes]
    mimetype: str
    output: str  # mimetype of the thumbnail
    output_mode: str  # Pillow mode of the decoded thumbnail
    available: bool = True
    why: str = ""


HEIC_OK = can_write_heic()
AVIF_OK = features.check("avif")
CASES = {
    "jpeg": Case(lambda: encode(flag(), "JPEG", quality=95), "image/jpeg", "image/jpeg", "RGB"),
    "jpeg-grey": Case(
        lambda: encode(flag(mode="L"), "JPEG", quality=95), "image/jpeg", "image/jpeg", "L"
    ),
    "jpeg-cmyk": Case(
        lambda: encode(flag(mode="CMYK"), "JPEG", quality=95), "image/jpeg", "image/jpeg", "RGB"
    ),
    "png-alpha": Case(lambda: encode(half_transparent(), "PNG"), "image/png", "image/png", "RGBA"),
    "png-palette": Case(
        lambda: encode(flag().quantize(4), "PNG"), "image/png", "image/png", "RGB"
    ),
    "png-16bit": Case(
        lambda: encode(Image.new("I;16", (40, 20), 32768), "PNG"), "image/png", "image/png", "L"
    ),
    "gif": Case(lambda: encode(flag().quantize(4), "GIF"), "image/gif", "image/gif", "P"),
    "webp": Case(
        lambda: encode(half_transparent(), "WEBP", quality=90), "image/webp", "image/webp", "RGBA"
    ),
    "avif": Case(
        lambda: encode(half_transparent(), "AVIF", quality=90),
        "image/avif",
        "image/avif",
        "RGBA",
        AVIF_OK,
        "Pillow has no AVIF",
    ),
    "bmp": Case(lambda: encode(flag(), "BMP"), "image/bmp", "image/png", "RGB"),
    "tiff": Case(lambda: encode(flag(), "TIFF"), "image/tiff", "image/png", "RGB"),
    "ico": Case(
        lambda: encode(half_transparent(), "ICO", sizes=[(40, 20)]),
        "image/vnd.microsoft.icon",
        "image/png",
        "RGBA",
    ),
    "heic": Case(
        lambda: heic(flag()), "image/heic", "image/jpeg", "RGB", HEIC_OK, "no HEVC encoder"
    ),
    "svg": Case(flag_svg, "image/svg+xml", "image/png", "RGBA"),
    "pdf": Case(lambda: pdf(flag()), "application/pdf", "image/png", "RGB"),
}


def case_params(names: list[str] | None = None) -> list[object]:
    return [
        pytest.param(
            name,
            id=name,
            marks=() if CASES[name].available else pytest.mark.skip(reason=CASES[name].why),
        )
        for name in names or CASES
    ]


def need(available: bool, why: str) -> None:
    if not available:
        pytest.skip(why)


def pixel(data: bytes, xy: tuple[int, int]) -> tuple[int, ...]:
    with Image.open(io.BytesIO(data)) as im:
        value = im.convert("RGBA").getpixel(xy)
    assert isinstance(value, tuple)
    return value


def near(actual: tuple[int, ...], expected: tuple[int, ...], tolerance: int = 40) -> bool:
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=False))


# --- probe_image and make_thumbnail over every format ------------------------------------


@pytest.mark.parametrize("name", case_params())
def test_probe_tells_type_and_size(name: str) -> None:
    case = CASES[name]
    info = probe_image(case.make())
    assert info == ImageInfo(mimetype=case.mimetype, width=40, height=20)
    assert guess_extension(info.mimetype)  # a type the store can name


@pytest.mark.parametrize("name", case_params())
def test_thumbnail_of_each_format(name: str) -> None:
    case = CASES[name]
    data, mimetype = make_thumbnail(case.make(), 20, 10)
    assert mimetype == case.output
    assert probe_image(data) == ImageInfo(mimetype=case.output, width=20, height=10)
    with Image.open(io.BytesIO(data)) as im:
        assert im.mode == case.output_mode
    assert guess_extension(mimetype)


@pytest.mark.parametrize("name", case_params())
def test_thumbnail_is_reproducible(name: str) -> None:
    original = CASES[name].make()
    first = make_thumbnail(original, 20, 10)
    assert make_thumbnail(original, 20, 10) == first
    assert make_thumbnail(io.BytesIO(original), 20, 10) == first


@pytest.mark.parametrize("name", case_params(["jpeg", "bmp", "tiff", "heic", "svg", "pdf"]))
def test_thumbnail_pixels_are_the_picture(name: str) -> None:
    """The red block stays in the top-left corner, the rest stays blue."""
    data, _ = make_thumbnail(CASES[name].make(), 20, 10)
    assert near(pixel(data, (2, 2)), (*RED, 255))
    assert near(pixel(data, (17, 7)), (*BLUE, 255))


@pytest.mark.parametrize("name", case_params())
def test_declared_name_never_matters(name: str, tmp_path: Path) -> None:
    path = tmp_path / "upload.gif"  # whatever the name says
    path.write_bytes(CASES[name].make())
    with path.open("rb") as file:
        assert probe_image(file).mimetype == CASES[name].mimetype


def test_file_is_read_from_its_position_and_left_open() -> None:
    data = encode(flag(), "PNG")
    file = io.BytesIO(b"not an image" + data)
    file.seek(len(b"not an image"))
    assert probe_image(file) == ImageInfo(mimetype="image/png", width=40, height=20)
    assert not file.closed
    file.seek(len(b"not an image"))
    thumbnail, _ = make_thumbnail(file, 20, 10)
    assert not file.closed
    assert probe_image(thumbnail).width == 20


class Unseekable(io.RawIOBase):
    """A pipe-like file: read() only, a few bytes at a time."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        size = min(len(buffer), 1000, len(self._data))
        buffer[:size] = self._data[:size]
        self._data = self._data[size:]
        return size


def test_an_unseekable_file_is_read_to_its_end() -> None:
    data = encode(flag((400, 200)), "PNG")
    assert probe_image(Unseekable(data)) == ImageInfo(mimetype="image/png", width=400, height=200)


@pytest.mark.parametrize("wrap", [bytes, bytearray, memoryview])
def test_bytes_like_data_is_read(wrap: Callable[[bytes], bytes]) -> None:
    data = wrap(encode(flag(), "PNG"))
    assert probe_image(data) == ImageInfo(mimetype="image/png", width=40, height=20)
    assert make_thumbnail(data, 20, 10)[1] == "image/png"


@pytest.mark.parametrize("data", ["a str", 42, None], ids=["str", "int", "None"])
def test_data_must_be_bytes_or_a_file(data: object) -> None:
    with pytest.raises(TypeError, match="data must be bytes or a readable binary file"):
        probe_image(data)  # type: ignore[arg-type]


# --- orientation -------------------------------------------------------------------------


def test_orientation_6_jpeg_is_portrait() -> None:
    """A 40x20 JPEG with orientation 6 is shown turned a quarter clockwise: 20x40, the
    red corner at the top right."""
    data = encode(flag(), "JPEG", quality=95, exif=exif(6).tobytes())
    assert probe_image(data) == ImageInfo(mimetype="image/jpeg", width=20, height=40)
    thumbnail, _ = make_thumbnail(data, 10, 20)
    with Image.open(io.BytesIO(thumbnail)) as im:
        assert im.size == (10, 20)
        assert "exif" not in im.info
    assert near(pixel(thumbnail, (8, 2)), (*RED, 255))  # top right
    assert near(pixel(thumbnail, (1, 2)), (*BLUE, 255))  # top left
    assert near(pixel(thumbnail, (8, 17)), (*BLUE, 255))  # bottom right


def corners(im: Image.Image) -> tuple[bool, ...]:
    """Which corners of ``im`` are red, clockwise from the top left."""
    rgb = im.convert("RGB")
    w, h = rgb.size
    points = [(w // 5, h // 5), (w - 1 - w // 5, h // 5), (w - 1 - w // 5, h - 1 - h // 5)]
    points.append((w // 5, h - 1 - h // 5))
    values = [rgb.getpixel(p) for p in points]
    return tuple(isinstance(v, tuple) and v[0] > 150 and v[2] < 100 for v in values)


ORIENTED = {
    "jpeg": lambda o: encode(flag((80, 40)), "JPEG", quality=95, exif=exif(o).tobytes()),
    "png": lambda o: encode(flag((80, 40)), "PNG", exif=exif(o).tobytes()),
    "webp": lambda o: encode(flag((80, 40)), "WEBP", lossless=True, exif=exif(o).tobytes()),
    "tiff": lambda o: encode(flag((80, 40)), "TIFF", tiffinfo={0x0112: o}),
}


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("fmt", list(ORIENTED))
def test_every_orientation_is_applied(fmt: str, orientation: int) -> None:
    data = ORIENTED[fmt](orientation)
    quarter = orientation >= 5
    expected_size = (40, 80) if quarter else (80, 40)
    info = probe_image(data)
    assert (info.width, info.height) == expected_size
    size = (expected_size[0] // 2, expected_size[1] // 2)
    thumbnail, _ = make_thumbnail(data, *size)
    with Image.open(io.BytesIO(data)) as original, Image.open(io.BytesIO(thumbnail)) as im:
        assert im.size == size
        upright = ImageOps.exif_transpose(original)
        assert corners(im) == corners(upright)
        assert sum(corners(im)) == 1


@pytest.mark.skipif(not HEIC_OK, reason="no HEVC encoder")
def test_heic_orientation_agrees_between_probe_and_thumbnail() -> None:
    data = heic(flag((80, 40)), exif=exif(6).tobytes())
    info = probe_image(data)
    thumbnail, _ = make_thumbnail(data, info.width // 2, info.height // 2)
    with Image.open(io.BytesIO(thumbnail)) as im:
        assert im.size == (info.width // 2, info.height // 2)
        assert sum(corners(im)) == 1


# --- metadata ----------------------------------------------------------------------------


def test_jpeg_thumbnail_has_no_metadata_but_its_profile() -> None:
    tags = exif(1)
    tags[0x010F] = "Camera Maker"  # Make
    tags[0x0132] = "2024:01:02 03:04:05"  # DateTime
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/">secret-xmp</x:xmpmeta>'
    data = encode(
        flag(),
        "JPEG",
        exif=tags.tobytes(),
        icc_profile=SRGB_ICC,
        comment=b"secret comment",
        xmp=xmp,
    )
    with Image.open(io.BytesIO(data)) as original:  # the metadata is really there
        assert {"exif", "comment", "icc_profile", "xmp"} <= set(original.info)
    thumbnail, _ = make_thumbnail(data, 20, 10)
    with Image.open(io.BytesIO(thumbnail)) as im:
        assert im.info.get("icc_profile") == SRGB_ICC
        assert not {"exif", "comment", "xmp"} & set(im.info)
    for secret in (b"Exif", b"Camera Maker", b"2024:01:02", b"secret comment", b"secret-xmp"):
        assert secret not in thumbnail


def test_png_thumbnail_has_no_text_but_its_profile() -> None:
    text = PngInfo()
    text.add_text("Comment", "secret comment")
    text.add_text("Software", "secret software", zip=True)
    text.add_itxt("Author", "secret author")
    data = encode(
        half_transparent(), "PNG", pnginfo=text, icc_profile=SRGB_ICC, exif=exif(1).tobytes()
    )
    thumbnail, _ = make_thumbnail(data, 20, 10)
    with Image.open(io.BytesIO(thumbnail)) as im:
        im.load()
        assert im.info.get("icc_profile") == SRGB_ICC
        assert not {"Comment", "Software", "Author", "exif"} & set(im.info)
    for chunk in (b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"tIME", b"secret"):
        assert chunk not in thumbnail


def grainy(size: tuple[int, int]) -> Image.Image:
    """RGBA noise over a gradient, as a photo's grain leaves it: few long matches."""
    rng = random.Random(7)
    width, height = size
    noise = Image.frombytes("RGBA", size, rng.randbytes(width * height * 4))
    gradient = Image.linear_gradient("L").resize(size).convert("RGBA")
    return Image.blend(gradient, noise, 0.3)


def flat_art(size: tuple[int, int]) -> Image.Image:
    """Text and flat shapes on white, as a screenshot: long runs and repeats."""
    from PIL import ImageDraw

    im = Image.new("RGB", size, WHITE)
    draw = ImageDraw.Draw(im)
    for y in range(0, size[1], 14):
        draw.text((4, y), f"Lorem ipsum dolor sit amet, consectetur {y}", fill=(0, 0, 0))
    draw.rectangle((size[0] // 2, 40, size[0] - 20, 120), fill=BLUE)
    return im


def deflated_size(png: bytes, strategy: int) -> int:
    with Image.open(io.BytesIO(png)) as im:
        return len(encode(im, "PNG", compress_level=6, compress_type=strategy))


def test_png_thumbnails_of_grain_are_deflated_by_runs_no_larger() -> None:
    from imageattach.core._imaging import _png_strategy

    thumbnail, _ = make_thumbnail(encode(grainy((600, 600)), "PNG"), 300, 300)
    with Image.open(io.BytesIO(thumbnail)) as im:
        assert _png_strategy(im) == zlib.Z_RLE
    others = min(deflated_size(thumbnail, s) for s in (zlib.Z_FILTERED, zlib.Z_DEFAULT_STRATEGY))
    assert len(thumbnail) <= others * 1.02
    assert len(thumbnail) == deflated_size(thumbnail, zlib.Z_RLE)


def test_png_thumbnails_of_flat_art_are_deflated_smallest() -> None:
    from imageattach.core._imaging import _png_strategy

    thumbnail, _ = make_thumbnail(encode(flat_art((600, 600)), "PNG"), 300, 300)
    with Image.open(io.BytesIO(thumbnail)) as im:
        assert _png_strategy(im) == zlib.Z_DEFAULT_STRATEGY
    assert len(thumbnail) == deflated_size(thumbnail, zlib.Z_DEFAULT_STRATEGY)
    assert len(thumbnail) < deflated_size(thumbnail, zlib.Z_FILTERED), "Pillow's own pick"
    assert len(thumbnail) * 2 < deflated_size(thumbnail, zlib.Z_RLE), "RLE: much larger here"


def test_small_png_thumbnails_keep_pillows_strategy() -> None:
    from imageattach.core._imaging import _png_strategy

    assert _png_strategy(grainy((100, 100))) == zlib.Z_FILTERED
    assert _png_strategy(grainy((200, 200))) == zlib.Z_RLE


def test_webp_thumbnail_has_no_metadata_but_its_profile() -> None:
    data = encode(
        half_transparent(),
        "WEBP",
        icc_profile=SRGB_ICC,
        exif=exif(1).tobytes(),
        xmp=b"<x:xmpmeta>secret</x:xmpmeta>",
    )
    thumbnail, _ = make_thumbnail(data, 20, 10)
    with Image.open(io.BytesIO(thumbnail)) as im:
        assert im.info.get("icc_profile") == SRGB_ICC
        assert not {"exif", "xmp"} & set(im.info)
    assert b"EXIF" not in thumbnail
    assert b"secret" not in thumbnail


def test_gif_thumbnail_has_no_comment() -> None:
    data = encode(flag().quantize(4), "GIF", comment=b"secret comment")
    thumbnail, _ = make_thumbnail(data, 20, 10)
    assert b"secret" not in thumbnail


def test_a_profile_of_other_colours_is_dropped() -> None:
    """A CMYK image becomes RGB: an RGB profile on it was wrong, and is not kept."""
    data = encode(flag(mode="CMYK"), "JPEG", icc_profile=SRGB_ICC)
    thumbnail, _ = make_thumbnail(data, 20, 10)
    with Image.open(io.BytesIO(thumbnail)) as im:
        assert im.mode == "RGB"
        assert "icc_profile" not in im.info
    assert near(pixel(thumbnail, (2, 2)), (*RED, 255), tolerance=60)


# --- transparency ------------------------------------------------------------------------


@pytest.mark.parametrize("name", case_params(["png-alpha", "webp", "avif", "ico"]))
def test_alpha_is_kept(name: str) -> None:
    thumbnail, _ = make_thumbnail(CASES[name].make(), 20, 10)
    assert pixel(thumbnail, (2, 5))[3] < 30  # the transparent half
    assert near(pixel(thumbnail, (17, 5)), (*BLUE, 255))  # the opaque half


@pytest.mark.skipif(not HEIC_OK, reason="no HEVC encoder")
def test_transparency_becomes_white_in_a_jpeg_thumbnail() -> None:
    """A HEIC with alpha has a JPEG thumbnail: the transparent half is white, not the
    red under it."""
    thumbnail, mimetype = make_thumbnail(heic(half_transparent()), 20, 10)
    assert mimetype == "image/jpeg"
    assert near(pixel(thumbnail, (2, 5)), (*WHITE, 255))
    assert near(pixel(thumbnail, (17, 5)), (*BLUE, 255))


def test_gif_transparency_is_kept() -> None:
    im = Image.new("P", (40, 20), 1)
    im.putpalette([*RED, *BLUE])
    im.paste(0, (0, 0, 20, 20))
    data = encode(im, "GIF", transparency=0)
    thumbnail, _ = make_thumbnail(data, 20, 10)
    with Image.open(io.BytesIO(thumbnail)) as out:
        assert out.mode == "P"
        assert out.getpixel((2, 5)) == out.info["transparency"]
    assert pixel(thumbnail, (2, 5))[3] == 0
    assert near(pixel(thumbnail, (17, 5)), (*BLUE, 255))


# --- animation and pages -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "mimetype"),
    [("GIF", "image/gif"), ("WEBP", "image/webp"), ("PNG", "image/png")],
    ids=["gif", "webp", "apng"],
)
def test_animation_gives_its_first_frame(fmt: str, mimetype: str) -> None:
    data = animated(fmt, [RED, BLUE, WHITE], duration=100)
    with Image.open(io.BytesIO(data)) as original:
        assert getattr(original, "n_frames", 1) == 3
    assert probe_image(data) == ImageInfo(mimetype=mimetype, width=40, height=20)
    thumbnail, out_type = make_thumbnail(data, 20, 10)
    assert out_type == mimetype
    with Image.open(io.BytesIO(thumbnail)) as im:
        assert getattr(im, "n_frames", 1) == 1
    assert near(pixel(thumbnail, (10, 5)), (*RED, 255))


def test_pdf_gives_its_first_page_at_72_dpi() -> None:
    pages = [flag((300, 200)), Image.new("RGB", (100, 100), WHITE)]
    data = encode(pages[0], "PDF", resolution=72.0, save_all=True, append_images=pages[1:])
    assert probe_image(data) == ImageInfo(mimetype="application/pdf", width=300, height=200)
    thumbnail, mimetype = make_thumbnail(data, 30, 20)
    assert mimetype == "image/png"
    assert near(pixel(thumbnail, (3, 3)), (*RED, 255))
    assert near(pixel(thumbnail, (27, 17)), (*BLUE, 255))


def test_a_rotated_pdf_page_is_measured_as_shown() -> None:
    import pypdfium2

    document = pypdfium2.PdfDocument(pdf(flag()))
    document[0].set_rotation(90)
    buffer = io.BytesIO()
    document.save(buffer)
    document.close()
    assert probe_image(buffer.getvalue()) == ImageInfo(
        mimetype="application/pdf", width=20, height=40
    )
    thumbnail, _ = make_thumbnail(buffer.getvalue(), 10, 20)
    with Image.open(io.BytesIO(thumbnail)) as im:
        assert im.size == (10, 20)
        assert sum(corners(im)) == 1


# --- SVG ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("width", "height", "extra", "size"),
    [
        ("40", "20", "", (40, 20)),
        ("40px", "20px", "", (40, 20)),
        ("40.5", "20.4", "", (41, 20)),  # rounded half up, as resvg does
        ("1in", "0.5in", "", (96, 48)),  # 96 dpi
        ("2.54cm", "25.4mm", "", (96, 96)),
        ("72pt", "6pc", "", (96, 96)),
        ("100%", "100%", 'viewBox="0 0 400 200"', (400, 200)),
        ("80", "100%", 'viewBox="0 0 400 200"', (80, 40)),
        ("100%", "50", 'viewBox="0,0,400,200"', (100, 50)),
        ("100%", "100%", "", (300, 150)),  # a browser's default size
    ],
)
def test_svg_size(width: str, height: str, extra: str, size: tuple[int, int]) -> None:
    info = probe_image(svg(width=width, height=height, extra=extra))
    assert (info.width, info.height) == size


def test_svg_is_sniffed_past_bom_declaration_comments_and_doctype() -> None:
    body = flag_svg().split(b"-->\n", 1)[1]
    data = (
        b"\xef\xbb\xbf<?xml version='1.0'?>\n  \n<!-- one -->\n"
        b'<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" '
        b'"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd" [ <!ENTITY blue "blue"> ]>\n'
        b"<!-- two -->" + body.replace(b'fill="blue"', b'fill="&blue;"')
    )
    assert probe_image(data).mimetype == "image/svg+xml"
    thumbnail, _ = make_thumbnail(data, 20, 10)
    assert near(pixel(thumbnail, (17, 7)), (*BLUE, 255))
    utf16 = data[3:].decode().replace("<?xml version='1.0'?>", "").encode("utf-16")
    assert probe_image(utf16).mimetype == "image/svg+xml"


def test_svg_is_drawn_at_the_thumbnail_size() -> None:
    """Vector: a 1 px line of a 10x10 drawing is 10 px wide at 100x100, not a blur."""
    data = svg('<rect x="5" width="1" height="10" fill="black"/>', "10", "10")
    thumbnail, _ = make_thumbnail(data, 100, 100)
    row = [pixel(thumbnail, (x, 50))[0] for x in range(45, 65)]
    assert row == [255] * 5 + [0] * 10 + [255] * 5


@pytest.fixture
def red_png(tmp_path: Path) -> Path:
    path = tmp_path / "red.png"
    path.write_bytes(encode(Image.new("RGB", (40, 20), RED), "PNG"))
    return path


def hostile_image(href: str) -> bytes:
    return svg(f'<image {href} x="0" y="0" width="40" height="20"/>')


@pytest.mark.parametrize(
    "href",
    [
        'href="{path}"',
        'xlink:href="{path}"',
        'href="file://{path}"',
        'href="red.png"',  # relative to the working directory
        'href="file:///etc/passwd"',
        'href="/etc/passwd"',
    ],
)
def test_svg_reads_no_local_file(
    href: str, red_png: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An <image> of a local file is not drawn (a file read would show up red)."""
    monkeypatch.chdir(red_png.parent)
    data = hostile_image(href.format(path=red_png))
    thumbnail, _ = make_thumbnail(data, 40, 20)
    assert near(pixel(thumbnail, (20, 10)), (*WHITE, 255), tolerance=0)


def test_svg_data_url_images_are_drawn(red_png: Path) -> None:
    """The control for the test above: an embedded image is drawn."""
    import base64

    url = "data:image/png;base64," + base64.b64encode(red_png.read_bytes()).decode()
    thumbnail, _ = make_thumbnail(hostile_image(f'href="{url}"'), 40, 20)
    assert near(pixel(thumbnail, (20, 10)), (*RED, 255), tolerance=0)


def test_svg_fetches_nothing_from_the_network() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        server.setblocking(False)
        port = server.getsockname()[1]
        for attribute in ("href", "xlink:href"):
            data = hostile_image(f'{attribute}="http://127.0.0.1:{port}/x.png"')
            make_thumbnail(data, 40, 20)
            probe_image(data)
        with pytest.raises(BlockingIOError):
            server.accept()  # nobody connected


@pytest.mark.parametrize(
    ("doctype", "error"),
    [
        ('<!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]>', UnsupportedImageError),
        (
            '<!DOCTYPE svg [<!ENTITY x PUBLIC "-//x" "http://127.0.0.1:1/x">]>',
            UnsupportedImageError,
        ),
        (
            '<!DOCTYPE svg [<!ENTITY % p SYSTEM "http://127.0.0.1:1/x.dtd"> %p;]>',
            UnsupportedImageError,
        ),
        (
            '<!DOCTYPE svg [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">'
            '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;">]>',
            UnsupportedImageError,
        ),
    ],
    ids=["system-entity", "public-entity", "parameter-entity", "billion-laughs"],
)
def test_svg_entities_that_reach_out_or_multiply_are_refused(
    doctype: str, error: type[Exception]
) -> None:
    data = (
        f'<?xml version="1.0"?>{doctype}<svg xmlns="http://www.w3.org/2000/svg" width="4" '
        'height="4"><text>&x;</text></svg>'
    ).encode()
    data = data.replace(b"&x;", b"&d;") if b"ENTITY d" in data else data
    for function in (probe_image, lambda d: make_thumbnail(d, 4, 4)):
        with pytest.raises(error):
            function(data)


def test_svg_use_bomb_is_refused() -> None:
    """<use> of <use> of ...: ten million rectangles from a few hundred bytes."""
    parts = ['<defs><rect id="l0" width="1" height="1"/>']
    for level in range(1, 8):
        parts.append(f'<g id="l{level}">' + f'<use xlink:href="#l{level - 1}"/>' * 10 + "</g>")
    parts.append('</defs><use xlink:href="#l7"/>')
    with pytest.raises(ImageTooLargeError, match="simpler"):
        make_thumbnail(svg("".join(parts)), 40, 20)


def test_svg_nested_too_deep_is_refused() -> None:
    with pytest.raises(UnsupportedImageError, match="nest"):
        probe_image(svg("<g>" * 5000 + "</g>" * 5000))


@pytest.mark.parametrize(
    "data",
    [
        b'<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><rect',
        b'<svg width="4" height="4"/>',  # not in the SVG namespace
        b'<svg xmlns="http://www.w3.org/2000/svg" width="0" height="4"/>',
        b'<svg xmlns="http://www.w3.org/2000/svg" width="-4" height="4"/>',
        b'<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4">&nbsp;</svg>',
        b"<!DOCTYPE html><html><svg></svg></html>",
        b"<svg",
        b'<?xml version="1.0" encoding="no-such-encoding"?><svg xmlns="http://www.w3.org/2000/svg"/>',
    ],
    ids=[
        "unclosed",
        "no-namespace",
        "zero",
        "negative",
        "undefined-entity",
        "html",
        "bare",
        "unknown-encoding",
    ],
)
def test_broken_svg_is_corrupt(data: bytes) -> None:
    with pytest.raises(CorruptImageError):
        probe_image(data)


# --- refused: corrupt, unsupported -------------------------------------------------------


def truncated(data: bytes, keep: float = 0.5) -> bytes:
    return data[: int(len(data) * keep)]


CORRUPT = {
    "empty": lambda: b"",
    "random": lambda: random.Random(1).randbytes(4096),
    "text": lambda: b"hello, world\n" * 10,
    "truncated-jpeg": lambda: truncated(encode(flag((400, 200)), "JPEG")),
    "truncated-png": lambda: truncated(encode(Image.effect_noise((200, 100), 50), "PNG")),
    "truncated-gif": lambda: truncated(encode(Image.effect_noise((200, 100), 50), "GIF")),
    "truncated-webp": lambda: truncated(encode(Image.effect_noise((200, 100), 50), "WEBP")),
    "truncated-tiff": lambda: truncated(encode(Image.effect_noise((200, 100), 50), "TIFF")),
    "truncated-bmp": lambda: truncated(encode(Image.effect_noise((200, 100), 50), "BMP")),
    "truncated-pdf": lambda: truncated(pdf(flag()), 0.3),
    "png-signature-only": lambda: b"\x89PNG\r\n\x1a\n" + b"\x00" * 40,
    "jpeg-signature-only": lambda: b"\xff\xd8\xff\xe0" + b"\x00" * 40,
    "pdf-signature-only": lambda: b"%PDF-1.7\n" + b"garbage " * 20,
    "bad-crc-png": lambda: encode(flag(), "PNG").replace(b"IDAT", b"IDAT\x00", 1),
    "riff-not-webp": lambda: b"RIFF\x10\x00\x00\x00WAVEfmt " + b"\x00" * 16,
}


@pytest.mark.parametrize("name", list(CORRUPT))
def test_corrupt_data_is_refused(name: str) -> None:
    data = CORRUPT[name]()
    with pytest.raises(CorruptImageError):
        probe_image(data)
    with pytest.raises(CorruptImageError):
        make_thumbnail(data, 10, 10)


def test_corrupt_image_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="image data must not be empty"):
        probe_image(b"")


def iso_media(brand: bytes) -> bytes:
    return struct.pack(">I", 24) + b"ftyp" + brand + b"\x00\x00\x00\x00" + brand + b"mp41"


UNSUPPORTED = {
    "eps": lambda: EPS,
    "dos-eps": lambda: b"\xc5\xd0\xd3\xc6" + b"\x00" * 28 + EPS,
    "psd": lambda: b"8BPS\x00\x01" + b"\x00" * 40,
    "jpeg2000": lambda: b"\x00\x00\x00\x0cjP  \r\n\x87\n" + b"\x00" * 40,
    "jpeg-xl": lambda: b"\xff\x0a" + b"\x00" * 40,
    "mp4": lambda: iso_media(b"isom"),
    "svgz": lambda: __import__("gzip").compress(flag_svg()),
    "cur": lambda: b"\x00\x00\x02\x00\x01\x00" + b"\x00" * 40,
}


@pytest.mark.parametrize("name", list(UNSUPPORTED))
def test_unsupported_formats_are_refused(name: str) -> None:
    data = UNSUPPORTED[name]()
    with pytest.raises(UnsupportedImageError):
        probe_image(data)
    with pytest.raises(UnsupportedImageError):
        make_thumbnail(data, 10, 10)


@pytest.mark.skipif(not features.check("jpg_2000"), reason="Pillow has no JPEG 2000")
def test_a_real_jpeg2000_is_refused() -> None:
    with pytest.raises(UnsupportedImageError, match="JPEG 2000"):
        probe_image(encode(flag(), "JPEG2000"))


def test_postscript_never_reaches_ghostscript(monkeypatch: pytest.MonkeyPatch) -> None:
    from PIL import EpsImagePlugin

    with Image.open(io.BytesIO(EPS)) as im:  # Pillow would take it, and run gs to load it
        assert im.format == "EPS"
    calls: list[object] = []

    def no_ghostscript(*args: object, **kwargs: object) -> None:
        calls.append(args)
        raise AssertionError("Ghostscript was called")

    import subprocess

    monkeypatch.setattr(EpsImagePlugin, "Ghostscript", no_ghostscript)
    monkeypatch.setattr(subprocess, "Popen", no_ghostscript)
    monkeypatch.setattr(subprocess, "check_call", no_ghostscript)
    for function in (probe_image, lambda d: make_thumbnail(d, 20, 10)):
        with pytest.raises(UnsupportedImageError, match="PostScript"):
            function(EPS)
    assert calls == []


# --- limits -----------------------------------------------------------------------------


def test_a_decompression_bomb_is_refused_before_it_is_decoded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A 200-byte PNG that claims 100000x100000 (40 GB of pixels): refused from its
    header; no pixel buffer is made and Pillow's own bomb check never goes off."""
    data = png_header_only(100_000, 100_000)
    prepared: list[object] = []
    original = ImageFile.ImageFile.load_prepare

    def spy(self: ImageFile.ImageFile) -> None:
        prepared.append(self)
        original(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load_prepare", spy)
    tracemalloc.start()
    try:
        for function in (probe_image, lambda d: make_thumbnail(d, 100, 100)):
            with pytest.raises(ImageTooLargeError, match="at most 64000000 pixels"):
                function(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert prepared == []  # nothing was allocated for pixels
    assert peak < 1_000_000


def test_max_pixels_is_the_configured_one() -> None:
    limits = ImageLimits(max_pixels=799)
    data = encode(flag(), "PNG")  # 800 pixels
    with pytest.raises(ImageTooLargeError, match="at most 799 pixels, got 40x20"):
        probe_image(data, limits=limits)
    assert probe_image(data, limits=ImageLimits(max_pixels=800)).width == 40


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(gif_with_frame((1, 1), (60000, 60000)), id="over-pillow-error"),
        pytest.param(gif_with_frame((1, 1), (10000, 10000)), id="over-pillow-warning"),
    ],
)
def test_a_gif_frame_larger_than_its_screen_is_refused(data: bytes) -> None:
    """Pillow's own check goes off inside its GIF decoder; neither its error nor its
    warning (an error here: warnings are errors) escapes."""
    with pytest.raises(ImageTooLargeError):
        probe_image(data)


def test_an_icon_hiding_a_huge_png_is_refused() -> None:
    inner = png_header_only(20_000, 20_000)
    directory = struct.pack("<HHH", 0, 1, 1) + struct.pack(
        "<BBBBHHII", 0, 0, 0, 0, 1, 32, len(inner), 22
    )
    with pytest.raises(ImageTooLargeError):
        probe_image(directory + inner, limits=ImageLimits(max_pixels=1_000_000))


def test_a_svg_or_pdf_page_is_limited_by_its_size() -> None:
    limits = ImageLimits(max_pixels=10_000)
    with pytest.raises(ImageTooLargeError):
        probe_image(svg(width="1000", height="1000"), limits=limits)
    with pytest.raises(ImageTooLargeError):
        probe_image(pdf(Image.new("RGB", (200, 100))), limits=limits)


def test_the_thumbnail_is_limited_too() -> None:
    data = encode(flag(), "PNG")
    with pytest.raises(ImageTooLargeError, match="thumbnail"):
        make_thumbnail(data, 100, 100, limits=ImageLimits(max_pixels=9_999))


@pytest.mark.parametrize("how", ["bytes", "file", "unseekable"])
def test_max_bytes(how: str) -> None:
    data = encode(Image.effect_noise((100, 100), 50), "PNG")
    wrap: dict[str, Callable[[], object]] = {
        "bytes": lambda: data,
        "file": lambda: io.BytesIO(data),
        "unseekable": lambda: Unseekable(data),
    }
    with pytest.raises(ImageTooLargeError, match=f"at most {len(data) - 1} bytes"):
        probe_image(wrap[how](), limits=ImageLimits(max_bytes=len(data) - 1))  # type: ignore[arg-type]
    info = probe_image(wrap[how](), limits=ImageLimits(max_bytes=len(data)))  # type: ignore[arg-type]
    assert info.width == 100


@pytest.mark.parametrize("fmt", ["GIF", "WEBP", "PNG"])
def test_max_frames(fmt: str) -> None:
    data = animated(fmt, [RED, BLUE, WHITE, RED, BLUE])
    with pytest.raises(ImageTooLargeError, match="at most 4 frames, got 5"):
        probe_image(data, limits=ImageLimits(max_frames=4))
    with pytest.raises(ImageTooLargeError, match="frames"):
        make_thumbnail(data, 20, 10, limits=ImageLimits(max_frames=4))
    assert probe_image(data, limits=ImageLimits(max_frames=5)).width == 40


# --- missing extras ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("module", "extra", "name"),
    [("resvg_py", "svg", "svg"), ("pypdfium2", "pdf", "pdf"), ("pillow_heif", "heif", "heic")],
)
def test_missing_extra_is_named(
    module: str, extra: str, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    need(CASES[name].available, CASES[name].why)
    data = CASES[name].make()
    monkeypatch.setitem(sys.modules, module, None)
    for function in (probe_image, lambda d: make_thumbnail(d, 20, 10)):
        with pytest.raises(MissingExtraError, match=rf"pip install 'imageattach-core\[{extra}\]'"):
            function(data)
    with pytest.raises(ImportError):  # MissingExtraError is one
        probe_image(data)


# --- thumbnail_size ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "kwargs", "expected"),
    [
        ((400, 300), {"target_width": 100}, (100, 75)),
        ((400, 300), {"target_height": 100}, (133, 100)),
        ((400, 300), {"ratio": 0.5}, (200, 150)),
        ((400, 300), {"ratio": 2}, (800, 600)),  # 1.1.0 scaled up too
        ((405, 640), {"target_width": 100}, (100, 158)),
        ((405, 640), {"target_height": 100}, (63, 100)),
        ((405, 640), {"ratio": 0.5}, (202, 320)),
        ((7, 21), {"target_width": 150}, (150, 449)),  # 21 * (150 / 7), as 1.1.0: not 450
        ((7, 42), {"target_width": 300}, (300, 1799)),
        ((1000, 1), {"target_width": 10}, (10, 1)),  # 0 would be 1.1.0's crash
        ((1, 1000), {"target_height": 10}, (1, 10)),
        ((10, 10), {"ratio": 0.01}, (1, 1)),
    ],
)
def test_thumbnail_size(
    size: tuple[int, int], kwargs: dict[str, float], expected: tuple[int, int]
) -> None:
    assert thumbnail_size(*size, **kwargs) == expected  # type: ignore[arg-type]


def test_thumbnail_size_takes_the_numeric_tower() -> None:
    from fractions import Fraction

    assert thumbnail_size(400, 300, ratio=Fraction(1, 3)) == (133, 100)


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "message"),
    [
        ((400, 300), {}, TypeError, "pass an argument ratio, width, or height"),
        (
            (400, 300),
            {"ratio": 0.5, "target_width": 100},
            TypeError,
            "pass only one argument in ratio, width, or height",
        ),
        ((400, 300), {"target_width": 100.0}, TypeError, "width must be integer, not 100.0"),
        ((400, 300), {"target_width": "100"}, TypeError, "width must be integer, not '100'"),
        ((400, 300), {"target_width": True}, TypeError, "width must be integer, not True"),
        ((400, 300), {"target_width": 0}, ValueError, "width must be natural number, not 0"),
        ((400, 300), {"target_height": -1}, ValueError, "height must be natural number, not -1"),
        ((400, 300), {"ratio": "0.5"}, TypeError, "ratio must be an instance of numbers.Real"),
        ((400, 300), {"ratio": True}, TypeError, "ratio must be an instance of numbers.Real"),
        ((400, 300), {"ratio": 0}, ValueError, "ratio must be a finite number greater than 0"),
        ((400, 300), {"ratio": -0.5}, ValueError, "ratio must be a finite number greater"),
        ((400, 300), {"ratio": float("nan")}, ValueError, "ratio must be a finite number"),
        ((400, 300), {"ratio": float("inf")}, ValueError, "ratio must be a finite number"),
        ((400.0, 300), {"ratio": 1}, TypeError, "the original's width must be an int, got 400.0"),
        ((True, 300), {"ratio": 1}, TypeError, "the original's width must be an int, got True"),
        ((400, 0), {"ratio": 1}, ValueError, "the original's height must be at least 1, got 0"),
    ],
)
def test_thumbnail_size_errors(
    args: tuple[object, ...], kwargs: dict[str, object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message.replace("(", r"\(").replace(".", r"\.")):
        thumbnail_size(*args, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("width", "height", "error"),
    [(0, 10, ValueError), (10, -1, ValueError), (True, 10, TypeError), (10, 2.5, TypeError)],
)
def test_make_thumbnail_checks_its_size(width: object, height: object, error: type) -> None:
    with pytest.raises(error, match="must be"):
        make_thumbnail(encode(flag(), "PNG"), width, height)  # type: ignore[arg-type]


# --- ImageLimits and ImageInfo -------------------------------------------------------------


def test_default_limits() -> None:
    assert (
        ImageLimits(max_bytes=64 * 1024 * 1024, max_pixels=64_000_000, max_frames=1000)
        == DEFAULT_LIMITS
    )


@pytest.mark.parametrize("field", ["max_bytes", "max_pixels", "max_frames"])
@pytest.mark.parametrize("value", [0, -1, True, 1.5, "10", None])
def test_limits_must_be_positive_ints(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=f"{field} must be a positive int, got {value!r}"):
        ImageLimits(**{field: value})  # type: ignore[arg-type]


def test_limits_are_frozen_keyword_only_values() -> None:
    limits = ImageLimits(max_frames=1)
    with pytest.raises(AttributeError):
        limits.max_frames = 2  # type: ignore[misc]
    with pytest.raises(TypeError):
        ImageLimits(1, 2, 3)  # type: ignore[misc]
    assert limits == ImageLimits(max_frames=1)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"mimetype": "png", "width": 1, "height": 1}, "mimetype must be a str such as"),
        ({"mimetype": "image/png", "width": 0, "height": 1}, "width must be a positive int"),
        ({"mimetype": "image/png", "width": 1, "height": True}, "height must be a positive int"),
    ],
)
def test_image_info_is_checked(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ImageInfo(**kwargs)  # type: ignore[arg-type]


# --- any bytes at all ----------------------------------------------------------------------

MAGIC = [
    b"",
    b"\xff\xd8\xff",
    b"\x89PNG\r\n\x1a\n",
    b"GIF89a",
    b"RIFF\x00\x00\x00\x00WEBP",
    b"BM",
    b"II*\x00",
    b"MM\x00*",
    b"\x00\x00\x01\x00",
    b"\x00\x00\x00\x18ftypavif",
    b"\x00\x00\x00\x18ftypheic",
    b"%PDF-1.4\n",
    b'<svg xmlns="http://www.w3.org/2000/svg"',
    b"<?xml version='1.0'?><!DOCTYPE svg [",
]
SEEDS = [CASES[name].make() for name in CASES if CASES[name].available and name != "avif"]


def accepted_or_refused(data: bytes) -> None:
    """Any data: an ImageInfo, or one of our errors; never another exception."""
    try:
        info = probe_image(data, limits=ImageLimits(max_pixels=4_000_000))
    except (InvalidImageError, MissingExtraError):
        return
    assert isinstance(info, ImageInfo)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(MAGIC), st.binary(max_size=2048))
def test_probe_survives_any_bytes(magic: bytes, tail: bytes) -> None:
    accepted_or_refused(magic + tail)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(SEEDS),
    st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=8),
    st.integers(0, 10**6),
)
def test_probe_survives_damaged_images(
    seed: bytes, changes: list[tuple[int, int]], cut: int
) -> None:
    damaged = bytearray(seed)
    for position, value in changes:
        damaged[position % len(damaged)] = value
    accepted_or_refused(bytes(damaged[: max(1, cut % (len(damaged) + 1))]))
