"""Serve an imageattach folder from a Falcon application: an adapter on the core engine.

imageattach ships no Falcon adapter, and needs none: every HTTP decision is made by
:class:`imageattach.core.StaticFiles`, and an adapter only translates a request in
and a :class:`imageattach.core.Response` out.  This one is a Falcon *sink*, the
way Falcon's own ``add_static_route`` works::

    import falcon
    from falcon_example.adapter import ImageSink

    app = falcon.App()
    images = ImageSink("/__images__", "/var/lib/shop/images", block_size=65536)
    app.add_sink(images, prefix=images.prefix)

:func:`factory` builds such an app around the conformance suite's fallback WSGI
application, so that ``pytest --imageattach-adapter=falcon_example.adapter:factory``
checks it against every rule of SPEC.md.

What Falcon does on its own, and how the sink keeps it from changing the answer:

- ``req.path`` replaces bytes that are not UTF-8 with U+FFFD, so ``%ff`` and a
  real ``%ef%bf%bd`` would name the same file; the sink decodes ``PATH_INFO``
  itself, as the engine expects (bad bytes become lone surrogates, never served).
- Falcon overwrites ``Content-Length`` with ``len(resp.data)``, and adds a
  ``Content-Type`` (``application/json``) to a response without one, but a 204
  or 304.  The engine's responses carry both wherever HTTP wants them, and
  ``resp.data`` is the exact body, so Falcon's values are the engine's.
- ``req.headers`` upper-cases field names; the engine asks for lower-case ones,
  so the sink passes ``req.headers_lower``.
- Falcon hands a file-like ``resp.stream`` to ``wsgi.file_wrapper`` or reads it
  in blocks of its own fixed 8 KiB; SPEC 6.1 wants the configured block size.  So
  the sink calls ``wsgi.file_wrapper`` itself, with ``block_size``, and otherwise
  gives Falcon an iterable of blocks, which Falcon passes to the server as is.
- For HEAD, 204 and 304 Falcon throws the body away without closing it; the
  engine never opens a file for those, so nothing is left open (SPEC 6.2).
- Falcon stores response headers in a dict under lower-case names, so they go
  out in lower case; HTTP field names are case-insensitive.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

import falcon

from imageattach.core import ConfigurationError, FileBody, Response, StaticFiles

if TYPE_CHECKING:
    from _typeshed import OptExcInfo
    from _typeshed.wsgi import WSGIApplication, WSGIEnvironment

    FalconApp = falcon.App[falcon.Request, falcon.Response]

__all__ = ["FileBlocks", "ImageSink", "WSGIAppSink", "factory", "falcon_app", "request_path"]

#: Statuses whose response has no body, for which Falcon discards resp.stream.
_BODILESS = frozenset({204, 304})


def request_path(env: WSGIEnvironment) -> str:
    """``PATH_INFO`` as text: PEP 3333 tunnels its bytes as latin-1; URLs are UTF-8.

    Bytes that are not UTF-8 become lone surrogates, which the engine refuses.
    """
    path: str = env.get("PATH_INFO", "")
    if path.isascii():
        return path
    return path.encode("latin-1").decode("utf-8", "surrogateescape")


class ImageSink:
    """A Falcon sink that serves the files of ``dir_path`` under ``url_path``.

    Add it with ``app.add_sink(sink, prefix=sink.prefix)``.  It answers every
    request under the prefix itself, whatever the method (405 for those it does
    not serve, SPEC 1.2); the options are those of :class:`StaticFiles`.

    :param url_path: the URL path to serve under, e.g. ``'/__images__'``.
    :param dir_path: the directory to serve.
    :param cors: let pages on any origin load the files.
    :param block_size: the largest block a body is read and sent in.
    :param options: ``cache_control``, ``versioned_cache_control``,
        ``follow_symlinks``, ``svg_as_attachment`` (see :class:`StaticFiles`).
    :raises ConfigurationError: for a ``block_size`` that is not a positive int,
        or an option :class:`StaticFiles` refuses.
    """

    def __init__(
        self,
        url_path: str,
        dir_path: str,
        *,
        cors: bool = False,
        block_size: int = 8192,
        **options: Any,
    ) -> None:
        if isinstance(block_size, bool) or not isinstance(block_size, int) or block_size < 1:
            raise ConfigurationError(f"block_size must be a positive int, got {block_size!r}")
        self.files = StaticFiles(dir_path, url_path, cors=cors, **options)
        self.block_size = block_size
        #: The sink's prefix: the mount and its ``/``, as SPEC 1.1 draws the line.
        self.prefix = re.compile(re.escape(self.files.mount.rstrip("/")) + "/")

    def __call__(self, req: falcon.Request, resp: falcon.Response, **params: Any) -> None:
        response = self.decide(req)
        if response is None:  # not under the mount: only if added with another prefix
            raise falcon.HTTPNotFound()
        try:
            resp.status = response.status
            for name, value in response.headers:
                resp.append_header(name, value)
            self.set_body(req, resp, response.body)
        except BaseException:
            response.close()
            raise

    def decide(self, req: falcon.Request) -> Response | None:
        """Ask the engine for the answer to ``req``; ``None`` means "not under the mount"."""
        return self.files.decide(
            req.method,
            request_path(req.env),
            req.headers_lower,  # the engine asks for lower-case field names
            req.query_string,
        )

    def set_body(self, req: falcon.Request, resp: falcon.Response, body: bytes | FileBody) -> None:
        """Give Falcon the body; from here on Falcon's response owns the open file."""
        if isinstance(body, bytes):
            resp.data = body  # an error's text, or b"" for HEAD, 204 and 304
            return
        file_wrapper = req.env.get("wsgi.file_wrapper")
        if body.whole and file_wrapper is not None:
            # The server's zero-copy path (sendfile under gunicorn), in blocks of our
            # size; it closes the file when the server closes the response.
            resp.stream = file_wrapper(body.file, self.block_size)
        else:
            resp.stream = FileBlocks(body, self.block_size)


