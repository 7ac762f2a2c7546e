"""The demo end to end: a real process, a real HTTP client, and a real browser.

``python -m examples.demo --store <tmp> --port 0`` is started as a subprocess,
exactly as ``hatch run demo:serve`` starts it; the tests read the gallery URL it
prints and then talk to it over the loopback interface only.  What it keeps is
checked where it keeps it: the files in the store folder, the rows in its SQLite
database (read-only, next to the running server).

The tests of one adapter run in the order of this file on one demo process; those
that upload put the gallery back as it was (delete what they added), and come last.
"""

from __future__ import annotations

import hashlib
import html
import http.client
import io
import json
import os
import queue
import re
import secrets
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from urllib.parse import urljoin, urlsplit

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
DATABASE = ".demo.sqlite3"  # in the store folder
OBJECT_TYPE = "photo-picture"  # PhotoPicture's table name, with - for _
SAMPLE_PHOTOS = 14  # 12 JPEG photos, a PNG and an SVG
SAMPLE_IMAGES = 40  # 12 x (640x480, 320x240, 160x120); PNG and SVG: 256x256 and 160x160


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None  # a 303 arrives as itself


# Never through a proxy: everything here is on 127.0.0.1.  And never following a
# redirect: the tests check the 303 after a POST.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())


@dataclass
class Response:
    status: int
    headers: Message
    body: bytes


def fetch(
    url: str,
    headers: dict[str, str] | None = None,
    data: bytes | None = None,
    method: str | None = None,
) -> Response:
    request = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
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

    def query(self, sql: str, *params: object) -> list[tuple[object, ...]]:
        """Rows of the demo's database, read-only, while it runs."""
        uri = (self.store / DATABASE).as_uri() + "?mode=ro"
        with sqlite3.connect(uri, uri=True, timeout=30) as connection:
            rows = connection.execute(sql, params).fetchall()
        connection.close()
        return rows


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
    # 12 photos, each an original and two thumbnails, plus a PNG and an SVG, each an
    # original and a 160-pixel thumbnail (a PNG too: SVG thumbnails are rasterised).
    assert extensions.count(".jpe") == 36
    assert extensions.count(".png") == 3
    assert extensions.count(".svg") == 1
    assert len(urls) == SAMPLE_IMAGES
    assert len(set(urls)) == len(urls)
    for url in urls:
        parts = urlsplit(url)
        assert parts.netloc == f"127.0.0.1:{demo.port}", url
        assert re.fullmatch(r"_ts=\d{20}", parts.query), url
        match = IMAGE_PATH.fullmatch(parts.path)
        assert match, url
        assert match["type"] == OBJECT_TYPE, url
        assert int(match["mod"]) == int(match["id"]) % 1000
        assert int(match["div"]) == int(match["id"]) // 1000
        response = fetch(url)
        assert response.status == 200, url
        assert response.headers["Content-Type"] == MEDIA_TYPES[match["ext"]], url
        assert int(response.headers["Content-Length"]) == len(response.body), url
        assert response.headers["ETag"], url
        size = int(match["width"]), int(match["height"])
        if match["ext"] == ".svg":
            # Anyone may upload an SVG: its script never runs in the gallery's origin.
            assert "sandbox" in response.headers["Content-Security-Policy"], url
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


def test_requests_on_one_kept_alive_connection(demo: Demo) -> None:
    """A browser sends its requests on one connection: each gets its answer (on the
    ASGI adapter, asgiref's WsgiToAsgi under uvicorn failed every second one)."""
    image = urlsplit(fetch(demo.url("/urls.txt")).body.decode().splitlines()[0])
    requests = [("GET", "/"), ("GET", "/urls.txt"), ("GET", f"{image.path}?{image.query}")]
    requests += [("POST", "/photos/999999/delete"), ("GET", "/"), ("HEAD", "/"), ("GET", "/")]
    expected = [200, 200, 200, 404, 200, 200, 200]
    connection = http.client.HTTPConnection("127.0.0.1", demo.port, timeout=HTTP_TIMEOUT)
    statuses = []
    try:
        for method, path in requests:
            body = b"" if method == "POST" else None
            connection.request(method, path, body=body)
            response = connection.getresponse()
            response.read()
            statuses.append(response.status)
            assert not response.will_close, (method, path)
    finally:
        connection.close()
    assert statuses == expected


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
    assert fetch(demo.url(f"/__images__/{OBJECT_TYPE}/1/0/1.999x999.jpe")).status == 404
    assert fetch(demo.url("/no-such-page")).status == 404


