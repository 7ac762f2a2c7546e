"""The WSGI adapter through Werkzeug's test client (the full rule set runs in the spec suite)."""

from __future__ import annotations

import io
import os
import sys
import threading
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from werkzeug.test import Client, EnvironBuilder
from werkzeug.wrappers import Request, Response

from imageattach.core import ConfigurationError, HttpExposedFileSystemStore
from imageattach.wsgi import StaticServerMiddleware


def fallback(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    return Response(b"fallback " + environ["PATH_INFO"].encode("latin-1"))(environ, start_response)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "images"
    root.mkdir()
    (root / "a.png").write_bytes(os.urandom(50_000))
    return root


def test_seed_signature_and_attributes(root: Path) -> None:
    middleware = StaticServerMiddleware(fallback, "images", str(root))
    assert (middleware.app, middleware.url_path, middleware.dir_path) == (
        fallback,
        "/images/",
        str(root),
    )
    assert (middleware.block_size, middleware.cors) == (8192, False)
    assert "StaticServerMiddleware(" in repr(middleware)


@pytest.mark.parametrize("block_size", [0, -1, 1.5, "8192", True])
def test_bad_block_size_fails_at_startup(root: Path, block_size: object) -> None:
    with pytest.raises(ConfigurationError, match="block_size must be a positive int"):
        StaticServerMiddleware(fallback, "/images", str(root), block_size=block_size)  # type: ignore[arg-type]


def test_serves_and_passes_through(root: Path) -> None:
    client = Client(StaticServerMiddleware(fallback, "/images", str(root)))
    response = client.get("/images/a.png", buffered=True)
    assert response.status_code == 200
    assert response.data == (root / "a.png").read_bytes()
    assert response.headers["Content-Type"] == "image/png"
    assert client.get("/elsewhere", buffered=True).data == b"fallback /elsewhere"


@pytest.mark.parametrize("block_size", [1, 1000, 8192, 1 << 20])
def test_block_iterator_without_file_wrapper(root: Path, block_size: int) -> None:
    app = StaticServerMiddleware(fallback, "/images", str(root), block_size=block_size)
    environ = EnvironBuilder("/images/a.png").get_environ()
    environ.pop("wsgi.file_wrapper", None)
    statuses: list[str] = []
    body = app(environ, lambda status, headers, exc_info=None: statuses.append(status))  # type: ignore[arg-type,func-returns-value,return-value]
    chunks = list(body)
    body.close()  # type: ignore[attr-defined]
    assert statuses == ["200 OK"]
    assert b"".join(chunks) == (root / "a.png").read_bytes()
    assert max(map(len, chunks)) <= block_size


def test_uses_the_servers_file_wrapper(root: Path) -> None:
    wrapped: list[tuple[Any, int]] = []

    class FileWrapper:
        def __init__(self, file: Any, block_size: int = 8192) -> None:
            wrapped.append((file, block_size))
            self.file = file

        def __iter__(self) -> Any:
            return iter(lambda: self.file.read(4096), b"")

        def close(self) -> None:
            self.file.close()

    app = StaticServerMiddleware(fallback, "/images", str(root), block_size=1234)
    environ = EnvironBuilder("/images/a.png").get_environ()
    environ["wsgi.file_wrapper"] = FileWrapper
    body = app(environ, lambda *args: None)  # type: ignore[arg-type,return-value]
    assert isinstance(body, FileWrapper)
    assert b"".join(body) == (root / "a.png").read_bytes()
    body.close()
    ((file, block_size),) = wrapped
    assert hasattr(file, "fileno")  # a real file: a server can sendfile it
    assert block_size == 1234
    assert file.closed


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="counts /proc/self/fd")
def test_a_client_that_goes_away_leaves_no_file_open(root: Path) -> None:
    app = StaticServerMiddleware(fallback, "/images", str(root), block_size=100)
    app.files.decide("HEAD", "/images/a.png", {})  # the root's descriptor lives with the app
    before = set(os.listdir("/proc/self/fd"))
    environ = EnvironBuilder("/images/a.png").get_environ()
    environ.pop("wsgi.file_wrapper", None)
    body = app(environ, lambda *args: None)  # type: ignore[arg-type,return-value]
    next(iter(body))  # one block, then the client disconnects: the server closes
    body.close()  # type: ignore[attr-defined]
    assert set(os.listdir("/proc/self/fd")) == before


def test_start_response_failing_closes_the_file(root: Path) -> None:
    app = StaticServerMiddleware(fallback, "/images", str(root))
    app.files.decide("HEAD", "/images/a.png", {})  # the root's descriptor lives with the app
    before = set(os.listdir("/proc/self/fd")) if sys.platform.startswith("linux") else set()

    def start_response(*args: Any) -> None:
        raise OSError("client gone")

    with pytest.raises(OSError, match="client gone"):
        app(EnvironBuilder("/images/a.png").get_environ(), start_response)  # type: ignore[arg-type]
    if sys.platform.startswith("linux"):
        assert set(os.listdir("/proc/self/fd")) == before


