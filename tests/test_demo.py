"""The demo end to end: a real process, a real HTTP client, and a real browser.

``python -m examples.demo --store <tmp> --port 0`` is started as a subprocess,
exactly as ``hatch run demo:serve`` starts it; the tests read the gallery URL it
prints and then talk to it over the loopback interface only.
"""

from __future__ import annotations

import hashlib
import html
import io
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
STARTUP_TIMEOUT = 120.0  # the first run draws every image; CI machines can be slow
HTTP_TIMEOUT = 30.0
CHROMIUM = "/usr/bin/chromium"
PREFIX = "/__images__/"
# <object_type>/<id % 1000>/<id // 1000>/<id>.<W>x<H><ext>, the 1.1.0 layout.
IMAGE_PATH = re.compile(
    r"/__images__/(?P<type>[^/]+)/(?P<mod>\d+)/(?P<div>\d+)/"
    r"(?P<id>\d+)\.(?P<width>\d+)x(?P<height>\d+)(?P<ext>\.[a-z]+)"
)
MEDIA_TYPES = {".jpe": "image/jpeg", ".png": "image/png", ".svg": "image/svg+xml"}
PILLOW_FORMATS = {".jpe": "JPEG", ".png": "PNG"}

# Never through a proxy: everything here is on 127.0.0.1.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass
class Response:
    status: int
    headers: Message
    body: bytes


def fetch(url: str, headers: dict[str, str] | None = None) -> Response:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with _opener.open(request, timeout=HTTP_TIMEOUT) as response:
            return Response(response.status, response.headers, response.read())
    except urllib.error.HTTPError as error:  # 304 and 4xx arrive as errors
        with error:
            return Response(error.code, error.headers, error.read())


@dataclass
class Demo:
    process: subprocess.Popen[str]
    store: Path
    lines: queue.Queue[str | None]
    adapter: str
    output: list[str] = field(default_factory=list)
    gallery_url: str = ""

    @property
    def port(self) -> int:
        port = urlsplit(self.gallery_url).port
        assert port is not None
        return port

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    @property
    def printed_urls(self) -> list[str]:
        return [line.strip() for line in self.output if line.startswith("  http://")]


@contextmanager
def run_demo(store: Path, log: Path, adapter: str) -> Iterator[Demo]:
    """Start the demo on a free port, wait for its printed URL, and always stop it."""
    lines: queue.Queue[str | None] = queue.Queue()
    # -W error: a warning in the demo is a bug of the demo, as it is in the tests.
    command = [sys.executable, "-W", "error", "-m", "examples.demo"]
    command += ["--store", str(store), "--port", "0", "--adapter", adapter]
    with open(log, "w", encoding="utf-8") as stderr:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            encoding="utf-8",
        )
    assert process.stdout is not None
    stdout = process.stdout

    def read() -> None:
        for line in stdout:
            lines.put(line)
        lines.put(None)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    demo = Demo(process, store, lines, adapter)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not any(line.startswith("Serving") for line in demo.output):
            remaining = deadline - time.monotonic()
            try:
                line = lines.get(timeout=max(remaining, 0.01))
            except queue.Empty:
                line = None
            if line is None:
                pytest.fail(
                    f"the demo printed no 'Serving' line within {STARTUP_TIMEOUT:.0f} s "
                    f"(exit code {process.poll()}).\nstdout:\n{''.join(demo.output)}\n"
                    f"stderr:\n{log.read_text(encoding='utf-8')}"
                )
            demo.output.append(line)
            if line.startswith("Gallery: "):
                demo.gallery_url = line.removeprefix("Gallery: ").strip()
        assert demo.gallery_url, demo.output
        yield demo
    finally:
        process.kill()
        process.wait(timeout=30)
        reader.join(timeout=30)
        stdout.close()


@pytest.fixture(scope="module", params=["wsgi", "asgi", "pyramid"])
def demo(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Demo]:
    """The demo on each adapter: every test below runs on all three."""
    tmp = tmp_path_factory.mktemp(f"demo-{request.param}")
    with run_demo(tmp / "store", tmp / "stderr.log", request.param) as demo:
        yield demo


def image_urls_in(page: str) -> list[str]:
    """Every image URL of a gallery page, from its src= and href= attributes."""
    urls = [html.unescape(url) for url in re.findall(r'(?:src|href)="([^"]*)"', page)]
    return [url for url in urls if PREFIX in url]


