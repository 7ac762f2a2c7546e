"""The store suite: SPEC §8 for any ``imageattach.core.Store``.

Subclass :class:`StoreSuite` and override the ``store`` fixture.  The store must
build URLs outside a request: give an ``HttpExposedFileSystemStore`` a
``host_url_getter``.
"""

from __future__ import annotations

import io
import threading
from typing import Any, ClassVar, Final

import pytest

from ._host_url import SpecImage
from ._suite import Suite

__all__ = ["StoreSuite"]

spec_rule = pytest.mark.spec_rule

KEY: Final = ("spec", 1234, 10, 20, "image/png")
ALL_BYTES: Final = bytes(range(256)) * 64
REPLACE_ROUNDS: Final = 30

#: (what is wrong, key) for SPEC 8.6.
BAD_KEYS: Final[list[tuple[str, tuple[Any, ...]]]] = [
    ("object_type-empty", ("", 1, 10, 20, "image/png")),
    ("object_type-slash", ("a/b", 1, 10, 20, "image/png")),
    ("object_type-backslash", ("a\\b", 1, 10, 20, "image/png")),
    ("object_type-nul", ("a\x00b", 1, 10, 20, "image/png")),
    ("object_type-dot", (".", 1, 10, 20, "image/png")),
    ("object_type-dotdot", ("..", 1, 10, 20, "image/png")),
    ("object_id-negative", ("spec", -1, 10, 20, "image/png")),
    ("object_id-true", ("spec", True, 10, 20, "image/png")),
    ("object_id-false", ("spec", False, 10, 20, "image/png")),
    ("object_id-float", ("spec", 1.0, 10, 20, "image/png")),
    ("object_id-str", ("spec", "1", 10, 20, "image/png")),
    ("object_id-none", ("spec", None, 10, 20, "image/png")),
    ("width-zero", ("spec", 1, 0, 20, "image/png")),
    ("width-negative", ("spec", 1, -10, 20, "image/png")),
    ("width-float", ("spec", 1, 10.5, 20, "image/png")),
    ("width-str", ("spec", 1, "10", 20, "image/png")),
    ("height-zero", ("spec", 1, 10, 0, "image/png")),
    ("height-negative", ("spec", 1, 10, -20, "image/png")),
    ("height-float", ("spec", 1, 10, 20.0, "image/png")),
    ("height-none", ("spec", 1, 10, None, "image/png")),
    ("mimetype-unknown", ("spec", 1, 10, 20, "image/unknown")),
    ("mimetype-html", ("spec", 1, 10, 20, "text/html")),
    ("mimetype-empty", ("spec", 1, 10, 20, "")),
]


class _Spy(io.BytesIO):
    """A file that remembers whether anyone read it."""

    touched = False

    def read(self, size: int | None = -1) -> bytes:
        self.touched = True
        return super().read(size)

    def readinto(self, buffer: Any) -> int:
        self.touched = True
        return super().readinto(buffer)


