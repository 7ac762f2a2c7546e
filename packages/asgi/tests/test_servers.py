"""The ASGI adapter under real servers on 127.0.0.1, fetched over real sockets.

uvicorn and Hypercorn run as processes of their own, each on a free port, serving
``store.asgi_middleware(app)`` from a module written for the test; Granian too
when it is installed: it is the server here that offers ``http.response.pathsend``
(by experiment: uvicorn 0.54 and Hypercorn 0.18 list no extension for HTTP/1.1;
Granian 2.8 lists ``http.response.pathsend``).  Wherever a server lists it, a whole
large file must go by pathsend; elsewhere, as body blocks.  Requests are
written with http.client, which sends the target as given, so traversal attempts
reach the server un-normalized.
"""

from __future__ import annotations

import contextlib
import http.client
import importlib.util
import io
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

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


JPEG = b"\xff\xd8" + b"j" * 20_000
SECRET = b"this must never be served"
BIG = 3 * 1024 * 1024 + 17
HUGE = 64 * 1024**3  # sparse: no disk; reading it all would take minutes
IMAGE = "/images/user/1/1/1001.64x48.jpe"
TS = "?_ts=20261123120000000123"

APP_SOURCE = '''
import datetime
import json
import os

from imageattach.core import HttpExposedFileSystemStore

store = HttpExposedFileSystemStore(os.environ["STORE_DIR"], "images")


class Image:
    object_type = "user"
    object_id = 1001
    width = 64
    height = 48
    mimetype = "image/jpeg"
    created_at = datetime.datetime(2026, 11, 23, 12, 0, 0, 123)


async def page(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            await send({"type": message["type"] + ".complete"})
            if message["type"] == "lifespan.shutdown":
                return
    if scope["path"].endswith("/scope"):
        info = {
            "extensions": sorted(scope.get("extensions") or {}),
            "spec_version": scope["asgi"].get("spec_version", "2.0"),
            "root_path": scope.get("root_path", ""),
        }
        body = json.dumps(info).encode()
    elif scope["path"].endswith("/last"):
        body = json.dumps(LAST).encode()
    else:
        body = store.locate(Image()).encode()
    headers = [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


served = store.asgi_middleware(page, block_size=int(os.environ["BLOCK_SIZE"]))
LAST = []


async def app(scope, receive, send):
    """The store's middleware, and a record of the messages of the last image response."""
    if scope["type"] != "http" or "/images/" not in scope["path"]:
        await served(scope, receive, send)
        return
    types = []

    async def recording(message):
        types.append(message["type"])
        await send(message)

    await served(scope, receive, recording)
    LAST[:] = types
'''

SERVERS = {
    "uvicorn": lambda port, root_path: [
        *("uvicorn", "--host", "127.0.0.1", "--port", str(port), "--no-access-log"),
        *(("--root-path", root_path) if root_path else ()),
    ],
    "hypercorn": lambda port, root_path: [
        *("hypercorn", "--bind", f"127.0.0.1:{port}", "--workers", "1"),
        *(("--root-path", root_path) if root_path else ()),
    ],
    "granian": lambda port, root_path: [
        *("granian", "--interface", "asgi", "--host", "127.0.0.1", "--port", str(port)),
        *("--workers", "1"),
    ],
}


class Server:
    def __init__(
        self, name: str, address: Address, process: subprocess.Popen[bytes], store_dir: Path
    ) -> None:
        self.name = name
        self.address = address
        self.process = process
        self.store_dir = store_dir

    def pids(self) -> list[int]:
        """The server's process and its workers."""
        pids, queue = [], [self.process.pid]
        while queue:
            pid = queue.pop()
            pids.append(pid)
            with contextlib.suppress(OSError):
                for task in os.listdir(f"/proc/{pid}/task"):
                    with open(f"/proc/{pid}/task/{task}/children") as children:
                        queue.extend(int(child) for child in children.read().split())
        return pids

    def open_fds_to(self, path: Path) -> list[str]:
        target = os.path.realpath(path)
        found = []
        for pid in self.pids():
            with contextlib.suppress(OSError):
                for fd in os.listdir(f"/proc/{pid}/fd"):
                    with contextlib.suppress(OSError):
                        if os.readlink(f"/proc/{pid}/fd/{fd}") == target:
                            found.append(f"{pid}:{fd}")
        return found


