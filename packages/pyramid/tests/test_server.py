"""The Pyramid application under waitress, as a process of its own on 127.0.0.1.

The application is what a user deploys: an ``.ini`` file with
``pyramid.includes = pyramid_tm imageattach.pyramid`` and the ``imageattach.*``
settings, loaded by ``pyramid.paster.get_app``.  Requests are written with
http.client, which sends the target as given, so traversal attempts reach the
server un-normalized.
"""

from __future__ import annotations

import http.client
import io
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from imageattach.core import HttpExposedFileSystemStore
from imageattach.spec import SpecImage

Address = tuple[str, int]

IMAGE = "/__images__/spec/234/1/1234.10x20.png"
TS = "_ts=20200102030405678901"
DATA = b"\x89PNG\r\n\x1a\n" + os.urandom(300_000)
SECRET = b"this must never be served"

SITE_INI = """\
[app:main]
use = call:site_app:main
pyramid.includes =
    pyramid_tm
    imageattach.pyramid
imageattach.path = {store}
imageattach.trusted_hosts =
    localhost
    127.0.0.1
imageattach.cache_control = public, max-age=300
"""

SITE_APP = """\
import os

from pyramid.config import Configurator
from pyramid.paster import get_app


def page(request):
    class Image:
        object_type = "spec"
        object_id = 1234
        width = 10
        height = 20
        mimetype = "image/png"
        import datetime
        created_at = datetime.datetime(2020, 1, 2, 3, 4, 5, 678901)

    try:
        request.response.text = request.imageattach_store.locate(Image())
    except RuntimeError:  # the Host is not in imageattach.trusted_hosts
        request.response.text = "no-url"
    return request.response


def main(global_config, **settings):
    with Configurator(settings=settings) as config:
        config.add_route("page", "/")
        config.add_view(page, route_name="page")
    return config.make_wsgi_app()


def wsgi():
    return get_app(os.environ["SITE_INI"])
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    site = tmp_path_factory.mktemp("pyramid-site")
    store_dir = site / "store"
    HttpExposedFileSystemStore(store_dir).store(SpecImage(), io.BytesIO(DATA))
    (site / "secret.txt").write_bytes(SECRET)
    (store_dir / "escape.png").symlink_to(site / "secret.txt")
    (site / "site.ini").write_text(SITE_INI.format(store=store_dir))
    (site / "site_app.py").write_text(SITE_APP)
    return site


@pytest.fixture(scope="module")
def server(site: Path) -> Iterator[Address]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "waitress", f"--listen=127.0.0.1:{port}", "--threads=4",
         "--call", "site_app:wsgi"],
        cwd=site,
        env={**os.environ, "SITE_INI": str(site / "site.ini"), "PYTHONWARNINGS": "ignore"},
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
                    pytest.fail(f"waitress exited: {process.stderr.read().decode()}")  # type: ignore[union-attr]
                time.sleep(0.1)
        else:
            pytest.fail("waitress did not start in 30 s")
        yield "127.0.0.1", port
    finally:
        process.terminate()
        process.wait(timeout=30)
        process.stderr.close()  # type: ignore[union-attr]


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


def test_serves_the_exact_bytes(server: Address) -> None:
    status, headers, body = fetch(server, IMAGE)
    assert status == 200
    assert body == DATA
    assert headers["Content-Length"] == str(len(DATA))
    assert headers["Content-Type"] == "image/png"
    assert headers["Cache-Control"] == "public, max-age=300", "the .ini's setting"
    assert headers["X-Content-Type-Options"] == "nosniff"
    _, versioned, _ = fetch(server, f"{IMAGE}?{TS}")
    assert versioned["Cache-Control"] == "public, max-age=31536000, immutable"


def test_revalidation_is_304(server: Address) -> None:
    _, headers, _ = fetch(server, IMAGE)
    status, not_modified, body = fetch(server, IMAGE, headers={"If-None-Match": headers["ETag"]})
    assert (status, body) == (304, b"")
    assert not_modified["ETag"] == headers["ETag"]
    assert "Content-Type" not in not_modified
    status, _, body = fetch(server, IMAGE, headers={"If-Modified-Since": headers["Last-Modified"]})
    assert (status, body) == (304, b"")


def test_head_has_no_body(server: Address) -> None:
    status, headers, body = fetch(server, IMAGE, method="HEAD")
    assert (status, body) == (200, b"")
    assert headers["Content-Length"] == str(len(DATA))


def test_a_range_is_206(server: Address) -> None:
    first, last = 100_000, 200_016
    status, headers, body = fetch(server, IMAGE, headers={"Range": f"bytes={first}-{last}"})
    assert status == 206
    assert headers["Content-Range"] == f"bytes {first}-{last}/{len(DATA)}"
    assert headers["Content-Length"] == str(last - first + 1)
    assert body == DATA[first : last + 1]


@pytest.mark.parametrize(
    "target",
    [
        "/__images__/../secret.txt",
        "/__images__/%2e%2e/secret.txt",
        "/__images__/..%2fsecret.txt",
        "/__images__/%2e%2e%2fsecret.txt",
        "/__images__/..%5csecret.txt",
        "/__images__/escape.png",
        "/__images__/%00",
        "/__images__/%ff",
        "/__images__/%c0%ae%c0%ae/secret.txt",
    ],
)
def test_traversal_is_404(server: Address, target: str) -> None:
    status, headers, body = fetch(server, target)
    assert SECRET not in body
    assert status == 404, (target, status)
    assert headers["Cache-Control"] == "no-store"


def test_the_page_locates_on_the_requests_host(server: Address) -> None:
    _, port = server
    for host in [f"localhost:{port}", f"127.0.0.1:{port}", f"localhost:{port}"]:
        status, _, body = fetch(server, "/", headers={"Host": host})
        assert status == 200
        assert body.decode() == f"http://{host}{IMAGE}?{TS}"
        # and the URL really works
        assert fetch(server, re.sub(r"^http://[^/]+", "", body.decode()))[2] == DATA


def test_an_untrusted_host_gets_no_url(server: Address) -> None:
    status, _, body = fetch(server, "/", headers={"Host": "evil.example"})
    assert (status, body) == (200, b"no-url"), "locate() raises rather than use evil.example"
