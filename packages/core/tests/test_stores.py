from __future__ import annotations

import io
import os
import stat
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest

from imageattach.core import (
    FileSystemStore,
    HttpExposedFileSystemStore,
    InvalidImageKeyError,
    Store,
    UnknownMimetypeError,
    host_url_context,
)


@dataclass
class Image:
    object_type: str = "comics.cover"
    object_id: int = 1234
    width: int = 100
    height: int = 200
    mimetype: str = "image/jpeg"
    created_at: datetime = datetime(2017, 10, 10, 1, 2, 3, 456789)
    original: bool = True


def test_store_writes_the_1_1_0_layout(tmp_path: Path) -> None:
    store = FileSystemStore(tmp_path, "http://cdn.example/images")
    store.store(Image(), io.BytesIO(b"jpeg bytes"))
    path = tmp_path / "comics.cover" / "234" / "1" / "1234.100x200.jpe"
    assert path.read_bytes() == b"jpeg bytes"
    # nothing else is left behind: no temporary files
    assert sorted(p.name for p in path.parent.iterdir()) == ["1234.100x200.jpe"]


def test_an_existing_1_1_0_store_is_read(tmp_path: Path) -> None:
    # A file laid out by sqlalchemy-imageattach 1.1.0, before imageattach existed.
    legacy = tmp_path / "user" / "42" / "0" / "42.10x10.jpe"
    legacy.parent.mkdir(parents=True)
    legacy.write_bytes(b"old")
    store = FileSystemStore(tmp_path, "http://cdn.example/")
    image = Image(object_type="user", object_id=42, width=10, height=10)
    with store.open(image) as f:
        assert f.read() == b"old"
    assert (
        store.locate(image) == "http://cdn.example/user/42/0/42.10x10.jpe?_ts=20171010010203456789"
    )


def test_files_get_the_umask_mode(tmp_path: Path) -> None:
    store = FileSystemStore(tmp_path, "/")
    store.store(Image(), io.BytesIO(b"x"))
    (path,) = tmp_path.rglob("*.jpe")
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask


def test_base_url_gets_a_trailing_slash() -> None:
    assert FileSystemStore("x", "http://a/b").base_url == "http://a/b/"
    assert FileSystemStore("x", "http://a/b/").base_url == "http://a/b/"


def test_locate_appends_to_an_existing_query() -> None:
    store = FileSystemStore("x", "http://a/")
    store.get_url = lambda *key: "http://a/b.png?sig=1"  # type: ignore[method-assign]
    assert store.locate(Image()) == "http://a/b.png?sig=1&_ts=20171010010203456789"


