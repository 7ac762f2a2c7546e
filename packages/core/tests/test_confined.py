"""``ConfinedOpener.same``: the per-request check that a path still names a file (SPEC 10.4).

It has two implementations, the C module ``imageattach.core._speedups`` and
:func:`os.stat`, each bound either to the root's descriptor or to full names.
Every test here runs on all four, and each must give the answer the scenario
calls for: so the two implementations agree wherever it matters.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from imageattach.core import _confined
from imageattach.core._confined import ConfinedOpener, Identity, file_identity

COMPILED = _confined._SAME_FILE
REQUIRED = bool(os.environ.get("IMAGEATTACH_REQUIRE_EXTENSIONS"))

Same = Callable[[str, Identity], bool]


def test_the_compiled_module_is_there_when_required() -> None:
    # CI builds with IMAGEATTACH_REQUIRE_EXTENSIONS=1: a module that failed to
    # build or import must not pass unnoticed as the os.stat fallback.
    if not REQUIRED:
        pytest.skip("IMAGEATTACH_REQUIRE_EXTENSIONS is not set")
    assert COMPILED is not None


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    (root / "d").mkdir(parents=True)
    (root / "d" / "a.png").write_bytes(b"a" * 100)
    os.utime(root / "d" / "a.png", ns=(1_577_836_800_123_456_789,) * 2)
    (tmp_path / "outside.png").write_bytes(b"o" * 100)
    return root


@pytest.fixture(
    params=[
        pytest.param(("compiled", "descriptor"), id="compiled-descriptor"),
        pytest.param(("compiled", "name"), id="compiled-name"),
        pytest.param(("stat", "descriptor"), id="stat-descriptor"),
        pytest.param(("stat", "name"), id="stat-name"),
    ]
)
def make_same(
    request: pytest.FixtureRequest, root: Path, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Same]:
    """A factory of ``opener.same`` bound the way the parameter says."""
    implementation, binding = request.param
    if implementation == "compiled" and COMPILED is None:
        if REQUIRED:
            pytest.fail("the compiled module is required but did not import")
        pytest.skip("imageattach.core._speedups is not built here")
    if implementation == "stat":
        monkeypatch.setattr(_confined, "_SAME_FILE", None)
    if binding == "descriptor" and _confined._OPENAT2 is None:
        pytest.skip("a root descriptor is only held where openat2 confines the opens")
    if binding == "name":
        monkeypatch.setattr(_confined, "_OPENAT2", None)

    # Kept alive for the test: an opener's root descriptor closes with it.
    openers: list[ConfinedOpener] = []

    def make(*, follow_symlinks: bool = True) -> Same:
        real_root = str(root.resolve()) + os.sep
        opener = ConfinedOpener(real_root, follow_symlinks=follow_symlinks)
        os.close(opener.open("d/a.png", real_root + "d/a.png"))  # binds the root descriptor
        assert (opener._root_fd >= 0) is (binding == "descriptor")
        openers.append(opener)
        return opener.same

    return make


def identity_of(path: Path) -> Identity:
    return file_identity(os.stat(path))


def test_the_same_file(root: Path, make_same: Callable[..., Same]) -> None:
    same = make_same()
    assert same("d/a.png", identity_of(root / "d" / "a.png"))


def test_each_field_counts(root: Path, make_same: Callable[..., Same]) -> None:
    same = make_same()
    identity = identity_of(root / "d" / "a.png")
    for index in range(5):
        for delta in (1, -1):
            changed = list(identity)
            changed[index] += delta
            assert not same("d/a.png", tuple(changed)), (index, delta)  # type: ignore[arg-type]


def test_a_rewrite_of_the_same_size(root: Path, make_same: Callable[..., Same]) -> None:
    same = make_same()
    before = identity_of(root / "d" / "a.png")
    (root / "d" / "a.png").write_bytes(b"b" * 100)
    assert not same("d/a.png", before)


def test_the_old_mtime_put_back(root: Path, make_same: Callable[..., Same]) -> None:
    # Content and mtime as they were: only the ctime tells.
    path = root / "d" / "a.png"
    same = make_same()
    before = identity_of(path)
    path.write_bytes(b"b" * 100)
    os.utime(path, ns=(before[0], before[0]))
    assert identity_of(path)[0] == before[0]
    assert not same("d/a.png", before)


def test_a_file_replaced_by_rename(root: Path, make_same: Callable[..., Same]) -> None:
    path = root / "d" / "a.png"
    same = make_same()
    before = identity_of(path)
    (root / "d" / "new.png").write_bytes(b"a" * 100)
    os.utime(root / "d" / "new.png", ns=(before[0], before[0]))
    os.replace(root / "d" / "new.png", path)
    assert not same("d/a.png", before)
    assert same("d/a.png", identity_of(path))


def test_missing_and_unreachable(root: Path, make_same: Callable[..., Same]) -> None:
    same = make_same()
    identity = identity_of(root / "d" / "a.png")
    for path in ["d/gone.png", "gone/a.png", "d/a.png/x", "x" * 5000, "d/a.png\0", "\0"]:
        assert not same(path, identity), path
    os.remove(root / "d" / "a.png")
    assert not same("d/a.png", identity)


def test_names_beyond_ascii(root: Path, make_same: Callable[..., Same]) -> None:
    name = "d/\u00e9t\u00e9-\u753b\u50cf.png"
    (root / name).write_bytes(b"x")
    same = make_same()
    assert same(name, identity_of(root / name))
    # a lone surrogate: bytes that were not UTF-8 (os.fsencode's surrogateescape)
    if sys.platform.startswith("linux"):
        raw = os.fsdecode(b"d/\xff.png")
        (root / raw).write_bytes(b"y")
        assert same(raw, identity_of(root / raw))
    assert not same("d/\ud800\udc00.png", identity_of(root / name))


def test_times_before_1970(root: Path, make_same: Callable[..., Same]) -> None:
    path = root / "d" / "a.png"
    os.utime(path, ns=(-1_500_000_001, -1_500_000_001))  # 1969-12-31 23:59:58.499999999
    same = make_same()
    identity = identity_of(path)
    assert identity[0] == -1_500_000_001
    assert same("d/a.png", identity)


def test_values_no_file_has(root: Path, make_same: Callable[..., Same]) -> None:
    same = make_same()
    mtime, size, inode, device, ctime = identity_of(root / "d" / "a.png")
    for identity in [
        (2**63, size, inode, device, ctime),
        (mtime, -1, inode, device, ctime),
        (mtime, size, -inode, device, ctime),
        (mtime, size, inode + 2**64, device, ctime),
        (mtime, size, inode, device, -(2**70)),
    ]:
        assert not same("d/a.png", identity)


def test_links(root: Path, tmp_path: Path, make_same: Callable[..., Same]) -> None:
    (root / "d" / "link.png").symlink_to("a.png")
    (root / "d" / "out.png").symlink_to(tmp_path / "outside.png")
    target = identity_of(root / "d" / "a.png")
    follow = make_same()
    assert follow("d/link.png", target)  # the very same file, through a link
    refuse = make_same(follow_symlinks=False)
    assert not refuse("d/link.png", target)
    assert refuse("d/a.png", target)
    # What a link points at out of the root is never the file that was opened in
    # it (the opener refuses it), so it can never match an entry; the check only
    # compares.
    assert not follow("d/out.png", target)


@pytest.mark.skipif(COMPILED is None, reason="imageattach.core._speedups is not built here")
def test_the_compiled_function_refuses_wrong_arguments(root: Path) -> None:
    assert COMPILED is not None
    same_file: Callable[..., bool] = COMPILED
    fd = os.open(root, os.O_RDONLY)
    try:
        identity = identity_of(root / "d" / "a.png")
        assert same_file(fd, True, "d/a.png", identity)
        assert same_file(None, True, str(root / "d" / "a.png"), identity)
        for args in [
            (fd, True, b"d/a.png", identity),
            (fd, True, "d/a.png", list(identity)),
            (fd, True, "d/a.png", identity[:4]),
            (fd, True, "d/a.png", (*identity[:4], "1")),
            ("3", True, "d/a.png", identity),
            (fd, True, "d/a.png"),
        ]:
            with pytest.raises(TypeError):
                same_file(*args)
        for bad_fd in [-1, 2**31, -100]:
            with pytest.raises(ValueError, match="descriptor"):
                same_file(bad_fd, True, "d/a.png", identity)
    finally:
        os.close(fd)
    assert not same_file(fd, True, "d/a.png", identity)  # closed: EBADF, a miss


@pytest.mark.skipif(
    _confined._OPENAT2 is None, reason="a root descriptor is only held where openat2 confines"
)
def test_a_replaced_root_is_let_go_a_check_later(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # SPEC 10.5.  The old descriptor outlives the switch by one check, so a request
    # that read its number just before never resolves beneath a reused one.
    import gc

    monkeypatch.setattr(_confined, "_ROOT_RECHECK_SECONDS", 0.0)
    root = tmp_path / "root"
    root.mkdir()
    (root / "a.png").write_bytes(b"old")
    real_root = str(root.resolve()) + os.sep

    def read(opener: ConfinedOpener) -> bytes:
        fd = opener.open("a.png", real_root + "a.png")
        try:
            return os.read(fd, 100)
        finally:
            os.close(fd)

    def descriptors_of(path: Path) -> list[int]:
        found = []
        for name in os.listdir("/proc/self/fd"):
            with contextlib.suppress(OSError):
                if os.readlink(f"/proc/self/fd/{name}") == str(path.resolve()):
                    found.append(int(name))
        return found

    opener = ConfinedOpener(real_root)
    assert read(opener) == b"old"
    assert not opener.check_root()  # the same directory: kept
    (old_fd,) = descriptors_of(root)
    root.rename(tmp_path / "old")
    root.mkdir()
    (root / "a.png").write_bytes(b"new")
    assert read(opener) == b"old"  # no miss, no check: the engine calls check_root when due
    assert opener.check_root()
    assert descriptors_of(tmp_path / "old") == [old_fd]  # dropped, not closed yet
    assert read(opener) == b"new"
    assert not opener.check_root()
    assert descriptors_of(tmp_path / "old") == []
    assert len(descriptors_of(root)) == 1
    shutil.rmtree(root)  # nothing at the path: the descriptor is dropped too
    assert opener.check_root()
    with pytest.raises(FileNotFoundError):
        read(opener)
    del opener
    gc.collect()
    assert descriptors_of(tmp_path / "old") == []
