"""``parse_ranges``: the ``Range`` header (SPEC 9.2-9.6), by table and by property.

The properties compare the parser with :func:`reference`, a second implementation
written here straight from the grammar of RFC 9110 §14.1.1 and the rules of
SPEC 9.2-9.6: a regular expression per range-spec, exact integers however long,
and coalescing by merging any two ranges that lie too close until none do.  It
is slow and obvious; the parser is fast and careful, and the two must agree.
"""

from __future__ import annotations

import doctest
import itertools
import random
import re
import sys
import time
from dataclasses import dataclass

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from imageattach.core import _ranges
from imageattach.core._ranges import (
    COALESCE_GAP,
    MAX_RANGES,
    UNSATISFIABLE,
    ByteRange,
    parse_ranges,
)

Plan = tuple[ByteRange, ...] | None

# --- the reference implementation ---------------------------------------------------------

# ranges-specifier = range-unit "=" range-set; the unit is case-insensitive (RFC 9110 §14.1),
# spelled out as classes: re.IGNORECASE would let the long s (U+017F) match "s".
_REF_SPECIFIER = re.compile(r"[ \t]*[Bb][Yy][Tt][Ee][Ss]=(.*)", re.DOTALL)
# int-range = first-pos "-" [ last-pos ]; suffix-range = "-" suffix-length; 1*DIGIT is ASCII
# (\d would take every Unicode digit).
_REF_RANGE_SPEC = re.compile(r"(?P<first>[0-9]+)-(?P<last>[0-9]*)|-(?P<suffix>[0-9]+)")


def _ref_int(digits: str) -> int:
    """The exact value, however many digits (int() refuses more than 4,300 by default)."""
    if not hasattr(sys, "set_int_max_str_digits"):  # Python < 3.10.7: no limit
        return int(digits)
    limit = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)
    try:
        return int(digits)
    finally:
        sys.set_int_max_str_digits(limit)


def _ref_intervals(value: str, size: int) -> list[tuple[int, int]] | None:
    """The satisfiable range-specs of ``value`` as clamped ``(first, last)``, or ``None``."""
    match = _REF_SPECIFIER.fullmatch(value)
    if match is None:
        return None
    range_set = match.group(1)
    if range_set.count(",") > 2 * MAX_RANGES:  # SPEC 9.3: more than 32 commas
        return None
    # 1#range-spec, read as RFC 9110 §5.6.1 asks a recipient to: OWS around the commas,
    # empty elements ignored, at least one element.
    specs = [element.strip(" \t") for element in range_set.split(",")]
    specs = [spec for spec in specs if spec]
    if not specs or len(specs) > MAX_RANGES:  # SPEC 9.2, 9.3
        return None
    intervals = []
    for spec in specs:
        parts = _REF_RANGE_SPEC.fullmatch(spec)
        if parts is None:
            return None
        if parts["suffix"] is not None:
            suffix = _ref_int(parts["suffix"])
            if suffix > 0 and size > 0:  # SPEC 9.4
                intervals.append((max(size - suffix, 0), size - 1))
            continue
        first = _ref_int(parts["first"])
        last = _ref_int(parts["last"]) if parts["last"] else None
        if last is not None and last < first:  # "5-2" makes the whole header invalid
            return None
        if first < size:  # SPEC 9.4; a last at or past the end is N - 1
            intervals.append((first, size - 1 if last is None else min(last, size - 1)))
    return intervals


def _gap(a: tuple[int, int], b: tuple[int, int]) -> int:
    """How many bytes lie strictly between two intervals (negative when they overlap)."""
    return max(a[0], b[0]) - min(a[1], b[1]) - 1


def reference(value: str, size: int) -> Plan:
    """SPEC 9.2-9.6 as plainly as it can be written."""
    intervals = _ref_intervals(value, size)
    if intervals is None:
        return None
    if not intervals:
        return UNSATISFIABLE
    merged = set(intervals)
    joined = True
    while joined:  # SPEC 9.6: join any two that overlap, touch, or lie < 80 bytes apart
        joined = False
        for a, b in itertools.combinations(sorted(merged), 2):
            if _gap(a, b) < COALESCE_GAP:
                merged -= {a, b}
                merged.add((min(a[0], b[0]), max(a[1], b[1])))
                joined = True
                break
    return tuple(ByteRange(first, last) for first, last in sorted(merged))


