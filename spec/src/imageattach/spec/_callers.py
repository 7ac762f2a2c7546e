"""Call a WSGI or ASGI application in-process, the way a server would.

No framework sits between the suite and the adapter: a hostile request target
must reach the application exactly as a real server would hand it over, which a
test client that normalises paths would spoil.

WSGI (PEP 3333)
    The raw request target is split at the first ``?``.  The path is
    percent-decoded once, to bytes, and those bytes decoded as latin-1 make
    ``PATH_INFO`` (less ``SCRIPT_NAME``), as every WSGI server does; the query
    stays raw in ``QUERY_STRING``.  ``wsgi.file_wrapper`` is offered only when
    asked for.  The caller checks ``start_response`` (one call, a ``str`` status,
    a ``list`` of ``(str, str)``), and always calls ``close()`` on the iterable.

ASGI 3 (HTTP scope, spec 2.4)
    ``raw_path`` is the raw path as bytes, and ``path`` is
    ``urllib.parse.unquote(raw_path)``, as uvicorn and hypercorn build it: bytes that
    are not UTF-8 become U+FFFD, so an adapter sees ``%ff`` as ``"\\ufffd"`` and
    must look at ``raw_path`` to tell it apart.  ``path`` includes ``root_path``.
    Header names are lower-case bytes.  Messages are checked in order
    (``http.response.start``, then ``http.response.body`` until ``more_body`` is
    false).  No zero-copy extension is offered, so an adapter sends its bytes.
"""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, BinaryIO, Final, TypeAlias
from urllib.parse import unquote, unquote_to_bytes

__all__ = [
    "ASGIApp",
    "AppError",
    "FileWrapper",
    "HeaderInput",
    "ProtocolError",
    "Response",
    "WSGIApp",
    "acall_asgi",
    "asgi_fallback",
    "call_asgi",
    "call_wsgi",
    "make_environ",
    "make_scope",
    "wsgi_fallback",
]

Environ: TypeAlias = dict[str, Any]
StartResponse: TypeAlias = Callable[..., Callable[[bytes], object]]
WSGIApp: TypeAlias = Callable[[Environ, StartResponse], Iterable[bytes]]
Scope: TypeAlias = MutableMapping[str, Any]
Message: TypeAlias = MutableMapping[str, Any]
Receive: TypeAlias = Callable[[], Awaitable[Message]]
Send: TypeAlias = Callable[[Message], Awaitable[None]]
ASGIApp: TypeAlias = Callable[[Scope, Receive, Send], Awaitable[None]]
#: Request headers: a mapping or pairs; a ``bytes`` value is sent as is (latin-1).
HeaderInput: TypeAlias = Mapping[str, "str | bytes"] | Iterable[tuple[str, "str | bytes"]]

