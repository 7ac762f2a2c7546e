from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from imageattach.core._etags import matches_strong, matches_weak

E = '"5e0be100-3e8"'


@pytest.mark.parametrize(
    ("header", "weak", "strong"),
    [
        (E, True, True),
        ("W/" + E, True, False),
        ("*", True, True),
        (" * ", True, True),
        ('"x", ' + E, True, True),
        ('"x",W/' + E, True, False),
        ('"x" , ' + E + " ,", True, True),
        (", ," + E, True, True),
        ('"x"', False, False),
        ("5e0be100-3e8", False, False),  # unquoted: not an entity tag
        (E + " junk", False, False),
        (E + ', "unterminated', False, False),  # an invalid list matches nothing
        ('"x", *', False, False),
        ("", False, False),
        ('W/"5E0BE100-3E8"', False, False),  # comparison is case-sensitive
        ('"\x80\xff", ' + E, True, True),  # obs-text is allowed in a tag
    ],
)
def test_matching(header: str, weak: bool, strong: bool) -> None:
    assert matches_weak(header, E) is weak
    assert matches_strong(header, E) is strong


def test_hostile_lists_take_linear_time() -> None:
    headers = [
        '"x", ' * 50_000 + E,
        "W/" * 100_000,
        '"' * 100_000,
        ("," * 100_000) + E,
        " " * 100_000 + E,
        E[:-1] * 50_000,
    ]
    for header in headers:
        started = time.perf_counter()
        matches_weak(header, E)
        matches_strong(header, E)
        assert time.perf_counter() - started < 1.0


tags = st.text(alphabet=st.characters(min_codepoint=0x23, max_codepoint=0x7E), max_size=10).map(
    lambda s: f'"{s}"'
)


@given(st.lists(st.tuples(st.booleans(), tags), max_size=8), tags)
def test_a_well_formed_list_matches_iff_a_member_does(
    members: list[tuple[bool, str]], etag: str
) -> None:
    header = ", ".join(("W/" if weak else "") + tag for weak, tag in members)
    assert matches_weak(header, etag) is any(tag == etag for _, tag in members)
    assert matches_strong(header, etag) is any(tag == etag and not w for w, tag in members)


@given(st.text(max_size=200))
def test_never_raises(header: str) -> None:
    assert isinstance(matches_weak(header, E), bool)
    assert isinstance(matches_strong(header, E), bool)