# --- what every answer must look like -----------------------------------------------------


def check_plan(plan: object, size: int) -> None:
    """The shape SPEC 9.4-9.6 gives every answer, whatever the header was."""
    if plan is None or plan is UNSATISFIABLE:
        return
    assert type(plan) is tuple, plan
    assert plan, "an empty plan must be UNSATISFIABLE itself"
    for byte_range in plan:
        assert type(byte_range) is ByteRange
        assert type(byte_range.start) is int
        assert type(byte_range.end) is int
        assert 0 <= byte_range.start <= byte_range.end <= size - 1, (byte_range, size)
        assert byte_range.length == byte_range.end - byte_range.start + 1
    for previous, current in itertools.pairwise(plan):
        # sorted, disjoint, and not fewer than COALESCE_GAP bytes apart
        assert current.start - previous.end - 1 >= COALESCE_GAP, (previous, current)
    assert sum(byte_range.length for byte_range in plan) <= size


# --- tables -------------------------------------------------------------------------------

R = ByteRange


@pytest.mark.parametrize(
    ("value", "size", "expected"),
    [
        # SPEC 9.2: the three forms, the unit in any case, OWS and empty elements
        ("bytes=0-9", 100, (R(0, 9),)),
        ("bytes=10-", 100, (R(10, 99),)),
        ("bytes=-10", 100, (R(90, 99),)),
        ("BYTES=0-9", 100, (R(0, 9),)),
        ("Bytes=0-9", 100, (R(0, 9),)),
        ("bytes=0-0", 100, (R(0, 0),)),
        ("bytes=5-5", 100, (R(5, 5),)),
        (" bytes=0-9", 100, (R(0, 9),)),
        ("bytes=0-9 ", 100, (R(0, 9),)),
        ("bytes= 0-9", 100, (R(0, 9),)),
        ("bytes=0-9 ,\t 500-509", 1000, (R(0, 9), R(500, 509))),
        ("bytes=,0-9", 100, (R(0, 9),)),
        ("bytes=0-9,", 100, (R(0, 9),)),
        ("bytes=, ,0-9, ,", 100, (R(0, 9),)),
        ("bytes=007-0009", 100, (R(7, 9),)),
        # SPEC 9.2: ill-formed, so ignored
        ("bytes=5-2", 100, None),
        ("bytes=abc", 100, None),
        ("bytes=10", 100, None),
        ("bytes=-", 100, None),
        ("bytes=", 100, None),
        ("bytes=,", 100, None),
        ("bytes= , ,\t", 100, None),
        ("bytes=0-9,5-2", 100, None),  # one bad spec spoils the list
        ("bytes=0-9,x", 100, None),
        ("bytes=--5", 100, None),
        ("bytes=1-2-3", 100, None),
        ("bytes=0 - 9", 100, None),
        ("bytes=+1-2", 100, None),
        ("bytes=-+2", 100, None),
        ("bytes=0x1-2", 100, None),
        ("bytes=1e3-", 100, None),
        ("bytes=0-9;", 100, None),
        ("bytes=0-9=", 100, None),
        ("bytes=0-9 10-19", 100, None),
        ("bytes=\u00b2-9", 100, None),  # superscript two: str.isdigit() but not DIGIT
        ("bytes=\u0663-9", 100, None),  # Arabic-Indic three
        ("bytes=\uff11-9", 100, None),  # fullwidth one
        ("bytes=0-9\u00a0", 100, None),  # NBSP is not OWS
        ("bytes=0-9\n", 100, None),
        ("bytes=0-9\r\n,1-2", 100, None),
        ("items=0-9", 100, None),
        ("bytes 0-9", 100, None),
        ("bytes:0-9", 100, None),
        ("bytes =0-9", 100, None),  # nothing between the unit and "="
        ("byte=0-9", 100, None),
        ("bytess=0-9", 100, None),
        ("byte\u017f=0-9", 100, None),  # the long s: upper() is "S", but it is not "s"
        ("=0-9", 100, None),
        ("0-9", 100, None),
        ("", 100, None),
        # SPEC 9.4: satisfiable or not
        ("bytes=100-", 100, UNSATISFIABLE),
        ("bytes=100-200", 100, UNSATISFIABLE),
        ("bytes=99-", 100, (R(99, 99),)),
        ("bytes=99-1000", 100, (R(99, 99),)),
        ("bytes=0-99", 100, (R(0, 99),)),
        ("bytes=0-100", 100, (R(0, 99),)),
        ("bytes=-0", 100, UNSATISFIABLE),
        ("bytes=-100", 100, (R(0, 99),)),
        ("bytes=-101", 100, (R(0, 99),)),
        ("bytes=-1", 100, (R(99, 99),)),
        ("bytes=-0,100-", 100, UNSATISFIABLE),
        ("bytes=-0,99-", 100, (R(99, 99),)),
        ("bytes=0-", 0, UNSATISFIABLE),  # an empty file has no bytes to give
        ("bytes=-1", 0, UNSATISFIABLE),
        ("bytes=0-0", 0, UNSATISFIABLE),
        ("bytes=0-", 1, (R(0, 0),)),
        ("bytes=-5", 1, (R(0, 0),)),
        ("bytes=0-", 100, (R(0, 99),)),  # 9.5: a 206 of the whole file
        # SPEC 9.3: numbers of more than 18 digits are larger than any file
        ("bytes=" + "9" * 19 + "-", 10**6, UNSATISFIABLE),
        ("bytes=0-" + "9" * 19, 100, (R(0, 99),)),
        ("bytes=-" + "9" * 19, 100, (R(0, 99),)),
        ("bytes=" + "9" * 4301 + "-", 100, UNSATISFIABLE),  # past int()'s digit limit
        ("bytes=" + "1" * 30 + "-" + "1" * 29, 100, None),  # 5-2, however long
        ("bytes=" + "1" * 30 + "-" + "1" * 30, 100, UNSATISFIABLE),
        ("bytes=" + "1" * 30 + "-" + "1" * 29 + "2", 100, UNSATISFIABLE),
        ("bytes=" + "2" * 30 + "-" + "1" * 30, 100, None),
        ("bytes=" + "0" * 30 + "-9", 100, (R(0, 9),)),  # leading zeros are not digits of size
        ("bytes=-" + "0" * 30 + "1", 100, (R(99, 99),)),
        ("bytes=" + "0" * 30 + "5-" + "0" * 40 + "7", 100, (R(5, 7),)),
        ("bytes=-" + "0" * 30, 100, UNSATISFIABLE),
        ("bytes=999999999999999999-", 10**6, UNSATISFIABLE),  # 18 digits: an int
        # SPEC 9.3: at most 16 range-specs and 32 commas
        ("bytes=" + ",".join(["0-0"] * 16), 100, (R(0, 0),)),
        ("bytes=" + ",".join(["0-0"] * 17), 100, None),
        ("bytes=" + ",".join(["200-"] * 17), 100, None),  # 17 unsatisfiable: still ignored
        ("bytes=" + ",".join(["x"] * 17), 100, None),
        ("bytes=" + "," * 32 + "0-0", 100, (R(0, 0),)),
        ("bytes=" + "," * 33 + "0-0", 100, None),
        ("bytes=" + ",".join(["0-0"] * 16) + "," * 17, 100, (R(0, 0),)),
        ("bytes=" + ",".join(["0-0"] * 16) + "," * 18, 100, None),
        # SPEC 9.6: sorted and coalesced
        ("bytes=500-509,0-9", 1000, (R(0, 9), R(500, 509))),
        ("bytes=-10,0-5,3-20", 1000, (R(0, 20), R(990, 999))),
        ("bytes=0-9,5-14", 1000, (R(0, 14),)),  # overlap
        ("bytes=0-9,10-19", 1000, (R(0, 19),)),  # touch
        ("bytes=0-9,0-9", 1000, (R(0, 9),)),  # the same twice
        ("bytes=0-99,10-19", 1000, (R(0, 99),)),  # nested
        ("bytes=10-19,0-99", 1000, (R(0, 99),)),
        ("bytes=0-9,89-99", 1000, (R(0, 99),)),  # 79 bytes apart: one
        ("bytes=0-9,90-99", 1000, (R(0, 9), R(90, 99))),  # 80 bytes apart: two
        ("bytes=0-9,91-99", 1000, (R(0, 9), R(91, 99))),
        ("bytes=0-9,89-99,179-189", 1000, (R(0, 189),)),  # a chain joins into one
        ("bytes=0-9,90-99,180-189", 1000, (R(0, 9), R(90, 99), R(180, 189))),
        ("bytes=0-,5-9", 1000, (R(0, 999),)),
        ("bytes=-100,0-", 1000, (R(0, 999),)),
        ("bytes=900-,-50", 1000, (R(900, 999),)),
        ("bytes=0-0,-1", 2, (R(0, 1),)),
        ("bytes=0-0,-1", 1000, (R(0, 0), R(999, 999))),
        ("bytes=0-0,2000-,-0", 1000, (R(0, 0),)),  # unsatisfiable specs just drop out
    ],
)
def test_table(value: str, size: int, expected: Plan) -> None:
    plan = parse_ranges(value, size)
    if expected is None or expected is UNSATISFIABLE:
        assert plan is expected
    else:
        assert plan == expected
        assert plan is not UNSATISFIABLE
    check_plan(plan, size)
    assert reference(value, size) == expected  # the model agrees with the table too
    assert (reference(value, size) is UNSATISFIABLE) is (expected is UNSATISFIABLE)