class StoreSuite(Suite):
    """Conformance tests of SPEC §8 for a store.  Override the ``store`` fixture."""

    _spec_suite: ClassVar[bool] = True

    @pytest.fixture
    def store(self) -> Any:
        """Override: return an empty store that can build URLs outside a request."""
        raise NotImplementedError(
            f"{type(self).__name__} must override the store fixture: return an empty Store "
            "that can build URLs outside a request"
        )

    @staticmethod
    def _read(store: Any, *key: Any) -> bytes:
        file = store.get_file(*key)
        try:
            data: bytes = file.read()
        finally:
            file.close()
        return data

    @spec_rule("8.1")
    @pytest.mark.parametrize(
        "key",
        [
            KEY,
            ("spec", 0, 1, 1, "image/jpeg"),
            ("comics.cover", 1_234_567, 300, 200, "image/svg+xml"),
            ("spec", 999, 4000, 3000, "image/webp"),
            ("spec", 1000, 10, 10, "application/pdf"),
        ],
        ids=["png", "id-zero", "dotted-type", "webp", "pdf"],
    )
    def test_put_then_get(self, store: Any, key: tuple[Any, ...]) -> None:
        store.put_file(io.BytesIO(ALL_BYTES), *key, False)
        assert self._read(store, *key) == ALL_BYTES

    @spec_rule("8.1")
    def test_put_replaces(self, store: Any) -> None:
        store.put_file(io.BytesIO(b"first"), *KEY, False)
        store.put_file(io.BytesIO(b"second"), *KEY, True)
        assert self._read(store, *KEY) == b"second"

    @spec_rule("8.1")
    def test_keys_are_separate(self, store: Any) -> None:
        other = ("spec", 1234, 20, 10, "image/png")
        store.put_file(io.BytesIO(b"ten by twenty"), *KEY, False)
        store.put_file(io.BytesIO(b"twenty by ten"), *other, False)
        assert self._read(store, *KEY) == b"ten by twenty"
        assert self._read(store, *other) == b"twenty by ten"

    @spec_rule("8.1")
    def test_store_then_open(self, store: Any) -> None:
        image = SpecImage()
        store.store(image, io.BytesIO(b"stored"))
        with store.open(image) as file:
            assert file.read() == b"stored"

    @spec_rule("8.2")
    def test_get_missing_raises_file_not_found(self, store: Any) -> None:
        with pytest.raises(FileNotFoundError):
            store.get_file(*KEY)
        with pytest.raises(OSError):  # noqa: PT011 - IOError, as 1.1.0 callers catch it
            store.get_file(*KEY)

    @spec_rule("8.2")
    def test_get_deleted_raises_file_not_found(self, store: Any) -> None:
        store.put_file(io.BytesIO(b"x"), *KEY, False)
        store.delete_file(*KEY)
        with pytest.raises(FileNotFoundError):
            store.get_file(*KEY)

    @spec_rule("8.3")
    def test_delete_removes(self, store: Any) -> None:
        other = ("spec", 1235, 10, 20, "image/png")
        store.put_file(io.BytesIO(b"x"), *KEY, False)
        store.put_file(io.BytesIO(b"y"), *other, False)
        store.delete_file(*KEY)
        with pytest.raises(FileNotFoundError):
            store.get_file(*KEY)
        assert self._read(store, *other) == b"y", "only the key's file is deleted"

    @spec_rule("8.3")
    def test_delete_missing_is_silent(self, store: Any) -> None:
        store.delete_file(*KEY)
        store.put_file(io.BytesIO(b"x"), *KEY, False)
        store.delete_file(*KEY)
        store.delete_file(*KEY)
        store.delete(SpecImage(object_id=99))

    @spec_rule("8.4")
    def test_get_url_is_pure(self, store: Any) -> None:
        before = store.get_url(*KEY)
        assert store.get_url(*KEY) == before
        store.put_file(io.BytesIO(b"x"), *KEY, False)
        assert store.get_url(*KEY) == before, "storing a file does not change its URL"
        store.delete_file(*KEY)
        assert store.get_url(*KEY) == before

    @spec_rule("8.4")
    def test_get_url_differs_by_key(self, store: Any) -> None:
        keys = [
            KEY,
            ("other", 1234, 10, 20, "image/png"),
            ("spec", 1235, 10, 20, "image/png"),
            ("spec", 2234, 10, 20, "image/png"),
            ("spec", 1234, 11, 20, "image/png"),
            ("spec", 1234, 10, 21, "image/png"),
            ("spec", 1234, 10, 20, "image/jpeg"),
            ("spec", 1234, 20, 10, "image/png"),
            ("spec", 123, 410, 20, "image/png"),
        ]
        urls = [store.get_url(*key) for key in keys]
        assert len(set(urls)) == len(keys), "different keys must give different URLs"

    @spec_rule("8.5")
    def test_locate_adds_created_at(self, store: Any) -> None:
        image = SpecImage()
        url = store.get_url(
            image.object_type, image.object_id, image.width, image.height, image.mimetype
        )
        separator = "&" if "?" in url else "?"
        assert store.locate(image) == f"{url}{separator}_ts=20200102030405678901"

    @spec_rule("8.5")
    def test_locate_appends_to_a_query(self, store: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        # SPEC 8.5 defines locate() by get_url(): with get_url() giving a query, the
        # cache buster must join it with '&'.
        monkeypatch.setattr(store, "get_url", lambda *key: "https://cdn.example/x.png?sig=1")
        image = SpecImage(created_at=SpecImage().created_at.replace(microsecond=0))
        assert store.locate(image) == "https://cdn.example/x.png?sig=1&_ts=20200102030405000000"

    @spec_rule("8.6")
    @pytest.mark.parametrize(("problem", "key"), BAD_KEYS, ids=[p for p, _ in BAD_KEYS])
    @pytest.mark.parametrize("operation", ["put_file", "get_file", "delete_file", "get_url"])
    def test_bad_key_raises_value_error(
        self, store: Any, operation: str, problem: str, key: tuple[Any, ...]
    ) -> None:
        spy = _Spy(b"never read")
        args: tuple[Any, ...] = (spy, *key, False) if operation == "put_file" else key
        with pytest.raises(ValueError):  # noqa: PT011 - SPEC 8.6 says ValueError
            getattr(store, operation)(*args)
        assert not spy.touched, "the key is validated before the file is read"

    @spec_rule("8.6")
    def test_bad_key_leaves_store_unchanged(self, store: Any) -> None:
        store.put_file(io.BytesIO(b"kept"), *KEY, False)
        for _, key in BAD_KEYS:
            with pytest.raises(ValueError):  # noqa: PT011
                store.put_file(io.BytesIO(b"bad"), *key, False)
            with pytest.raises(ValueError):  # noqa: PT011
                store.delete_file(*key)
        assert self._read(store, *KEY) == b"kept"

    @spec_rule("8.7")
    def test_replace_is_whole(self, store: Any) -> None:
        small, large = b"s" * 64 * 1024, b"L" * 1024 * 1024
        store.put_file(io.BytesIO(small), *KEY, False)
        seen: set[bytes] = set()
        bad: list[str] = []
        stop = threading.Event()

        def read() -> None:
            while not stop.is_set():
                try:
                    data = self._read(store, *KEY)
                except FileNotFoundError:
                    bad.append("the file was missing while being replaced")
                    continue
                if data in (small, large):
                    seen.add(data[:1])
                else:
                    bad.append(f"a read of {len(data)} bytes was neither version")

        reader = threading.Thread(target=read)
        reader.start()
        try:
            for round_ in range(REPLACE_ROUNDS):
                store.put_file(io.BytesIO(large if round_ % 2 == 0 else small), *KEY, False)
        finally:
            stop.set()
            reader.join()
        assert not bad, bad[:3]
