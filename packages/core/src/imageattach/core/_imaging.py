"""Reading images: what they are, how large, and their thumbnails (Pillow).

:func:`probe_image` tells the type and size of an image from its bytes, and
:func:`make_thumbnail` resizes one; :func:`thumbnail_size` is 1.1.0's arithmetic for
the size of a thumbnail.  A name or a declared type never counts: the bytes are
sniffed, then opened by the one decoder of that format, and formats outside the
table below are refused without any decoder seeing them (so PostScript never reaches
Ghostscript).  The limits of :class:`ImageLimits` are checked on the header, before
anything is decoded.

======================  ==============================  =====================
the bytes are           :attr:`ImageInfo.mimetype`      the thumbnail is
======================  ==============================  =====================
JPEG (and MPO)          ``image/jpeg``                  JPEG
PNG (and APNG)          ``image/png``                   PNG
GIF                     ``image/gif``                   GIF
WebP                    ``image/webp``                  WebP
AVIF                    ``image/avif``                  AVIF
BMP                     ``image/bmp``                   PNG
TIFF                    ``image/tiff``                  PNG
ICO                     ``image/vnd.microsoft.icon``    PNG
HEIC / HEIF [heif]      ``image/heic``, ``image/heif``  JPEG
SVG [svg]               ``image/svg+xml``               PNG
PDF, page 1 [pdf]       ``application/pdf``             PNG
======================  ==============================  =====================

Formats marked [extra] need that extra installed (``pip install
'imageattach-core[svg]'``); without it they raise :exc:`MissingExtraError`.  Of an
animated image (GIF, WebP, APNG, AVIF) only the first frame is read and thumbnailed,
as 1.1.0 did.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import io
import math
import numbers
import re
import threading
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import MappingProxyType, ModuleType
from typing import IO, Any, Final, NamedTuple
from xml.etree.ElementTree import Element, TreeBuilder, tostring
from xml.parsers import expat

from PIL import Image, ImageFile
from PIL import __version__ as _pillow_version

from ._errors import (
    ConfigurationError,
    CorruptImageError,
    ImageTooLargeError,
    InvalidImageError,
    MissingExtraError,
    UnsupportedImageError,
)

__all__ = [
    "DEFAULT_LIMITS",
    "ImageInfo",
    "ImageLimits",
    "make_thumbnail",
    "probe_image",
    "thumbnail_size",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class ImageLimits:
    """What an image may take before it is decoded; over any of them it is refused
    with :exc:`ImageTooLargeError`.

    ``max_pixels`` is width times height of the image as decoded: the first frame of
    an animated image, the rasterized page of a PDF or SVG, and also of the thumbnail
    asked for.  ``max_frames`` counts the frames of an animated image.
    """

    #: Size of the encoded data, in bytes.
    max_bytes: int = 64 * 1024 * 1024
    #: Width times height.
    max_pixels: int = 64_000_000
    #: Frames of an animated image.
    max_frames: int = 1000

    def __post_init__(self) -> None:
        for name in ("max_bytes", "max_pixels", "max_frames"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigurationError(f"{name} must be a positive int, got {value!r}")


#: The limits used when none are given: 64 MiB, 64 megapixels, 1000 frames.
DEFAULT_LIMITS: Final = ImageLimits()


@dataclass(frozen=True, slots=True, kw_only=True)
class ImageInfo:
    """The type and the size of an image, as :func:`probe_image` read them."""

    #: The media type, one :func:`~imageattach.core.guess_extension` knows.
    mimetype: str
    #: The size as displayed: for an image with an EXIF orientation of 5 to 8 (turned
    #: by a quarter), the width is that of the pixels' height.
    width: int
    height: int

    def __post_init__(self) -> None:
        if not isinstance(self.mimetype, str) or "/" not in self.mimetype:
            raise ValueError(f"mimetype must be a str such as 'image/png', got {self.mimetype!r}")
        for name in ("width", "height"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")


# --- the tables ------------------------------------------------------------------------


class _Format(NamedTuple):
    """One readable format: its media type, the format of its thumbnails, and how it
    is opened (a Pillow format name, ``SVG`` or ``PDF``)."""

    mimetype: str
    output: str
    opener: str


#: Every format that is read, by the name :func:`_sniff` gives it.
_FORMATS: Final = MappingProxyType(
    {
        "JPEG": _Format("image/jpeg", "JPEG", "JPEG"),
        "PNG": _Format("image/png", "PNG", "PNG"),
        "GIF": _Format("image/gif", "GIF", "GIF"),
        "WEBP": _Format("image/webp", "WEBP", "WEBP"),
        "AVIF": _Format("image/avif", "AVIF", "AVIF"),
        "BMP": _Format("image/bmp", "PNG", "BMP"),
        "TIFF": _Format("image/tiff", "PNG", "TIFF"),
        "ICO": _Format("image/vnd.microsoft.icon", "PNG", "ICO"),
        # browsers do not show HEIC: its thumbnails are JPEG
        "HEIC": _Format("image/heic", "JPEG", "HEIF"),
        "HEIF": _Format("image/heif", "JPEG", "HEIF"),
        "SVG": _Format("image/svg+xml", "PNG", "SVG"),
        "PDF": _Format("application/pdf", "PNG", "PDF"),
    }
)

#: Leading bytes of the formats read by Pillow (AVIF and HEIF are told by their brand).
_SIGNATURES: Final = (
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"II+\x00", "TIFF"),  # BigTIFF
    (b"MM\x00+", "TIFF"),
    (b"\x00\x00\x01\x00", "ICO"),
)

#: Leading bytes of formats that are recognised, and refused: UnsupportedImageError.
#: Anything else that is not in _SIGNATURES, SVG or PDF is CorruptImageError.
_REFUSED_SIGNATURES: Final = (
    (b"%!PS", "PostScript/EPS"),
    (b"\xc5\xd0\xd3\xc6", "EPS"),
    (b"8BPS", "Photoshop (PSD)"),
    (b"\x00\x00\x00\x0cjP  \r\n\x87\n", "JPEG 2000"),
    (b"\xff\x4f\xff\x51", "JPEG 2000"),
    (b"\x00\x00\x00\x0cJXL \r\n\x87\n", "JPEG XL"),
    (b"\xff\x0a", "JPEG XL"),
    (b"\x00\x00\x02\x00", "Windows cursor (CUR)"),
    (b"icns", "Apple icon (ICNS)"),
    (b"DDS ", "DirectDraw Surface (DDS)"),
    (b"qoif", "QOI"),
    (b"gimp xcf", "GIMP (XCF)"),
    (b"\xd7\xcd\xc6\x9a", "Windows Metafile (WMF)"),
    (b"\x76\x2f\x31\x01", "OpenEXR"),
    (b"SIMPLE  =", "FITS"),
    (b"\x1f\x8b", "gzip-compressed data (SVGZ?)"),
)

#: ISO-BMFF ``ftyp`` brands: AVIF is looked for first (an AVIF file may list mif1 too).
_AVIF_BRANDS: Final = frozenset({b"avif", b"avis"})
_HEIC_BRANDS: Final = frozenset(
    {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"}
)
_HEIF_BRANDS: Final = frozenset({b"mif1", b"msf1", b"mif2"})

#: Media type of each thumbnail format.
_OUTPUT_MIMETYPES: Final = MappingProxyType(
    {
        "JPEG": "image/jpeg",
        "PNG": "image/png",
        "GIF": "image/gif",
        "WEBP": "image/webp",
        "AVIF": "image/avif",
    }
)

#: EXIF orientation to the transpose that shows the image upright, as
#: :func:`PIL.ImageOps.exif_transpose` applies them.
_TRANSPOSES: Final = MappingProxyType(
    {
        2: Image.Transpose.FLIP_LEFT_RIGHT,
        3: Image.Transpose.ROTATE_180,
        4: Image.Transpose.FLIP_TOP_BOTTOM,
        5: Image.Transpose.TRANSPOSE,
        6: Image.Transpose.ROTATE_270,
        7: Image.Transpose.TRANSVERSE,
        8: Image.Transpose.ROTATE_90,
    }
)
_ORIENTATION_TAG: Final = 0x0112
_QUARTER_TURNS: Final = frozenset({5, 6, 7, 8})

#: Encoder settings of each thumbnail format; none of them writes a timestamp, so the
#: same input and size give the same bytes.  JPEG's optimized Huffman tables cost 0.3 ms
#: for a 300 px thumbnail and save 4%; PNG's level 6 (zlib's default) is 15% smaller
#: than level 3; its zlib strategy is chosen per thumbnail (:func:`_png_strategy`).
_ENCODER_OPTIONS: Final = MappingProxyType(
    {
        "JPEG": MappingProxyType({"quality": 85, "optimize": True}),
        "PNG": MappingProxyType({"compress_level": 6}),
        "GIF": MappingProxyType({}),
        "WEBP": MappingProxyType({"quality": 85}),
        "AVIF": MappingProxyType({"quality": 75}),
    }
)
#: Formats that carry an ICC profile (Pillow writes none into GIF).
_ICC_FORMATS: Final = frozenset({"JPEG", "PNG", "WEBP", "AVIF"})

#: A JPEG is DCT-scaled to at least this many times the thumbnail before resizing,
#: and a resize first reduces by whole factors down to this many times (Pillow's
#: ``reducing_gap``): the LANCZOS step then works on 2x-3x its output.
_DRAFT_GAP: Final = 2.0
_REDUCING_GAP: Final = 3.0
#: probe_image() rasterizes SVG and PDF this small to check they render.
_PROBE_SIDE: Final = 64
#: An SVG nested deeper than this is refused (real drawings stay far below).
_MAX_SVG_DEPTH: Final = 256
_SVG_SNIFF_BYTES: Final = 1 << 20
_READ_CHUNK: Final = 1 << 20

_EXTRAS: Final = MappingProxyType({"resvg_py": "svg", "pypdfium2": "pdf", "pillow_heif": "heif"})


# --- public functions ------------------------------------------------------------------


def probe_image(data: bytes | IO[bytes], *, limits: ImageLimits = DEFAULT_LIMITS) -> ImageInfo:
    """The type and size of the image in ``data``: bytes, or a binary file read from
    its current position to its end (and left open).

    The type comes from the bytes, never from a name or a declared type.  The header
    alone is read first and the limits checked on it; then the image is decoded (the
    first frame of an animated one; a JPEG at 1/8 scale, which still decodes all its
    data), so a truncated or damaged file is refused here, not when its thumbnail is
    made.

    :raises ImageTooLargeError: over ``limits``: more bytes, pixels or frames.
    :raises UnsupportedImageError: a format recognised but not read (PostScript/EPS,
        PSD, JPEG 2000, JPEG XL, CUR, SVGZ, a video...), an encrypted PDF, an SVG
        with external or nested entities or nested more than 256 deep.
    :raises CorruptImageError: the bytes are empty, in no format recognised, or are
        damaged or truncated.
    :raises MissingExtraError: the bytes are SVG, PDF or HEIC/HEIF and the extra that
        reads them is not installed; the message names it.
    """
    blob = _read(data, limits)
    fmt = _sniff(blob)
    if fmt == "SVG":
        svg = _parse_svg(blob, limits)
        _render_svg(svg, *_fit(svg.width, svg.height, _PROBE_SIDE))
        width, height = svg.width, svg.height
    elif fmt == "PDF":
        with _PdfPage(blob) as page:
            width, height = page.size(limits)
            page.render(*_fit(width, height, _PROBE_SIDE))
    else:
        with _open_pillow(blob, fmt, limits) as im:
            width, height = im.size
            if im.format in {"JPEG", "MPO"}:
                im.draft(None, (1, 1))  # 1/8 scale: all the entropy-coded data is still read
            _load(im, limits)
            if _orientation(im) in _QUARTER_TURNS:
                width, height = height, width
    return ImageInfo(mimetype=_FORMATS[fmt].mimetype, width=width, height=height)


def thumbnail_size(
    width: int,
    height: int,
    *,
    ratio: float | None = None,
    target_width: int | None = None,
    target_height: int | None = None,
) -> tuple[int, int]:
    """The size of the thumbnail of a ``width`` x ``height`` image, as 1.1.0's
    ``generate_thumbnail()`` computed it from exactly one of ``ratio``, ``target_width``
    and ``target_height``; the other side keeps the aspect ratio, rounded down.

    A side that would be 0 is 1 (1.1.0 failed there).

    >>> thumbnail_size(400, 300, target_width=100)
    (100, 75)
    >>> thumbnail_size(400, 300, target_height=100)
    (133, 100)
    >>> thumbnail_size(400, 300, ratio=0.5)
    (200, 150)
    >>> thumbnail_size(1000, 1, target_width=10)
    (10, 1)

    :raises TypeError: none or more than one of them given; a side not an int.
    :raises ValueError: a side under 1; ``ratio`` not a finite number above 0.
    """
    _check_side("the original's width", width)
    _check_side("the original's height", height)
    given = sum(p is not None for p in (ratio, target_width, target_height))
    if not given:
        raise TypeError("pass an argument ratio, width, or height")
    if given > 1:
        raise TypeError(
            "pass only one argument in ratio, width, or height; these parameters are "
            "exclusive for each other"
        )
    # 1.1.0's expressions exactly (h * (w2 / w), not h * w2 / w: they round apart), so
    # the sizes of thumbnails 1.1.0 stored are found again
    if target_width is not None:
        _check_target("width", target_width)
        new_width, new_height = int(target_width), int(height * (target_width / width))
    elif target_height is not None:
        _check_target("height", target_height)
        new_width, new_height = int(width * (target_height / height)), int(target_height)
    else:
        if isinstance(ratio, bool) or not isinstance(ratio, int | float | numbers.Real):
            raise TypeError("ratio must be an instance of numbers.Real, not " + repr(ratio))
        if not (math.isfinite(ratio) and ratio > 0):
            raise ValueError(f"ratio must be a finite number greater than 0, got {ratio!r}")
        new_width, new_height = int(width * ratio), int(height * ratio)
    return max(new_width, 1), max(new_height, 1)


def make_thumbnail(
    data: bytes | IO[bytes],
    width: int,
    height: int,
    *,
    limits: ImageLimits = DEFAULT_LIMITS,
) -> tuple[bytes, str]:
    """Resize the image in ``data`` to exactly ``width`` x ``height`` (computed with
    :func:`thumbnail_size`, so the aspect ratio is kept); return the encoded thumbnail
    and its media type.

    * The size is that of the image as displayed: its EXIF orientation is applied.
    * The thumbnail keeps the format where browsers show it, else becomes PNG (BMP,
      TIFF, ICO, SVG, PDF) or JPEG (HEIC/HEIF): see the module's table.  Transparency
      is kept where the format has it (PNG, WebP and AVIF alpha; GIF's transparent
      index); a JPEG thumbnail of a transparent image is laid on white.  Of an animated
      image, the first frame; of a PDF, the first page.
    * It carries no metadata (EXIF, XMP, comments, text chunks, timestamps) but the
      colour profile (ICC), where the format has one and it fits the thumbnail's
      colours; CMYK becomes RGB, through the profile when there is one.
    * The same data and size always give the same bytes.
    * A JPEG is decoded DCT-scaled to at least twice the thumbnail (``draft``), an image
      reduced by whole factors to three times it, and the last step is LANCZOS.  SVG and
      PDF are rasterized at the thumbnail's size directly.

    :raises ImageTooLargeError: the data is over ``limits``, or the thumbnail would be
        more than ``limits.max_pixels``.
    :raises UnsupportedImageError: see :func:`probe_image`.
    :raises CorruptImageError: see :func:`probe_image`.
    :raises MissingExtraError: see :func:`probe_image`.
    """
    _check_side("width", width)
    _check_side("height", height)
    if width * height > limits.max_pixels:
        raise ImageTooLargeError(
            f"a thumbnail must have at most {limits.max_pixels} pixels, got {width}x{height}"
        )
    blob = _read(data, limits)
    fmt = _sniff(blob)
    output = _FORMATS[fmt].output
    if fmt == "SVG":
        thumbnail, icc = _open_png(_render_svg(_parse_svg(blob, limits), width, height)), None
    elif fmt == "PDF":
        with _PdfPage(blob) as page:
            page.size(limits)
            thumbnail, icc = page.render(width, height), None
    else:
        thumbnail, icc = _resize_pillow(blob, fmt, width, height, limits)
    return _encode(thumbnail, output, icc), _OUTPUT_MIMETYPES[output]


# --- reading and sniffing --------------------------------------------------------------


def _check_side(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be at least 1, got {value!r}")


def _check_target(name: str, value: object) -> None:
    """1.1.0's checks of generate_thumbnail()'s width or height, with its messages."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be integer, not " + repr(value))
    if value < 1:
        raise ValueError(f"{name} must be natural number, not " + repr(value))