class FileBlocks:
    """A body read from an open file in blocks; ``close()`` closes the file.

    A class rather than a generator: a WSGI server may close the response
    before reading it, and closing a generator that never started runs none of
    its ``finally``.
    """

    __slots__ = ("_blocks", "_body")

    def __init__(self, body: FileBody, block_size: int) -> None:
        self._body = body
        self._blocks = body.blocks(block_size)  # a range is read at its offsets

    def __iter__(self) -> Iterator[bytes]:
        return self._blocks

    def close(self) -> None:
        self._blocks.close()
        self._body.file.close()


class WSGIAppSink:
    """A catch-all Falcon sink that hands each request to a WSGI application, unchanged.

    It stands for the rest of a Falcon application in the conformance suite,
    which checks that requests outside the mount reach the application wrapped
    (SPEC 1.1).  The application sees Falcon's ``req.env``, the server's own
    environ; its status, headers and body become Falcon's response, and its
    iterable is closed as PEP 3333 requires.
    """

    def __init__(self, app: WSGIApplication) -> None:
        self.app = app

    def __call__(self, req: falcon.Request, resp: falcon.Response, **params: Any) -> None:
        started: list[tuple[str, list[tuple[str, str]]]] = []
        written: list[bytes] = []
        committed = False

        def start_response(
            status: str,
            headers: list[tuple[str, str]],
            exc_info: OptExcInfo | None = None,
        ) -> Callable[[bytes], object]:
            if committed:  # Falcon has the status already: too late to change it
                if exc_info is not None and exc_info[1] is not None:
                    raise exc_info[1].with_traceback(exc_info[2])
                raise RuntimeError("start_response() called twice without exc_info")
            started[:] = [(status, headers)]
            return written.append

        result = self.app(req.env, start_response)
        try:
            iterator = iter(result)
            first: list[bytes] = []
            # PEP 3333: start_response may wait until just before the first block.
            while not started:
                block = next(iterator, None)
                if block is None:
                    raise RuntimeError(f"{self.app!r} returned without calling start_response()")
                first.append(block)
            status, headers = started[0]
            committed = True
            resp.status = status
            for name, value in headers:
                resp.append_header(name, value)  # Set-Cookie stays one line each
            if req.method == "HEAD" or int(status[:3]) in _BODILESS:
                # Falcon sends no body here and drops resp.stream unclosed: close it now.
                # A stream rather than resp.data, so Falcon adds no Content-Length.
                _close(result)
                resp.stream = ()
                return
            resp.stream = _Passthrough([*written, *first], iterator, result)
        except BaseException:
            _close(result)
            raise


class _Passthrough:
    """The rest of a WSGI application's body; ``close()`` closes its iterable."""

    __slots__ = ("_first", "_iterator", "_result")

    def __init__(
        self, first: list[bytes], iterator: Iterator[bytes], result: Iterable[bytes]
    ) -> None:
        self._first = first
        self._iterator = iterator
        self._result = result

    def __iter__(self) -> Iterator[bytes]:
        yield from self._first
        yield from self._iterator

    def close(self) -> None:
        _close(self._result)


def _close(result: Iterable[bytes]) -> None:
    close = getattr(result, "close", None)
    if close is not None:
        close()


def falcon_app(fallback: WSGIApplication, images: ImageSink) -> FalconApp:
    """A Falcon app that serves ``images`` and hands every other request to ``fallback``."""
    app = falcon.App()
    app.add_sink(WSGIAppSink(fallback), prefix="/")
    # Sinks are tried newest first: the images' prefix before the catch-all.
    app.add_sink(images, prefix=images.prefix)
    return app


def factory(
    app: WSGIApplication,
    url_path: str,
    dir_path: str,
    *,
    cors: bool = False,
    block_size: int = 8192,
    **options: Any,
) -> FalconApp:
    """The conformance suite's factory: a Falcon app that serves ``dir_path`` under ``url_path``.

    Every other request goes to ``app`` (the suite's fallback WSGI application)
    through a catch-all sink, so Falcon handles every request itself.
    """
    images = ImageSink(url_path, dir_path, cors=cors, block_size=block_size, **options)
    return falcon_app(app, images)
