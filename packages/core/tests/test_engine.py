"""The engine as a plain-data API.  HTTP behaviour through adapters is the spec suite's job."""

from __future__ import annotations

import os
import sys
import threading
import time
import tracemalloc
from pathlib import Path

import pytest

from imageattach.core import ConfigurationError, FileBody, StaticFiles

NO_HEADERS: dict[str, str] = {}


def open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


needs_proc = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="counts descriptors in /proc/self/fd"
)


@pytest.fixture(params=["compiled", "stat"])
def each_check(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run a test with each implementation of the per-request file check (SPEC 10.4)."""
    from imageattach.core import _confined

    if request.param == "stat":
        monkeypatch.setattr(_confined, "_SAME_FILE", None)
    elif _confined._SAME_FILE is None:
        pytest.skip("imageattach.core._speedups is not built here")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "images"
    root.mkdir()
    (root / "a.png").write_bytes(b"PNG" * 100)
    os.utime(root / "a.png", ns=(1_577_836_800_000_000_000,) * 2)  # 2020-01-01
    (tmp_path / "secret.txt").write_bytes(b"top secret")
    (tmp_path / "images_secret").mkdir()
    (tmp_path / "images_secret" / "x.png").write_bytes(b"sibling")
    return root


def test_not_mine(root: Path) -> None:
    files = StaticFiles(root, "/img")
    for path in ["/", "/img", "/imgx/a.png", "/other/img/a.png", ""]:
        assert files.decide("GET", path, NO_HEADERS) is None


@pytest.mark.parametrize("mount", ["img", "/img", "/img/", "img/"])
def test_mount_spellings(root: Path, mount: str) -> None:
    response = StaticFiles(root, mount).decide("GET", "/img/a.png", NO_HEADERS)
    assert response is not None
    response.close()
    assert response.status == 200


def test_a_mount_at_the_top(root: Path) -> None:
    response = StaticFiles(root, "/").decide("GET", "/a.png", NO_HEADERS)
    assert response is not None
    response.close()
    assert response.status == 200


def test_the_file_body_plan(root: Path) -> None:
    response = StaticFiles(root, "/img").decide("GET", "/img/a.png", NO_HEADERS)
    assert response is not None
    body = response.body
    assert isinstance(body, FileBody)
    try:
        assert (body.offset, body.length) == (0, 300)
        assert body.path == os.path.join(os.path.realpath(root), "a.png")
        assert body.file.read() == b"PNG" * 100
    finally:
        response.close()
        response.close()  # idempotent
    assert body.file.closed
    assert response.status_line == "200 OK"
    assert dict(response.headers)["ETag"] == f'"{1_577_836_800_000_000_000:x}-12c"'


def test_a_root_that_is_a_file_fails_at_startup(root: Path) -> None:
    with pytest.raises(ConfigurationError, match="root must be a directory, got"):
        StaticFiles(root / "a.png", "/img")


def test_a_root_that_does_not_exist_yet(tmp_path: Path) -> None:
    files = StaticFiles(tmp_path / "later", "/img")
    response = files.decide("GET", "/img/a.png", NO_HEADERS)
    assert response is not None
    assert response.status == 404
    (tmp_path / "later").mkdir()
    (tmp_path / "later" / "a.png").write_bytes(b"x")
    response = files.decide("GET", "/img/a.png", NO_HEADERS)
    assert response is not None
    response.close()
    assert response.status == 200


def test_a_root_reached_through_a_symlink(root: Path, tmp_path: Path) -> None:
    (tmp_path / "link").symlink_to(root)
    response = StaticFiles(tmp_path / "link", "/img").decide("GET", "/img/a.png", NO_HEADERS)
    assert response is not None
    response.close()
    assert response.status == 200


@pytest.mark.usefixtures("each_check")
def test_symlinks(root: Path, tmp_path: Path) -> None:
    (root / "in.png").symlink_to(root / "a.png")
    (root / "out.png").symlink_to(tmp_path / "secret.txt")
    (root / "outdir").symlink_to(tmp_path / "images_secret")
    files = StaticFiles(root, "/img")
    statuses = {}
    for name in ["in.png", "out.png", "outdir/x.png"]:
        response = files.decide("GET", "/img/" + name, NO_HEADERS)
        assert response is not None
        response.close()
        statuses[name] = response.status
    assert statuses == {"in.png": 200, "out.png": 404, "outdir/x.png": 404}


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_a_fifo_does_not_block(root: Path) -> None:
    os.mkfifo(root / "pipe.png")
    result: list[int] = []
    thread = threading.Thread(
        target=lambda: result.append(
            StaticFiles(root, "/img").decide("GET", "/img/pipe.png", NO_HEADERS).status  # type: ignore[union-attr]
        ),
        daemon=True,
    )
    thread.start()
    thread.join(timeout=5)
    assert result == [404]


def test_a_file_replaced_after_open_is_served_whole(root: Path) -> None:
    files = StaticFiles(root, "/img")
    response = files.decide("GET", "/img/a.png", NO_HEADERS)
    assert response is not None
    assert isinstance(response.body, FileBody)
    replacement = root / ".tmp"
    replacement.write_bytes(b"new and longer " * 100)
    os.replace(replacement, root / "a.png")
    try:
        assert response.body.file.read() == b"PNG" * 100
        assert dict(response.headers)["Content-Length"] == "300"
    finally:
        response.close()


def test_a_future_mtime_is_clamped(root: Path) -> None:
    future = time.time() + 86_400 * 365
    os.utime(root / "a.png", (future, future))
    before = int(time.time())
    response = StaticFiles(root, "/img").decide("HEAD", "/img/a.png", NO_HEADERS)
    assert response is not None
    from imageattach.core import parse_http_date

    last_modified = parse_http_date(dict(response.headers)["Last-Modified"])
    assert last_modified is not None
    assert before <= last_modified <= time.time()


@needs_proc
def test_only_a_full_get_keeps_a_file_open(root: Path) -> None:
    files = StaticFiles(root, "/img")
    files.decide("HEAD", "/img/a.png", NO_HEADERS)  # opens the root, kept for the engine's life
    before = open_fds()
    for method, headers in [
        ("HEAD", NO_HEADERS),
        ("GET", {"if-none-match": "*"}),
        ("GET", {"if-match": '"nope"'}),
        ("POST", NO_HEADERS),
    ]:
        response = files.decide(method, "/img/a.png", headers)
        assert response is not None
        assert isinstance(response.body, bytes)
    assert open_fds() == before


def test_many_distinct_missing_paths_leave_memory_flat(root: Path) -> None:
    files = StaticFiles(root, "/img")
    for i in range(2_000):  # warm caches
        files.decide("GET", f"/img/warm/{i}.png", NO_HEADERS)
    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        for i in range(100_000):
            files.decide("GET", f"/img/missing/{i}.png", NO_HEADERS)
        grown = tracemalloc.get_traced_memory()[0] - baseline
    finally:
        tracemalloc.stop()
    assert grown < 256 * 1024


@needs_proc
def test_the_root_descriptor_is_released_with_the_engine(root: Path) -> None:
    import gc

    def root_descriptors() -> list[str]:
        found = []
        for fd in os.listdir("/proc/self/fd"):
            try:
                if os.readlink(f"/proc/self/fd/{fd}") == str(root.resolve()):
                    found.append(fd)
            except OSError:
                pass
        return found

    assert root_descriptors() == []
    files = StaticFiles(root, "/img")
    files.decide("HEAD", "/img/a.png", NO_HEADERS)
    if files._opener.uses_openat2:
        assert len(root_descriptors()) == 1
    del files
    gc.collect()
    assert root_descriptors() == []


@pytest.mark.usefixtures("each_check")
def test_a_replaced_root_is_noticed(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from imageattach.core import _confined

    monkeypatch.setattr(_confined, "_ROOT_RECHECK_SECONDS", 0.0)
    files = StaticFiles(root, "/img")
    assert files.decide("HEAD", "/img/a.png", NO_HEADERS).status == 200  # type: ignore[union-attr]
    root.rename(tmp_path / "old-images")
    root.mkdir()
    (root / "b.png").write_bytes(b"new root")
    response = files.decide("GET", "/img/b.png", NO_HEADERS)
    assert response is not None
    response.close()
    assert response.status == 200
    assert files.decide("GET", "/img/a.png", NO_HEADERS).status == 404  # type: ignore[union-attr]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="openat2 is Linux-only")
def test_the_kernel_confines_opens_where_it_can(root: Path, tmp_path: Path) -> None:
    from imageattach.core._confined import _OPENAT2

    files = StaticFiles(root, "/img")
    files.decide("HEAD", "/img/a.png", NO_HEADERS)
    assert files._opener.uses_openat2 is (_OPENAT2 is not None and files._opener._kernel)
    # An absolute symlink that stays inside the root is refused by RESOLVE_BENEATH
    # but allowed by the rule: the by-name path must serve it.
    (root / "abs.png").symlink_to(root / "a.png")
    response = files.decide("GET", "/img/abs.png", NO_HEADERS)
    assert response is not None
    response.close()
    assert response.status == 200
    (root / "esc.png").symlink_to(tmp_path / "secret.txt")
    assert files.decide("GET", "/img/esc.png", NO_HEADERS).status == 404  # type: ignore[union-attr]


@pytest.mark.usefixtures("each_check")
def test_without_openat2(root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from imageattach.core import _confined

    monkeypatch.setattr(_confined, "_OPENAT2", None)
    (root / "in.png").symlink_to("a.png")
    (root / "out.png").symlink_to(tmp_path / "secret.txt")
    files = StaticFiles(root, "/img")
    assert not files._opener.uses_openat2
    statuses = {}
    for name in ["a.png", "in.png", "out.png", "../secret.txt"]:
        response = files.decide("GET", "/img/" + name, NO_HEADERS)
        assert response is not None
        response.close()
        statuses[name] = response.status
    assert statuses == {"a.png": 200, "in.png": 200, "out.png": 404, "../secret.txt": 404}


@pytest.mark.usefixtures("each_check")
def test_the_cache_never_outlives_a_change(root: Path) -> None:
    files = StaticFiles(root, "/img")
    first = files.decide("GET", "/img/a.png", NO_HEADERS)
    assert first is not None
    first.close()
    etag = dict(first.headers)["ETag"]
    # same size, new content and time: a new ETag, also on the stat-only paths
    (root / "a.png").write_bytes(b"png" * 100)
    os.utime(root / "a.png", ns=(1_600_000_000_000_000_000,) * 2)
    for method, headers in [("HEAD", NO_HEADERS), ("GET", {"if-none-match": etag})]:
        response = files.decide(method, "/img/a.png", headers)
        assert response is not None
        response.close()
        assert response.status == 200
        assert dict(response.headers)["ETag"] != etag
    os.remove(root / "a.png")
    for method, headers in [("HEAD", NO_HEADERS), ("GET", {"if-none-match": "*"})]:
        assert files.decide(method, "/img/a.png", headers).status == 404  # type: ignore[union-attr]


def test_cache_size_is_bounded(root: Path) -> None:
    for i in range(50):
        (root / f"{i}.png").write_bytes(b"x")
    files = StaticFiles(root, "/img", cache_size=10)
    for i in range(50):
        files.decide("HEAD", f"/img/{i}.png", NO_HEADERS)
    assert len(files._entries) == 10
    assert len(StaticFiles(root, "/img", cache_size=0)._entries) == 0


@pytest.mark.parametrize("cache_size", [-1, 1.5, True, "10"])
def test_bad_cache_size_fails_at_startup(root: Path, cache_size: object) -> None:
    with pytest.raises(ConfigurationError, match="cache_size must be a non-negative int"):
        StaticFiles(root, "/img", cache_size=cache_size)  # type: ignore[arg-type]
