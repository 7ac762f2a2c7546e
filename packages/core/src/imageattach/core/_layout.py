"""Where an image lives: the 1.1.0 storage layout, with its keys checked first.

An image key is ``(object_type, object_id, width, height, mimetype)``.  It maps,
byte for byte as sqlalchemy-imageattach 1.1.0 did, to the path segments
``<object_type>/<object_id % 1000>/<object_id // 1000>/<object_id>.<W>x<H><ext>``.
Every part is validated before a path is built, so no key can name a file
outside the store.
"""

from __future__ import annotations

import operator
import re
from functools import lru_cache
from typing import Final
from urllib.parse import quote

from ._errors import InvalidImageKeyError
from ._media_types import EXTENSIONS_BY_TYPE, guess_extension

__all__ = ["image_path", "key_url_path", "url_path", "validate_object_type"]

Segments = tuple[str, str, str, str]

# Characters no object_type may hold: path separators of any OS, and NUL.
_BAD_OBJECT_TYPE: Final = re.compile(r"[/\\\x00]")


def validate_object_type(object_type: str) -> str:
    """Return ``object_type`` if it can be one path segment, else raise."""
    if not isinstance(object_type, str):
        raise InvalidImageKeyError(f"object_type must be a str, got {object_type!r}")
    return _validate_object_type(object_type)


@lru_cache(maxsize=1024)  # an application has a handful of object types
def _validate_object_type(object_type: str) -> str:
    if not object_type:
        raise InvalidImageKeyError("object_type must not be empty, got ''")
    if object_type in {".", ".."}:
        raise InvalidImageKeyError(f"object_type must not be '.' or '..', got {object_type!r}")
    bad = _BAD_OBJECT_TYPE.search(object_type)
    if bad:
        raise InvalidImageKeyError(
            f"object_type must not contain {bad.group()!r}, got {object_type!r}"
        )
    return object_type


def _check_int(name: str, value: object, minimum: int) -> int:
    if type(value) is not int:
        # Accept any integral type (numpy's, say), but not bool: True is no object id.
        try:
            if isinstance(value, bool):
                raise TypeError
            value = operator.index(value)  # type: ignore[arg-type]
        except TypeError:
            raise InvalidImageKeyError(f"{name} must be an int, got {value!r}") from None
    assert isinstance(value, int)
    if value < minimum:
        expected = "a positive int" if minimum else "a non-negative int"
        raise InvalidImageKeyError(f"{name} must be {expected}, got {value!r}")
    return int(value)


def image_path(
    object_type: str, object_id: int, width: int, height: int, mimetype: str
) -> Segments:
    """Return the path segments of an image key in the 1.1.0 layout.

    >>> image_path('comics.cover', 1234, 100, 200, 'image/jpeg')
    ('comics.cover', '234', '1', '1234.100x200.jpe')

    :raises InvalidImageKeyError: (a :exc:`ValueError`) for a key that cannot name a file.
    :raises UnknownMimetypeError: (a :exc:`ValueError`) for an unknown mimetype.
    """
    validate_object_type(object_type)
    object_id = _check_int("object_id", object_id, 0)
    width = _check_int("width", width, 1)
    height = _check_int("height", height, 1)
    suffix = guess_extension(mimetype)
    return (
        object_type,
        str(object_id % 1000),
        str(object_id // 1000),
        f"{object_id}.{width}x{height}{suffix}",
    )


@lru_cache(maxsize=1024)
def _quoted(segment: str) -> str:
    return quote(segment, safe="")


def url_path(segments: Segments) -> str:
    """Join layout segments into a URL path, percent-encoding the object type.

    The numeric segments and the file name are URL-safe by construction.
    """
    return f"{_quoted(segments[0])}/{segments[1]}/{segments[2]}/{segments[3]}"


# The extension table as a plain dict: a MappingProxyType lookup costs twice as much.
_EXTENSIONS: Final = dict(EXTENSIONS_BY_TYPE)
# Object types seen valid, with their URL-quoted form.  An application has a
# handful; the bound only keeps a hostile caller from growing it.
_QUOTED_OBJECT_TYPES: dict[str, str] = {}
_MAX_OBJECT_TYPES: Final = 1024


def key_url_path(object_type: str, object_id: int, width: int, height: int, mimetype: str) -> str:
    """The URL path of an image key: ``url_path(image_path(...))``, made fast.

    URLs are built thousands of times per page, so the common key (a known
    object type, plain ints, a canonical mimetype) takes a path of a few
    comparisons; anything else is validated by :func:`image_path`, which raises.
    """
    try:
        quoted = _QUOTED_OBJECT_TYPES.get(object_type)
    except TypeError:  # unhashable: certainly not a str
        quoted = None
    if (
        quoted is not None
        and type(object_id) is int
        and object_id >= 0
        and type(width) is int
        and width > 0
        and type(height) is int
        and height > 0
    ):
        extension = _EXTENSIONS.get(mimetype)
        if extension is not None:
            return (
                f"{quoted}/{object_id % 1000}/{object_id // 1000}/"
                f"{object_id}.{width}x{height}{extension}"
            )
    segments = image_path(object_type, object_id, width, height, mimetype)
    if len(_QUOTED_OBJECT_TYPES) < _MAX_OBJECT_TYPES:
        _QUOTED_OBJECT_TYPES[object_type] = _quoted(object_type)
    return url_path(segments)
