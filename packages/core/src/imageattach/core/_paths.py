"""Which request paths may name a file: the syntax check done before any filesystem call.

The rules are SPEC 2.1.  They hold on every operating system, so a path that
would be dangerous on Windows (a drive, a UNC share, a device, a stream, a
trailing dot) is refused on Linux too; nothing here touches the disk.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["MAX_PATH_BYTES", "MAX_SEGMENT_BYTES", "decode_path_info", "is_safe_path"]

MAX_SEGMENT_BYTES: Final = 255
MAX_PATH_BYTES: Final = 1024

# Characters no path may hold: C0 controls, DEL, the backslash, the colon (drives,
# NTFS streams), and lone surrogates (the residue of bytes that were not UTF-8,
# decoded with surrogateescape).  A character class is one fast scan.
_BAD_CHARACTER: Final = re.compile(r"[\x00-\x1f\x7f\\:\ud800-\udfff]")
# Windows device names, alone or before an extension, in any case.
_DEVICE_NAMES: Final = frozenset(
    {"con", "prn", "aux", "nul", "conin$", "conout$"}
    | {f"{port}{digit}" for port in ("com", "lpt") for digit in "0123456789\u00b9\u00b2\u00b3"}
)
# Segment lengths are counted by splitting: a pattern such as [^/]{256} would
# backtrack quadratically over long segments.


def decode_path_info(path_info: str) -> str:
    """A WSGI ``PATH_INFO`` as text: PEP 3333 gives its bytes as latin-1; URLs are UTF-8.

    Bytes that are not UTF-8 become lone surrogates (``surrogateescape``), which
    :func:`is_safe_path` refuses.  A server that already decoded UTF-8 (a string
    with characters above U+00FF) is taken at its word.
    """
    if path_info.isascii():
        return path_info
    try:
        return path_info.encode("latin-1").decode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return path_info


def is_safe_path(path: str) -> bool:
    """Whether ``path`` (below the mount, percent-decoded) may name a file under the root.

    >>> is_safe_path("comics/234/1/1234.100x200.jpe")
    True
    >>> is_safe_path("../etc/passwd"), is_safe_path("C:/Windows"), is_safe_path(".env")
    (False, False, False)
    """
    if (
        not path
        or len(path) > MAX_PATH_BYTES
        # an empty segment: a leading "/", "//", a trailing "/"
        or path[0] == "/"
        or path[-1] in "/. "  # ... or a last segment ending in "." or " "
        or "//" in path
        # a segment starting with ".": ".", "..", dot-files, dot-directories
        or path[0] == "."
        or "/." in path
        # a segment ending in "." or " " (Windows would strip them)
        or "./" in path
        or " /" in path
        or _BAD_CHARACTER.search(path)
    ):
        return False
    lowered = path.lower()
    if (
        "con" in lowered
        or "prn" in lowered
        or "aux" in lowered
        or "nul" in lowered
        or "com" in lowered
        or "lpt" in lowered
    ):  # a device name is possible: compare each segment's stem (before any ".")
        for segment in lowered.split("/"):
            if segment.partition(".")[0] in _DEVICE_NAMES:
                return False
    if path.isascii():
        if len(path) <= MAX_SEGMENT_BYTES:  # the common case: no segment can be too long
            return True
        return all(len(segment) <= MAX_SEGMENT_BYTES for segment in path.split("/"))
    encoded = path.encode("utf-8")
    return len(encoded) <= MAX_PATH_BYTES and all(
        len(segment) <= MAX_SEGMENT_BYTES for segment in encoded.split(b"/")
    )