def _read(data: bytes | IO[bytes], limits: ImageLimits) -> bytes:
    """The bytes of ``data``, at most ``limits.max_bytes`` of them, never empty."""
    if isinstance(data, bytes | bytearray | memoryview):
        blob = bytes(data)
    else:
        blob = _read_file(data, limits.max_bytes)
    if len(blob) > limits.max_bytes:
        raise ImageTooLargeError(
            f"image data must be at most {limits.max_bytes} bytes, got {len(blob)}"
        )
    if not blob:
        raise CorruptImageError("image data must not be empty, got b''")
    return blob


def _read_file(file: IO[bytes], max_bytes: int) -> bytes:
    read = getattr(file, "read", None)
    if not callable(read):
        raise TypeError(f"data must be bytes or a readable binary file, got {file!r}")
    remaining = None
    try:
        if file.seekable():
            position = file.tell()
            remaining = file.seek(0, io.SEEK_END) - position
            file.seek(position)
    except (AttributeError, OSError, ValueError):
        remaining = None
    if remaining is not None and remaining > max_bytes:
        raise ImageTooLargeError(f"image data must be at most {max_bytes} bytes, got {remaining}")
    chunks: list[bytes] = []
    total = 0
    while total <= max_bytes:
        want = remaining if remaining and not chunks else _READ_CHUNK  # one read if known
        chunk = read(min(want, max_bytes + 1 - total))
        if not chunk:
            break
        if not isinstance(chunk, bytes | bytearray):
            raise TypeError(f"data must be a binary file, its read() gave {type(chunk)!r}")
        chunks.append(bytes(chunk))
        total += len(chunk)
    if total > max_bytes:
        raise ImageTooLargeError(
            f"image data must be at most {max_bytes} bytes, got more than {max_bytes}"
        )
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _sniff(blob: bytes) -> str:
    """The name in :data:`_FORMATS` of the format of ``blob``, told by its bytes alone."""
    if blob.startswith(b"%PDF-"):
        return "PDF"
    if blob[4:8] == b"ftyp":
        return _sniff_iso_bmff(blob)
    for signature, name in _REFUSED_SIGNATURES:
        if blob.startswith(signature):
            raise UnsupportedImageError(f"image data must be in a supported format, got {name}")
    if blob.startswith(b"RIFF") and blob[8:12] == b"WEBP":
        return "WEBP"
    for signature, name in _SIGNATURES:
        if blob.startswith(signature):
            return name
    if _looks_like_svg(blob):
        return "SVG"
    raise CorruptImageError(
        f"image data must be an image in a supported format, got data starting {blob[:16]!r}"
    )


