"""Which request paths may name a file: the syntax check done before any filesystem call.

The rules are SPEC 2.1.  They hold on every operating system, so a path that
would be dangerous on Windows (a drive, a UNC share, a device, a stream, a
trailing dot) is refused on Linux too; nothing here touches the disk.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["MAX_PATH_BYTES", "MAX_SEGMENT_BYTES", "is_safe_path"]

MAX_SEGMENT_BYTES: Final = 255
MAX_PATH_BYTES: Final = 1024

# Anything that makes a path unsafe, in one pass:
#   - C0 controls, DEL, backslash, colon, and lone surrogates (the residue of
#     bytes that were not UTF-8, decoded with surrogateescape);
#   - an empty segment: a leading "/", "//", a trailing "/";
#   - a segment starting with "." (".", "..", dot-files, dot-directories);
#   - a segment ending with "." or " ";
#   - a Windows device name, alone or before an extension.
_UNSAFE: Final = re.compile(
    r"""
      [\x00-\x1f\x7f\\:\ud800-\udfff]
    | \A/ | // | /\Z
    | (?:\A|/)\.
    | [.\x20](?:/|\Z)
    | (?:\A|/)(?:con|prn|aux|nul|conin\$|conout\$|(?:com|lpt)[0-9\u00b9\u00b2\u00b3])(?:\.|/|\Z)
    """,
    re.IGNORECASE | re.VERBOSE,
)
_LONG_SEGMENT: Final = re.compile(r"[^/]{256}")


def is_safe_path(path: str) -> bool:
    """Whether ``path`` (below the mount, percent-decoded) may name a file under the root.

    >>> is_safe_path("comics/234/1/1234.100x200.jpe")
    True
    >>> is_safe_path("../etc/passwd"), is_safe_path("C:/Windows"), is_safe_path(".env")
    (False, False, False)
    """
    if not path or len(path) > MAX_PATH_BYTES or _UNSAFE.search(path):
        return False
    if path.isascii():
        return _LONG_SEGMENT.search(path) is None
    encoded = path.encode("utf-8")
    return len(encoded) <= MAX_PATH_BYTES and all(
        len(segment) <= MAX_SEGMENT_BYTES for segment in encoded.split(b"/")
    )
