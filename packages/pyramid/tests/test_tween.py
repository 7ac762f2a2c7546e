"""The Pyramid tween through Pyramid's own machinery and WebTest.

The full rule set runs in test_conformance.py; these are the Pyramid parts: the
settings, ``request.imageattach_store``, the place in the tween chain next to
pyramid_tm, and that the answers are the engine's, byte for byte the WSGI
adapter's.
"""

from __future__ import annotations

import io
import os
import re
import sys
import types
from collections.abc import Callable, Iterable
from http import HTTPStatus
from pathlib import Path
from typing import Any

import pytest
import transaction
import webtest
from pyramid.config import Configurator
from pyramid.interfaces import ITweens
from pyramid.request import Request
from pyramid.scripting import prepare
from pyramid.tweens import EXCVIEW
from pyramid.wsgi import wsgiapp

from imageattach.core import (
    HOST_URL,
    ConfigurationError,
    HttpExposedFileSystemStore,
    build_host_url,
)
from imageattach.pyramid import SETTINGS, TWEEN, tween_factory
from imageattach.spec import FileWrapper, SpecImage, make_environ, wsgi_fallback
from imageattach.wsgi import StaticServerMiddleware

TM = "pyramid_tm.tm_tween_factory"
IMAGE = SpecImage()
IMAGE_PATH = "/__images__/spec/234/1/1234.10x20.png"
TS = "_ts=20200102030405678901"
DATA = os.urandom(50_000)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "images"
    store = HttpExposedFileSystemStore(root)
    store.store(IMAGE, io.BytesIO(b"\x89PNG image"))
    (root / "a.png").write_bytes(DATA)
    (root / "vec.svg").write_bytes(b"<svg xmlns='http://www.w3.org/2000/svg'/>")
    (tmp_path / "secret.txt").write_bytes(b"secret")
    return root


def locate_view(request: Any) -> Any:
    """A page that shows the URL of IMAGE, or ``no-url``."""
    try:
        url = request.imageattach_store.locate(IMAGE)
    except RuntimeError:
        url = "no-url"
    request.response.text = url
    return request.response


def make_config(settings: dict[str, Any]) -> Configurator:
    config = Configurator(settings=settings)
    config.add_route("page", "/page")
    config.add_view(locate_view, route_name="page")
    return config


def make_app(root: Path, **settings: Any) -> Any:
    config = make_config({"imageattach.path": str(root), **settings})
    config.include("imageattach.pyramid")
    return config.make_wsgi_app()


def configured_store(registry: Any) -> Any:
    """``request.imageattach_store`` of a script's request (``pyramid.scripting``)."""
    with prepare(registry=registry) as env:
        return env["request"].imageattach_store


def tween_names(config: Configurator) -> list[str]:
    """The tween chain, from the ingress down, as ``ptweens`` shows it."""
    config.commit()
    return registry_tweens(config.registry)


def registry_tweens(registry: Any) -> list[str]:
    tweens = registry.queryUtility(ITweens)
    return [name for name, _ in (tweens.explicit or tweens.implicit())]


# --- settings -------------------------------------------------------------------------------