def _sniff_iso_bmff(blob: bytes) -> str:
    size = int.from_bytes(blob[:4], "big")
    end = min(size if size >= 16 else 16, len(blob), 4096)
    brands = {blob[8:12]} | {blob[i : i + 4] for i in range(16, end - 3, 4)}
    if brands & _AVIF_BRANDS:
        return "AVIF"
    if brands & _HEIC_BRANDS:
        return "HEIC"
    if brands & _HEIF_BRANDS:
        return "HEIF"
    raise UnsupportedImageError(
        f"image data must be in a supported format, got an ISO media file of brand "
        f"{blob[8:12]!r} (a video?)"
    )


_SVG_ROOT: Final = re.compile(r"<(?:[A-Za-z_][\w.-]*:)?svg[\s/>]")
_DOCTYPE_END: Final = re.compile(r"\]\s*>")


def _looks_like_svg(blob: bytes) -> bool:
    """Whether the first element is ``<svg>``, after an optional BOM, whitespace, XML
    declaration, processing instructions, comments and doctype."""
    head = blob[:_SVG_SNIFF_BYTES]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = head.decode("utf-16", errors="ignore")
    else:
        text = head.decode("utf-8", errors="ignore")
    text = text.lstrip("\ufeff")
    pos = 0
    while True:
        while pos < len(text) and text[pos] in " \t\r\n":
            pos += 1
        if text.startswith("<?", pos):
            end = text.find("?>", pos + 2)
            pos = -1 if end < 0 else end + 2
        elif text.startswith("<!--", pos):
            end = text.find("-->", pos + 4)
            pos = -1 if end < 0 else end + 3
        elif text.startswith("<!DOCTYPE", pos):
            close = text.find(">", pos)
            bracket = text.find("[", pos)
            if 0 <= bracket < close or (bracket >= 0 and close < 0):
                match = _DOCTYPE_END.search(text, bracket)
                pos = -1 if match is None else match.end()
            else:
                pos = -1 if close < 0 else close + 1
        else:
            return _SVG_ROOT.match(text, pos) is not None
        if pos < 0:
            return False


