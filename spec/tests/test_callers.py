"""The in-process WSGI and ASGI callers: they must hand over requests as servers do,
and catch applications that break the protocol."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator
from typing import Any

import pytest

from imageattach.spec import (
    AppError,
    FileWrapper,
    ProtocolError,
    acall_asgi,
    asgi_fallback,
    call_asgi,
    call_wsgi,
    make_environ,
    make_scope,
    wsgi_fallback,
)


def test_environ_decodes_the_path_once_to_latin_1() -> None:
    environ = make_environ("GET", "/a%20b/%ff%2F%252e?x=%20&y=%2F")
    assert environ["PATH_INFO"] == "/a b/\xff/%2e"
    assert environ["QUERY_STRING"] == "x=%20&y=%2F"
    assert environ["SCRIPT_NAME"] == ""
    assert environ["HTTP_HOST"] == "testserver"
    assert "wsgi.file_wrapper" not in environ


def test_environ_headers_script_name_and_file_wrapper() -> None:
    environ = make_environ(
        "POST",
        "/app/x",
        [("X-A", "1"), ("x-a", "2"), ("Content-Type", "text/plain"), ("Host", "h:1")],
        body=b"abc",
        script_name="/app",
        scheme="https",
        file_wrapper=True,
    )
    assert (environ["SCRIPT_NAME"], environ["PATH_INFO"]) == ("/app", "/x")
    assert environ["HTTP_X_A"] == "1, 2"
    assert environ["CONTENT_TYPE"] == "text/plain"
    assert environ["CONTENT_LENGTH"] == "3"
    assert environ["HTTP_HOST"] == "h:1"
    assert environ["wsgi.url_scheme"] == "https"
    assert environ["wsgi.input"].read() == b"abc"
    assert environ["wsgi.file_wrapper"] is FileWrapper


def test_environ_header_bytes_become_latin_1() -> None:
    environ = make_environ("GET", "/", {"If-None-Match": b"\x80\xff"})
    assert environ["HTTP_IF_NONE_MATCH"] == "\x80\xff"


@pytest.mark.parametrize("target", ["relative", "/caf\u00e9"])
def test_target_must_be_an_ascii_path(target: str) -> None:
    with pytest.raises(ValueError, match="ASCII path"):
        make_environ("GET", target)


class _Closing:
    def __init__(self, chunks: Iterable[Any]) -> None:
        self.chunks = list(chunks)
        self.closed = False

    def __iter__(self) -> Iterator[Any]:
        return iter(self.chunks)

    def close(self) -> None:
        self.closed = True


def test_wsgi_response_and_close() -> None:
    body = _Closing([b"a", b"", b"bc"])

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        start_response("201 Created", [("X-One", "1"), ("X-One", "2")])
        return body

    response = call_wsgi(app, "GET", "/")
    assert (response.status, response.body, response.chunks) == (201, b"abc", (b"a", b"bc"))
    assert response.header_values("x-one") == ["1", "2"]
    assert response.header("missing") is None
    assert body.closed


def test_wsgi_close_after_stops_and_closes() -> None:
    body = _Closing([b"a", b"b", b"c"])
    seen: list[bool] = []

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        start_response("200 OK", [])
        return body

    response = call_wsgi(
        app, "GET", "/", close_after=1, after_close=lambda: seen.append(body.closed)
    )
    assert response.body == b"a"
    assert seen == [True]


def test_wsgi_start_response_may_wait_for_the_first_block() -> None:
    def app(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        start_response("200 OK", [("Content-Length", "2")])
        yield b"ok"

    assert call_wsgi(app, "GET", "/").body == b"ok"


def _app(
    status: Any = "200 OK", headers: Any = None, body: Any = (b"x",), twice: bool = False
) -> Any:
    def app(environ: dict[str, Any], start_response: Any) -> Any:
        start_response(status, [] if headers is None else headers)
        if twice:
            start_response(status, [])
        return body

    return app


@pytest.mark.parametrize(
    "app",
    [
        _app(status=200),
        _app(status="200"),
        _app(status="OK 200"),
        _app(headers=(("A", "b"),)),
        _app(headers=[["A", "b"]]),
        _app(headers=[("A", b"b")]),
        _app(headers=[("A b", "c")]),
        _app(headers=[("A", "b\r\nSet-Cookie: x")]),
        _app(headers=[("A", "\u20ac")]),
        _app(body=["text"]),
        _app(twice=True),
    ],
    ids=[
        "int-status",
        "no-reason",
        "bad-status",
        "tuple-headers",
        "list-header",
        "bytes-value",
        "bad-name",
        "crlf-value",
        "not-latin-1",
        "str-body",
        "start-twice",
    ],
)
def test_wsgi_protocol_errors(app: Any) -> None:
    with pytest.raises(ProtocolError):
        call_wsgi(app, "GET", "/")


def test_wsgi_body_before_start_response() -> None:
    def app(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        yield b"early"
        start_response("200 OK", [])

    with pytest.raises(ProtocolError, match="before start_response"):
        call_wsgi(app, "GET", "/")


def test_wsgi_app_that_raises_is_a_500() -> None:
    def app(environ: dict[str, Any], start_response: Any) -> Any:
        raise KeyError("boom")

    with pytest.raises(AppError, match="a server would answer 500"):
        call_wsgi(app, "GET", "/")


def test_wsgi_body_that_raises_is_closed() -> None:
    closed: list[bool] = []

    class Failing:
        def __iter__(self) -> Iterator[bytes]:
            yield b"a"
            raise OSError("disk gone")

        def close(self) -> None:
            closed.append(True)

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        start_response("200 OK", [])
        return Failing()

    with pytest.raises(AppError, match="the body raised"):
        call_wsgi(app, "GET", "/")
    assert closed == [True]


def test_wsgi_file_wrapper_is_recorded(tmp_path: Any) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"0123456789")

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        start_response("200 OK", [])
        return environ["wsgi.file_wrapper"](path.open("rb"), 4)

    response = call_wsgi(app, "GET", "/", file_wrapper=True)
    assert response.chunks == (b"0123", b"4567", b"89")
    assert response.file_wrapper is not None
    assert response.file_wrapper.closed
    assert response.file_wrapper.filelike.closed


def test_wsgi_fallback_echoes_path_and_keeps_requests() -> None:
    fallback = wsgi_fallback()
    response = call_wsgi(fallback, "POST", "/x/%ff", body=b"data")
    assert response.body == b"fallback/x/\xff"
    assert response.header("Content-Length") == str(len(response.body))
    [seen] = fallback.requests
    assert seen["spec.body"] == b"data"


def test_scope_is_built_like_uvicorn() -> None:
    scope = make_scope(
        "GET",
        "/app/a%20b/%ff/%2F?q=%20",
        [("X-Name", "V"), ("If-Match", b"\xff")],
        root_path="/app",
    )
    assert scope["path"] == "/app/a b/\ufffd//"
    assert scope["raw_path"] == b"/app/a%20b/%ff/%2F"
    assert scope["query_string"] == b"q=%20"
    assert scope["root_path"] == "/app"
    assert scope["headers"] == [
        (b"host", b"testserver"),
        (b"x-name", b"V"),
        (b"if-match", b"\xff"),
    ]
    assert scope["type"] == "http"
    assert scope["asgi"]["version"] == "3.0"


async def _streaming(scope: Any, receive: Any, send: Any) -> None:
    assert (await receive())["type"] == "http.request"
    await send({"type": "http.response.start", "status": 200, "headers": [(b"x-a", b"1")]})
    for block in (b"a", b"b", b"c"):
        await send({"type": "http.response.body", "body": block, "more_body": True})
    await send({"type": "http.response.body", "body": b""})


def test_asgi_response() -> None:
    response = call_asgi(_streaming, "GET", "/")
    assert (response.status, response.body, response.chunks) == (200, b"abc", (b"a", b"b", b"c"))
    assert response.headers == (("x-a", "1"),)


def test_asgi_disconnect_after() -> None:
    sent: list[bytes] = []
    errors: list[BaseException] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        try:
            for block in (b"a", b"b", b"c"):
                await send({"type": "http.response.body", "body": block, "more_body": True})
                sent.append(block)
        except OSError as exc:
            errors.append(exc)
        assert (await receive())["type"] == "http.disconnect"

    response = call_asgi(app, "GET", "/", disconnect_after=1)
    assert response.body == b"a"
    assert sent == [b"a"]
    assert len(errors) == 1


def _asgi_app(*messages: dict[str, Any]) -> Any:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        for message in messages:
            await send(message)

    return app


START = {"type": "http.response.start", "status": 200, "headers": []}
BODY = {"type": "http.response.body", "body": b"x"}


@pytest.mark.parametrize(
    "app",
    [
        _asgi_app(BODY),
        _asgi_app(START, START),
        _asgi_app(START),
        _asgi_app(START, BODY, BODY),
        _asgi_app({**START, "status": "200"}),
        _asgi_app({**START, "headers": [("a", "b")]}),
        _asgi_app({**START, "headers": [(b"A", b"b")]}),
        _asgi_app(START, {**BODY, "body": "text"}),
        _asgi_app({"type": "http.response.pathsend", "path": "/etc/passwd"}),
    ],
    ids=[
        "body-first",
        "start-twice",
        "no-body",
        "after-complete",
        "str-status",
        "str-headers",
        "upper-case-name",
        "str-body",
        "unoffered-extension",
    ],
)
def test_asgi_protocol_errors(app: Any) -> None:
    with pytest.raises(ProtocolError):
        call_asgi(app, "GET", "/")


def test_asgi_app_that_raises_or_hangs() -> None:
    async def raises(scope: Any, receive: Any, send: Any) -> None:
        raise KeyError("boom")

    async def hangs(scope: Any, receive: Any, send: Any) -> None:
        await asyncio.sleep(60)

    with pytest.raises(AppError, match="500"):
        call_asgi(raises, "GET", "/")
    with pytest.raises(AppError, match="did not finish"):
        call_asgi(hangs, "GET", "/", timeout=0.05)


def test_asgi_fallback_echoes_path_and_keeps_requests() -> None:
    fallback = asgi_fallback()
    response = asyncio.run(acall_asgi(fallback, "PUT", "/x/%C3%A9", body=b"data"))
    assert response.body == "fallback/x/\u00e9".encode()
    [seen] = fallback.requests
    assert seen["spec.body"] == b"data"
    assert seen["method"] == "PUT"
