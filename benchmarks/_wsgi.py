"""A minimal in-process WSGI driver and the serving competitors.

Every competitor gets the same hand-built PEP 3333 environ (one template per run, copied per
request), the same ``start_response`` and the same ``wsgi.file_wrapper`` (a plain block
iterator like ``wsgiref.util.FileWrapper``), and every body is consumed fully and closed.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from benchmarks._common import LEGACY, OURS, WERKZEUG, WHITENOISE
from benchmarks._data import URL_PREFIX

Environ = dict[str, Any]
StartResponse = Callable[..., Callable[[bytes], object]]
WSGIApp = Callable[[Environ, StartResponse], Iterable[bytes]]


class FileWrapper:
    """``wsgi.file_wrapper``: yields ``blksize`` blocks, closes the file on ``close()``."""

    __slots__ = ("blksize", "filelike")

    def __init__(self, filelike: IO[bytes], blksize: int = 8192) -> None:
        self.filelike = filelike
        self.blksize = blksize

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        data = self.filelike.read(self.blksize)
        if data:
            return data
        raise StopIteration

    def close(self) -> None:
        self.filelike.close()


class Recorder:
    """A ``start_response`` that records every status, and the last headers."""

    __slots__ = ("headers", "statuses")

    def __init__(self) -> None:
        self.statuses: list[str] = []
        self.headers: list[tuple[str, str]] = []

    def __call__(
        self,
        status: str,
        headers: list[tuple[str, str]],
        exc_info: Any = None,
    ) -> Callable[[bytes], object]:
        self.statuses.append(status)
        self.headers = headers
        return _write

    def header(self, name: str) -> str | None:
        lname = name.lower()
        for key, value in self.headers:
            if key.lower() == lname:
                return value
        return None


def _write(data: bytes) -> None:
    raise RuntimeError("write() is not used by any competitor")


def environ_template(*, file_wrapper: bool) -> Environ:
    env: Environ = {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": "/",
        "QUERY_STRING": "",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "localhost",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    if file_wrapper:
        env["wsgi.file_wrapper"] = FileWrapper
    return env


def fallback_app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    """The wrapped application: anything not served by a middleware is a 404 here."""
    start_response("404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", "9")])
    return [b"not found"]


def consume(body: Iterable[bytes]) -> int:
    """Iterate the whole body, close it, and return its length."""
    n = 0
    try:
        for chunk in body:
            n += len(chunk)
    finally:
        close = getattr(body, "close", None)
        if close is not None:
            close()
    return n


def request(
    app: WSGIApp,
    template: Environ,
    path: str,
    extra: dict[str, str] | None = None,
) -> tuple[str, Recorder, int]:
    env = template.copy()
    env["PATH_INFO"] = path
    if extra:
        env.update(extra)
    rec = Recorder()
    n = consume(app(env, rec))
    return rec.statuses[-1], rec, n


# -- competitors -----------------------------------------------------------------------------


class OursUnavailableError(RuntimeError):
    """``imageattach.wsgi.StaticServerMiddleware`` is not there (yet)."""


def ours_middleware_class() -> Any:
    try:
        from imageattach import wsgi
    except ImportError as exc:
        raise OursUnavailableError(f"import imageattach.wsgi failed: {exc}") from exc
    cls = getattr(wsgi, "StaticServerMiddleware", None)
    if cls is None:
        raise OursUnavailableError("imageattach.wsgi has no StaticServerMiddleware yet")
    return cls


def unavailable(name: str) -> str:
    """Why competitor ``name`` cannot be built here, or "" when it can (without building it)."""
    import importlib.util

    if name == OURS:
        try:
            ours_middleware_class()
        except OursUnavailableError as exc:
            return f"unavailable: {exc}"
        return ""
    module = {WERKZEUG: "werkzeug", WHITENOISE: "whitenoise"}.get(name)
    if module is not None and importlib.util.find_spec(module) is None:
        return f"unavailable: {module} is not installed"
    return ""


def make_app(name: str, root: Path, legacy_middleware: Any = None) -> WSGIApp:
    """Build competitor ``name`` serving ``root`` under ``/__images__`` over ``fallback_app``."""
    store_dir = str(root)
    if name == OURS:
        app: WSGIApp = ours_middleware_class()(fallback_app, URL_PREFIX, store_dir)
        return app
    if name == WERKZEUG:
        from werkzeug.middleware.shared_data import SharedDataMiddleware

        return SharedDataMiddleware(fallback_app, {URL_PREFIX: store_dir})
    if name == WHITENOISE:
        from whitenoise import WhiteNoise  # type: ignore[import-not-found,unused-ignore]

        # autorefresh: user uploads appear at run time, so no start-up scan of the store.
        return WhiteNoise(  # type: ignore[no-any-return]
            fallback_app, root=store_dir, prefix=URL_PREFIX.strip("/"), autorefresh=True
        )
    if name == LEGACY:
        if legacy_middleware is None:
            raise RuntimeError("1.1.0 is not loaded")
        return legacy_middleware(fallback_app, URL_PREFIX, store_dir)  # type: ignore[no-any-return]
    raise ValueError(name)