def _extra(module: str) -> ModuleType:
    """Import an optional dependency, or say which extra installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        extra = _EXTRAS[module]
        raise MissingExtraError(
            f"reading {extra.upper()} images needs the extra {extra!r}: "
            f"pip install 'imageattach-core[{extra}]' (the module {module!r} is missing)"
        ) from exc


# --- Pillow ----------------------------------------------------------------------------

#: Pillow's own checks, which may go off inside a decoder before ours can (an ICO's PNG,
#: a GIF frame wider than its screen); with warnings as errors the warning is raised.
_PILLOW_BOMBS: Final = (Image.DecompressionBombError, Image.DecompressionBombWarning)
_PILLOW_PLUGINS: Final = MappingProxyType(
    {
        "JPEG": "PIL.JpegImagePlugin",
        "PNG": "PIL.PngImagePlugin",
        "GIF": "PIL.GifImagePlugin",
        "WEBP": "PIL.WebPImagePlugin",
        "AVIF": "PIL.AvifImagePlugin",
        "BMP": "PIL.BmpImagePlugin",
        "TIFF": "PIL.TiffImagePlugin",
        "ICO": "PIL.IcoImagePlugin",
    }
)
_heif_lock = threading.Lock()
_heif_registered = False

_Factory = Callable[[IO[bytes], str], ImageFile.ImageFile]


def _factory(opener: str) -> _Factory:
    """Pillow's opener of one format, found without trying any other format's."""
    global _heif_registered  # noqa: PLW0603 -- registered once, on first need
    if opener == "HEIF":
        pillow_heif = _extra("pillow_heif")
        with _heif_lock:
            if not _heif_registered:
                pillow_heif.register_heif_opener()
                _heif_registered = True
    elif opener not in Image.OPEN:
        with contextlib.suppress(ImportError):  # Pillow < 11.2 has no AVIF plugin
            importlib.import_module(_PILLOW_PLUGINS[opener])
    try:
        factory: _Factory = Image.OPEN[opener][0]
    except KeyError:
        raise UnsupportedImageError(
            f"image data must be in a format this Pillow reads, got {opener} "
            f"(Pillow {_pillow_version} was built without it)"
        ) from None
    return factory


def _too_large(limits: ImageLimits, exc: BaseException) -> ImageTooLargeError:
    return ImageTooLargeError(
        f"an image must have at most {limits.max_pixels} pixels, got more ({exc})"
    )


@contextlib.contextmanager
def _read_by_pillow(fmt: str, limits: ImageLimits) -> Iterator[None]:
    """Pillow's errors while it reads a header, as ours: a bomb is too large, the rest corrupt."""
    try:
        yield
    except _PILLOW_BOMBS as exc:
        raise _too_large(limits, exc) from None
    except MemoryError:
        raise
    except Exception as exc:
        raise CorruptImageError(f"image data must be a readable {fmt}: {exc}") from None