def test_the_database_is_in_the_store_and_never_served(demo: Demo) -> None:
    database = demo.store / DATABASE
    assert database.read_bytes().startswith(b"SQLite format 3\x00")
    for path in [f"/{DATABASE}", f"/%2E{DATABASE[1:]}", f"/{DATABASE}-journal", "/"]:
        response = fetch(demo.url(PREFIX.rstrip("/") + path))
        assert response.status == 404, path
        assert b"SQLite" not in response.body, path
    # The rows are the gallery's: one photo per card, one image row per file.
    assert demo.query("SELECT count(*) FROM photo") == [(SAMPLE_PHOTOS,)]
    assert demo.query("SELECT count(*) FROM photo_picture") == [(SAMPLE_IMAGES,)]
    assert demo.query("SELECT count(*) FROM photo_picture WHERE original") == [(SAMPLE_PHOTOS,)]
    rows = demo.query("SELECT photo_id, width, height, mimetype FROM photo_picture")
    assert len(_image_files(demo.store)) == len(rows)
    for photo_id, width, height, mimetype in rows:
        assert isinstance(photo_id, int)
        assert (demo.store / _layout(photo_id, width, height, str(mimetype))).is_file()


def _snapshot(folder: Path) -> dict[str, tuple[int, str]]:
    return {
        str(path.relative_to(folder)): (
            path.stat().st_mtime_ns,
            hashlib.sha256(path.read_bytes()).hexdigest(),
        )
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


_COUNT_QUERIES = """\
import sys
from sqlalchemy import event
from imageattach.core import HttpExposedFileSystemStore, host_url_context, store_context
from examples.demo.app import page_answer
from examples.demo.models import open_database

store = HttpExposedFileSystemStore(sys.argv[1])
sessions = open_database(sys.argv[1])
statements = []
engine = sessions.kw["bind"]
event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
with host_url_context("http://127.0.0.1/"), store_context(store), sessions() as session:
    answer = page_answer(session, store, sys.argv[1], "127.0.0.1", "a test")
engine.dispose()
print(len(statements), answer.body.count(b"<img "))
"""


def test_the_page_takes_two_queries(demo: Demo) -> None:
    """The photos, then the images of them all (selectinload): not one query a photo."""
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", _COUNT_QUERIES, str(demo.store)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["2", str(SAMPLE_PHOTOS)]


def _image_files(folder: Path) -> dict[str, tuple[int, str]]:
    """The snapshot of the image files: the database and its journal left out."""
    return {k: v for k, v in _snapshot(folder).items() if not k.startswith(".")}


def _layout(photo_id: object, width: object, height: object, mimetype: str) -> str:
    """The 1.1.0 path of an image file, relative to the store folder."""
    assert isinstance(photo_id, int)
    extension = {v: k for k, v in MEDIA_TYPES.items()}[mimetype]
    folder = f"{OBJECT_TYPE}/{photo_id % 1000}/{photo_id // 1000}"
    return f"{folder}/{photo_id}.{width}x{height}{extension}"


def test_a_second_run_reuses_the_store(demo: Demo, tmp_path: Path) -> None:
    before = _snapshot(demo.store)
    assert len(before) == SAMPLE_IMAGES + 1  # the images and the database
    assert DATABASE in before
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


#: Headless, and none of the background connections this machine's closed network refuses.
CHROMIUM_FLAGS = (
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
)


def _run_chromium(chromium: str, profile: Path, *args: str) -> str:
    command = [
        chromium,
        *CHROMIUM_FLAGS,
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


# --- uploads and deletion: these change the gallery, and put it back -----------------------


def _multipart(
    fields: Mapping[str, str], files: Mapping[str, tuple[str, bytes, str]]
) -> tuple[bytes, str]:
    """A ``multipart/form-data`` body, as a browser sends it, and its Content-Type."""
    boundary = "----imageattach-test-" + secrets.token_hex(12)
    parts = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            + value.encode()
            + b"\r\n"
        )
    for name, (filename, data, content_type) in files.items():
        parts.append(
            f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n".encode()
            + data
            + b"\r\n"
        )
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def upload(
    demo: Demo,
    data: bytes,
    filename: str = "upload.jpg",
    title: str = "",
    content_type: str = "image/jpeg",
    headers: dict[str, str] | None = None,
) -> Response:
    body, form_type = _multipart({"title": title}, {"picture": (filename, data, content_type)})
    headers = {"Content-Type": form_type, **(headers or {})}
    return fetch(demo.url("/photos"), headers, data=body, method="POST")


def delete(demo: Demo, photo_id: int, headers: dict[str, str] | None = None) -> Response:
    return fetch(demo.url(f"/photos/{photo_id}/delete"), headers, data=b"", method="POST")


def _jpeg(size: tuple[int, int], colour: tuple[int, int, int] = (200, 40, 90)) -> bytes:
    image = Image.new("RGB", size, colour)
    for x in range(0, size[0], 40):  # something to resize, not one flat colour
        image.paste((255, 255, 255), (x, 0, x + 8, size[1]))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def _location(demo: Demo, response: Response) -> str:
    """Where a 303 sends the browser: a path and a fragment on the demo itself
    (WebOb, under Pyramid, makes the Location absolute)."""
    location = str(response.headers["Location"])
    target = urlsplit(urljoin(demo.gallery_url, location))
    assert target.netloc == f"127.0.0.1:{demo.port}", location
    return target.path + (f"#{target.fragment}" if target.fragment else "")


def _cards(page: str) -> dict[int, str]:
    """The gallery's cards, by photo id: the HTML of each."""
    return {
        int(m[1]): m[2]
        for m in re.finditer(r'<figure class="card" id="photo-(\d+)">(.*?)</figure>', page, re.S)
    }


def test_upload_a_jpeg_then_delete_it(demo: Demo) -> None:
    data = _jpeg((1000, 750))
    files_before = _image_files(demo.store)
    response = upload(demo, data, "red stripes.jpg", title="  Red\tstripes  ")
    assert response.status == 303, response.body
    location = _location(demo, response)
    match = re.fullmatch(r"/#photo-(\d+)", location)
    assert match, location
    photo_id = int(match[1])

    # The rows: the photo, and its original with two thumbnails.
    assert demo.query("SELECT title FROM photo WHERE id = ?", photo_id) == [("Red stripes",)]
    rows = demo.query(
        "SELECT width, height, mimetype, original FROM photo_picture WHERE photo_id = ? "
        "ORDER BY width DESC",
        photo_id,
    )
    assert rows == [
        (1000, 750, "image/jpeg", 1),
        (320, 240, "image/jpeg", 0),
        (160, 120, "image/jpeg", 0),
    ]
    # The files, in the 1.1.0 layout; the original is the uploaded file, byte for byte.
    paths = [_layout(photo_id, w, h, str(t)) for w, h, t, _original in rows]
    assert set(_image_files(demo.store)) == set(files_before) | set(paths)
    assert (demo.store / paths[0]).read_bytes() == data

    # The gallery shows it: the 320-pixel thumbnail, linking to the original.
    page = fetch(demo.gallery_url).body.decode()
    card = _cards(page)[photo_id]
    assert "Red stripes" in card
    pair = re.search(r'<a [^>]*href="([^"]+)"[^>]*><img src="([^"]+)" width="(\d+)"', card)
    assert pair, card
    original_url, thumbnail_url = html.unescape(pair[1]), html.unescape(pair[2])
    assert urlsplit(original_url).path == PREFIX + paths[0]
    assert urlsplit(thumbnail_url).path == PREFIX + paths[1]
    assert pair[3] == "320"
    thumbnail = fetch(thumbnail_url)
    assert thumbnail.status == 200
    assert thumbnail.headers["Content-Type"] == "image/jpeg"
    with Image.open(io.BytesIO(thumbnail.body)) as image:
        assert (image.format, image.size) == ("JPEG", (320, 240))
    assert fetch(original_url).body == data
    listed = fetch(demo.url("/urls.txt")).body.decode().splitlines()
    assert len(listed) == SAMPLE_IMAGES + 3

    # Deleted: the 303, then no row, no file, no URL.
    response = delete(demo, photo_id)
    assert response.status == 303
    assert _location(demo, response) == "/"
    assert demo.query("SELECT count(*) FROM photo WHERE id = ?", photo_id) == [(0,)]
    assert demo.query("SELECT count(*) FROM photo_picture WHERE photo_id = ?", photo_id) == [(0,)]
    assert _image_files(demo.store) == files_before
    for url in (original_url, thumbnail_url):
        assert fetch(url).status == 404
    assert photo_id not in _cards(fetch(demo.gallery_url).body.decode())
    assert delete(demo, photo_id).status == 404  # gone already


def _png(size: tuple[int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("1", size).save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


BAD_UPLOADS = {
    # what is sent, and what the error page says
    "garbage": (b"this is not an image at all\n", "not-an-image.jpg", "supported format"),
    "truncated": (_jpeg((640, 480))[:600], "truncated.jpg", "JPEG"),
    "too many bytes": (b"\xff\xd8\xff\xe0" + bytes(11 * 1024 * 1024), "big.jpg", "bytes"),
    "too many pixels": (_png((8000, 8000)), "bomb.png", "pixels"),
    "empty": (b"", "empty.jpg", ""),
}


@pytest.mark.parametrize("case", BAD_UPLOADS)
def test_a_bad_upload_gets_a_400_and_stores_nothing(demo: Demo, case: str) -> None:
    data, filename, message = BAD_UPLOADS[case]
    files_before = _snapshot(demo.store)  # the database too: not a byte written
    response = upload(demo, data, filename)
    assert response.status == 400, response.body[:500]
    assert response.headers.get_content_type() == "text/html"
    page = html.unescape(response.body.decode())
    error = re.search(r'<p class="error">(.*?)</p>', page, re.S)
    assert error, page
    assert filename in error[1]
    assert message in error[1]
    assert _snapshot(demo.store) == files_before
    assert demo.query("SELECT count(*) FROM photo") == [(SAMPLE_PHOTOS,)]
    assert len(_cards(fetch(demo.gallery_url).body.decode())) == SAMPLE_PHOTOS


def test_a_form_without_a_file_gets_a_400(demo: Demo) -> None:
    body, form_type = _multipart(
        {"title": "nothing"}, {"picture": ("", b"", "application/octet-stream")}
    )
    response = fetch(demo.url("/photos"), {"Content-Type": form_type}, data=body, method="POST")
    assert response.status == 400
    assert b"Choose an image file" in response.body
    response = fetch(
        demo.url("/photos"),
        {"Content-Type": "application/x-www-form-urlencoded"},
        data=b"title=x",
        method="POST",
    )
    assert response.status == 400
    assert demo.query("SELECT count(*) FROM photo") == [(SAMPLE_PHOTOS,)]


def test_a_body_over_the_limit_gets_a_413(demo: Demo) -> None:
    """Refused on its Content-Length, before it is read (none of it is sent here)."""
    connection = http.client.HTTPConnection("127.0.0.1", demo.port, timeout=HTTP_TIMEOUT)
    try:
        connection.putrequest("POST", "/photos")
        connection.putheader("Content-Type", "multipart/form-data; boundary=x")
        connection.putheader("Content-Length", str(25 * 1024 * 1024))
        connection.endheaders()
        response = connection.getresponse()
        assert response.status == 413
        response.read()
    finally:
        connection.close()
    assert demo.query("SELECT count(*) FROM photo") == [(SAMPLE_PHOTOS,)]


def test_forms_of_other_sites_and_hosts_are_refused(demo: Demo) -> None:
    """A page elsewhere cannot delete or upload (Origin), nor a DNS-rebinding one (Host)."""
    evil = {"Origin": "http://evil.example"}
    assert delete(demo, 1, evil).status == 403
    assert upload(demo, _jpeg((64, 48)), headers=evil).status == 403
    rebound = {"Host": f"evil.example:{demo.port}", "Origin": f"http://evil.example:{demo.port}"}
    assert delete(demo, 1, rebound).status == 400
    # A form of the page itself is welcome; the photo is still there after all that.
    assert demo.query("SELECT count(*) FROM photo WHERE id = 1") == [(1,)]
    assert delete(demo, 10**6, {"Origin": f"http://127.0.0.1:{demo.port}"}).status == 404
    assert fetch(demo.url("/photos")).status in {404, 405}  # the form's URL takes POST only


# --- the browser, driven through the DevTools protocol --------------------------------------


_TRAMPOLINE = """\
import os, sys
commands, answers = int(sys.argv[1]), int(sys.argv[2])
os.dup2(commands, 3)
os.dup2(answers, 4)
os.close(commands)
os.close(answers)
os.execv(sys.argv[3], sys.argv[3:])
"""


def _above_9(fd: int) -> int:
    """``fd`` moved to a number above 9: moving it to 3 or 4 in the trampoline never
    closes another one."""
    import fcntl  # POSIX only, as the browser tests are

    high = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return high


class DevTools:
    """Headless Chromium driven through its DevTools protocol on a pipe.

    ``--remote-debugging-pipe`` makes Chromium read commands on its fd 3 and write
    answers and events on its fd 4, as JSON messages each ended by a NUL byte: no
    WebSocket, no driver, only the standard library.
    """

    def __init__(self, chromium: str, profile: Path) -> None:
        commands_read, self._commands = os.pipe()
        self._answers, answers_write = os.pipe()
        commands_read, answers_write = _above_9(commands_read), _above_9(answers_write)
        command = [
            chromium,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            "--window-size=1200,900",
            "--remote-debugging-pipe",
            "about:blank",
        ]
        # A Python trampoline puts the two pipes on fds 3 and 4, then becomes Chromium
        # (a POSIX shell's redirections take fds up to 9 only).
        self.process = subprocess.Popen(
            [sys.executable, "-c", _TRAMPOLINE, str(commands_read), str(answers_write), *command],
            pass_fds=(commands_read, answers_write),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(commands_read)
        os.close(answers_write)
        self._messages: queue.Queue[dict[str, object] | None] = queue.Queue()
        self._events: list[dict[str, object]] = []
        self._next_id = 0
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.session = ""

    def _read(self) -> None:
        buffer = b""
        with open(self._answers, "rb", buffering=0) as answers:
            while chunk := answers.read(1 << 16):
                buffer += chunk
                *messages, buffer = buffer.split(b"\0")
                for message in messages:
                    self._messages.put(json.loads(message))
        self._messages.put(None)

    def _next(self, deadline: float) -> dict[str, object]:
        try:
            message = self._messages.get(timeout=max(deadline - time.monotonic(), 0.01))
        except queue.Empty:
            pytest.fail("Chromium did not answer in time")
        if message is None:
            pytest.fail(f"Chromium closed its pipe (exit code {self.process.poll()})")
        return message

    def call(self, method: str, timeout: float = 60.0, **params: object) -> dict[str, object]:
        """Send a command (to the page, once attached) and return its result."""
        self._next_id += 1
        message: dict[str, object] = {"id": self._next_id, "method": method, "params": params}
        if self.session:
            message["sessionId"] = self.session
        os.write(self._commands, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            answer = self._next(deadline)
            if answer.get("id") != self._next_id:
                self._events.append(answer)
                continue
            assert "error" not in answer, (method, answer["error"])
            result = answer["result"]
            assert isinstance(result, dict)
            return result

    def wait_for(self, event: str, timeout: float = 60.0) -> dict[str, object]:
        """The first event of that name not waited for yet (one already seen counts)."""
        deadline = time.monotonic() + timeout
        while True:
            for index, seen in enumerate(self._events):
                if seen.get("method") == event:
                    del self._events[index]
                    return seen
            self._events.append(self._next(deadline))

    def evaluate(self, expression: str) -> object:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        assert "exceptionDetails" not in result, result["exceptionDetails"]
        value = result["result"]
        assert isinstance(value, dict)
        return value.get("value")

    def open(self, url: str) -> None:
        """Open a tab on ``url`` and attach to it, once it loaded."""
        target = self.call("Target.createTarget", url="about:blank")
        attached = self.call("Target.attachToTarget", targetId=target["targetId"], flatten=True)
        self.session = str(attached["sessionId"])
        self.call("Page.enable")
        self.navigate(lambda: self.call("Page.navigate", url=url))

    def navigate(self, start: object) -> None:
        """Run ``start`` (a callable that navigates) and wait for the new page's load."""
        self._events = [e for e in self._events if e.get("method") != "Page.loadEventFired"]
        assert callable(start)
        start()
        self.wait_for("Page.loadEventFired")
        # The page's own load handler writes the image count on <body>.
        deadline = time.monotonic() + 30
        while not self.evaluate("document.body && document.body.dataset.imagesTotal"):
            if time.monotonic() > deadline:
                page = self.evaluate("location.href + '\\n' + document.documentElement.outerHTML")
                pytest.fail(f"the page's script did not run on the page loaded:\n{page}")
            time.sleep(0.05)

    def close(self) -> None:
        try:
            if self.process.poll() is None:
                self.session = ""
                self.call("Browser.close", timeout=10)
                self.process.wait(timeout=30)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait(timeout=30)
            os.close(self._commands)
            self._reader.join(timeout=30)


def _counts(browser: DevTools) -> tuple[int, int]:
    loaded = browser.evaluate("+document.body.dataset.imagesLoaded")
    total = browser.evaluate("+document.body.dataset.imagesTotal")
    assert isinstance(loaded, int)
    assert isinstance(total, int)
    return loaded, total


def test_upload_and_delete_through_the_form_in_a_real_browser(demo: Demo, tmp_path: Path) -> None:
    """A file chosen in the form's file input, the form submitted, the 303 followed;
    then the photo's Delete button.  Chromium sends its Origin, as any browser does."""
    chromium = _chromium()
    picture = tmp_path / "from the browser.jpg"
    picture.write_bytes(_jpeg((480, 360), (30, 120, 220)))
    browser = DevTools(chromium, tmp_path / "profile")
    try:
        browser.open(demo.gallery_url)
        assert _counts(browser) == (SAMPLE_PHOTOS, SAMPLE_PHOTOS)

        document = browser.call("DOM.getDocument")
        root = document["root"]
        assert isinstance(root, dict)
        node = browser.call(
            "DOM.querySelector", nodeId=root["nodeId"], selector="input[type=file]"
        )
        browser.call("DOM.setFileInputFiles", nodeId=node["nodeId"], files=[str(picture)])
        browser.navigate(
            lambda: browser.evaluate("document.querySelector('form.upload').requestSubmit()")
        )
        location = browser.evaluate("location.pathname + location.hash")
        assert isinstance(location, str)
        match = re.fullmatch(r"/#photo-(\d+)", location)
        assert match, location
        photo_id = int(match[1])
        assert _counts(browser) == (SAMPLE_PHOTOS + 1, SAMPLE_PHOTOS + 1)
        shown = browser.evaluate(
            "(function (card) { var img = card.querySelector('img');"
            " return [card.querySelector('.title').textContent, img.naturalWidth,"
            " img.naturalHeight, new URL(img.src).pathname]; })"
            f"(document.getElementById('photo-{photo_id}'))"
        )
        path = _layout(photo_id, 320, 240, "image/jpeg")
        assert shown == ["from the browser", 320, 240, PREFIX + path]
        assert (demo.store / path).is_file()
        assert (demo.store / _layout(photo_id, 480, 360, "image/jpeg")).read_bytes() == (
            picture.read_bytes()
        )

        browser.navigate(
            lambda: browser.evaluate(
                f"document.querySelector('#photo-{photo_id} form').requestSubmit()"
            )
        )
        assert browser.evaluate("location.pathname") == "/"
        assert _counts(browser) == (SAMPLE_PHOTOS, SAMPLE_PHOTOS)
        assert not (demo.store / path).exists()
        assert demo.query("SELECT count(*) FROM photo WHERE id = ?", photo_id) == [(0,)]
    finally:
        browser.close()
