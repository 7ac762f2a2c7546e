"""The 1.1.0 import paths keep working (SPEC's store rules are checked by the spec suite)."""

from __future__ import annotations

import importlib
import sys

import pytest


def test_the_1_1_0_names() -> None:
    from imageattach import core
    from sqlalchemy_imageattach.store import Store
    from sqlalchemy_imageattach.stores import fs

    assert Store is core.Store
    assert fs.HttpExposedFileSystemStore is core.HttpExposedFileSystemStore
    assert fs.FileSystemStore is core.FileSystemStore
    assert fs.BaseFileSystemStore is core.BaseFileSystemStore
    assert fs.guess_extension("image/jpeg") == ".jpe"
    assert set(fs.__all__) == {
        "BaseFileSystemStore",
        "FileSystemStore",
        "HttpExposedFileSystemStore",
        "StaticServerMiddleware",
        "guess_extension",
    }


def test_static_server_middleware_resolves_lazily() -> None:
    from imageattach.wsgi import StaticServerMiddleware
    from sqlalchemy_imageattach.stores import fs

    assert fs.StaticServerMiddleware is StaticServerMiddleware


def test_a_missing_wsgi_adapter_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "imageattach.wsgi", None)  # as if not installed
    fs = importlib.import_module("sqlalchemy_imageattach.stores.fs")
    with pytest.raises(ImportError, match="pip install imageattach-wsgi"):
        fs.StaticServerMiddleware  # noqa: B018
    store = fs.HttpExposedFileSystemStore("x")
    with pytest.raises(ImportError, match="pip install imageattach-wsgi"):
        store.wsgi_middleware(lambda environ, start_response: [])


def test_unknown_attribute() -> None:
    from sqlalchemy_imageattach.stores import fs

    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        fs.Nope  # noqa: B018