def test_unsatisfiable_is_one_falsy_object() -> None:
    assert repr(UNSATISFIABLE) == "UNSATISFIABLE"
    assert not UNSATISFIABLE
    assert parse_ranges("bytes=5-", 5) is parse_ranges("bytes=-0", 5) is UNSATISFIABLE


def test_the_docstring_examples() -> None:
    # doctest.testmod() would skip them: the package gives parse_ranges its public __module__.
    test = doctest.DocTestParser().get_doctest(
        parse_ranges.__doc__ or "", vars(_ranges), "parse_ranges", _ranges.__file__, 0
    )
    failures, tried = doctest.DocTestRunner().run(test)
    assert tried >= 4
    assert failures == 0


# --- hostile input: bounded time ----------------------------------------------------------

MB = 1_000_000

HOSTILE = {
    "a huge first": "bytes=" + "9" * MB + "-",
    "a huge last": "bytes=0-" + "9" * MB,
    "a huge suffix": "bytes=-" + "9" * MB,
    "leading zeros": "bytes=" + "0" * MB + "5-" + "0" * MB + "7",
    "huge both sides, 5-2": "bytes=" + "2" * (MB // 2) + "-" + "1" * (MB // 2),
    "huge both sides, equal": "bytes=" + "7" * (MB // 2) + "-" + "7" * (MB // 2),
    "commas": "bytes=" + "," * MB,
    "commas then a range": "bytes=" + "," * MB + "0-0",
    "many ranges": "bytes=" + "0-0," * (MB // 4),
    "many ranges, no commas over the bound": "bytes=" + "0-0," * 16 + " " * MB,
    "spaces": "bytes=" + " " * MB + "0-1",
    "tabs and spaces": "bytes=" + " \t" * (MB // 2) + "0-1" + "\t " * (MB // 2),
    "dashes": "bytes=" + "-" * MB,
    "a huge unit": "b" * MB + "=0-1",
    "a huge unit of spaces": " " * MB + "bytes=0-1",
    "equals signs": "=" * MB,
    "bytes= repeated": "bytes=" * (MB // 6),
    "non-ASCII digits": "bytes=" + "\u0663" * MB + "-",
    "superscripts": "bytes=0-" + "\u00b2" * MB,
    "astral": "bytes=" + "\U0001f600" * MB,
    "lone surrogates": "bytes=0-9" + "\udcff" * MB,
    "NULs": "bytes=0-9" + "\x00" * MB,
    "no equals sign": "bytes" * (MB // 5),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_megabyte_headers_take_well_under_a_second(name: str) -> None:
    value = HOSTILE[name]
    assert len(value) >= MB - 10
    for size in (0, 1, 10**6, 10**18 - 1):
        started = time.perf_counter()
        plan = parse_ranges(value, size)
        elapsed = time.perf_counter() - started
        assert elapsed < 0.25, f"{name}: {elapsed:.3f} s"
        check_plan(plan, size)


def test_the_hostile_headers_are_answered_right() -> None:
    size = 1000
    assert parse_ranges(HOSTILE["a huge first"], size) is UNSATISFIABLE
    assert parse_ranges(HOSTILE["a huge last"], size) == (R(0, 999),)
    assert parse_ranges(HOSTILE["a huge suffix"], size) == (R(0, 999),)
    assert parse_ranges(HOSTILE["leading zeros"], size) == (R(5, 7),)
    assert parse_ranges(HOSTILE["huge both sides, 5-2"], size) is None
    assert parse_ranges(HOSTILE["huge both sides, equal"], size) is UNSATISFIABLE
    assert parse_ranges(HOSTILE["commas"], size) is None
    assert parse_ranges(HOSTILE["many ranges"], size) is None
    assert parse_ranges(HOSTILE["many ranges, no commas over the bound"], size) == (R(0, 0),)
    assert parse_ranges(HOSTILE["spaces"], size) == (R(0, 1),)
    assert parse_ranges(HOSTILE["tabs and spaces"], size) == (R(0, 1),)
    assert parse_ranges(HOSTILE["a huge unit of spaces"], size) == (R(0, 1),)
    for name in ("dashes", "a huge unit", "equals signs", "bytes= repeated", "non-ASCII digits"):
        assert parse_ranges(HOSTILE[name], size) is None, name
    for name in ("superscripts", "astral", "lone surrogates", "NULs", "no equals sign"):
        assert parse_ranges(HOSTILE[name], size) is None, name


# --- strategies ---------------------------------------------------------------------------

sizes = st.one_of(
    st.integers(0, 3),
    st.integers(0, 2_000),
    st.integers(0, 10**12),
    st.just(10**18 - 1),  # SPEC 9.3: a number of 19 digits is larger than any file
)
# Offsets near the sizes above, so that ranges meet, overlap and fall off the end; and some
# too long for any file, to 30 digits (past MAX_DIGITS).
numbers = st.one_of(
    st.integers(0, 5),
    st.integers(0, 2_500),
    st.integers(0, 10**13),
    st.integers(10**17, 10**30),
)
ows = st.text(alphabet=" \t", max_size=2)


@dataclass(frozen=True)
class Spec:
    """One range-spec: ``first-last``, ``first-`` (last None) or ``-suffix`` (first None)."""

    first: int | None
    last: int | None

    def interval(self, size: int) -> tuple[int, int] | None:
        """The bytes it asks of a file of ``size`` bytes, or ``None`` if it is unsatisfiable."""
        if self.first is None:
            assert self.last is not None
            return (max(size - self.last, 0), size - 1) if self.last > 0 and size > 0 else None
        if self.first >= size:
            return None
        return (self.first, size - 1 if self.last is None else min(self.last, size - 1))


@st.composite
def specs(draw: st.DrawFn) -> Spec:
    kind = draw(st.sampled_from(["closed", "open", "suffix"]))
    if kind == "suffix":
        return Spec(None, draw(numbers))
    first = draw(numbers)
    if kind == "open":
        return Spec(first, None)
    return Spec(first, first + draw(st.one_of(st.integers(0, 200), numbers)))


@st.composite
def render_number(draw: st.DrawFn, number: int) -> str:
    return "0" * draw(st.sampled_from([0, 0, 0, 1, 3, 25])) + str(number)


@st.composite
def render_spec(draw: st.DrawFn, spec: Spec) -> str:
    first = "" if spec.first is None else draw(render_number(spec.first))
    last = "" if spec.last is None else draw(render_number(spec.last))
    return f"{first}-{last}"


@st.composite
def headers(draw: st.DrawFn, spec_lists: st.SearchStrategy[list[Spec]]) -> tuple[str, list[Spec]]:
    """A well-formed header: any casing of the unit, OWS and empty elements anywhere allowed."""
    chosen = draw(spec_lists)
    cases = draw(st.lists(st.booleans(), min_size=5, max_size=5))
    unit = "".join(c.upper() if up else c for c, up in zip("bytes", cases, strict=True))
    elements = [draw(render_spec(spec)) for spec in chosen]
    # empty elements, within the comma budget of SPEC 9.3
    budget = 2 * MAX_RANGES - max(len(elements) - 1, 0)
    for _ in range(draw(st.integers(0, min(budget, 4)))):
        elements.insert(draw(st.integers(0, len(elements))), "")
    body = ",".join(draw(ows) + element + draw(ows) for element in elements)
    return draw(st.sampled_from(["", " ", "\t "])) + unit + "=" + body, chosen


well_formed = headers(st.lists(specs(), min_size=1, max_size=MAX_RANGES))
# The grammar's own alphabet: mostly ill-formed, sometimes not, always close to the edge.
_range_alphabet = st.text(alphabet="bytesBYTES=0123456789-, \t", max_size=60)
range_alphabet_text = st.one_of(_range_alphabet, _range_alphabet.map("bytes=".__add__))
fragment_text = st.lists(
    st.sampled_from(
        [
            "bytes=", "BYTES=", "=", ",", ", ", " ", "\t", "-", "0", "1", "9", "42", "-10",
            "0-", "5-2", "99999999999999999999", "0000000000000000000000", "\u00b2", "\u0663",
            "\uff11", "\u00a0", "\x00", "\r\n", "\udcff", "\U0001f600", "\u017f", "items=",
        ]
    ),
    max_size=40,
).map("".join)  # fmt: skip
arbitrary_text = st.one_of(st.text(), st.text(max_size=2000), fragment_text)


# --- properties ---------------------------------------------------------------------------


@given(well_formed, sizes)
@example(("bytes=0-9,90-99", [Spec(0, 9), Spec(90, 99)]), 1000)
@example(("bytes=0-9,89-99", [Spec(0, 9), Spec(89, 99)]), 1000)
def test_agrees_with_the_reference_on_well_formed_headers(
    header: tuple[str, list[Spec]], size: int
) -> None:
    value, _ = header
    plan = parse_ranges(value, size)
    assert plan is not None  # well formed: never ignored
    assert plan == reference(value, size)
    assert (plan is UNSATISFIABLE) is (reference(value, size) is UNSATISFIABLE)


@given(st.one_of(range_alphabet_text, fragment_text), sizes)
@example("bytes=" + "1" * 20 + "-" + "1" * 19, 100)
@example("bytes=" + "0" * 20 + "-1", 100)
@example("bytes =0-1", 100)
def test_agrees_with_the_reference_on_near_miss_text(value: str, size: int) -> None:
    plan = parse_ranges(value, size)
    expected = reference(value, size)
    assert plan == expected
    assert (plan is None) is (expected is None)
    assert (plan is UNSATISFIABLE) is (expected is UNSATISFIABLE)


@given(arbitrary_text, sizes)
def test_never_raises_and_always_has_the_shape(value: str, size: int) -> None:
    check_plan(parse_ranges(value, size), size)


@given(arbitrary_text, sizes)
def test_never_raises_after_bytes_equals(value: str, size: int) -> None:
    check_plan(parse_ranges("bytes=" + value, size), size)
    check_plan(parse_ranges("bytes=0-1," + value, size), size)


@given(well_formed, sizes)
def test_every_byte_asked_for_is_sent_and_only_those_gaps_are_added(
    header: tuple[str, list[Spec]], size: int
) -> None:
    value, chosen = header
    plan = parse_ranges(value, size)
    check_plan(plan, size)
    asked = [i for i in (spec.interval(size) for spec in chosen) if i is not None]
    if not asked:
        assert plan is UNSATISFIABLE
        return
    assert plan is not None
    assert plan is not UNSATISFIABLE
    for first, last in asked:  # covered, and by a single part
        assert any(r.start <= first and last <= r.end for r in plan), ((first, last), plan)
    for r in plan:  # no part begins or ends where nothing was asked for
        assert r.start in {first for first, _ in asked}
        assert r.end in {last for _, last in asked}
    # every byte sent that was not asked for lies in a gap of fewer than COALESCE_GAP bytes
    sent = sum(r.length for r in plan)
    if size <= 2_000:
        union = len(set().union(*(range(first, last + 1) for first, last in asked)))
        assert union <= sent <= size
        assert sent - union <= COALESCE_GAP * (len(asked) - 1)


@given(well_formed, sizes)
def test_the_total_length_never_exceeds_the_size(
    header: tuple[str, list[Spec]], size: int
) -> None:
    plan = parse_ranges(header[0], size)
    assert plan is not None
    assert sum(r.length for r in plan) <= size
    assert len(plan) <= MAX_RANGES


@given(st.lists(specs(), min_size=1, max_size=MAX_RANGES), sizes, st.randoms())
def test_order_spacing_and_leading_zeros_do_not_matter(
    chosen: list[Spec], size: int, rng: random.Random
) -> None:
    def render(spec: Spec, zeros: int = 0) -> str:
        first = "" if spec.first is None else "0" * rng.randrange(zeros + 1) + str(spec.first)
        last = "" if spec.last is None else "0" * rng.randrange(zeros + 1) + str(spec.last)
        return f"{first}-{last}"

    plan = parse_ranges("bytes=" + ",".join(map(render, chosen)), size)
    shuffled = chosen[:]
    rng.shuffle(shuffled)
    padded = ", \t,".join(render(spec, zeros=30) for spec in shuffled)
    assert parse_ranges("bytes=" + padded, size) == plan
    assert parse_ranges("BYTES=\t" + padded + " ,", size) == plan


@given(well_formed, sizes)
def test_the_plan_read_back_as_a_header_is_itself(
    header: tuple[str, list[Spec]], size: int
) -> None:
    plan = parse_ranges(header[0], size)
    assert plan is not None
    if plan is UNSATISFIABLE:
        return
    again = parse_ranges("bytes=" + ",".join(f"{r.start}-{r.end}" for r in plan), size)
    assert again == plan


@given(
    st.lists(st.one_of(specs().map(lambda s: f"{s.first or ''}-{s.last or 0}"), st.text()),
             min_size=MAX_RANGES + 1, max_size=2 * MAX_RANGES + 1),
    sizes,
)  # fmt: skip
def test_more_than_sixteen_range_specs_are_ignored_whatever_they_are(
    elements: list[str], size: int
) -> None:
    elements = [e.replace(",", "") or "0-0" for e in elements]  # one spec per element
    elements = [e if e.strip(" \t") else "0-0" for e in elements]
    assert parse_ranges("bytes=" + ",".join(elements), size) is None


@given(st.integers(2 * MAX_RANGES + 1, 5_000), st.lists(specs(), max_size=MAX_RANGES), sizes)
def test_more_than_thirty_two_commas_are_ignored(
    commas: int, chosen: list[Spec], size: int
) -> None:
    good = [f"{s.first}-{s.last}" if s.first is not None else f"-{s.last}" for s in chosen]
    good = [g.replace("None", "") for g in good]
    value = "bytes=" + ",".join(good) + "," * commas
    assert parse_ranges(value, size) is None


@given(st.integers(_ranges.MAX_DIGITS + 1, 60), st.integers(0, 10**60), sizes)
def test_numbers_of_more_than_eighteen_digits_are_larger_than_any_file(
    digits: int, low: int, size: int
) -> None:
    huge = str(10 ** (digits - 1) + low % (9 * 10 ** (digits - 1)))
    assert len(huge) == digits > _ranges.MAX_DIGITS
    assert parse_ranges(f"bytes={huge}-", size) is UNSATISFIABLE
    assert parse_ranges(f"bytes={huge}-{huge}", size) is UNSATISFIABLE
    everything = UNSATISFIABLE if size == 0 else (R(0, size - 1),)
    assert parse_ranges(f"bytes=-{huge}", size) == everything
    assert parse_ranges(f"bytes=0-{huge}", size) == everything
    smaller = huge[:-1]  # first > last is ill-formed, whatever the length
    assert parse_ranges(f"bytes={huge}-{smaller}", size) is None
