"""HTTP dates (RFC 9110 §5.6.7): formatting, and strict parsing of the three forms.

A recipient must accept the IMF-fixdate, the obsolete RFC 850 form and asctime;
anything else is "not a valid date" and the header carrying it is ignored.
The parser is a few anchored regular expressions over a bounded string, so
hostile values cost linear time at worst.
"""

from __future__ import annotations

import re
import time
from calendar import timegm
from typing import Final

__all__ = ["format_http_date", "parse_http_date"]

_DAYS: Final = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS: Final = (
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
)  # fmt: skip
_MONTH_NUMBERS: Final = {name: number for number, name in enumerate(_MONTHS, 1)}

# Longest valid form: "Wednesday, 09-Nov-94 08:49:37 GMT" (33 chars); leave room for spaces.
_MAX_LENGTH: Final = 64

_TIME = r"(?P<H>\d\d):(?P<M>\d\d):(?P<S>\d\d)"
_MON = r"(?P<mon>Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
_IMF_FIXDATE: Final = re.compile(
    rf"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (?P<d>\d\d) {_MON} (?P<y>\d{{4}}) {_TIME} GMT"
)
_RFC850: Final = re.compile(
    r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), "
    rf"(?P<d>\d\d)-{_MON}-(?P<y>\d\d) {_TIME} GMT"
)
_ASCTIME: Final = re.compile(
    rf"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) {_MON} (?P<d>[ \d]\d) {_TIME} (?P<y>\d{{4}})"
)


def format_http_date(timestamp: float) -> str:
    """Format a POSIX timestamp as an IMF-fixdate: ``Sun, 06 Nov 1994 08:49:37 GMT``."""
    t = time.gmtime(timestamp)
    return (
        f"{_DAYS[t.tm_wday]}, {t.tm_mday:02d} {_MONTHS[t.tm_mon - 1]} {t.tm_year:04d} "
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} GMT"
    )


def parse_http_date(value: str) -> int | None:
    """Parse an HTTP date into a POSIX timestamp, or return ``None`` if it is not one.

    Surrounding whitespace is allowed.  A two-digit RFC 850 year is read as the
    year in the past century closest to the present, as RFC 9110 §5.6.7 asks.
    """
    if len(value) > _MAX_LENGTH:
        return None
    value = value.strip()
    match = _IMF_FIXDATE.fullmatch(value) or _ASCTIME.fullmatch(value)
    if match is not None:
        year = int(match["y"])
    else:
        match = _RFC850.fullmatch(value)
        if match is None:
            return None
        year = int(match["y"])
        this_year = time.gmtime().tm_year
        year += this_year - this_year % 100
        if year > this_year + 50:
            year -= 100
    day, hour, minute, second = (int(match[k]) for k in ("d", "H", "M", "S"))
    month = _MONTH_NUMBERS[match["mon"]]
    # timegm would quietly roll 31 Feb over into March; refuse impossible fields.
    if not (1 <= day <= 31 and hour < 24 and minute < 60 and second < 61):
        return None
    try:
        normalized = time.gmtime(timegm((year, month, day, hour, minute, second, 0, 0, 0)))
    except (OverflowError, ValueError):
        return None
    if normalized.tm_mday != day:
        return None
    return timegm(normalized)