PATH = "imageattach.path"
HOSTS = "imageattach.trusted_hosts"
STORE = "imageattach.store"
HOST_URL_SETTING = "imageattach.host_url"
BAD_SETTINGS = [
    # (settings over the valid ones, the setting the message must begin with, shown value)
    ({PATH: None}, PATH, "None"),
    ({PATH: ""}, PATH, "''"),
    ({PATH: "{file}"}, PATH, "{file}"),
    ({"imageattach.cors": "maybe"}, "imageattach.cors", "'maybe'"),
    ({"imageattach.follow_symlinks": "nope"}, "imageattach.follow_symlinks", "'nope'"),
    ({"imageattach.svg_as_attachment": "2"}, "imageattach.svg_as_attachment", "'2'"),
    ({HOSTS: "shop.example evil/x"}, HOSTS, "'evil/x'"),
    ({HOSTS: "*.shop.example"}, HOSTS, "'*.shop.example'"),
    ({"imageattach.cache_control": "a\r\nSet-Cookie: x=1"}, "imageattach.cache_control", "'a\\r"),
    ({"imageattach.cache_control": "max-âge=1"}, "imageattach.cache_control", "'max-âge=1'"),
    ({"imageattach.versioned_cache_control": 60}, "imageattach.versioned_cache_control", "60"),
    ({"imageattach.prefix": "/"}, "imageattach.prefix", "'/'"),
    ({"imageattach.prefix": "a/../b"}, "imageattach.prefix", "'a/../b'"),
    ({"imageattach.prefix": "my images"}, "imageattach.prefix", "'my images'"),
    ({"imageattach.block_size": "0"}, "imageattach.block_size", "'0'"),
    ({"imageattach.block_size": "8k"}, "imageattach.block_size", "'8k'"),
    ({HOST_URL_SETTING: "ftp://cdn.example/"}, HOST_URL_SETTING, "'ftp://cdn.example/'"),
    ({HOST_URL_SETTING: "https://"}, HOST_URL_SETTING, "'https://'"),
    ({HOST_URL_SETTING: "https://u:p@cdn.example/"}, HOST_URL_SETTING, "'https://u:p@cdn"),
    ({HOST_URL_SETTING: "https://cdn.example/?a=1"}, HOST_URL_SETTING, "'https://cdn.example/?a"),
    (
        {"imageattach.cache_contrl": "none"},
        "imageattach.cache_contrl",
        "imageattach.cache_control",
    ),
    ({PATH: None, STORE: "no_such_module:store"}, STORE, "'no_such_module:store'"),
    ({PATH: None, STORE: "os:path"}, STORE, "'os:path'"),
    ({PATH: None, STORE: 42}, STORE, "42"),
    ({STORE: "{store}"}, PATH, "cannot be set together"),
    ({PATH: None, STORE: "{store}", HOSTS: "a.example"}, HOSTS, "'a.example'"),
]


@pytest.mark.parametrize(("settings", "setting", "shown"), BAD_SETTINGS)
def test_bad_setting_fails_at_startup(
    root: Path, tmp_path: Path, settings: dict[str, Any], setting: str, shown: str
) -> None:
    file = tmp_path / "a-file"
    file.write_bytes(b"")
    store = HttpExposedFileSystemStore(root)
    values: dict[str, Any] = {
        "imageattach.path": str(root),
        "pyramid.includes": "imageattach.pyramid",
    }
    for key, value in settings.items():
        values[key] = {"{file}": str(file), "{store}": store}.get(value, value)
    with pytest.raises(ConfigurationError) as raised:
        Configurator(settings=values)  # pyramid.includes runs includeme, here
    message = str(raised.value)
    assert message.startswith(setting + " "), message
    assert shown.replace("{file}", repr(str(file))) in message


def test_every_setting_is_known() -> None:
    assert set(SETTINGS) == {
        "path",
        "store",
        "prefix",
        "cors",
        "trusted_hosts",
        "host_url",
        "cache_control",
        "versioned_cache_control",
        "follow_symlinks",
        "svg_as_attachment",
        "block_size",
    }


def test_ini_settings(root: Path) -> None:
    """Settings as an .ini file gives them: strings, lists over lines, blanks for defaults."""
    config = make_config(
        {
            "pyramid.includes": "\nimageattach.pyramid",
            "imageattach.path": str(root),
            "imageattach.prefix": "/static/img/",
            "imageattach.cors": "yes",
            "imageattach.trusted_hosts": "\nshop.example\n.cdn.example localhost",
            "imageattach.cache_control": "none",
            "imageattach.versioned_cache_control": "",
            "imageattach.follow_symlinks": "off",
            "imageattach.svg_as_attachment": "On",
            "imageattach.block_size": "1000",
            "imageattach.host_url": "",
        }
    )
    app = webtest.TestApp(config.make_wsgi_app())
    store = configured_store(config.registry)
    assert (store.path, store.prefix, store.trusted_hosts) == (
        str(root),
        "static/img",
        ("shop.example", ".cdn.example", "localhost"),
    )
    assert store.host_url_getter is None
    response = app.get("/static/img/a.png", headers={"Origin": "https://x.example"})
    assert response.body == DATA
    assert "Cache-Control" not in response.headers  # "none"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Cache-Control" not in app.get(f"/static/img/a.png?{TS}").headers  # ""
    assert app.get("/static/img/vec.svg").headers["Content-Disposition"] == "attachment"
    assert app.get("/page", extra_environ={"HTTP_HOST": "img.cdn.example"}).text.startswith(
        "http://img.cdn.example/static/img/spec/"
    )
    assert app.get("/page", extra_environ={"HTTP_HOST": "evil.example"}).text == "no-url"


