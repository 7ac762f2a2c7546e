"""The ASGI adapter: translate a request in, ask the core engine, translate the answer out.

Every HTTP decision is :class:`imageattach.core.StaticFiles`'; this module only
speaks ASGI 3 (HTTP spec 2.4) and keeps file I/O off the event loop.

Thread hops, per request under the mount (each hop is one job on a worker thread):

=====================================================  ==============================
request                                                hops
=====================================================  ==============================
GET of a file of at most ``block_size`` bytes (200)    1: open, fstat, read, close
GET, HEAD with a fresh validator (304), HEAD (200)     1: a stat (or open and fstat)
GET of a missing file (404), 412, 416                  1
GET of ``n`` bytes (200, 206, multipart)               ceil(n / block_size)
GET of a whole file by ``http.response.pathsend``      1: open, fstat, close
405, OPTIONS (any method but GET and HEAD)             0: the engine touches no file
=====================================================  ==============================

The first block of every body is read in the same hop as the decision; each
further block is one more hop.  (Starlette 1.10's ``StaticFiles`` makes five
hops for a small file: stat, open, read, close and one more; one for a 304.)

A hop is a put on a queue that the module's worker threads wait on, and a
``loop.call_soon_threadsafe`` back: the least a thread handoff costs in asyncio,
a fifth less than ``asyncio.wrap_future(executor.submit(...))`` or
``loop.run_in_executor``.  A request cancelled while a worker opens or reads its
file gets that file closed when the worker is done.  With an ``executor`` set,
the hops are its jobs instead.  The adapter needs an asyncio event loop (uvloop
included), as uvicorn, Hypercorn's asyncio worker and Granian's asgi interface run.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import queue
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Executor, Future
from typing import TYPE_CHECKING, Any, Final, TypeAlias, TypeVar, cast
from urllib.parse import unquote_to_bytes

from asgiref.compatibility import guarantee_single_callable

from imageattach.core import (
    DEFAULT_CACHE_CONTROL,
    HOST_URL,
    REQUEST_FIELDS,
    VERSIONED_CACHE_CONTROL,
    ConfigurationError,
    FileBody,
    HttpExposedFileSystemStore,
    Response,
    StaticFiles,
    build_host_url,
)

if TYPE_CHECKING:
    import io

    from asgiref.typing import (
        ASGI3Application,
        ASGIApplication,
        ASGIReceiveCallable,
        ASGISendCallable,
        ASGISendEvent,
        HTTPResponsePathsendEvent,
        HTTPResponseStartEvent,
        HTTPScope,
        Scope,
        WWWScope,
    )

__all__ = ["StaticServerMiddleware"]

_T = TypeVar("_T")

#: The request header fields the engine reads, by the lower-case name ASGI gives them
#: (ASGI HTTP spec: "Header names must be lowercased"), to the key the engine asks
#: for.  Every other field is skipped without being decoded.
ENGINE_FIELDS: Final = {name.encode("ascii"): name for name in REQUEST_FIELDS}

#: Response header names as ASGI wants them (lower-case bytes), encoded once.
_NAMES: dict[str, bytes] = {}
_MAX_NAMES: Final = 256

PATHSEND: Final = "http.response.pathsend"

_pread = getattr(os, "pread", None)


def _request_path(scope: HTTPScope) -> str:
    """The request path below ``root_path``, percent-decoded once.

    ``raw_path`` is decoded when the server gives it: percent-decoded once to
    bytes, then UTF-8 with ``surrogateescape``, so bytes that are not UTF-8 reach
    the engine as lone surrogates, which it refuses (``path`` has U+FFFD there,
    a character a file name may hold).  When ``raw_path`` does not match
    ``path`` (an outer middleware rewrote ``path`` and left ``raw_path``),
    ``path`` is used.

    ``root_path`` (the WSGI ``SCRIPT_NAME``) is removed from the front of the
    path when the path starts with it, as the ASGI spec has it (``path``
    includes ``root_path``; uvicorn, Starlette's ``Mount``, Granian) and left
    alone otherwise (servers that give ``path`` without it, such as Hypercorn
    with ``--root-path`` behind a proxy that strips the prefix).
    """
    path = scope["path"]
    raw = scope.get("raw_path")
    if raw:
        text = (unquote_to_bytes(raw) if b"%" in raw else raw).decode("utf-8", "surrogateescape")
        if (
            text == path
            or text.encode("utf-8", "surrogateescape").decode("utf-8", "replace") == path
        ):
            path = text
    root = scope.get("root_path")
    if root and path.startswith(root) and path[len(root) : len(root) + 1] in ("", "/"):
        return path[len(root) :]
    return path


def _request_headers(headers: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    """The header fields the engine reads, by lower-case name.

    A field sent more than once is its values joined with ``", "`` in order
    (RFC 9110 §5.3); for a field that is no list (``Range``) that makes a value
    the engine ignores as malformed, which is the right outcome too.
    """
    found: dict[str, str] = {}
    fields = ENGINE_FIELDS
    for name, value in headers:
        key = fields.get(name)
        if key is not None:
            text = value.decode("latin-1")
            found[key] = f"{found[key]}, {text}" if key in found else text
    return found


def _response_headers(headers: list[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    names = _NAMES
    encoded = []
    for name, value in headers:
        key = names.get(name)
        if key is None:
            key = name.lower().encode("latin-1")
            if len(names) < _MAX_NAMES:
                names[name] = key
        encoded.append((key, value.encode("latin-1")))
    return encoded


class _Reader:
    """Reads the bytes of one :class:`FileBody` block by block, in worker threads.

    Only one block is read at a time, so the reader needs no lock.  The file is
    closed as soon as the last byte is read, or when the file turns out shorter
    than it was when opened (``truncated``; the response is then left incomplete,
    so that the server closes the connection rather than end it as if whole).
    """

    __slots__ = ("_file", "_index", "_position", "_segments", "remaining", "truncated")

    def __init__(self, body: FileBody) -> None:
        self._file: io.FileIO = body.file
        self._segments: tuple[bytes | tuple[int, int], ...] = (
            tuple(
                part if isinstance(part, bytes) else (part.start, part.length)
                for part in body.parts
            )
            if body.parts
            else ((body.offset, body.length),)
            if body.length
            else ()
        )
        self._index = 0
        self._position = 0
        self.remaining = body.length
        self.truncated = False

    def read(self, size: int) -> bytes:
        """Return the next at most ``size`` bytes of the body (blocking: run in a thread)."""
        try:
            data = self._read(size)
        except BaseException:
            self.close()
            raise
        self.remaining -= len(data)
        if self.remaining <= 0 or self.truncated:
            self.close()
        return data

    def _read(self, size: int) -> bytes:
        segments = self._segments
        pieces: list[bytes] = []
        wanted = size
        while wanted > 0 and self._index < len(segments):
            segment = segments[self._index]
            position = self._position
            if isinstance(segment, bytes):  # a multipart delimiter
                piece = segment[position : position + wanted]
                total = len(segment)
            else:  # file bytes, read at their offset (SPEC 9.8)
                start, total = segment
                piece = self._pread(min(wanted, total - position), start + position)
                if not piece:  # the file is shorter than it was
                    self.truncated = True
                    break
            pieces.append(piece)
            wanted -= len(piece)
            position += len(piece)
            if position >= total:
                self._index += 1
                position = 0
            self._position = position
        if len(pieces) == 1:
            return pieces[0]
        return b"".join(pieces)

    def _pread(self, size: int, offset: int) -> bytes:
        if _pread is not None:
            return cast("bytes", _pread(self._file.fileno(), size, offset))
        self._file.seek(offset)  # pragma: no cover - Windows has no pread
        return self._file.read(size) or b""  # pragma: no cover

    def close(self) -> None:
        self._file.close()

    def discard(self, data: bytes | None) -> None:
        """Close the file after a read whose request was cancelled (or was never run)."""
        self.close()


_Decision: TypeAlias = "tuple[Response | None, _Reader | None, bytes]"


def _discard_decision(decision: _Decision | None) -> None:
    """Close the file of a decision whose request was cancelled while it was made."""
    if decision is not None and decision[0] is not None:
        decision[0].close()


def _discard_job(discard: Callable[[_T | None], object], job: Future[_T]) -> None:
    """``discard`` the result of an executor's job, or ``None`` if it never ran or raised."""
    discard(None if job.cancelled() or job.exception() is not None else job.result())


async def _watch_disconnect(receive: ASGIReceiveCallable) -> None:
    """Return once the client has gone away (``http.disconnect``)."""
    while (await receive())["type"] != "http.disconnect":
        pass


class _Workers:
    """The default worker threads: a queue in, and each result handed back to its loop.

    A hop is a put on a queue and a ``loop.call_soon_threadsafe`` back, the least
    a thread handoff costs in asyncio.  ``asyncio.wrap_future(executor.submit(...))``
    adds a concurrent future, its condition and the callbacks that chain it to an
    asyncio future: a fifth more per hop on the benchmarks' 2-core machines.
    Threads start as they are needed, up to ``max_workers``, and are daemons that
    wait on the queue for as long as the process runs.
    """

    __slots__ = ("_backlog", "_idle", "_lock", "_max", "_queue", "_threads")

    def __init__(self, max_workers: int) -> None:
        self._queue: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._max = max_workers
        self._threads = 0
        self._idle = 0  # threads waiting for a job, not yet claimed by one
        self._backlog = 0  # jobs queued when every thread was busy and no more could start

    def hop(
        self,
        loop: asyncio.AbstractEventLoop,
        function: Callable[..., Any],
        args: tuple[Any, ...],
        discard: Callable[[Any], object],
    ) -> asyncio.Future[Any]:
        """Run ``function(*args)`` on a worker; the future of its result on ``loop``.

        If the future is cancelled, ``discard`` gets the result once there is
        one (``None`` if the job raised, or was never run because the future
        was cancelled before a worker took it).
        """
        future = loop.create_future()
        start = False
        with self._lock:
            if self._idle:
                self._idle -= 1  # an idle thread will take it
            elif self._threads < self._max:
                self._threads += 1
                start = True
            else:
                self._backlog += 1  # the first thread to finish will take it
        self._queue.put((loop, future, function, args, discard))
        if start:
            threading.Thread(target=self._work, name="imageattach-asgi", daemon=True).start()
        return future

    def _work(self) -> None:
        get = self._queue.get
        while True:
            loop, future, function, args, discard = get()
            result: Any = None
            if future.cancelled():  # gone before a worker took it: never run
                _discard_quietly(discard, None)
            else:
                error: BaseException | None = None
                try:
                    result = function(*args)
                except BaseException as exc:  # handed to the awaiting task
                    error = exc
                try:
                    loop.call_soon_threadsafe(_deliver, future, discard, result, error)
                except RuntimeError:  # the loop is closed: no one takes the result
                    _discard_quietly(discard, result)
                del error
            del loop, future, function, args, discard, result  # no references while idle
            with self._lock:
                if self._backlog:
                    self._backlog -= 1
                else:
                    self._idle += 1


#: What a hop puts on the queue: the loop to answer on, the future to settle there, the
#: function and its arguments, and what to do with a result no one awaits any more.
_Job: TypeAlias = (
    "tuple[asyncio.AbstractEventLoop, asyncio.Future[Any], Callable[..., Any], "
    "tuple[Any, ...], Callable[[Any], object]]"
)


def _deliver(
    future: asyncio.Future[Any],
    discard: Callable[[Any], object],
    result: Any,
    error: BaseException | None,
) -> None:
    """On the loop: settle ``future``, or ``discard`` the result of a cancelled one."""
    if future.cancelled():
        discard(result)
    elif error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


def _discard_quietly(discard: Callable[[Any], object], result: Any) -> None:
    with contextlib.suppress(Exception):  # a worker thread outlives a failed close
        discard(result)


_shared: _Workers | None = None
_shared_lock = threading.Lock()


def _shared_workers() -> _Workers:
    """The worker threads of every middleware of the process, made on first use."""
    global _shared  # noqa: PLW0603 - one pool per process, made lazily
    with _shared_lock:
        if _shared is None:
            _shared = _Workers(min(32, (os.cpu_count() or 1) + 4))  # ThreadPoolExecutor's
        return _shared


def _forget_shared_workers() -> None:  # pragma: no cover - runs in a forked child
    global _shared, _shared_lock  # noqa: PLW0603
    _shared = None  # the parent's threads do not exist in the child
    _shared_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_shared_workers)