def _open_pillow(blob: bytes, fmt: str, limits: ImageLimits) -> ImageFile.ImageFile:
    """Open ``blob`` lazily with the one Pillow plugin of ``fmt``; check the limits."""
    factory = _factory(_FORMATS[fmt].opener)
    if fmt == "ICO":
        _check_ico(blob, limits)  # Pillow decodes an icon as it opens it
    with _read_by_pillow(fmt, limits):
        # not Image.open(): it tries other plugins, and its own bomb check warns first
        im = factory(io.BytesIO(blob), "")
    try:
        _check_pixels(im.size, limits)
        with _read_by_pillow(fmt, limits):
            frames = getattr(im, "n_frames", 1)
        if frames > limits.max_frames:
            raise ImageTooLargeError(
                f"an image must have at most {limits.max_frames} frames, got {frames}"
            )
    except BaseException:
        im.close()
        raise
    return im


def _check_pixels(size: tuple[int, int], limits: ImageLimits) -> None:
    width, height = size
    if width * height > limits.max_pixels:
        raise ImageTooLargeError(
            f"an image must have at most {limits.max_pixels} pixels, got {width}x{height}"
        )


def _check_ico(blob: bytes, limits: ImageLimits) -> None:
    """Check the icons in an ICO's directory, whose PNG ones may be of any size."""
    count = int.from_bytes(blob[4:6], "little")
    for index in range(count):
        entry = blob[6 + 16 * index : 22 + 16 * index]
        if len(entry) < 16:
            break
        offset = int.from_bytes(entry[12:16], "little")
        if blob[offset : offset + 8] == b"\x89PNG\r\n\x1a\n":
            header = blob[offset + 16 : offset + 24]
            if len(header) == 8:
                size = (int.from_bytes(header[:4], "big"), int.from_bytes(header[4:], "big"))
                _check_pixels(size, limits)


def _load(im: ImageFile.ImageFile, limits: ImageLimits) -> None:
    try:
        im.load()
    except _PILLOW_BOMBS as exc:
        raise _too_large(limits, exc) from None
    except MemoryError:
        raise
    except Exception as exc:
        raise CorruptImageError(
            f"image data must be a complete, readable {im.format}: {exc}"
        ) from None


def _orientation(im: Image.Image) -> int:
    """The EXIF orientation (1 to 8) that :func:`PIL.ImageOps.exif_transpose` would apply;
    1 when there is none or it cannot be read (bad metadata does not refuse an image)."""
    try:
        value = im.getexif().get(_ORIENTATION_TAG, 1)
    except Exception:
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _resize_pillow(
    blob: bytes, fmt: str, width: int, height: int, limits: ImageLimits
) -> tuple[Image.Image, bytes | None]:
    """The first frame of ``blob``, upright and resized to ``width`` x ``height``, in
    mode L, LA, RGB or RGBA; and the ICC profile to keep with it."""
    with _open_pillow(blob, fmt, limits) as im:
        jpeg = im.format in {"JPEG", "MPO"}
        orientation = _orientation(im) if jpeg else 1
        stored = (height, width) if orientation in _QUARTER_TURNS else (width, height)
        if jpeg:  # DCT scaling: libjpeg decodes at 1/2, 1/4 or 1/8 straight away
            im.draft(None, (int(stored[0] * _DRAFT_GAP), int(stored[1] * _DRAFT_GAP)))
        _load(im, limits)
        if not jpeg:
            orientation = _orientation(im)  # a PNG's eXIf may follow its pixels
            stored = (height, width) if orientation in _QUARTER_TURNS else (width, height)
        plan = _plan(im)
        frame = _resize(im, plan, stored)
    transpose = _TRANSPOSES.get(orientation)
    if transpose is not None:  # on the thumbnail: the same pixels, fewer of them
        frame = frame.transpose(transpose)
    return frame, plan.icc


class _Plan(NamedTuple):
    """How to make a thumbnail of an image: in which mode, with which profile, and how
    a region of the image is converted to that mode."""

    mode: str  # L, LA, RGB or RGBA
    icc: bytes | None  # the profile that still describes the thumbnail's colours
    convert: Callable[[Image.Image], Image.Image]


def _icc_space(icc: bytes | None) -> bytes | None:
    return icc[16:20] if icc and len(icc) >= 128 else None


def _to(mode: str) -> Callable[[Image.Image], Image.Image]:
    return lambda region: region.convert(mode)


def _plan(im: Image.Image) -> _Plan:
    """Thumbnails are made in L, LA, RGB or RGBA (alpha only where the image has
    transparency); CMYK becomes RGB, 16-bit and float grey become 8-bit."""
    icc = im.info.get("icc_profile") or None
    mode = im.mode
    transparent = "transparency" in im.info
    convert: Callable[[Image.Image], Image.Image]
    if (mode in {"L", "RGB"} and not transparent) or mode in {"LA", "RGBA"}:
        out, convert = mode, _same
    elif mode in {"1", "L", "RGB"}:
        out = "LA" if transparent and mode != "RGB" else "RGBA" if transparent else "L"
        convert = _to(out)
    elif mode in {"P", "PA"}:
        out = "RGBA" if transparent or mode == "PA" else "RGB"
        convert = _to(out)
    elif mode == "CMYK":
        out, icc, convert = "RGB", None, _cmyk_to_rgb(icc)
    elif mode.startswith("I;16") or mode in {"I", "F"}:
        high = im.getextrema()[1]
        scale = 1 / 256 if mode.startswith("I;16") else 255 / max(float(high), 255.0)  # type: ignore[arg-type]
        wide = mode.startswith("I;16")

        def convert(region: Image.Image) -> Image.Image:
            region = region.convert("I") if wide else region
            return region.point(lambda value: value * scale).convert("L")

        out = "L"
    elif mode in {"La", "RGBa"}:
        out = "LA" if mode == "La" else "RGBA"
        convert = _to(out)
    else:
        out = "RGBA" if "A" in mode else "RGB"
        convert = _to(out)
    expected = b"GRAY" if out in {"L", "LA"} else b"RGB "
    return _Plan(out, icc if _icc_space(icc) == expected else None, convert)