def test_put_replaces_atomically_for_concurrent_readers(tmp_path: Path) -> None:
    store = FileSystemStore(tmp_path, "/")
    old, new = b"a" * 300_000, b"b" * 400_000
    store.store(Image(), io.BytesIO(old))
    stop = threading.Event()
    seen: set[bytes] = set()

    def reader() -> None:
        while not stop.is_set():
            with store.open(Image()) as f:
                data = f.read()
            seen.add(data[:1] + data[-1:] + str(len(data)).encode())

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for i in range(30):
            store.store(Image(), io.BytesIO(new if i % 2 == 0 else old))
    finally:
        stop.set()
        thread.join()
    assert seen <= {b"aa300000", b"bb400000"}


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    store = FileSystemStore(tmp_path, "/")
    store.store(Image(), io.BytesIO(b"old"))

    class Broken(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
            raise OSError("disk on fire")

    with pytest.raises(OSError, match="disk on fire"):
        store.store(Image(), Broken())  # type: ignore[arg-type]
    (path,) = tmp_path.rglob("*.jpe")
    assert path.read_bytes() == b"old"
    assert [p.name for p in path.parent.iterdir()] == [path.name]


def test_get_missing_raises_file_not_found(tmp_path: Path) -> None:
    store = FileSystemStore(tmp_path, "/")
    with pytest.raises(FileNotFoundError):
        store.open(Image())
    with pytest.raises(OSError, match="No such file"):  # 1.1.0 documented IOError
        store.get_file("t", 1, 1, 1, "image/png")


def test_delete_is_silent_when_missing(tmp_path: Path) -> None:
    store = FileSystemStore(tmp_path, "/")
    store.delete(Image())
    store.store(Image(), io.BytesIO(b"x"))
    store.delete(Image())
    store.delete(Image())
    assert not list(tmp_path.rglob("*.jpe"))


def test_bad_keys_touch_nothing(tmp_path: Path) -> None:
    store = FileSystemStore(tmp_path / "store", "/")
    with pytest.raises(InvalidImageKeyError):
        store.store(Image(object_type="../escape"), io.BytesIO(b"x"))
    with pytest.raises(UnknownMimetypeError):
        store.store(Image(mimetype="text/html"), io.BytesIO(b"x"))
    with pytest.raises(InvalidImageKeyError):
        store.delete(Image(object_id=-1))
    assert not (tmp_path / "store").exists()


def test_store_requires_a_readable_file(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="file must be a readable file-like object"):
        FileSystemStore(tmp_path, "/").store(Image(), b"bytes")  # type: ignore[arg-type]


def test_reproducible_flag_follows_original() -> None:
    calls: list[bool] = []

    class Recording(Store):
        def put_file(self, file, object_type, object_id, width, height, mimetype, reproducible):  # type: ignore[no-untyped-def]
            calls.append(reproducible)

    Recording().store(Image(original=True), io.BytesIO())
    Recording().store(Image(original=False), io.BytesIO())
    assert calls == [False, True]


def test_open_with_seek_buffers_unseekable_files() -> None:
    class Pipe:
        def __init__(self) -> None:
            self.closed = False
            self._data = io.BytesIO(b"pipe data")

        def read(self, size: int = -1) -> bytes:
            return self._data.read(size)

        def readline(self) -> bytes:
            return self._data.readline()

        def readlines(self) -> list[bytes]:
            return self._data.readlines()

        def close(self) -> None:
            self.closed = True

    pipes: list[Pipe] = []

    class Streaming(Store):
        def get_file(self, *key: object) -> Pipe:  # type: ignore[override]
            pipes.append(Pipe())
            return pipes[-1]

    with Streaming().open(Image(), use_seek=True) as f:
        f.seek(5)
        assert f.read() == b"data"
    assert pipes[0].closed
    with Streaming().open(Image()) as g:  # a context manager even without __enter__
        assert g.read() == b"pipe data"
    assert pipes[1].closed


def test_unimplemented_store_methods_say_so() -> None:
    with pytest.raises(NotImplementedError, match="put_file"):
        Store().store(Image(), io.BytesIO())
    with pytest.raises(NotImplementedError, match="get_url"):
        Store().locate(Image())


class TestHttpExposed:
    def test_prefix_slashes_are_stripped(self) -> None:
        assert HttpExposedFileSystemStore("x", "/images/").prefix == "images"
        assert HttpExposedFileSystemStore("x", "images/").prefix == "images"
        assert HttpExposedFileSystemStore("x").prefix == "__images__"

    def test_host_url_getter_must_be_callable(self) -> None:
        with pytest.raises(TypeError, match="host_url_getter must be callable"):
            HttpExposedFileSystemStore("x", host_url_getter="http://a/")  # type: ignore[arg-type]

    @pytest.mark.parametrize("host_url", ["https://example.com", "https://example.com/"])
    def test_host_url_getter(self, host_url: str) -> None:
        store = HttpExposedFileSystemStore("x", "images/", host_url_getter=lambda: host_url)
        assert store.locate(Image()) == (
            "https://example.com/images/comics.cover/234/1/1234.100x200.jpe"
            "?_ts=20171010010203456789"
        )

    def test_without_a_request_it_raises_the_1_1_0_error(self) -> None:
        store = HttpExposedFileSystemStore("x", "images")
        with pytest.raises(RuntimeError) as info:
            store.locate(Image())
        assert str(info.value) == (
            "could not determine image url. there are two ways to workaround this:\n"
            "- set host_url_getter parameter to imageattach.core.HttpExposedFileSystemStore\n"
            "- use imageattach.core.HttpExposedFileSystemStore.wsgi_middleware\n"
            "see docs of imageattach.core.HttpExposedFileSystemStore for more details"
        )

    def test_inside_a_host_url_context(self) -> None:
        store = HttpExposedFileSystemStore("x", "images")
        with host_url_context("http://a.example/app/"):
            assert store.get_url("t", 1, 2, 3, "image/png") == (
                "http://a.example/app/images/t/1/0/1.2x3.png"
            )

    def test_repr(self) -> None:
        store = HttpExposedFileSystemStore("userimages", "images/")
        assert repr(store) == (
            "imageattach.core.HttpExposedFileSystemStore('userimages', 'images', None)"
        )


@pytest.mark.parametrize(
    "created_at",
    [
        datetime(2017, 10, 10, 1, 2, 3, 456789),
        datetime(2026, 1, 1),
        datetime(1, 1, 1),
        datetime(999, 12, 31, 23, 59, 59, 999999),
        datetime(9999, 12, 31, 23, 59, 59, 999999),
    ],
)
def test_the_cache_buster_is_strftime_exactly(created_at: datetime) -> None:
    store = FileSystemStore("x", "http://a/")
    url = store.locate(Image(created_at=created_at))
    assert url.endswith("?_ts=" + created_at.strftime("%Y%m%d%H%M%S%f"))


def test_locate_needs_a_datetime() -> None:
    with pytest.raises(TypeError, match=r"image\.created_at must be a datetime, got None"):
        FileSystemStore("x", "http://a/").locate(Image(created_at=None))  # type: ignore[arg-type]