class StaticServerMiddleware:
    """ASGI middleware that serves the files of ``dir_path`` under ``url_path``.

    The ASGI twin of :class:`imageattach.wsgi.StaticServerMiddleware`: the same
    parameters and the same answers (conditional requests, ranges, validators,
    cache headers and the rest of ``spec/SPEC.md``); no path can reach outside
    ``dir_path``.  ``lifespan`` and ``websocket`` scopes, and every request
    outside ``url_path``, go to ``app`` untouched.

    File I/O never runs on the event loop: the decision (an open and an
    ``fstat``, or only a ``stat`` for a revalidation) and the first block of the
    body are one job on a worker thread, each further block another.  When the
    server offers ``http.response.pathsend``, a whole file larger than one
    block is handed to the server by its path instead of being read here.

    The request path is ``raw_path`` percent-decoded once (``path`` when the
    server gives no ``raw_path``), less ``root_path`` when it starts with it:
    ``url_path`` is below the application's root, like the WSGI middleware's
    is below ``SCRIPT_NAME``.

    :param app: the ASGI application to call for every other request; an
        ASGI 2 (double-callable) application is accepted too.
    :param url_path: the URL path to serve under, e.g. ``'/__images__'``.
    :param dir_path: the directory to serve.
    :param block_size: the size of the blocks a body is read and sent in.
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

    Two attributes may be changed after construction:

    ``executor``
        A :class:`concurrent.futures.Executor` to run the file I/O in.  ``None``
        (the default) uses worker threads shared by every middleware of the
        process (at most ``min(32, os.cpu_count() + 4)``, as many as a
        :class:`~concurrent.futures.ThreadPoolExecutor`), which hand results back
        to the event loop with less overhead than an executor can.
    ``pathsend``
        ``False`` never uses ``http.response.pathsend``.  The server opens the
        file again by its path, so a file replaced (or, by someone with write
        access to ``dir_path``, turned into a symbolic link) between the
        engine's open and the server's gets the headers (``ETag``,
        ``Content-Length``) of the file that was opened and the bytes of the
        one that replaced it.  Stores replace files by renaming a new file over
        the old, so the bytes are always a whole file; with ``pathsend=False``
        every byte comes from the descriptor the headers were read from.  The
        server's open is not confined to ``dir_path``, so with
        ``follow_symlinks=False`` (the strict mode) ``pathsend`` starts ``False``.
    """

    def __init__(
        self,
        app: ASGIApplication | ASGI3Application,
        url_path: str,
        dir_path: str,
        block_size: int = 65536,
        cors: bool = False,
        *,
        cache_control: str | None = DEFAULT_CACHE_CONTROL,
        versioned_cache_control: str | None = VERSIONED_CACHE_CONTROL,
        follow_symlinks: bool = True,
        svg_as_attachment: bool = False,
    ) -> None:
        if isinstance(block_size, bool) or not isinstance(block_size, int) or block_size < 1:
            raise ConfigurationError(f"block_size must be a positive int, got {block_size!r}")
        self.app: ASGI3Application = _single_callable(app)
        self.files = StaticFiles(
            dir_path or ".",
            url_path,
            cors=cors,
            cache_control=cache_control,
            versioned_cache_control=versioned_cache_control,
            follow_symlinks=follow_symlinks,
            svg_as_attachment=svg_as_attachment,
            header_keys="field",
        )
        self.url_path = self.files.mount.rstrip("/") + "/"
        self.dir_path = self.files.root
        self.block_size = block_size
        self.cors = self.files.cors
        self.executor: Executor | None = None
        # The server reopens by path, unconfined: never in the strict mode.
        self.pathsend = bool(follow_symlinks)

    @classmethod
    def for_store(
        cls,
        store: HttpExposedFileSystemStore,
        app: ASGIApplication | ASGI3Application,
        *,
        cors: bool = False,
        **options: Any,
    ) -> StaticServerMiddleware:
        """Serve ``store`` under its prefix and record each request's host URL for ``app``.

        This is what :meth:`HttpExposedFileSystemStore.asgi_middleware` returns;
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

    async def __call__(
        self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = _request_path(scope)
        if not path.startswith(self.url_path):  # SPEC 1.1: decided here, no thread needed
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        headers = _request_headers(scope["headers"])
        query = scope["query_string"].decode("latin-1")
        if method in {"GET", "HEAD"}:
            pathsend = (
                method == "GET" and self.pathsend and PATHSEND in (scope.get("extensions") or {})
            )
            response, reader, first = await self._in_thread(
                _discard_decision, self._decide, method, path, headers, query, pathsend
            )
        else:
            # SPEC 1.2, 5.3, 5.4: another method is answered before the path is
            # resolved, and a preflight touches no file, so no I/O happens here.
            response, reader, first = self.files.decide(method, path, headers, query), None, b""
        if response is None:  # pragma: no cover - the engine shares our mount check
            await self.app(scope, receive, send)
            return
        await self._respond(response, reader, first, receive, send)

    def _decide(
        self, method: str, path: str, headers: dict[str, str], query: str, pathsend: bool
    ) -> _Decision:
        """Decide, and read the first block of the body: one job on a worker thread."""
        response = self.files.decide(method, path, headers, query)
        if response is None:  # pragma: no cover - the engine shares our mount check
            return None, None, b""
        body = response.body
        if isinstance(body, bytes):
            return response, None, body
        try:
            if pathsend and body.whole and body.length > self.block_size:
                body.file.close()  # the server opens the file itself
                return response, None, b""
            reader = _Reader(body)
            return response, reader, reader.read(self.block_size)
        except BaseException:
            body.file.close()
            raise

    async def _in_thread(
        self, discard: Callable[[_T | None], object], function: Callable[..., _T], *args: Any
    ) -> _T:
        """Run ``function(*args)`` on a worker thread; ``discard`` its result if cancelled.

        When the task is cancelled, the job may already be running: its result
        (an open file) is then handed to ``discard`` when it is ready, or
        ``discard`` gets ``None`` if the job never ran or raised.
        """
        executor = self.executor
        if executor is None:
            future = _shared_workers().hop(asyncio.get_running_loop(), function, args, discard)
            try:
                return cast("_T", await future)
            except asyncio.CancelledError:
                if future.done() and not future.cancelled() and future.exception() is None:
                    discard(future.result())  # it came back just as the task was cancelled
                raise
        job = executor.submit(function, *args)
        try:
            return await asyncio.wrap_future(job)
        except asyncio.CancelledError:
            job.add_done_callback(functools.partial(_discard_job, discard))
            raise

    async def _respond(
        self,
        response: Response,
        reader: _Reader | None,
        first: bytes,
        receive: ASGIReceiveCallable,
        send: ASGISendCallable,
    ) -> None:
        start: HTTPResponseStartEvent = {
            "type": "http.response.start",
            "status": response.status,
            "headers": _response_headers(response.headers),
            "trailers": False,
        }
        body = response.body
        if reader is not None and reader.remaining > 0 and not reader.truncated:
            await self._stream(start, reader, first, receive, send)
            return
        # No file is open any more: an error, a 304 or a HEAD (a bytes body), a
        # body read whole in the decision's hop, or a file the server sends by path.
        try:
            await send(start)
            if isinstance(body, bytes):
                await send({"type": "http.response.body", "body": body, "more_body": False})
            elif reader is None:
                # asgiref's ASGISendEvent lacks the extension's event: hence the cast.
                pathsend: HTTPResponsePathsendEvent = {
                    "type": "http.response.pathsend",
                    "path": body.path,
                }
                await send(cast("ASGISendEvent", pathsend))
            elif not reader.truncated:
                await send({"type": "http.response.body", "body": first, "more_body": False})
        except OSError:
            pass  # the client has gone away: send() raises OSError (ASGI HTTP 2.4)

    async def _stream(
        self,
        start: HTTPResponseStartEvent,
        reader: _Reader,
        first: bytes,
        receive: ASGIReceiveCallable,
        send: ASGISendCallable,
    ) -> None:
        """Send a body of more than one block: one hop per further block.

        The file is closed when the body is sent, when the client goes away, and
        when the task is cancelled (by the worker, if it is reading then).
        """
        # A server that drops what is sent to a closed connection without raising
        # still says http.disconnect: stop reading then.
        gone = asyncio.ensure_future(_watch_disconnect(receive))
        reading = False
        try:
            await send(start)
            await send({"type": "http.response.body", "body": first, "more_body": True})
            while not gone.done():
                reading = True
                data = await self._in_thread(reader.discard, reader.read, self.block_size)
                reading = False
                if reader.truncated:
                    return  # incomplete: the server closes the connection
                last = reader.remaining <= 0
                await send({"type": "http.response.body", "body": data, "more_body": not last})
                if last:
                    return
        except OSError:
            if reading:
                raise  # the file could not be read: a server error, not a gone client
        finally:
            if not reading:
                reader.close()
            if not gone.done():
                gone.cancel()
            elif not gone.cancelled():
                gone.exception()  # retrieved: a receive() that failed means a gone client


def _single_callable(app: ASGIApplication | ASGI3Application) -> ASGI3Application:
    """``app`` as an ASGI 3 application; an ASGI 2 (double-callable) one is wrapped."""
    return cast("ASGI3Application", guarantee_single_callable(app))  # type: ignore[no-untyped-call]


class _HostURLRecorder:
    """Run ``app`` with this request's host URL in ``HOST_URL`` (SPEC 7).

    Each ASGI request runs in a task of its own, with its own copy of the
    context: the variable is set for the request and reset when the
    application returns, fails or is cancelled.  Awaits inside the request see
    it, and so do tasks the request starts (they copy the context when made).
    """

    __slots__ = ("app", "store")

    def __init__(
        self, store: HttpExposedFileSystemStore, app: ASGIApplication | ASGI3Application
    ) -> None:
        self.store = store
        self.app = _single_callable(app)

    def __repr__(self) -> str:
        return f"<{type(self).__qualname__} of {self.app!r}>"

    async def __call__(
        self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> None:
        if (
            scope["type"] == "lifespan"
            or scope["type"] not in _WWW  # another protocol: its scope is not ours to read
            or self.store.host_url_getter is not None  # SPEC 7.3: the getter wins
        ):
            await self.app(scope, receive, send)
            return
        token = HOST_URL.set(_host_url(scope, self.store))
        try:
            await self.app(scope, receive, send)
        finally:
            HOST_URL.reset(token)


_WWW: Final = frozenset({"http", "websocket"})
#: A WebSocket's URLs are built for pages and images: ws is http, wss is https.
_SCHEMES: Final = {"http": "http", "https": "https", "ws": "http", "wss": "https"}


def _host_url(scope: WWWScope, store: HttpExposedFileSystemStore) -> str | None:
    scheme = _SCHEMES.get(scope.get("scheme") or "http", "")
    return build_host_url(
        scheme, _host(scope, scheme), scope.get("root_path") or "", store.trusted_hosts
    )


def _host(scope: WWWScope, scheme: str) -> str | None:
    """The ``Host`` header, else the server's address (as PEP 3333 rebuilds a URL)."""
    for name, value in scope["headers"]:
        if name == b"host":
            if value:
                return value.decode("latin-1")
            break
    server = scope.get("server")
    if not server or server[1] is None:  # none, or a Unix socket
        return None
    address, port = server
    if ":" in address:  # an IPv6 address
        address = f"[{address}]"
    return address if port == (443 if scheme == "https" else 80) else f"{address}:{port}"