def test_prints_the_gallery_and_image_urls(demo: Demo) -> None:
    text = "".join(demo.output)
    assert "(generated)" in text  # a new store folder was filled
    assert f"Adapter: imageattach.{demo.adapter}\n" in demo.output
    served_by = {
        "wsgi": "store.wsgi_middleware(app)",
        "asgi": "store.asgi_middleware(app)",
        "pyramid": "the imageattach.pyramid tween",
    }[demo.adapter]
    assert f"<code>{served_by}</code>" in fetch(demo.gallery_url).body.decode()
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/", demo.gallery_url)
    assert demo.port > 0
    assert len(demo.printed_urls) >= 3
    listed = fetch(demo.url("/urls.txt")).body.decode().splitlines()
    assert demo.printed_urls == listed[: len(demo.printed_urls)]
    assert f"Image URLs ({len(listed)};" in text


def test_serves_every_image_with_its_type_and_size(demo: Demo) -> None:
    listing = fetch(demo.url("/urls.txt"))
    assert listing.status == 200
    assert listing.headers.get_content_type() == "text/plain"
    urls = listing.body.decode().splitlines()
    extensions = [os.path.splitext(urlsplit(url).path)[1] for url in urls]
    # 12 photos, each an original and two thumbnails, plus a PNG and an SVG.
    assert extensions.count(".jpe") == 36
    assert extensions.count(".png") == 1
    assert extensions.count(".svg") == 1
    assert len(set(urls)) == len(urls)
    for url in urls:
        parts = urlsplit(url)
        assert parts.netloc == f"127.0.0.1:{demo.port}", url
        assert re.fullmatch(r"_ts=\d{20}", parts.query), url
        match = IMAGE_PATH.fullmatch(parts.path)
        assert match, url
        assert int(match["mod"]) == int(match["id"]) % 1000
        assert int(match["div"]) == int(match["id"]) // 1000
        response = fetch(url)
        assert response.status == 200, url
        assert response.headers["Content-Type"] == MEDIA_TYPES[match["ext"]], url
        assert int(response.headers["Content-Length"]) == len(response.body), url
        assert response.headers["ETag"], url
        size = int(match["width"]), int(match["height"])
        if match["ext"] == ".svg":
            svg = ET.fromstring(response.body)
            assert svg.tag == "{http://www.w3.org/2000/svg}svg"
            assert (int(svg.attrib["width"]), int(svg.attrib["height"])) == size
        else:
            with Image.open(io.BytesIO(response.body)) as image:
                assert image.format == PILLOW_FORMATS[match["ext"]], url
                assert image.size == size, url
                image.load()  # decodes the whole file: it is not truncated


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_gallery_urls_use_the_host_the_client_asked(demo: Demo, host: str) -> None:
    page = fetch(demo.url("/", host))
    assert page.status == 200
    assert page.headers.get_content_type() == "text/html"
    text = page.body.decode()
    urls = image_urls_in(text)
    for url in urls:
        assert urlsplit(url).netloc == f"{host}:{demo.port}", url
        assert IMAGE_PATH.search(url), url
    listing = fetch(demo.url("/urls.txt", host)).body.decode().splitlines()
    assert set(urls) == set(listing)  # the page links every image, and only those
    # Each photo thumbnail links to its original, bigger and of the same object.
    pairs = re.findall(r'<a [^>]*href="([^"]+)"[^>]*><img src="([^"]+)"', text)
    assert len(pairs) == 14
    for original, thumbnail in pairs:
        big = IMAGE_PATH.search(html.unescape(original))
        small = IMAGE_PATH.search(html.unescape(thumbnail))
        assert big
        assert small
        assert (big["type"], big["id"]) == (small["type"], small["id"])
        assert int(big["width"]) >= int(small["width"])


def test_each_request_gets_its_own_host(demo: Demo) -> None:
    """1.1.0 kept the first request's Host for ever; here every request has its own,
    also when requests on different hosts run at the same time."""
    hosts = ["127.0.0.1", "localhost"] * 12

    def netlocs(host: str) -> tuple[str, set[str]]:
        page = fetch(demo.url("/", host)).body.decode()
        return host, {urlsplit(url).netloc for url in image_urls_in(page)}

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(netlocs, hosts))
    for host, seen in results:
        assert seen == {f"{host}:{demo.port}"}