@pytest.mark.parametrize("blank", [None, "", "  "], ids=["unset", "empty", "spaces"])
def test_defaults(root: Path, blank: str | None) -> None:
    settings = {
        f"imageattach.{name}": blank
        for name in ("prefix", "cors", "trusted_hosts", "host_url", "block_size")
        if blank is not None
    }
    settings.update({"imageattach.follow_symlinks": blank, "imageattach.svg_as_attachment": blank})
    app = webtest.TestApp(make_app(root, **settings))
    response = app.get("/__images__/a.png")
    assert response.headers["Cache-Control"] == "public, max-age=60"
    assert "Access-Control-Allow-Origin" not in response.headers
    versioned = app.get(f"/__images__/a.png?{TS}")
    assert versioned.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert "Content-Disposition" not in app.get("/__images__/vec.svg").headers


def test_python_values_as_settings(root: Path) -> None:
    app = webtest.TestApp(
        make_app(
            root,
            **{
                "imageattach.cors": True,
                "imageattach.cache_control": None,
                "imageattach.trusted_hosts": ["shop.example"],
                "imageattach.block_size": 10,
            },
        )
    )
    response = app.get("/__images__/a.png")
    assert "Cache-Control" not in response.headers
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert app.get("/page", extra_environ={"HTTP_HOST": "shop.example"}).text.startswith(
        "http://shop.example/__images__/"
    )


def test_a_store_as_setting(root: Path) -> None:
    store = HttpExposedFileSystemStore(root, "media", cors=True, trusted_hosts=["shop.example"])
    app = webtest.TestApp(make_app(root, **{"imageattach.path": None, "imageattach.store": store}))
    response = app.get("/media/a.png")
    assert response.body == DATA
    assert response.headers["Access-Control-Allow-Origin"] == "*", "the store's cors"
    page = app.get("/page", extra_environ={"HTTP_HOST": "shop.example"})
    assert page.text == f"http://shop.example/media/spec/234/1/1234.10x20.png?{TS}"
    assert app.get("/page", extra_environ={"HTTP_HOST": "evil.example"}).text == "no-url"


