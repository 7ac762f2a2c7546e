"""The WSGI adapter: translate a request in, ask the core engine, translate the answer out.

Every HTTP decision is :class:`imageattach.core.StaticFiles`'; this module only
speaks PEP 3333.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterable, Iterator
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Final

from werkzeug.wsgi import wrap_file

from imageattach.core import (
    DEFAULT_CACHE_CONTROL,
    HOST_URL,
    VERSIONED_CACHE_CONTROL,
    BlockIterable,
    ConfigurationError,
    HttpExposedFileSystemStore,
    StaticFiles,
    decode_path_info,
    environ_host_url,
)

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = ["StaticServerMiddleware"]

#: PEP 3333 status strings, "304 Not Modified"; a dict lookup is cheaper per request
#: than Response.status_line.
_STATUS_LINES: Final = {status.value: f"{status.value} {status.phrase}" for status in HTTPStatus}


class StaticServerMiddleware:
    """WSGI middleware that serves the files of ``dir_path`` under ``url_path``.

    Requests outside ``url_path`` go to ``app`` untouched.  Under it, GET and
    HEAD are answered with the file (conditional requests, ranges, validators,
    cache headers and the rest of ``spec/SPEC.md``); no path can reach outside
    ``dir_path``.

    :param app: the WSGI application to call for every other request.
    :param url_path: the URL path to serve under, e.g. ``'/__images__'``.
    :param dir_path: the directory to serve.
    :param block_size: the size of the blocks a body is read in, when the
        server has no ``wsgi.file_wrapper`` or the body is a range.
    :param cors: whether pages on any origin may load the files
        (``Access-Control-Allow-Origin: *``, and answers to preflights).
    :param cache_control: the ``Cache-Control`` of file responses;
        ``None`` sends none.
    :param versioned_cache_control: the ``Cache-Control`` of file responses to
        URLs made by ``locate()``, which carry the image's version (``?_ts=``).
    :param follow_symlinks: when false, refuse every path through a symbolic
        link; links out of ``dir_path`` are refused either way.
    :param svg_as_attachment: make browsers download SVG files rather than
        show them.
    :raises ConfigurationError: when ``dir_path`` exists and is not a directory,
        or ``block_size`` is not a positive integer.
    """

    def __init__(
        self,
        app: WSGIApplication,
        url_path: str,
        dir_path: str,
        block_size: int = 8192,
        cors: bool = False,
        *,
        cache_control: str | None = DEFAULT_CACHE_CONTROL,
        versioned_cache_control: str | None = VERSIONED_CACHE_CONTROL,
        follow_symlinks: bool = True,
        svg_as_attachment: bool = False,
    ) -> None:
        if isinstance(block_size, bool) or not isinstance(block_size, int) or block_size < 1:
            raise ConfigurationError(f"block_size must be a positive int, got {block_size!r}")
        self.app = app
        self.files = StaticFiles(
            dir_path or ".",
            url_path,
            cors=cors,
            cache_control=cache_control,
            versioned_cache_control=versioned_cache_control,
            follow_symlinks=follow_symlinks,
            svg_as_attachment=svg_as_attachment,
            header_keys="environ",
        )
        self.url_path = self.files.mount.rstrip("/") + "/"
        self.dir_path = self.files.root
        self.block_size = block_size
        self.cors = self.files.cors

    @classmethod
    def for_store(
        cls,
        store: HttpExposedFileSystemStore,
        app: WSGIApplication,
        *,
        cors: bool = False,
        **options: Any,
    ) -> StaticServerMiddleware:
        """Serve ``store`` under its prefix and record each request's host URL for ``app``.

        This is what :meth:`HttpExposedFileSystemStore.wsgi_middleware` returns;
        ``options`` are the keyword-only options of the constructor.
        """
        return cls(
            _HostURLRecorder(store, app), "/" + store.prefix, store.path, cors=cors, **options
        )

    def __repr__(self) -> str:
        return (
            f"{type(self).__qualname__}({self.app!r}, {self.url_path!r}, {self.dir_path!r}, "
            f"block_size={self.block_size!r}, cors={self.cors!r})"
        )

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path: str = environ.get("PATH_INFO", "")
        response = self.files.decide(
            environ.get("REQUEST_METHOD", "GET"),
            path if path.isascii() else decode_path_info(path),
            environ,  # the engine reads headers by environ key
            environ.get("QUERY_STRING", ""),
        )
        if response is None:
            return self.app(environ, start_response)
        body = response.body
        try:
            start_response(_STATUS_LINES[response.status], response.headers)
        except BaseException:
            response.close()
            raise
        if isinstance(body, bytes):
            return [body] if body else []
        if body.whole:
            # The whole file: the server's wsgi.file_wrapper can sendfile it;
            # otherwise Werkzeug's FileWrapper reads it in blocks.  Both close the
            # file when the server closes the iterable.
            return wrap_file(environ, body.file, self.block_size)
        return BlockIterable(body, self.block_size)  # a range: read at its offsets


class _HostURLRecorder:
    """Call ``app`` in a fresh context that holds this request's host URL (SPEC 7).

    The context is entered for the call and for each step of the response
    iterable, so URLs built lazily while the body is produced use the right
    host too, and nothing of this request survives it.
    """

    def __init__(self, store: HttpExposedFileSystemStore, app: WSGIApplication) -> None:
        self.store = store
        self.app = app

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        context = contextvars.copy_context()
        if self.store.host_url_getter is None:
            context.run(HOST_URL.set, environ_host_url(environ, self.store.trusted_hosts))
        iterable = context.run(self.app, environ, start_response)
        file_wrapper = environ.get("wsgi.file_wrapper")
        if isinstance(file_wrapper, type) and isinstance(iterable, file_wrapper):
            return iterable  # a file response: keep it recognizable for sendfile
        return _ContextIterable(iterable, context)


class _ContextIterable:
    """A response iterable whose iteration and ``close()`` run in ``context``."""

    __slots__ = ("_context", "_iterable", "_iterator")

    def __init__(self, iterable: Iterable[bytes], context: contextvars.Context) -> None:
        self._iterable = iterable
        self._context = context
        self._iterator: Iterator[bytes] | None = None

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        if self._iterator is None:
            self._iterator = self._context.run(iter, self._iterable)
        return self._context.run(next, self._iterator)

    def close(self) -> None:
        close = getattr(self._iterable, "close", None)
        if close is not None:
            self._context.run(close)