def test_a_forged_host_gets_no_urls(demo: Demo) -> None:
    response = fetch(demo.url("/"), {"Host": f"evil.example:{demo.port}"})
    assert response.status == 400
    assert b"http://evil.example" not in response.body
    # ...and the next honest request is not affected.
    page = fetch(demo.url("/")).body.decode()
    assert {urlsplit(url).hostname for url in image_urls_in(page)} == {"127.0.0.1"}


def test_revalidation_and_missing_files(demo: Demo) -> None:
    url = fetch(demo.url("/urls.txt")).body.decode().splitlines()[0]
    first = fetch(url)
    etag = first.headers["ETag"]
    assert first.status == 200
    assert etag
    again = fetch(url, {"If-None-Match": etag})
    assert again.status == 304
    assert again.body == b""
    assert again.headers["ETag"] == etag
    assert fetch(url, {"If-None-Match": '"something-else"'}).status == 200
    assert fetch(demo.url("/__images__/photo/1/0/1.999x999.jpe")).status == 404
    assert fetch(demo.url("/__images__/.imageattach-demo.json")).status == 404
    assert fetch(demo.url("/no-such-page")).status == 404


def _snapshot(folder: Path) -> dict[str, tuple[int, str]]:
    return {
        str(path.relative_to(folder)): (
            path.stat().st_mtime_ns,
            hashlib.sha256(path.read_bytes()).hexdigest(),
        )
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def test_a_second_run_reuses_the_store(demo: Demo, tmp_path: Path) -> None:
    before = _snapshot(demo.store)
    assert len(before) == 39  # 38 images and the manifest
    with run_demo(demo.store, tmp_path / "stderr.log", demo.adapter) as second:
        assert "(reused)" in "".join(second.output)
        assert second.port != demo.port
        assert second.printed_urls == [
            url.replace(f":{demo.port}/", f":{second.port}/") for url in demo.printed_urls
        ]
    assert _snapshot(demo.store) == before


@pytest.mark.skipif(sys.platform == "win32", reason="no SIGINT for a child on Windows")
def test_ctrl_c_stops_it(demo: Demo, tmp_path: Path) -> None:
    with run_demo(demo.store, tmp_path / "stderr.log", demo.adapter) as second:
        assert fetch(second.gallery_url).status == 200
        second.process.send_signal(signal.SIGINT)
        assert second.process.wait(timeout=30) == 0
        rest = []
        while (line := second.lines.get(timeout=30)) is not None:
            rest.append(line)
    assert rest == ["Stopped.\n"]


def _chromium() -> str:
    if not os.path.exists(CHROMIUM):
        if os.environ.get("IMAGEATTACH_REQUIRE_BROWSER"):  # set by .ci/run: never skip in CI
            pytest.fail(f"IMAGEATTACH_REQUIRE_BROWSER is set but {CHROMIUM} does not exist")
        pytest.skip("chromium not installed (CI installs it: apt-get install chromium)")
    return CHROMIUM


def _run_chromium(chromium: str, profile: Path, *args: str) -> str:
    command = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--no-proxy-server",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--window-size=1200,900",
        *args,
    ]
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=180, check=False, cwd=profile.parent
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return result.stdout


def test_every_image_loads_in_a_real_browser(demo: Demo, tmp_path: Path) -> None:
    chromium = _chromium()
    page = fetch(demo.gallery_url).body.decode()
    expected = page.count("<img ")
    assert expected == 14

    # The page's own script counts the images decoded at their stated size once
    # the load event fired, and writes the count on <body>.
    dom = _run_chromium(chromium, tmp_path / "profile-dom", "--dump-dom", demo.gallery_url)
    match = re.search(r'data-images-loaded="(\d*)" data-images-total="(\d*)"', dom)
    assert match, dom[:2000]
    assert (match[1], match[2]) == (str(expected), str(expected)), dom[:2000]
    assert f"<title>imageattach demo: {expected}/{expected} images loaded</title>" in dom

    shot = tmp_path / "shot.png"
    _run_chromium(chromium, tmp_path / "profile-shot", f"--screenshot={shot}", demo.gallery_url)
    with Image.open(shot) as image:
        assert image.size == (1200, 900)
        colours = image.convert("RGB").getcolors(maxcolors=1 << 16)
    assert colours is None or len(colours) > 1000  # a picture, not a blank page
    keep = os.environ.get("IMAGEATTACH_DEMO_SCREENSHOT")
    if keep:
        shutil.copyfile(shot, keep)