_STATUS_LINE: Final = re.compile(r"\A([1-5][0-9][0-9]) [^\x00-\x1f\x7f]*\Z")
_TOKEN: Final = re.compile(r"\A[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
_BAD_VALUE: Final = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
DEFAULT_HOST: Final = "testserver"


class ProtocolError(AssertionError):
    """The application broke the WSGI or ASGI protocol (PEP 3333, ASGI 3)."""


class AppError(AssertionError):
    """The application raised: a real server would answer 500 or drop the connection."""


@dataclass(frozen=True)
class Response:
    """What a client received: status, headers in order (duplicates kept) and body."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    #: The body as the application produced it, block by block.
    chunks: tuple[bytes, ...] = ()
    #: The ``wsgi.file_wrapper`` the application returned, if it used the one offered.
    file_wrapper: FileWrapper | None = None

    def header(self, name: str) -> str | None:
        """Return the first value of header ``name`` (case-insensitive), or None."""
        values = self.header_values(name)
        return values[0] if values else None

    def header_values(self, name: str) -> list[str]:
        """Return every value of header ``name`` (case-insensitive), in order."""
        lower = name.lower()
        return [value for key, value in self.headers if key.lower() == lower]

    def header_names(self) -> set[str]:
        """Return the set of header names, lower-cased."""
        return {key.lower() for key, _ in self.headers}

    def __repr__(self) -> str:
        body = self.body if len(self.body) <= 80 else self.body[:80] + b"..."
        return f"<Response {self.status} headers={list(self.headers)!r} body={body!r}>"


class FileWrapper:
    """A ``wsgi.file_wrapper`` (PEP 3333) that records what it was handed."""

    def __init__(self, filelike: BinaryIO, blksize: int = 8192) -> None:
        self.filelike = filelike
        self.blksize = blksize
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        while True:
            data = self.filelike.read(self.blksize)
            if not data:
                return
            yield data

    def close(self) -> None:
        self.closed = True
        close = getattr(self.filelike, "close", None)
        if close is not None:
            close()


def _header_pairs(headers: HeaderInput) -> list[tuple[str, str | bytes]]:
    items = headers.items() if isinstance(headers, Mapping) else headers
    return list(items)


def _split_target(target: str) -> tuple[str, str]:
    if not target.isascii() or not target.startswith("/"):
        raise ValueError(f"target must be an ASCII path starting with '/', got {target!r}")
    path, _, query = target.partition("?")
    return path, query


def make_environ(
    method: str,
    target: str,
    headers: HeaderInput = (),
    *,
    body: bytes = b"",
    script_name: str = "",
    scheme: str = "http",
    file_wrapper: bool = False,
) -> Environ:
    """Return the PEP 3333 environ a server builds for this request.

    ``target`` is the raw request target (``/path?query``), percent-encoded.
    A ``Host`` header is added unless one is given.
    """
    raw_path, query = _split_target(target)
    path = unquote_to_bytes(raw_path).decode("latin-1")
    if script_name and not (path == script_name or path.startswith(script_name + "/")):
        raise ValueError(f"target {target!r} is not under script_name {script_name!r}")
    environ: Environ = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": script_name,
        "PATH_INFO": path[len(script_name) :],
        "QUERY_STRING": query,
        "SERVER_NAME": DEFAULT_HOST,
        "SERVER_PORT": "443" if scheme == "https" else "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scheme,
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": io.StringIO(),
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "wsgi.input_terminated": True,
    }
    if body:
        environ["CONTENT_LENGTH"] = str(len(body))
    if file_wrapper:
        environ["wsgi.file_wrapper"] = FileWrapper
    pairs = _header_pairs(headers)
    if not any(name.lower() == "host" for name, _ in pairs):
        pairs.insert(0, ("Host", DEFAULT_HOST))
    for name, value in pairs:
        text = value.decode("latin-1") if isinstance(value, bytes) else value
        key = name.upper().replace("-", "_")
        if key not in {"CONTENT_TYPE", "CONTENT_LENGTH"}:
            key = "HTTP_" + key
        environ[key] = f"{environ[key]}, {text}" if key in environ else text
    return environ


class _StartResponse:
    def __init__(self, on_start: Callable[[int, list[tuple[str, str]]], None] | None) -> None:
        self.on_start = on_start
        self.status: int | None = None
        self.headers: list[tuple[str, str]] = []
        self.written: list[bytes] = []
        self.sent = False

    def __call__(
        self,
        status: object,
        headers: object,
        exc_info: tuple[type[BaseException], BaseException, TracebackType] | None = None,
    ) -> Callable[[bytes], object]:
        if self.status is not None:
            if exc_info is None:
                raise ProtocolError("start_response was called twice without exc_info")
            if self.sent:
                raise exc_info[1].with_traceback(exc_info[2])
        if not isinstance(status, str):
            raise ProtocolError(f"the status must be a str, got {status!r}")
        match = _STATUS_LINE.match(status)
        if match is None:
            raise ProtocolError(f"the status must look like '200 OK', got {status!r}")
        if type(headers) is not list:
            raise ProtocolError(f"the headers must be a list, got {type(headers).__name__}")
        checked: list[tuple[str, str]] = []
        for item in headers:
            if type(item) is not tuple or len(item) != 2:
                raise ProtocolError(f"each header must be a (name, value) tuple, got {item!r}")
            name, value = item
            if not isinstance(name, str) or not isinstance(value, str):
                raise ProtocolError(f"header names and values must be str, got {item!r}")
            if not _TOKEN.match(name):
                raise ProtocolError(f"header name {name!r} is not an HTTP token")
            if _BAD_VALUE.search(value) or (not value.isascii() and not _is_latin1(value)):
                raise ProtocolError(f"header {name!r} has a value no server can send: {value!r}")
            checked.append((name, value))
        self.status = int(match.group(1))
        self.headers = checked
        if self.on_start is not None:
            self.on_start(self.status, list(checked))
        return self.write

    def write(self, data: bytes) -> None:
        if self.status is None:
            raise ProtocolError("write() was called before start_response")
        if not isinstance(data, bytes):
            raise ProtocolError(f"write() takes bytes, got {type(data).__name__}")
        self.sent = self.sent or bool(data)
        self.written.append(data)


def _is_latin1(value: str) -> bool:
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


def call_wsgi(
    app: WSGIApp,
    method: str,
    target: str,
    headers: HeaderInput = (),
    *,
    body: bytes = b"",
    script_name: str = "",
    scheme: str = "http",
    file_wrapper: bool = False,
    on_start: Callable[[int, list[tuple[str, str]]], None] | None = None,
    close_after: int | None = None,
    after_close: Callable[[], None] | None = None,
    environ: Environ | None = None,
) -> Response:
    """Send one request to a WSGI application and return what a client would get.

    ``on_start`` is called from ``start_response`` with the status and headers.
    ``close_after=n`` stops reading after ``n`` blocks, as a server does when the
    client goes away.  ``after_close`` runs once ``close()`` has been called, while the
    response iterable is still referenced (so a file it forgot to close is still open).
    """
    if environ is None:
        environ = make_environ(
            method,
            target,
            headers,
            body=body,
            script_name=script_name,
            scheme=scheme,
            file_wrapper=file_wrapper,
        )
    start = _StartResponse(on_start)
    try:
        result = app(environ, start)
    except ProtocolError:
        raise
    except Exception as exc:
        raise AppError(f"{method} {target} raised {exc!r}; a server would answer 500") from exc
    chunks: list[bytes] = []
    try:
        try:
            for chunk in result:
                if not isinstance(chunk, bytes):
                    raise ProtocolError(f"the body must yield bytes, got {type(chunk).__name__}")
                if start.status is None:
                    raise ProtocolError("the body yielded bytes before start_response")
                if chunk:
                    start.sent = True
                    chunks.append(chunk)
                if close_after is not None and len(chunks) >= close_after:
                    break
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
    except (ProtocolError, AppError):
        raise
    except Exception as exc:
        raise AppError(f"{method} {target}: the body raised {exc!r}") from exc
    if after_close is not None:
        after_close()
    if start.status is None:
        raise ProtocolError("the application returned without calling start_response")
    all_chunks = [*start.written, *chunks]
    wrapper = result if isinstance(result, FileWrapper) else None
    return Response(
        start.status,
        tuple(start.headers),
        b"".join(all_chunks),
        tuple(all_chunks),
        wrapper,
    )


def make_scope(
    method: str,
    target: str,
    headers: HeaderInput = (),
    *,
    root_path: str = "",
    scheme: str = "http",
) -> Scope:
    """Return the ASGI HTTP scope a server such as uvicorn builds for this request."""
    raw_path, query = _split_target(target)
    pairs = _header_pairs(headers)
    if not any(name.lower() == "host" for name, _ in pairs):
        pairs.insert(0, ("Host", DEFAULT_HOST))
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": method,
        "scheme": scheme,
        "path": unquote(raw_path),
        "raw_path": raw_path.encode("ascii"),
        "query_string": query.encode("ascii"),
        "root_path": root_path,
        "headers": [
            (
                name.lower().encode("latin-1"),
                value if isinstance(value, bytes) else value.encode("latin-1"),
            )
            for name, value in pairs
        ],
        "client": ("127.0.0.1", 50000),
        "server": (DEFAULT_HOST, 443 if scheme == "https" else 80),
        "extensions": {},
    }


@dataclass
class _Exchange:
    status: int | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)
    chunks: list[bytes] = field(default_factory=list)
    complete: bool = False
    disconnected: bool = False


async def acall_asgi(
    app: ASGIApp,
    method: str,
    target: str,
    headers: HeaderInput = (),
    *,
    body: bytes = b"",
    root_path: str = "",
    scheme: str = "http",
    on_start: Callable[[int, list[tuple[str, str]]], None] | None = None,
    disconnect_after: int | None = None,
    timeout: float = 10.0,
    scope: Scope | None = None,
) -> Response:
    """Send one request to an ASGI application; see :func:`call_asgi`."""
    if scope is None:
        scope = make_scope(method, target, headers, root_path=root_path, scheme=scheme)
    state = _Exchange()
    finished = asyncio.Event()
    request_sent = False

    async def receive() -> Message:
        nonlocal request_sent
        if not request_sent:
            request_sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await finished.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        if state.disconnected:
            raise OSError("the client has gone away")
        kind = message.get("type")
        if kind == "http.response.start":
            if state.status is not None:
                raise ProtocolError("http.response.start was sent twice")
            status = message.get("status")
            if type(status) is not int:
                raise ProtocolError(f"the status must be an int, got {status!r}")
            pairs: list[tuple[str, str]] = []
            for item in message.get("headers", ()):
                if len(item) != 2 or not all(isinstance(part, bytes) for part in item):
                    raise ProtocolError(f"each header must be a pair of bytes, got {item!r}")
                name, value = (part.decode("latin-1") for part in item)
                if not _TOKEN.match(name) or name != name.lower():
                    raise ProtocolError(f"header name {name!r} must be a lower-case token")
                if _BAD_VALUE.search(value):
                    raise ProtocolError(f"header {name!r} has a value no server can send")
                pairs.append((name, value))
            state.status, state.headers = status, pairs
            if on_start is not None:
                on_start(status, list(pairs))
        elif kind == "http.response.body":
            if state.status is None:
                raise ProtocolError("http.response.body was sent before http.response.start")
            if state.complete:
                raise ProtocolError("http.response.body was sent after the body was complete")
            data = message.get("body", b"")
            if not isinstance(data, bytes):
                raise ProtocolError(f"the body must be bytes, got {type(data).__name__}")
            if data:
                state.chunks.append(data)
            if not message.get("more_body", False):
                state.complete = True
                finished.set()
            elif disconnect_after is not None and len(state.chunks) >= disconnect_after:
                state.disconnected = True
                finished.set()
        else:
            raise ProtocolError(f"unexpected ASGI message type {kind!r}")

    try:
        await asyncio.wait_for(app(scope, receive, send), timeout)
    except (ProtocolError, AppError):
        raise
    except asyncio.TimeoutError:  # before OSError: TimeoutError is one since 3.11
        raise AppError(f"{method} {target} did not finish within {timeout} s") from None
    except OSError as exc:
        if not state.disconnected:
            raise AppError(f"{method} {target} raised {exc!r}") from exc
    except Exception as exc:
        raise AppError(f"{method} {target} raised {exc!r}; a server would answer 500") from exc
    finally:
        finished.set()
    if state.status is None:
        raise ProtocolError("the application returned without sending http.response.start")
    if not state.complete and not state.disconnected:
        raise ProtocolError("the application returned before the body was complete")
    return Response(
        state.status, tuple(state.headers), b"".join(state.chunks), tuple(state.chunks)
    )


def call_asgi(
    app: ASGIApp,
    method: str,
    target: str,
    headers: HeaderInput = (),
    *,
    body: bytes = b"",
    root_path: str = "",
    scheme: str = "http",
    on_start: Callable[[int, list[tuple[str, str]]], None] | None = None,
    disconnect_after: int | None = None,
    timeout: float = 10.0,
) -> Response:
    """Send one request to an ASGI application in a fresh event loop.

    ``disconnect_after=n``: after ``n`` body blocks the client goes away: ``receive()``
    gives ``http.disconnect`` and ``send()`` raises :exc:`OSError`, as servers do.
    """
    return asyncio.run(
        acall_asgi(
            app,
            method,
            target,
            headers,
            body=body,
            root_path=root_path,
            scheme=scheme,
            on_start=on_start,
            disconnect_after=disconnect_after,
            timeout=timeout,
        )
    )


def _fallback_body(path: bytes) -> bytes:
    return b"fallback" + path


@dataclass
class wsgi_fallback:  # noqa: N801 - used like a function: wsgi_fallback()
    """The WSGI application a server under test wraps: it answers 200 ``fallback<path>``.

    Every environ it sees is kept in :attr:`requests` (with the request body read
    into ``spec.body``), so a test can tell that a request passed through unchanged.
    """

    requests: list[Environ] = field(default_factory=list)

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        seen = dict(environ)
        seen["spec.body"] = environ["wsgi.input"].read()
        self.requests.append(seen)
        path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
        body = _fallback_body(path.encode("latin-1", "replace"))
        start_response(
            "200 OK",
            [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))],
        )
        return [body]


@dataclass
class asgi_fallback:  # noqa: N801 - used like a function: asgi_fallback()
    """The ASGI twin of :class:`wsgi_fallback`; scopes are kept in :attr:`requests`."""

    requests: list[Scope] = field(default_factory=list)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        seen = dict(scope)
        body = b""
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        seen["spec.body"] = body
        self.requests.append(seen)
        payload = _fallback_body(str(scope["path"]).encode("utf-8", "surrogateescape"))
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"text/plain; charset=utf-8"),
                    (b"content-length", str(len(payload)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})
