"""Entity tags (RFC 9110 §8.8.3) and the lists that ``If-Match`` and ``If-None-Match`` carry.

A list is scanned once, left to right, with one anchored pattern per element;
nothing is split, copied or backtracked, so a hostile header costs time linear
in its length.  A value that is not a valid list never matches anything.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["matches_strong", "matches_weak"]

# One list element: optional whitespace, an entity-tag, optional whitespace, then
# a comma or the end.  etagc is %x21 / %x23-7E / obs-text (%x80-FF).
_ELEMENT: Final = re.compile(r'[ \t]*(W/)?("[\x21\x23-\x7e\x80-\xff]*")[ \t]*(?:,|\Z)')
_EMPTY_ELEMENTS: Final = re.compile(r"[ \t,]*")


def _scan(header: str, etag: str, *, weak: bool) -> bool:
    if etag not in header:  # cheap and common: no element can match
        return header.strip(" \t") == "*"
    position = 0
    end = len(header)
    found = False
    while position < end:
        # RFC 9110 §5.6.1: recipients accept empty list elements (", ,").
        position = _EMPTY_ELEMENTS.match(header, position).end()  # type: ignore[union-attr]
        if position >= end:
            break
        element = _ELEMENT.match(header, position)
        if element is None:
            return False  # not a list of entity tags: the whole field is invalid
        if not found and element.group(2) == etag and (weak or element.group(1) is None):
            found = True
        position = element.end()
    return found


def matches_weak(header: str, etag: str) -> bool:
    """Whether ``If-None-Match: header`` matches the strong tag ``etag`` (weak comparison)."""
    if header == etag:
        return True
    return _scan(header, etag, weak=True)


def matches_strong(header: str, etag: str) -> bool:
    """Whether ``If-Match: header`` matches the strong tag ``etag`` (strong comparison)."""
    if header == etag:
        return True
    return _scan(header, etag, weak=False)