def build_site(tmp_path: Path) -> Path:
    store_dir = tmp_path / "store"
    store = HttpExposedFileSystemStore(store_dir, "images")
    store.store(Image(), io.BytesIO(JPEG))
    with open(store_dir / "big.png", "wb") as f:
        f.write(os.urandom(BIG))
    with open(store_dir / "huge.png", "wb") as f:
        f.truncate(HUGE)
    (tmp_path / "secret.txt").write_bytes(SECRET)
    (store_dir / "escape.png").symlink_to(tmp_path / "secret.txt")
    return store_dir


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


#: Granian is the server here that offers http.response.pathsend; it runs when installed.
HAS_GRANIAN = importlib.util.find_spec("granian") is not None
RUN = [name for name in SERVERS if name != "granian" or HAS_GRANIAN]


def serve(name: str, tmp_path: Path, root_path: str = "") -> Iterator[Server]:
    store_dir = build_site(tmp_path)
    (tmp_path / "site_app.py").write_text(APP_SOURCE)
    port = free_port()
    log = tmp_path / f"{name}.log"
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", *SERVERS[name](port, root_path), "site_app:app"],
            cwd=tmp_path,
            env={**os.environ, "STORE_DIR": str(store_dir), "BLOCK_SIZE": "65536"},
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None:
                    pytest.fail(f"{name} exited: {log.read_text()}")
                if time.monotonic() > deadline:
                    pytest.fail(f"{name} did not start in 30 s: {log.read_text()}")
                time.sleep(0.1)
        yield Server(name, ("127.0.0.1", port), process, store_dir)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:  # pragma: no cover - a server that hangs
            process.kill()
            process.wait(timeout=30)


@pytest.fixture(scope="module", params=RUN)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    yield from serve(request.param, tmp_path_factory.mktemp(request.param))


