from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from imageattach.core import InvalidImageKeyError, image_path, is_safe_path
from imageattach.core._layout import url_path


@pytest.mark.parametrize(
    ("key", "segments"),
    [
        (
            ("comics.cover", 1234, 100, 200, "image/jpeg"),
            ("comics.cover", "234", "1", "1234.100x200.jpe"),
        ),
        (("user", 0, 1, 1, "image/png"), ("user", "0", "0", "0.1x1.png")),
        (("user", 999, 5, 5, "image/gif"), ("user", "999", "0", "999.5x5.gif")),
        (("user", 1000, 5, 5, "image/gif"), ("user", "0", "1", "1000.5x5.gif")),
        (("a b", 123456789, 3, 4, "image/webp"), ("a b", "789", "123456", "123456789.3x4.webp")),
    ],
)  # fmt: skip
def test_the_1_1_0_layout(key: tuple, segments: tuple[str, ...]) -> None:  # type: ignore[type-arg]
    assert image_path(*key) == segments


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (("", 1, 1, 1, "image/png"), "object_type must not be empty"),
        (("a/b", 1, 1, 1, "image/png"), "object_type must not contain '/'"),
        (("a\\b", 1, 1, 1, "image/png"), "object_type must not contain '\\\\\\\\'"),
        (("a\x00", 1, 1, 1, "image/png"), "object_type must not contain"),
        ((".", 1, 1, 1, "image/png"), "must not be '.' or '..'"),
        (("..", 1, 1, 1, "image/png"), "must not be '.' or '..'"),
        ((b"user", 1, 1, 1, "image/png"), "object_type must be a str"),
        ((["user"], 1, 1, 1, "image/png"), "object_type must be a str"),
        (("user", -1, 1, 1, "image/png"), "object_id must be a non-negative int, got -1"),
        (("user", True, 1, 1, "image/png"), "object_id must be an int, got True"),
        (("user", 1.0, 1, 1, "image/png"), "object_id must be an int, got 1.0"),
        (("user", "1", 1, 1, "image/png"), "object_id must be an int, got '1'"),
        (("user", None, 1, 1, "image/png"), "object_id must be an int, got None"),
        (("user", 1, 0, 1, "image/png"), "width must be a positive int, got 0"),
        (("user", 1, 1, -5, "image/png"), "height must be a positive int, got -5"),
    ],
)
def test_bad_keys_are_refused(key: tuple, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(InvalidImageKeyError, match=message) as info:
        image_path(*key)
    assert isinstance(info.value, ValueError)


def test_integral_types_other_than_int_are_accepted() -> None:
    class Integral:
        def __index__(self) -> int:
            return 1234

    assert image_path("t", Integral(), 1, 1, "image/png")[3] == "1234.1x1.png"  # type: ignore[arg-type]


def test_url_path_quotes_the_object_type() -> None:
    assert url_path(image_path("a b?#%", 1, 2, 3, "image/png")) == "a%20b%3F%23%25/1/0/1.2x3.png"


@given(
    object_type=st.text(min_size=1, max_size=40).filter(
        lambda s: s not in {".", ".."} and not set(s) & {"/", "\\", "\x00"}
    ),
    object_id=st.integers(min_value=0, max_value=10**18),
    width=st.integers(min_value=1, max_value=10**6),
    height=st.integers(min_value=1, max_value=10**6),
)
def test_every_valid_key_maps_to_four_segments_inside_the_store(
    object_type: str, object_id: int, width: int, height: int
) -> None:
    segments = image_path(object_type, object_id, width, height, "image/jpeg")
    assert len(segments) == 4
    assert segments[0] == object_type
    assert int(segments[1]) + 1000 * int(segments[2]) == object_id
    assert all(s not in {"", ".", ".."} and "/" not in s for s in segments)
    # what the server can serve is exactly what it will refuse to escape from
    if is_safe_path(object_type):
        assert is_safe_path("/".join(segments))


@given(
    object_type=st.one_of(st.text(max_size=12), st.sampled_from(["user", "comics.cover", "a b"])),
    object_id=st.one_of(st.integers(min_value=-5, max_value=10**9), st.booleans(), st.floats()),
    width=st.one_of(st.integers(min_value=-1, max_value=5000), st.booleans()),
    height=st.integers(min_value=-1, max_value=5000),
    mimetype=st.sampled_from(["image/jpeg", "IMAGE/PNG", "image/png; q=1", "text/html", ""]),
)
def test_the_fast_url_path_agrees_with_the_validating_one(
    object_type: str, object_id: int, width: int, height: int, mimetype: str
) -> None:
    from imageattach.core._layout import key_url_path

    try:
        expected = url_path(image_path(object_type, object_id, width, height, mimetype))
    except ValueError as error:
        with pytest.raises(type(error)):
            key_url_path(object_type, object_id, width, height, mimetype)
        with pytest.raises(type(error)):  # also once the object type is known to be valid
            key_url_path(object_type, object_id, width, height, mimetype)
    else:
        assert key_url_path(object_type, object_id, width, height, mimetype) == expected
        assert key_url_path(object_type, object_id, width, height, mimetype) == expected
