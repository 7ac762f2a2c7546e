"""The WSGI adapter under real servers on 127.0.0.1, fetched over real sockets.

wsgiref runs in a thread of this process; waitress and gunicorn run as processes
of their own (gunicorn sends full bodies with sendfile through ``wsgi.file_wrapper``).
Requests are written with http.client, which sends the target as given, so
traversal attempts reach the server un-normalized.
"""

from __future__ import annotations

import http.client
import io
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest

from imageattach.core import HttpExposedFileSystemStore

Address = tuple[str, int]


class Image:
    object_type = "user"
    object_id = 1001
    width = 64
    height = 48
    mimetype = "image/jpeg"
    created_at = datetime(2026, 11, 23, 12, 0, 0, 123)
    original = True


SECRET = b"this must never be served"
BIG = 3 * 1024 * 1024 + 17


def build_site(tmp_path: Path) -> Path:
    store_dir = tmp_path / "store"
    store = HttpExposedFileSystemStore(store_dir, "images")
    store.store(Image(), io.BytesIO(b"\xff\xd8" + b"j" * 20_000))
    big = store_dir / "big.png"
    with open(big, "wb") as f:
        f.write(os.urandom(BIG))
    (tmp_path / "secret.txt").write_bytes(SECRET)
    (store_dir / "escape.png").symlink_to(tmp_path / "secret.txt")
    return store_dir


APP_SOURCE = """
import os
from imageattach.core import HttpExposedFileSystemStore

store = HttpExposedFileSystemStore(os.environ["STORE_DIR"], "images")


class Image:
    object_type = "user"
    object_id = 1001
    width = 64
    height = 48
    mimetype = "image/jpeg"
    import datetime
    created_at = datetime.datetime(2026, 11, 23, 12, 0, 0, 123)


def inner(environ, start_response):
    body = store.locate(Image()).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


app = store.wsgi_middleware(inner)
"""