def fetch(
    server: Server, target: str, method: str = "GET", headers: dict[str, str] | None = None
) -> tuple[int, http.client.HTTPMessage, bytes]:
    connection = http.client.HTTPConnection(*server.address, timeout=30)
    try:
        connection.request(method, target, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


def last_messages(server: Server) -> list[str]:
    types: list[str] = json.loads(fetch(server, "/last")[2])
    return types


def offers_pathsend(server: Server) -> bool:
    return "http.response.pathsend" in json.loads(fetch(server, "/scope")[2])["extensions"]


def test_serves_an_image(server: Server) -> None:
    status, headers, body = fetch(server, IMAGE)
    assert status == 200
    assert headers["Content-Type"] == "image/jpeg"
    assert body == JPEG
    assert headers["Content-Length"] == str(len(body))
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Cache-Control"] == "public, max-age=60"
    assert last_messages(server) == ["http.response.start", "http.response.body"]


def test_a_large_file_arrives_whole(server: Server) -> None:
    status, headers, body = fetch(server, "/images/big.png")
    assert status == 200
    assert len(body) == BIG == int(headers["Content-Length"])
    assert body == (server.store_dir / "big.png").read_bytes()
    if offers_pathsend(server):
        assert last_messages(server) == ["http.response.start", "http.response.pathsend"]
    else:
        types = last_messages(server)
        assert types[0] == "http.response.start"
        assert types[1:] == ["http.response.body"] * (len(types) - 1)
        assert len(types) - 1 == -(-BIG // 65536), "one message per block"


@pytest.mark.skipif(
    not HAS_GRANIAN, reason="pathsend under a real server needs granian (pip install granian)"
)
def test_pathsend_under_a_server_that_offers_it(tmp_path: Path) -> None:
    for server in serve("granian", tmp_path):
        assert offers_pathsend(server)
        status, headers, body = fetch(server, "/images/big.png")
        assert (status, len(body), headers["Content-Length"]) == (200, BIG, str(BIG))
        assert body == (server.store_dir / "big.png").read_bytes()
        assert last_messages(server) == ["http.response.start", "http.response.pathsend"]
        status, _, body = fetch(server, IMAGE)  # one block: read in the decision's hop
        assert (status, body) == (200, JPEG)
        assert last_messages(server) == ["http.response.start", "http.response.body"]


def test_revalidation(server: Server) -> None:
    _, headers, _ = fetch(server, IMAGE)
    status, not_modified, body = fetch(server, IMAGE, headers={"If-None-Match": headers["ETag"]})
    assert (status, body) == (304, b"")
    assert not_modified["ETag"] == headers["ETag"]
    since = {"If-Modified-Since": headers["Last-Modified"]}
    assert fetch(server, IMAGE, headers=since)[0] == 304


def test_head(server: Server) -> None:
    status, headers, body = fetch(server, "/images/big.png", method="HEAD")
    assert (status, body) == (200, b"")
    assert headers["Content-Length"] == str(BIG)
    assert last_messages(server) == ["http.response.start", "http.response.body"]


def test_a_range(server: Server) -> None:
    start, end = BIG - 1_000_017, BIG - 17
    status, headers, body = fetch(
        server, "/images/big.png", headers={"Range": f"bytes={start}-{end}"}
    )
    assert status == 206
    assert headers["Content-Range"] == f"bytes {start}-{end}/{BIG}"
    assert headers["Content-Length"] == str(end - start + 1) == str(len(body))
    assert "http.response.pathsend" not in last_messages(server)
    assert body == (server.store_dir / "big.png").read_bytes()[start : end + 1]


def test_several_ranges(server: Server) -> None:
    status, headers, body = fetch(server, IMAGE, headers={"Range": "bytes=0-1,10000-10009"})
    assert status == 206
    boundary = headers["Content-Type"].removeprefix("multipart/byteranges; boundary=")
    assert re.fullmatch("[0-9a-f]{32}", boundary)
    assert headers["Content-Length"] == str(len(body))
    assert b"\r\nContent-Range: bytes 0-1/20002\r\n\r\n\xff\xd8\r\n" in body
    assert b"\r\nContent-Range: bytes 10000-10009/20002\r\n\r\njjjjjjjjjj\r\n" in body


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
def test_hostile_paths(server: Server, target: str) -> None:
    status, _, body = fetch(server, target)
    assert SECRET not in body
    assert status in {400, 404}, (target, status)


def test_method_not_allowed(server: Server) -> None:
    status, headers, body = fetch(server, IMAGE, method="DELETE")
    assert status == 405
    assert headers["Allow"] == "GET, HEAD"
    assert b"j" * 100 not in body


def test_urls_follow_each_requests_host(server: Server) -> None:
    _, port = server.address
    for name in [f"localhost:{port}", f"127.0.0.1:{port}", f"localhost:{port}"]:
        status, _, body = fetch(server, "/", headers={"Host": name})
        assert status == 200
        assert body.decode() == f"http://{name}{IMAGE}{TS}"
        # and the URL really works
        assert fetch(server, re.sub(r"^http://[^/]+", "", body.decode()))[0] == 200


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="reads /proc/<pid>/fd (Linux)")
def test_a_client_that_goes_away_leaves_no_file_open(server: Server) -> None:
    huge = server.store_dir / "huge.png"
    for headers in ({}, {"Range": f"bytes=1-{HUGE - 2}"}):
        connection = http.client.HTTPConnection(*server.address, timeout=30)
        connection.request("GET", "/images/huge.png", headers=headers)
        response = connection.getresponse()
        assert response.status in {200, 206}
        assert response.read(1000) == bytes(1000)  # then the client goes away
        connection.close()
        deadline = time.monotonic() + 10
        while server.open_fds_to(huge) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.open_fds_to(huge) == [], f"{headers}: the file is closed"


@pytest.fixture(scope="module", params=["uvicorn", "hypercorn"])
def root_path_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    yield from serve(request.param, tmp_path_factory.mktemp(request.param + "-root"), "/app")


def test_behind_a_proxy_that_strips_root_path(root_path_server: Server) -> None:
    """``--root-path /app``: uvicorn puts it in ``path``, Hypercorn does not; both serve."""
    server = root_path_server
    info = json.loads(fetch(server, "/scope")[2])
    assert info["root_path"] == "/app"
    status, _, body = fetch(server, "/", headers={"Host": "shop.example"})
    assert (status, body.decode()) == (200, f"http://shop.example/app{IMAGE}{TS}")
    status, _, body = fetch(server, IMAGE)  # what the proxy forwards for /app/images/...
    assert (status, body) == (200, JPEG)