def test_a_store_by_dotted_name(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = HttpExposedFileSystemStore(root, "dotted")
    module = types.ModuleType("imageattach_test_store")
    module.__dict__["store"] = store
    monkeypatch.setitem(sys.modules, module.__name__, module)
    config = make_config({"imageattach.store": "imageattach_test_store:store"})
    config.include("imageattach.pyramid")
    app = webtest.TestApp(config.make_wsgi_app())
    assert configured_store(config.registry) is store
    assert app.get("/dotted/a.png").body == DATA


def test_host_url_setting(root: Path) -> None:
    app = webtest.TestApp(make_app(root, **{"imageattach.host_url": "https://cdn.example/app"}))
    page = app.get("/page", extra_environ={"HTTP_HOST": "evil.example"})
    assert page.text == f"https://cdn.example/app/__images__/spec/234/1/1234.10x20.png?{TS}"


# --- request.imageattach_store and the host URL ---------------------------------------------


def test_locate_uses_the_request_host(root: Path) -> None:
    app = webtest.TestApp(make_app(root))
    for host in ["shop.example", "shop.example:8080", "127.0.0.1:6543"]:
        page = app.get("/page", extra_environ={"HTTP_HOST": host})
        url = f"http://{host}{IMAGE_PATH}?{TS}"
        assert page.text == url
        assert app.get(url.removeprefix(f"http://{host}")).body == b"\x89PNG image"
    https = app.get(
        "/app/page",
        extra_environ={
            "HTTP_HOST": "shop.example",
            "wsgi.url_scheme": "https",
            "SCRIPT_NAME": "/app",
            "PATH_INFO": "/page",
        },
    )
    assert https.text == f"https://shop.example/app{IMAGE_PATH}?{TS}"
    assert HOST_URL.get() is None, "the host URL is gone after the request"


def test_the_store_is_the_configured_one(root: Path) -> None:
    seen: list[Any] = []

    def view(request: Any) -> Any:
        seen.append((request.imageattach_store, type(request)))
        return request.response

    config = make_config({"imageattach.path": str(root)})
    config.include("imageattach.pyramid")
    config.add_route("store", "/store")
    config.add_view(view, route_name="store")
    webtest.TestApp(config.make_wsgi_app()).get("/store")
    [(store, request_class)] = seen
    assert isinstance(store, HttpExposedFileSystemStore)
    assert (store.path, store.prefix) == (str(root), "__images__")
    # A plain attribute: Pyramid makes no class per request for it, as it would
    # for a reify=True property.
    assert request_class is Request
    assert configured_store(config.registry) is store, "scripts' requests have it too"


def test_untrusted_host_records_the_rejected_host(root: Path) -> None:
    recorded: list[str | None] = []

    def view(request: Any) -> Any:
        recorded.append(HOST_URL.get())
        return locate_view(request)

    config = make_config(
        {"imageattach.path": str(root), "imageattach.trusted_hosts": "good.example"}
    )
    config.include("imageattach.pyramid")
    config.add_route("record", "/record")
    config.add_view(view, route_name="record")
    app = webtest.TestApp(config.make_wsgi_app())
    assert app.get("/record", extra_environ={"HTTP_HOST": "evil.example"}).text == "no-url"
    assert app.get("/record", extra_environ={"HTTP_HOST": "good.example"}).text.startswith(
        "http://good.example/"
    )
    expected = [
        build_host_url("http", "evil.example", "", ("good.example",)),
        build_host_url("http", "good.example", "", ("good.example",)),
    ]
    assert recorded == expected
    assert type(recorded[0]).__name__ == "RejectedHost"


@pytest.mark.parametrize(
    "host", ["", "evil.example/x", "a b", "évil.example", "[::1", "h:99999", "h:1:2", "\x00"]
)
def test_hostile_host_is_no_url_never_500(root: Path, host: str) -> None:
    app = make_app(root)
    environ = make_environ("GET", "/page", [("Host", host.encode("utf-8"))])
    environ.pop("SERVER_NAME")
    status, _, body = call(app, environ)
    assert (status, body) == ("200 OK", b"no-url")


def test_exception_views_see_the_host_url(root: Path) -> None:
    config = make_config({"imageattach.path": str(root)})
    config.include("imageattach.pyramid")
    config.add_notfound_view(locate_view)
    page = webtest.TestApp(config.make_wsgi_app()).get(
        "/missing", extra_environ={"HTTP_HOST": "shop.example"}
    )
    assert page.text.startswith("http://shop.example/__images__/")


def test_host_url_gone_after_a_failing_view(root: Path) -> None:
    def broken(request: Any) -> Any:
        assert HOST_URL.get() == "http://shop.example/"
        raise ValueError("the view failed")

    config = make_config({"imageattach.path": str(root)})
    config.include("imageattach.pyramid")
    config.add_route("broken", "/broken")
    config.add_view(broken, route_name="broken")
    app = webtest.TestApp(config.make_wsgi_app())
    with pytest.raises(ValueError, match="the view failed"):
        app.get("/broken", extra_environ={"HTTP_HOST": "shop.example"})
    assert HOST_URL.get() is None


# --- the tween chain and pyramid_tm ---------------------------------------------------------


def test_tween_is_over_the_exception_view(root: Path) -> None:
    config = make_config({"imageattach.path": str(root)})
    config.include("imageattach.pyramid")
    assert tween_names(config) == [TWEEN, EXCVIEW]


@pytest.mark.parametrize("first", ["pyramid_tm", "imageattach.pyramid"])
def test_tween_is_over_pyramid_tm_whatever_the_include_order(root: Path, first: str) -> None:
    """With a plain over=EXCVIEW, including pyramid_tm first would put it over us."""
    second = {"pyramid_tm": "imageattach.pyramid", "imageattach.pyramid": "pyramid_tm"}[first]
    config = make_config({"imageattach.path": str(root), "pyramid.includes": f"{first} {second}"})
    assert tween_names(config) == [TWEEN, TM, EXCVIEW]


class CountingManager(transaction.TransactionManager):  # type: ignore[misc]
    begun: list[str]

    def begin(self) -> Any:
        self.begun.append("begin")
        return super().begin()


@pytest.fixture
def managers(monkeypatch: pytest.MonkeyPatch) -> list[CountingManager]:
    made: list[CountingManager] = []

    def hook(request: Any) -> CountingManager:
        manager = CountingManager(explicit=True)
        manager.begun = []
        made.append(manager)
        return manager

    monkeypatch.setattr(f"{__name__}.manager_hook", hook, raising=False)
    return made


def manager_hook(request: Any) -> Any:  # replaced by the managers fixture
    raise AssertionError("not patched")


def tm_app(root: Path, **settings: Any) -> webtest.TestApp:
    config = make_config(
        {
            "imageattach.path": str(root),
            "pyramid.includes": "pyramid_tm imageattach.pyramid",
            "tm.manager_hook": f"{__name__}:manager_hook",
            **settings,
        }
    )
    config.add_route("commit", "/commit")

    def commit_view(request: Any) -> Any:
        # Inside the transaction, and inside our tween: the host URL is there.
        request.tm.get().note(request.imageattach_store.locate(IMAGE))
        return locate_view(request)

    config.add_view(commit_view, route_name="commit")
    return webtest.TestApp(config.make_wsgi_app())


def test_image_requests_begin_no_transaction(root: Path, managers: list[CountingManager]) -> None:
    app = tm_app(root)
    assert app.get("/__images__/a.png").body == DATA
    app.get("/__images__/missing.png", status=404)
    app.head("/__images__/a.png")
    assert managers == [], "request.tm was never even made for an image request"
    page = app.get("/commit", extra_environ={"HTTP_HOST": "shop.example"})
    assert page.text == f"http://shop.example{IMAGE_PATH}?{TS}"
    [manager] = managers
    assert manager.begun == ["begin"], "a page request is in a transaction"


def test_explicit_tween_order_is_honoured(root: Path, managers: list[CountingManager]) -> None:
    """pyramid.tweens orders the tweens as listed: here pyramid_tm over us."""
    order = [TM, TWEEN, EXCVIEW]
    app = tm_app(root, **{"pyramid.tweens": "\n".join(order)})
    assert registry_tweens(app.app.registry) == order
    assert app.get("/__images__/a.png").body == DATA
    assert [m.begun for m in managers] == [["begin"]], "the user put pyramid_tm first"


def test_tween_without_the_include(root: Path) -> None:
    """Listed in pyramid.tweens alone, the tween reads the settings itself."""
    config = make_config({"imageattach.path": str(root), "pyramid.tweens": f"{TWEEN}\n{EXCVIEW}"})
    app = webtest.TestApp(config.make_wsgi_app())
    assert registry_tweens(config.registry) == [TWEEN, EXCVIEW]
    assert app.get("/__images__/a.png").body == DATA
    assert app.get("/page", extra_environ={"HTTP_HOST": "shop.example"}).text.startswith(
        "http://shop.example/__images__/"
    )
    bad = make_config({"imageattach.path": str(root), "imageattach.cors": "maybe"})
    bad.add_tween(TWEEN)
    with pytest.raises(ConfigurationError, match=r"^imageattach\.cors .*'maybe'"):
        bad.make_wsgi_app()


# --- the answers are the engine's -----------------------------------------------------------


def call(app: Any, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
    """Call a WSGI app; return the status line, headers and body, the file closed."""
    started: list[tuple[str, list[tuple[str, str]]]] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        started.append((status, headers))
        return lambda data: None

    result = app(environ, start_response)
    try:
        body = b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    [(status, headers)] = started
    return status, headers, body


def _same_boundary(
    headers: list[tuple[str, str]], body: bytes
) -> tuple[list[tuple[str, str]], bytes]:
    for name, value in headers:
        match = re.fullmatch(r"multipart/byteranges; boundary=([0-9a-f]{32})", value)
        if name == "Content-Type" and match:
            boundary = match.group(1)
            return (
                [(n, v.replace(boundary, "B" * 32)) for n, v in headers],
                body.replace(boundary.encode(), b"B" * 32),
            )
    return headers, body


ETAG = "{etag}"
REQUESTS = [
    ("GET", "a.png", {}),
    ("GET", f"a.png?{TS}", {}),
    ("HEAD", "a.png", {}),
    ("GET", "a.png", {"If-None-Match": ETAG}),
    ("HEAD", "a.png", {"If-None-Match": ETAG}),
    ("GET", "a.png", {"If-Match": '"other"'}),
    ("GET", "a.png", {"Range": "bytes=100-199"}),
    ("GET", "a.png", {"Range": "bytes=-10"}),
    ("GET", "a.png", {"Range": "bytes=0-9,1000-1009,40000-40009"}),
    ("GET", "a.png", {"Range": "bytes=60000-"}),
    ("GET", "a.png", {"Range": "bytes=0-9", "If-Range": '"other"'}),
    ("GET", "vec.svg", {}),
    ("GET", "missing.png", {}),
    ("GET", "../secret.txt", {}),
    ("GET", "%2e%2e/secret.txt", {}),
    ("GET", "%ff.png", {}),
    ("GET", "a.png%00", {}),
    ("HEAD", "%c0%ae%c0%ae/secret.txt", {}),
    ("POST", "a.png", {}),
    ("DELETE", "a.png", {"If-None-Match": ETAG}),
    ("OPTIONS", "a.png", {}),
    ("OPTIONS", "a.png", {"Origin": "https://x.example", "Access-Control-Request-Method": "GET"}),
    ("GET", "a.png", {"Origin": "https://x.example"}),
]


@pytest.mark.parametrize("cors", [False, True], ids=["cors-off", "cors-on"])
@pytest.mark.parametrize("file_wrapper", [False, True], ids=["no-wrapper", "file-wrapper"])
@pytest.mark.parametrize(("method", "rest", "headers"), REQUESTS)
def test_same_answer_as_the_wsgi_adapter(
    root: Path,
    cors: bool,
    file_wrapper: bool,
    method: str,
    rest: str,
    headers: dict[str, str],
) -> None:
    pyramid_app = make_app(root, **{"imageattach.cors": cors})
    wsgi_app = StaticServerMiddleware(wsgi_fallback(), "/__images__", str(root), cors=cors)
    etag = call(wsgi_app, make_environ("HEAD", "/__images__/a.png"))[1]
    filled = [(k, v.replace(ETAG, dict(etag)["ETag"])) for k, v in headers.items()]
    answers = []
    for app in (wsgi_app, pyramid_app):
        environ = make_environ(method, f"/__images__/{rest}", filled, file_wrapper=file_wrapper)
        status, got, body = call(app, environ)
        got, body = _same_boundary([(k, v) for k, v in got if k.lower() != "date"], body)
        answers.append((status, got, body))
    assert answers[1] == answers[0]
    status = answers[1][0]
    assert not status.startswith("5")
    names = [name.lower() for name, _ in answers[1][1]]
    assert len(names) == len(set(names)), "no header twice"
    if method == "HEAD" or status[:3] in {"204", "304"}:
        assert answers[1][2] == b""


def test_no_webob_defaults_on_bodiless_answers(root: Path) -> None:
    app = make_app(root, **{"imageattach.cors": True})
    etag = call(app, make_environ("HEAD", "/__images__/a.png"))[1]
    not_modified = call(
        app, make_environ("GET", "/__images__/a.png", {"If-None-Match": dict(etag)["ETag"]})
    )
    preflight = call(
        app,
        make_environ(
            "OPTIONS",
            "/__images__/a.png",
            {"Origin": "null", "Access-Control-Request-Method": "GET"},
        ),
    )
    for status, headers, body in (not_modified, preflight):
        names = {name.lower() for name, _ in headers}
        assert status in {"304 Not Modified", "204 No Content"}
        assert not names & {"content-type", "content-length"}, headers
        assert body == b""
    head = call(app, make_environ("HEAD", "/__images__/a.png"))
    assert head[0] == "200 OK"
    assert dict(head[1])["Content-Length"] == str(len(DATA))
    assert dict(head[1])["Content-Type"] == "image/png"
    assert head[2] == b""


def _tween(root: Path, block_size: int = 8192) -> Callable[[Any], Any]:
    config = make_config({"imageattach.path": str(root), "imageattach.block_size": block_size})
    config.include("imageattach.pyramid")
    config.commit()

    def handler(request: Any) -> Any:
        raise AssertionError("the tween answers image requests itself")

    return tween_factory(handler, config.registry)


def test_pyramid_response_is_the_engines(root: Path) -> None:
    tween = _tween(root)
    request = Request.blank("/__images__/a.png", headers={"Range": "bytes=0-9"})
    response = tween(request)
    try:
        assert response.conditional_response is False
        assert response.status == "206 Partial Content"
        assert response.headerlist[:3] == [
            ("Content-Type", "image/png"),
            ("Content-Length", "10"),
            ("Content-Range", f"bytes 0-9/{len(DATA)}"),
        ]
        assert b"".join(response.app_iter) == DATA[:10]
    finally:
        response.app_iter.close()
    unsatisfiable = tween(Request.blank("/__images__/a.png", headers={"Range": "bytes=99999-"}))
    # http.HTTPStatus's phrase, as the WSGI adapter sends it, not WebOb's own
    assert unsatisfiable.status == f"416 {HTTPStatus(416).phrase}"
    assert unsatisfiable.content_type == "text/plain"


def _opened(path: Path) -> list[str]:
    fd_dir = "/proc/self/fd"
    if not os.path.isdir(fd_dir):
        pytest.skip("needs /proc/self/fd")
    found = []
    for name in os.listdir(fd_dir):
        try:
            if os.readlink(os.path.join(fd_dir, name)) == str(path.resolve()):
                found.append(name)
        except OSError:
            pass
    return found


@pytest.mark.parametrize(
    ("file_wrapper", "headers", "wrapped"),
    [
        (True, {}, True),
        (False, {}, False),
        (True, {"Range": "bytes=10-19"}, False),
        (True, {"Range": "bytes=0-9,30000-30009"}, False),
    ],
    ids=["whole-file-wrapper", "whole-blocks", "range", "multipart"],
)
def test_body_transport(
    root: Path, file_wrapper: bool, headers: dict[str, str], wrapped: bool
) -> None:
    app = make_app(root, **{"imageattach.block_size": "1000"})
    environ = make_environ("GET", "/__images__/a.png", headers, file_wrapper=file_wrapper)
    result: Iterable[bytes] = app(environ, lambda status, headers, exc_info=None: None)
    assert isinstance(result, FileWrapper) == wrapped
    if isinstance(result, FileWrapper):
        assert result.blksize == 1000
    iterator = iter(result)
    first = next(iterator)
    assert 0 < len(first) <= 1000
    assert _opened(root / "a.png"), "the file is open while the body is sent"
    result.close()  # type: ignore[attr-defined]
    assert not _opened(root / "a.png"), "close() closes the file (SPEC 6.2)"


@pytest.mark.parametrize(
    "target",
    [
        "/__images__/%ff",
        "/__images__/%00",
        "/__images__/%c0%ae%c0%ae/secret.txt",
        "/__images__/" + "%e2%80" * 500,
        "/__images__/" + "a/" * 5000,
    ],
)
def test_hostile_paths_under_the_mount_are_404(root: Path, target: str) -> None:
    status, _, body = call(make_app(root), make_environ("GET", target))
    assert status == "404 Not Found"
    assert body == b"Not Found\n"


def test_outside_the_mount_reaches_pyramid(root: Path) -> None:
    config = make_config({"imageattach.path": str(root)})
    config.include("imageattach.pyramid")
    fallback = wsgi_fallback()
    config.add_notfound_view(wsgiapp(fallback))
    app = webtest.TestApp(config.make_wsgi_app())
    assert app.get("/__images__").text == "fallback/__images__"
    assert app.post("/__images__x/a.png", params=b"body").text == "fallback/__images__x/a.png"
    assert [seen["spec.body"] for seen in fallback.requests] == [b"", b"body"]
