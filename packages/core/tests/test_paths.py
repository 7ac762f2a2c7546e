from __future__ import annotations

import posixpath
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from imageattach.core import decode_path_info, is_safe_path


@pytest.mark.parametrize(
    "path",
    [
        "a.png",
        "comics.cover/234/1/1234.100x200.jpe",
        "a b/c d.png",
        "%2e%2e",  # a literal name: decoding happened once, before us
        "é/ü.png",
        "console.png",
        "com10.png",
        "lpt.png",
        "a..b.png",
        "x" * 255,
    ],
)
def test_safe(path: str) -> None:
    assert is_safe_path(path)


@pytest.mark.parametrize(
    "path",
    [
        "",
        "..",
        "../etc/passwd",
        "a/../../etc/passwd",
        "a/./b.png",
        ".",
        ".hidden",
        "a/.git/config",
        "/etc/passwd",
        "a//b.png",
        "a/",
        "a\\..\\b",
        "..\\windows",
        "a\x00.png",
        "a\r\nSet-Cookie: x",
        "a\x7f",
        "C:/Windows/win.ini",
        "c:",
        "a.png::$DATA",
        "a.png:stream",
        "a.png.",
        "a.png ",
        "dir./a.png",
        "CON",
        "con.png",
        "a/Nul.txt",
        "COM1",
        "lpt9.jpg",
        "COM\u00b9",
        "lpt\u00b2.png",
        "conin$",
        "\udcff.png",  # a byte that was not UTF-8
        "x" * 256,
        "é" * 128,  # 256 bytes in UTF-8
        "a/" * 600,
        "a" + "/b" * 512,
    ],
)
def test_unsafe(path: str) -> None:
    assert not is_safe_path(path)


@given(st.text(max_size=300))
def test_a_safe_path_never_leaves_the_root(path: str) -> None:
    if is_safe_path(path):
        joined = posixpath.normpath(posixpath.join("/root", path))
        assert joined.startswith("/root/")
        assert joined == "/root/" + path  # nothing to normalize: it is canonical
        assert all(not s.startswith(".") for s in path.split("/"))
        assert "\\" not in path
        assert ":" not in path


@given(st.lists(st.sampled_from(["..", ".", "", "a", "%2e", "\\", "C:", "b.png"]), max_size=8))
def test_dot_segments_in_any_combination(parts: list[str]) -> None:
    path = "/".join(parts)
    if is_safe_path(path):
        assert ".." not in path.split("/")
        assert "" not in path.split("/")


def test_hostile_lengths_are_cheap() -> None:
    for path in ["a/" * 100_000, "." * 1_000_000, "é" * 500_000]:
        started = time.perf_counter()
        assert not is_safe_path(path)
        assert time.perf_counter() - started < 0.1


@pytest.mark.parametrize(
    "path",
    [
        "/".join(["a" * 255] * 4)[:1024],  # long segments just under the limit
        "a" * 1024,
        "." * 1024,
        "/" * 1024,
        "\\" * 1024,
        "con/" * 256,
        "é" * 512,
    ],
)
def test_worst_case_paths_are_checked_in_linear_time(path: str) -> None:
    started = time.perf_counter()
    for _ in range(100):
        is_safe_path(path)
    # 100 checks of a 1 KiB path: far under a millisecond each, even on a loaded machine
    assert time.perf_counter() - started < 0.1


@pytest.mark.parametrize(
    ("path_info", "text"),
    [
        ("/a.png", "/a.png"),
        ("/caf\u00c3\u00a9.png", "/caf\u00e9.png"),  # UTF-8 bytes, as PEP 3333 hands them over
        ("/\u00ff.png", "/\udcff.png"),  # not UTF-8: a lone surrogate, refused by is_safe_path
        ("/\u20ac.png", "/\u20ac.png"),  # a server that decoded UTF-8 already
    ],
)
def test_decode_path_info(path_info: str, text: str) -> None:
    assert decode_path_info(path_info) == text


def test_decode_path_info_never_makes_a_path_safe() -> None:
    assert not is_safe_path(decode_path_info("\u00ff.png"))
    overlong_dot = b"\xc0\xae.png".decode("latin-1")  # %c0%ae: an overlong "." in UTF-8
    assert not is_safe_path(decode_path_info(overlong_dot))