def _same(region: Image.Image) -> Image.Image:
    return region


def _cmyk_to_rgb(icc: bytes | None) -> Callable[[Image.Image], Image.Image]:
    """CMYK to sRGB through the image's own profile when it has a CMYK one (the result
    is untagged sRGB, what browsers assume), else Pillow's plain conversion."""
    if _icc_space(icc) == b"CMYK":
        try:
            image_cms = importlib.import_module("PIL.ImageCms")  # needs littleCMS
            assert icc is not None
            transform = image_cms.buildTransform(
                image_cms.ImageCmsProfile(io.BytesIO(icc)),
                image_cms.createProfile("sRGB"),
                "CMYK",
                "RGB",
            )
        except Exception:  # no littleCMS, or a profile it cannot use: the plain way
            transform = None
        if transform is not None:
            return lambda region: image_cms.applyTransform(region, transform)
    return _to("RGB")


#: Rows of the original converted at a time when reducing (a band of a 4000 px wide
#: RGBA image is 4 MB): the whole image is never copied.
_BAND_ROWS: Final = 256
_PREMULTIPLIED: Final = MappingProxyType({"LA": "La", "RGBA": "RGBa"})


def _resize(im: Image.Image, plan: _Plan, size: tuple[int, int]) -> Image.Image:
    """``im`` in ``plan.mode`` at ``size``: what ``convert(mode).resize(size, LANCZOS,
    reducing_gap=3.0)`` gives, band by band, so no full-size copy is ever made (alpha is
    premultiplied for the filters, as Pillow does)."""
    working = _PREMULTIPLIED.get(plan.mode, plan.mode)

    def prepare(region: Image.Image) -> Image.Image:
        converted = plan.convert(region)
        return converted.convert(working) if working != plan.mode else converted

    width, height = im.size
    factor_x = int(width / size[0] / _REDUCING_GAP) or 1  # Pillow's reducing_gap rule
    factor_y = int(height / size[1] / _REDUCING_GAP) or 1
    if factor_x > 1 or factor_y > 1:
        reduced = Image.new(working, (-(-width // factor_x), -(-height // factor_y)))
        band = factor_y * max(1, _BAND_ROWS // factor_y)
        for top in range(0, height, band):
            region = im.crop((0, top, width, min(top + band, height)))
            reduced.paste(prepare(region).reduce((factor_x, factor_y)), (0, top // factor_y))
        box = (0.0, 0.0, width / factor_x, height / factor_y)
        out = reduced.resize(size, Image.Resampling.LANCZOS, box=box)
    else:
        out = prepare(im)
        if out.size != size:
            out = out.resize(size, Image.Resampling.LANCZOS)
        elif out is im:
            out = im.copy()
    return out.convert(plan.mode) if working != plan.mode else out


def _open_png(png: bytes) -> Image.Image:
    im = _factory("PNG")(io.BytesIO(png), "")
    try:
        im.load()
        return im.convert("RGBA") if im.mode != "RGBA" else im.copy()
    finally:
        im.close()


def _encode(im: Image.Image, output: str, icc: bytes | None) -> bytes:
    """``im`` encoded as ``output``, with no metadata but ``icc``."""
    options: dict[str, object] = dict(_ENCODER_OPTIONS[output])
    if output == "JPEG" and im.mode in {"LA", "RGBA"}:
        im = _flatten(im)
    elif output in {"WEBP", "AVIF"} and im.mode in {"L", "LA"}:
        im = im.convert("RGBA" if im.mode == "LA" else "RGB")
        icc = None  # a grey profile does not describe RGB
    elif output == "GIF":
        im, transparency = _palettise(im)
        if transparency is not None:
            options["transparency"] = transparency
        icc = None
    if icc and output in _ICC_FORMATS:
        options["icc_profile"] = icc
    if output == "PNG":
        options["compress_type"] = _png_strategy(im)
    im.info = {}  # encoders fall back to info: comments, EXIF, XMP, text chunks
    buffer = io.BytesIO()
    im.save(buffer, output, **options)
    return buffer.getvalue()


#: A PNG thumbnail of at least this many pixels is sampled for its deflate strategy.
_SAMPLE_MIN_PIXELS: Final = 128 * 128
#: RLE, the fastest, is taken when its samples are at most this much larger.
_RLE_SLACK: Final = 1.02
#: Pillow's own choice: zlib's strategy for filtered data.
_PILLOW_STRATEGY: Final = zlib.Z_FILTERED


def _png_strategy(im: Image.Image) -> int:
    """The zlib strategy that packs ``im`` smallest as a PNG, told from samples.

    After PNG's filters, a photo or grainy art leaves few long matches: zlib's
    default and filtered strategies search for them four times as long as its
    run-length one takes, for a file no smaller (a 300 px thumbnail of the
    benchmarks' art: 25 ms for 103 kB, against 6 ms for 100 kB).  On text and
    screenshots RLE is up to five times larger, and the default strategy 7%
    smaller than the filtered one Pillow picks.  Three bands of rows, an eighth of
    the image in all, are encoded each way; RLE is taken when it does about as
    well as the best, else the best.  A function of the pixels alone, so the same
    thumbnail always gets the same bytes.
    """
    width, height = im.size
    if width * height < _SAMPLE_MIN_PIXELS:
        return _PILLOW_STRATEGY
    rows = max(1, height // 24)
    bands = [
        im.crop((0, top, width, top + rows))
        for top in (height // 6, (height - rows) // 2, height * 5 // 6 - rows)
    ]
    sizes = {}
    for strategy in (zlib.Z_RLE, zlib.Z_FILTERED, zlib.Z_DEFAULT_STRATEGY):
        total = 0
        for band in bands:
            buffer = io.BytesIO()
            band.save(buffer, "PNG", compress_level=6, compress_type=strategy)
            total += buffer.tell()
        sizes[strategy] = total
    best = min((zlib.Z_FILTERED, zlib.Z_DEFAULT_STRATEGY), key=sizes.__getitem__)
    return zlib.Z_RLE if sizes[zlib.Z_RLE] <= sizes[best] * _RLE_SLACK else best


def _flatten(im: Image.Image) -> Image.Image:
    """An image with alpha laid on white, for a format without alpha."""
    background = Image.new(im.mode[:-1], im.size, 255 if im.mode == "LA" else (255, 255, 255))
    background.paste(im, mask=im.getchannel("A"))
    return background


def _palettise(im: Image.Image) -> tuple[Image.Image, int | None]:
    """``im`` as a GIF palette image of at most 255 colours plus one transparent index
    for the pixels under half opacity."""
    rgb = im.convert("RGB")
    paletted = rgb.quantize(colors=255)
    if im.mode not in {"LA", "RGBA"}:
        return paletted, None
    clear = im.getchannel("A").point(lambda alpha: 255 if alpha < 128 else 0)
    if not clear.getbbox():
        return paletted, None
    palette = paletted.getpalette() or []
    index = len(palette) // 3
    paletted.putpalette([*palette, 0, 0, 0])
    paletted.paste(index, mask=clear)
    return paletted, index


# --- SVG (resvg) -----------------------------------------------------------------------

_SVG_NS: Final = "http://www.w3.org/2000/svg"
_HREFS: Final = ("href", "{http://www.w3.org/1999/xlink}href")
#: Absolute lengths in px at 96 dpi; em and ex as resvg takes them (font-size 16).
_UNITS: Final = MappingProxyType(
    {
        "": 1.0,
        "px": 1.0,
        "in": 96.0,
        "cm": 96.0 / 2.54,
        "mm": 96.0 / 25.4,
        "pt": 96.0 / 72.0,
        "pc": 16.0,
        "em": 16.0,
        "ex": 8.0,
    }
)
_LENGTH: Final = re.compile(
    r"\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*(px|in|cm|mm|pt|pc|em|ex|%)?\s*"
)
_NUMBER_SEP: Final = re.compile(r"[\s,]+")
#: The size of an SVG with neither width, height nor viewBox: a browser's default for
#: an <img> whose source says no size.
_SVG_DEFAULT_SIZE: Final = (300.0, 150.0)


class _Svg(NamedTuple):
    root: Element
    width: int  # the rendered size at 96 dpi, rounded
    height: int
    exact_width: float
    exact_height: float


class _RefusedError(Exception):
    """Raised inside an expat handler to stop the parse with this error."""

    def __init__(self, error: InvalidImageError) -> None:
        super().__init__(str(error))
        self.error = error


def _clark(name: str) -> str:
    """Expat's ``"uri local"`` name as ElementTree's ``"{uri}local"``."""
    uri, _, local = name.rpartition(" ")
    return f"{{{uri}}}{local}" if uri else local


def _parse_svg(blob: bytes, limits: ImageLimits) -> _Svg:
    """Parse an SVG safely, and remove what would make resvg read a file.

    The XML parser refuses external entities and entities built of other entities, and
    expat (>= 2.4) bounds any expansion; nothing fetches a DTD.  Every ``href`` that
    is not a fragment (``#id``) or a ``data:`` URL is dropped, as a browser does for
    an SVG shown as an image: resvg would read it as a path, and it reads nothing else.
    """
    builder = TreeBuilder()
    parser = expat.ParserCreate(namespace_separator=" ")
    depth = 0
    safe_expat = expat.version_info >= (2, 4, 0)  # billion laughs protection

    def start(name: str, attributes: dict[str, str]) -> None:
        nonlocal depth
        depth += 1
        if depth > _MAX_SVG_DEPTH:
            raise _RefusedError(
                UnsupportedImageError(
                    f"SVG elements must nest at most {_MAX_SVG_DEPTH} deep, got more"
                )
            )
        builder.start(_clark(name), {_clark(k): v for k, v in attributes.items()})

    def end(name: str) -> None:
        nonlocal depth
        depth -= 1
        builder.end(_clark(name))

    def entity(
        name: str,
        is_parameter: int,
        value: str | None,
        base: str | None,
        system_id: str | None,
        public_id: str | None,
        notation: str | None,
    ) -> None:
        if value is None or system_id is not None or public_id is not None:
            raise _RefusedError(
                UnsupportedImageError(f"SVG must not declare external entities, got {name!r}")
            )
        if not safe_expat or "&" in value or "%" in value or "<" in value:
            raise _RefusedError(
                UnsupportedImageError(
                    f"SVG entities must be plain text, got {name!r} = {value[:40]!r}"
                )
            )

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = builder.data
    parser.EntityDeclHandler = entity
    parser.buffer_text = True
    try:
        parser.Parse(blob, True)
    except _RefusedError as refused:
        raise refused.error from None
    except (expat.ExpatError, LookupError, ValueError) as exc:  # LookupError: encoding="x"
        raise CorruptImageError(f"SVG must be well-formed XML: {exc}") from None
    root = builder.close()
    if root.tag != f"{{{_SVG_NS}}}svg":
        raise CorruptImageError(f"SVG's root must be an SVG <svg> element, got {root.tag!r}")
    for element in root.iter():
        for key in _HREFS:
            value = element.get(key)
            if value is not None and not _is_local_reference(value):
                del element.attrib[key]
    exact_width, exact_height = _svg_size(root)
    size = (_round(exact_width), _round(exact_height))
    _check_pixels(size, limits)
    return _Svg(root, *size, exact_width, exact_height)


def _is_local_reference(href: str) -> bool:
    href = href.strip()
    return href.startswith("#") or href[:5].lower() == "data:"


def _length(text: str | None) -> float | None:
    """A length in px, or None for none, a percentage, or one that cannot be read."""
    if text is None:
        return None
    match = _LENGTH.fullmatch(text)
    if match is None or match[2] == "%":
        return None
    return float(match[1]) * _UNITS[match[2] or ""]


def _view_box(text: str | None) -> tuple[float, float] | None:
    if text is None:
        return None
    parts = _NUMBER_SEP.split(text.strip())
    try:
        numbers_ = [float(p) for p in parts]
    except ValueError:
        return None
    if len(numbers_) != 4 or not all(math.isfinite(n) for n in numbers_):
        return None
    width, height = numbers_[2], numbers_[3]
    return (width, height) if width > 0 and height > 0 else None


def _svg_size(root: Element) -> tuple[float, float]:
    """The intrinsic size: width and height (px, unitless, or other units at 96 dpi);
    a missing one from the other and the viewBox's aspect ratio, or the viewBox's."""
    width, height = _length(root.get("width")), _length(root.get("height"))
    box = _view_box(root.get("viewBox"))
    if box is not None:
        if width is None and height is None:
            width, height = box
        elif width is None:
            assert height is not None
            width = height * box[0] / box[1]
        elif height is None:
            height = width * box[1] / box[0]
    width = _SVG_DEFAULT_SIZE[0] if width is None else width
    height = _SVG_DEFAULT_SIZE[1] if height is None else height
    if not (math.isfinite(width) and math.isfinite(height) and width > 0 and height > 0):
        raise CorruptImageError(f"SVG must have a positive size, got {width!r}x{height!r}")
    return width, height


def _round(value: float) -> int:
    """Half up, at least 1 (as resvg rounds a size)."""
    return max(1, math.floor(value + 0.5))


def _fit(width: int, height: int, side: int) -> tuple[int, int]:
    scale = min(1.0, side / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _render_svg(svg: _Svg, width: int, height: int) -> bytes:
    """Rasterize at exactly ``width`` x ``height``: the drawing, at its own size, in an
    outer viewport stretched to the target (aspect ratios differ by rounding only)."""
    resvg_py = _extra("resvg_py")
    root = svg.root
    for key in ("x", "y"):  # meaningless on an outermost <svg>, not on a nested one
        root.attrib.pop(key, None)
    root.set("width", repr(svg.exact_width))
    root.set("height", repr(svg.exact_height))
    document = (
        f'<svg xmlns="{_SVG_NS}" width="{width}" height="{height}" '
        f'viewBox="0 0 {svg.exact_width!r} {svg.exact_height!r}" preserveAspectRatio="none">'
        f"{tostring(root, encoding='unicode')}</svg>"
    )
    try:
        png = resvg_py.svg_to_bytes(svg_string=document, dpi=96.0)
    except Exception as exc:
        if "limit" in str(exc):
            raise ImageTooLargeError(f"SVG must be simpler to draw: {exc}") from None
        raise CorruptImageError(f"SVG must be one resvg can draw: {exc}") from None
    return bytes(png)


# --- PDF (pdfium) ----------------------------------------------------------------------

#: PDFium is not thread-safe: one document at a time in this process.
_pdfium_lock = threading.RLock()


class _PdfPage:
    """The first page of a PDF, open under :data:`_pdfium_lock` while in its block."""

    def __init__(self, blob: bytes) -> None:
        self._blob = blob
        self._pdfium: Any = None
        self._document: Any = None
        self._page: Any = None

    def __enter__(self) -> _PdfPage:
        self._pdfium = _extra("pypdfium2")
        _pdfium_lock.acquire()
        try:
            try:
                self._document = document = self._pdfium.PdfDocument(self._blob)
            except Exception as exc:
                if "password" in str(exc).lower():
                    raise UnsupportedImageError(
                        f"PDF must not be encrypted, got one that needs a password: {exc}"
                    ) from None
                raise CorruptImageError(f"image data must be a readable PDF: {exc}") from None
            try:
                pages = len(document)
                if pages < 1:
                    raise CorruptImageError("PDF must have a page, got none")
                self._page = document[0]
            except InvalidImageError:
                raise
            except Exception as exc:
                raise CorruptImageError(f"PDF's first page must be readable: {exc}") from None
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            for handle in (self._page, self._document):
                close = getattr(handle, "close", None)
                if close is not None:
                    close()
        finally:
            self._page = self._document = None
            _pdfium_lock.release()

    def size(self, limits: ImageLimits) -> tuple[int, int]:
        """The page's size in px, 1 pt to 1 px (72 dpi: 1.1.0's ImageMagick default)."""
        width, height = self._page.get_size()
        if not (math.isfinite(width) and math.isfinite(height) and width > 0 and height > 0):
            raise CorruptImageError(f"PDF's page must have a positive size, got {width}x{height}")
        size = (_round(width), _round(height))
        _check_pixels(size, limits)
        return size

    def render(self, width: int, height: int) -> Image.Image:
        """The page rasterized at exactly ``width`` x ``height``, on white, in RGB."""
        raw = self._pdfium.raw
        bitmap = raw.FPDFBitmap_Create(width, height, 0)  # BGRx
        if not bitmap:
            raise ImageTooLargeError(f"PDF page cannot be drawn at {width}x{height}")
        try:
            raw.FPDFBitmap_FillRect(bitmap, 0, 0, width, height, 0xFFFFFFFF)
            page = self._page.raw
            raw.FPDF_RenderPageBitmap(bitmap, page, 0, 0, width, height, 0, raw.FPDF_ANNOT)
            stride = raw.FPDFBitmap_GetStride(bitmap)
            pixels = ctypes.string_at(raw.FPDFBitmap_GetBuffer(bitmap), stride * height)
        finally:
            raw.FPDFBitmap_Destroy(bitmap)
        return Image.frombytes("RGB", (width, height), pixels, "raw", "BGRX", stride)