def test_non_utf8_and_non_latin1_paths(root: Path) -> None:
    (root / "é.png").write_bytes(b"accent")
    app = StaticServerMiddleware(fallback, "/images", str(root))
    client = Client(app)
    assert client.get("/images/%C3%A9.png", buffered=True).data == b"accent"
    assert client.get("/images/%FF.png", buffered=True).status_code == 404
    # A server that decodes PATH_INFO as UTF-8 against PEP 3333 still gets an answer.
    environ = EnvironBuilder("/images/a.png").get_environ()
    environ["PATH_INFO"] = "/images/\u4e2d.png"
    statuses: list[str] = []
    app(environ, lambda status, headers: statuses.append(status))  # type: ignore[arg-type,func-returns-value,return-value]
    assert statuses == ["404 Not Found"]


class Image:
    object_type = "user"
    object_id = 7
    width = 10
    height = 10
    mimetype = "image/png"
    created_at = datetime(2026, 1, 2, 3, 4, 5)
    original = True


def test_the_seed_flask_example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The 1.1.0 documentation's example, as written, with its relative path."""
    monkeypatch.chdir(tmp_path)
    from flask import Flask

    from sqlalchemy_imageattach.stores.fs import HttpExposedFileSystemStore as Legacy

    app = Flask(__name__)
    fs_store = Legacy("userimages", "images/")
    app.wsgi_app = fs_store.wsgi_middleware(app.wsgi_app)  # type: ignore[method-assign]

    @app.route("/")
    def index() -> str:
        return fs_store.locate(Image())

    fs_store.store(Image(), io.BytesIO(b"\x89PNG fake"))
    client = app.test_client()
    url = client.get("/", base_url="https://shop.example/", buffered=True).get_data(as_text=True)
    assert url == "https://shop.example/images/user/7/0/7.10x10.png?_ts=20260102030405000000"
    image = client.get(url.removeprefix("https://shop.example"), buffered=True)
    assert image.status_code == 200
    assert image.data == b"\x89PNG fake"
    assert image.content_type == "image/png"


def test_each_request_gets_its_own_host(tmp_path: Path) -> None:
    store = HttpExposedFileSystemStore(tmp_path, "images")

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        return Response(store.locate(Image()))(environ, start_response)

    client = Client(store.wsgi_middleware(app))
    first = client.get("/", headers={"Host": "evil.example"}, buffered=True).get_data(as_text=True)
    second = client.get("/", headers={"Host": "good.example"}, buffered=True).get_data(
        as_text=True
    )
    assert first.startswith("http://evil.example/images/")
    assert second.startswith("http://good.example/images/")
    with pytest.raises(RuntimeError, match="could not determine image url"):
        store.locate(Image())  # the request is over; nothing was kept


def test_urls_built_while_the_body_streams(tmp_path: Path) -> None:
    store = HttpExposedFileSystemStore(tmp_path, "images")

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        yield b"first "
        yield store.locate(Image()).encode()  # after the app returned its iterable

    body = Client(store.wsgi_middleware(app)).get("/", base_url="http://lazy.example/app/")
    assert body.get_data(as_text=True).startswith("first http://lazy.example/app/images/")


def test_untrusted_hosts_never_reach_a_url(tmp_path: Path) -> None:
    store = HttpExposedFileSystemStore(tmp_path, "images", trusted_hosts=["good.example"])

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        try:
            text = store.locate(Image())
        except RuntimeError as error:
            text = str(error)
        return Response(text)(environ, start_response)

    client = Client(store.wsgi_middleware(app))
    assert client.get("/", headers={"Host": "good.example"}, buffered=True).text.startswith(
        "http://good.example/"
    )
    refused = client.get("/", headers={"Host": "evil.example"}, buffered=True).text
    assert "could not determine image url" in refused
    assert "'evil.example' is not in trusted_hosts" in refused
    assert "http://evil.example" not in refused


def test_wsgi_middleware_cors_argument(tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(b"x")

    def acao(store: HttpExposedFileSystemStore, cors: bool | None) -> str | None:
        client = Client(store.wsgi_middleware(fallback, cors=cors))
        return client.get("/__images__/a.png", buffered=True).headers.get(
            "Access-Control-Allow-Origin"
        )

    assert acao(HttpExposedFileSystemStore(tmp_path), None) is None
    assert acao(HttpExposedFileSystemStore(tmp_path, cors=True), None) == "*"
    assert acao(HttpExposedFileSystemStore(tmp_path, cors=True), False) is None
    assert acao(HttpExposedFileSystemStore(tmp_path), True) == "*"


def test_host_url_is_thread_local(tmp_path: Path) -> None:
    store = HttpExposedFileSystemStore(tmp_path, "images")
    barrier = threading.Barrier(2)

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        barrier.wait(timeout=5)  # both requests are in flight at once
        return Response(store.locate(Image()))(environ, start_response)

    client = Client(store.wsgi_middleware(app))
    results: dict[str, str] = {}

    def request(host: str) -> None:
        results[host] = client.get("/", headers={"Host": host}, buffered=True).text

    threads = [threading.Thread(target=request, args=(h,)) for h in ("a.example", "b.example")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results["a.example"].startswith("http://a.example/")
    assert results["b.example"].startswith("http://b.example/")


def test_request_object_is_not_needed(root: Path) -> None:
    # Werkzeug's Request is never built on the serving path: nothing is parsed twice.
    app = StaticServerMiddleware(fallback, "/images", str(root))
    environ = EnvironBuilder("/images/a.png").get_environ()
    assert Request(environ).path == "/images/a.png"
    app(environ, lambda *a: None).close()  # type: ignore[arg-type,attr-defined,func-returns-value]
