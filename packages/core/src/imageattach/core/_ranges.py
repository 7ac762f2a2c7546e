"""The ``Range`` header (RFC 9110 §14): parsing and planning, as pure functions (SPEC §9).

:func:`parse_ranges` turns a header value and a file size into what to send:
``None`` (ignore the header: send the whole file), :data:`UNSATISFIABLE` (416),
or the byte ranges to send, sorted and coalesced.  It never raises, takes time
linear in the length of the value, and refuses more than :data:`MAX_RANGES`
range-specs, so no header can make it slow or make a response larger than the
file.
"""

from __future__ import annotations

from typing import Final, NamedTuple

__all__ = [
    "COALESCE_GAP",
    "MAX_DIGITS",
    "MAX_RANGES",
    "UNSATISFIABLE",
    "ByteRange",
    "parse_ranges",
]

#: More range-specs than this and the header is ignored (SPEC 9.3).
MAX_RANGES: Final = 16
#: A number of more digits than this (leading zeros aside) is larger than any file
#: (SPEC 9.3); int() of thousands of digits is slow, and of more than 4,300 raises.
MAX_DIGITS: Final = 18
#: Ranges closer than this are sent as one (SPEC 9.6): a part's own headers are longer.
COALESCE_GAP: Final = 80

_HUGE: Final = 10**MAX_DIGITS
_DIGITS: Final = frozenset("0123456789")
_OWS: Final = " \t"


class ByteRange(NamedTuple):
    """Bytes ``start`` to ``end`` inclusive, as in ``Content-Range: bytes start-end/N``."""

    start: int
    end: int

    @property
    def length(self) -> int:
        return self.end - self.start + 1


class _Unsatisfiable(tuple[ByteRange, ...]):
    """The answer for a well-formed header of which no range fits the file: a 416."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "UNSATISFIABLE"


#: :func:`parse_ranges` gives this for a header that is well formed but asks for no
#: byte the file has: answer 416 with ``Content-Range: bytes */N``.
UNSATISFIABLE: Final = _Unsatisfiable()


def _digits(text: str) -> str | None:
    """A run of ASCII digits without its leading zeros (``"0"`` for zero), or ``None``."""
    if not text or not _DIGITS.issuperset(text):  # str.isdigit() takes "²" and "٣"
        return None
    return text.lstrip("0") or "0"


def _value(digits: str) -> int:
    """The value of :func:`_digits`' answer, huge ones capped; int() of thousands is slow."""
    return _HUGE if len(digits) > MAX_DIGITS else int(digits)


def _less(a: str, b: str) -> bool:
    """Whether the number :func:`_digits` gave as ``a`` is smaller than ``b``."""
    return (len(a), a) < (len(b), b)


def _number(text: str) -> int | None:
    """A run of ASCII digits as an int (huge ones capped), or ``None`` if it is not one."""
    digits = _digits(text)
    return None if digits is None else _value(digits)


def parse_ranges(value: str, size: int) -> tuple[ByteRange, ...] | None:
    """Plan the answer to ``Range: value`` for a file of ``size`` bytes.

    :returns: ``None`` when the header is to be ignored (ill-formed, another unit,
        too many ranges: send the whole file), :data:`UNSATISFIABLE` when no range
        fits the file (416), or else one or more ranges, sorted, coalesced, and each
        within the file.

    >>> parse_ranges("bytes=0-9", 100)
    (ByteRange(start=0, end=9),)
    >>> parse_ranges("bytes=-10, 0-5, 3-20", 1000)
    (ByteRange(start=0, end=20), ByteRange(start=990, end=999))
    >>> parse_ranges("bytes=-10, 0-5, 3-20", 100)  # fewer than 80 bytes apart: one range
    (ByteRange(start=0, end=99),)
    >>> parse_ranges("bytes=100-", 100)
    UNSATISFIABLE
    >>> parse_ranges("items=0-9", 100) is None
    True
    """
    unit, equals, specs = value.partition("=")
    # "bytes" then "=" at once (RFC 9110 §14.1); only the field's own leading OWS may precede
    if not equals or unit.lstrip(_OWS).lower() != "bytes":
        return None
    if specs.count(",") > MAX_RANGES * 2:  # cheap bound before any splitting
        return None
    ranges: list[ByteRange] = []
    count = 0
    for element in specs.split(","):
        spec = element.strip(_OWS)
        if not spec:
            continue  # RFC 9110 §5.6.1: empty list elements are allowed
        count += 1
        if count > MAX_RANGES:
            return None
        first_text, dash, last_text = spec.partition("-")
        if not dash:
            return None
        if not first_text:  # a suffix range: the last n bytes
            suffix = _number(last_text)
            if suffix is None:
                return None
            if suffix > 0 and size > 0:
                ranges.append(ByteRange(max(size - suffix, 0), size - 1))
            continue
        first_digits = _digits(first_text)
        if first_digits is None:
            return None
        first = _value(first_digits)
        if last_text:
            last_digits = _digits(last_text)
            if last_digits is None or _less(last_digits, first_digits):
                return None  # "5-2": first > last, compared exactly however long they are
            last = _value(last_digits)
        else:
            last = size - 1
        if first < size:
            ranges.append(ByteRange(first, min(last, size - 1)))
    if count == 0:
        return None
    if not ranges:
        return UNSATISFIABLE
    if len(ranges) == 1:
        return (ranges[0],)
    ranges.sort()
    merged = [ranges[0]]
    for current in ranges[1:]:
        previous = merged[-1]
        if current.start - previous.end - 1 < COALESCE_GAP:  # overlap, touch, or a short gap
            if current.end > previous.end:
                merged[-1] = ByteRange(previous.start, current.end)
        else:
            merged.append(current)
    return tuple(merged)
