"""One fixed media-type table, independent of the host's ``mimetypes`` database.

The host database differs between machines (``/etc/mime.types``, the Windows
registry), so a file stored on one machine could get another name, or be served
with another type, on the next.  imageattach uses this table only.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

from ._errors import UnknownMimetypeError

__all__ = ["DEFAULT_MEDIA_TYPE", "guess_extension", "guess_type"]

DEFAULT_MEDIA_TYPE: Final = "application/octet-stream"

#: Extension (lower case, with its dot) to the media type it is served with.
TYPES_BY_EXTENSION: Final = MappingProxyType(
    {
        ".jpe": "image/jpeg",
        ".jpg": "image/jpeg",
        ".jpeg": "image/jpeg",
        ".jfif": "image/jpeg",
        ".png": "image/png",
        ".apng": "image/apng",
        ".gif": "image/gif",
        ".webp": "image/webp",
        ".avif": "image/avif",
        ".svg": "image/svg+xml",
        ".bmp": "image/bmp",
        ".tif": "image/tiff",
        ".tiff": "image/tiff",
        ".ico": "image/vnd.microsoft.icon",
        ".heic": "image/heic",
        ".heif": "image/heif",
        ".jxl": "image/jxl",
        ".pdf": "application/pdf",
    }
)

#: Media type (lower case, no parameters) to the one extension a file is stored under.
#: ``image/jpeg`` is ``.jpe``: sqlalchemy-imageattach 1.1.0 named JPEGs that way, and
#: existing stores must keep resolving.
EXTENSIONS_BY_TYPE: Final = MappingProxyType(
    {
        "image/jpeg": ".jpe",
        "image/pjpeg": ".jpe",
        "image/png": ".png",
        "image/apng": ".apng",
        "image/vnd.mozilla.apng": ".apng",
        "image/gif": ".gif",
        "image/webp": ".webp",
        "image/avif": ".avif",
        "image/svg+xml": ".svg",
        "image/bmp": ".bmp",
        "image/x-bmp": ".bmp",
        "image/x-ms-bmp": ".bmp",
        "image/tiff": ".tiff",
        "image/vnd.microsoft.icon": ".ico",
        "image/x-icon": ".ico",
        "image/heic": ".heic",
        "image/heif": ".heif",
        "image/jxl": ".jxl",
        "application/pdf": ".pdf",
    }
)


def guess_extension(mimetype: str) -> str:
    """Return the filename extension (e.g. ``'.png'``) a file of ``mimetype`` is stored under.

    The lookup is case-insensitive and ignores parameters such as ``; charset=...``.
    ``image/jpeg`` gives ``'.jpe'``, the name 1.1.0 stores used.

    :raises UnknownMimetypeError: (a :exc:`ValueError`) when ``mimetype`` is malformed
        or not in the table.
    """
    try:
        return EXTENSIONS_BY_TYPE[mimetype]  # the common, canonical spelling
    except (KeyError, TypeError):
        pass
    if not isinstance(mimetype, str):
        raise UnknownMimetypeError(mimetype)
    essence = mimetype.partition(";")[0].strip().lower()
    try:
        return EXTENSIONS_BY_TYPE[essence]
    except KeyError:
        raise UnknownMimetypeError(mimetype) from None


def guess_type(filename: str) -> str:
    """Return the media type a file named ``filename`` is served with.

    Only the extension counts, case-insensitively; an unknown one gives
    ``application/octet-stream``.
    """
    dot = filename.rfind(".")
    if dot < 0 or "/" in filename[dot:]:
        return DEFAULT_MEDIA_TYPE
    return TYPES_BY_EXTENSION.get(filename[dot:].lower(), DEFAULT_MEDIA_TYPE)
