from __future__ import annotations

import email.utils
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from imageattach.core import format_http_date, parse_http_date

SUNDAY = 784111777  # Sun, 06 Nov 1994 08:49:37 GMT, RFC 9110's example


@pytest.mark.parametrize(
    "value",
    [
        "Sun, 06 Nov 1994 08:49:37 GMT",
        "Sunday, 06-Nov-94 08:49:37 GMT",
        "Sun Nov  6 08:49:37 1994",
        "  Sun, 06 Nov 1994 08:49:37 GMT  ",
    ],
)
def test_the_three_forms(value: str) -> None:
    assert parse_http_date(value) == SUNDAY


@pytest.mark.parametrize(
    "value",
    [
        "",
        "yesterday",
        "Sun, 06 Nov 1994 08:49:37",  # no zone
        "Sun, 06 Nov 1994 08:49:37 UTC",
        "Sun, 06 Nov 1994 08:49:37 +0000",
        "Sun, 6 Nov 1994 08:49:37 GMT",
        "Sun, 31 Feb 1994 08:49:37 GMT",  # no such day
        "Sun, 06 Nov 1994 24:00:00 GMT",
        "Sun, 06 Foo 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 08:49:37 GMT" * 3,
        "\x00" * 10_000,
        "Sun, 06 Nov 99999999999999999999 08:49:37 GMT",
        "Mon, 06 Nov 1994 08:49:37 GMT; length=13",
    ],
)
def test_invalid_dates_are_none(value: str) -> None:
    assert parse_http_date(value) is None


def test_format() -> None:
    assert format_http_date(SUNDAY) == "Sun, 06 Nov 1994 08:49:37 GMT"
    assert format_http_date(0) == "Thu, 01 Jan 1970 00:00:00 GMT"


def test_rfc850_years_are_read_in_the_nearest_century() -> None:
    this_year = time.gmtime().tm_year
    two_digits = (this_year + 1) % 100
    value = f"Monday, 01-Jan-{two_digits:02d} 00:00:00 GMT"
    parsed = parse_http_date(value)
    assert parsed is not None
    assert time.gmtime(parsed).tm_year == this_year + 1


@given(st.integers(min_value=0, max_value=253402300799))
def test_round_trip(timestamp: int) -> None:
    formatted = format_http_date(timestamp)
    assert formatted == email.utils.formatdate(timestamp, usegmt=True)
    assert parse_http_date(formatted) == timestamp


@given(st.text(max_size=100))
def test_never_raises(value: str) -> None:
    result = parse_http_date(value)
    assert result is None or isinstance(result, int)