def make_app(store_dir: Path) -> Callable[..., Any]:
    namespace: dict[str, Any] = {}
    os.environ["STORE_DIR"] = str(store_dir)
    exec(APP_SOURCE, namespace)  # the same app the gunicorn process imports
    return namespace["app"]  # type: ignore[no-any-return]


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def serve_wsgiref(app: Callable[..., Any]) -> Iterator[Address]:
    server: WSGIServer = make_server("127.0.0.1", 0, app, handler_class=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield "127.0.0.1", server.server_port
    finally:
        server.shutdown()
        server.server_close()


def serve_process(name: str, store_dir: Path, tmp_path: Path) -> Iterator[Address]:
    (tmp_path / "site_app.py").write_text(APP_SOURCE)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = {
        "gunicorn": ["gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        "waitress": ["waitress", f"--listen=127.0.0.1:{port}", "--threads=4"],
    }[name]
    process = subprocess.Popen(
        [sys.executable, "-m", *command, "site_app:app"],
        cwd=tmp_path,
        env={**os.environ, "STORE_DIR": str(store_dir)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None:
                    pytest.fail(f"{name} exited: {process.stderr.read().decode()}")  # type: ignore[union-attr]
                time.sleep(0.1)
        else:
            pytest.fail(f"{name} did not start in 30 s")
        yield "127.0.0.1", port
    finally:
        process.terminate()
        process.wait(timeout=30)
        process.stderr.close()  # type: ignore[union-attr]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("site")


@pytest.fixture(scope="module", params=["wsgiref", "waitress", "gunicorn"])
def server(request: pytest.FixtureRequest, site: Path) -> Iterator[Address]:
    tmp_path = site / request.param
    tmp_path.mkdir()
    store_dir = build_site(tmp_path)
    if request.param == "gunicorn" and sys.platform == "win32":
        pytest.skip("gunicorn does not run on Windows")
    if request.param in {"gunicorn", "waitress"}:
        yield from serve_process(request.param, store_dir, tmp_path)
    else:
        yield from serve_wsgiref(make_app(store_dir))


def fetch(
    address: Address, target: str, method: str = "GET", headers: dict[str, str] | None = None
) -> tuple[int, http.client.HTTPMessage, bytes]:
    connection = http.client.HTTPConnection(*address, timeout=30)
    try:
        connection.request(method, target, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


IMAGE = "/images/user/1/1/1001.64x48.jpe"


def test_serves_an_image(server: Address) -> None:
    status, headers, body = fetch(server, IMAGE)
    assert status == 200
    assert headers["Content-Type"] == "image/jpeg"
    assert body == b"\xff\xd8" + b"j" * 20_000
    assert headers["Content-Length"] == str(len(body))
    assert headers["X-Content-Type-Options"] == "nosniff"


def test_a_large_file_arrives_whole(server: Address, site: Path) -> None:
    status, headers, body = fetch(server, "/images/big.png")
    assert status == 200
    assert len(body) == BIG == int(headers["Content-Length"])
    assert any(body == big.read_bytes() for big in site.glob("*/store/big.png"))


def test_revalidation(server: Address) -> None:
    _, headers, _ = fetch(server, IMAGE)
    status, not_modified, body = fetch(server, IMAGE, headers={"If-None-Match": headers["ETag"]})
    assert (status, body) == (304, b"")
    assert not_modified["ETag"] == headers["ETag"]
    since = {"If-Modified-Since": headers["Last-Modified"]}
    assert fetch(server, IMAGE, headers=since)[0] == 304


def test_head(server: Address) -> None:
    status, headers, body = fetch(server, IMAGE, method="HEAD")
    assert (status, body) == (200, b"")
    assert headers["Content-Length"] == "20002"


@pytest.mark.parametrize(
    "target",
    [
        "/images/../secret.txt",
        "/images/%2e%2e/secret.txt",
        "/images/..%2fsecret.txt",
        "/images/%2e%2e%2fsecret.txt",
        "/images/..%5csecret.txt",
        "/images//etc/passwd",
        "/images/escape.png",
        "/images/%00",
        "/images/%ff",
        "/images/user",
        "/images/C:%5cWindows",
    ],
)
def test_hostile_paths(server: Address, target: str) -> None:
    status, _, body = fetch(server, target)
    assert SECRET not in body
    assert status in {400, 404}, (target, status)


def test_method_not_allowed(server: Address) -> None:
    status, headers, body = fetch(server, IMAGE, method="DELETE")
    assert status == 405
    assert headers["Allow"] == "GET, HEAD"
    assert b"j" * 100 not in body


def test_urls_follow_each_requests_host(server: Address) -> None:
    _host, port = server
    for name in [f"localhost:{port}", f"127.0.0.1:{port}", f"localhost:{port}"]:
        status, _, body = fetch(server, "/", headers={"Host": name})
        assert status == 200
        assert body.decode() == f"http://{name}{IMAGE}?_ts=20261123120000000123"
        # and the URL really works
        assert fetch(server, re.sub(r"^http://[^/]+", "", body.decode()))[0] == 200


def test_a_range_of_a_large_file(server: Address, site: Path) -> None:
    big = next(iter(site.glob("*/store/big.png"))).read_bytes()
    start, end = BIG - 1_000_017, BIG - 17
    status, headers, body = fetch(
        server, "/images/big.png", headers={"Range": f"bytes={start}-{end}"}
    )
    assert status == 206
    assert headers["Content-Range"] == f"bytes {start}-{end}/{BIG}"
    assert headers["Content-Length"] == str(end - start + 1) == str(len(body))
    assert body == big[start : end + 1]


def test_several_ranges(server: Address, site: Path) -> None:
    big = next(iter(site.glob("*/store/big.png"))).read_bytes()
    status, headers, body = fetch(
        server, "/images/big.png", headers={"Range": "bytes=-10,0-9,100000-100009"}
    )
    assert status == 206
    boundary = headers["Content-Type"].removeprefix("multipart/byteranges; boundary=")
    assert re.fullmatch("[0-9a-f]{32}", boundary)
    assert headers["Content-Length"] == str(len(body))
    parts = body.split(f"--{boundary}".encode())
    assert parts[0] == b""
    assert parts[-1] == b"--\r\n"
    expected = [(0, 9), (100000, 100009), (BIG - 10, BIG - 1)]
    for part, (first, last) in zip(parts[1:-1], expected, strict=True):
        head, _, data = part.partition(b"\r\n\r\n")
        assert head.split(b"\r\n")[1:] == [
            b"Content-Type: image/png",
            f"Content-Range: bytes {first}-{last}/{BIG}".encode(),
        ]
        assert data == big[first : last + 1] + b"\r\n"


def test_unsatisfiable_range(server: Address) -> None:
    status, headers, body = fetch(server, IMAGE, headers={"Range": "bytes=999999-"})
    assert status == 416
    assert headers["Content-Range"] == "bytes */20002"
    assert b"j" * 100 not in body


def test_cache_headers_of_a_located_url(server: Address) -> None:
    _, headers, _ = fetch(server, IMAGE)
    assert headers["Cache-Control"] == "public, max-age=60"
    assert headers["Accept-Ranges"] == "bytes"
    _, headers, _ = fetch(server, IMAGE + "?_ts=20261123120000000123")
    assert headers["Cache-Control"] == "public, max-age=31536000, immutable"
    status, headers, _ = fetch(server, "/images/user/missing.jpe")
    assert (status, headers["Cache-Control"]) == (404, "no-store")
