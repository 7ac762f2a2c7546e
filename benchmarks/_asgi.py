"""A minimal in-process ASGI driver and the ASGI serving competitors.

Every competitor gets the same scope, built afresh for each request the way uvicorn builds one
(type, asgi, http_version, method, scheme, path, raw_path, query_string, root_path, headers as
lowercase byte pairs, client, server, and an empty ``extensions``, so nobody is offered
``http.response.pathsend`` or zero-copy send), the same ``receive`` (the request, then a wait
until the response is complete, then ``http.disconnect``) and the same ``send``, which counts
the body bytes.  Requests run on one event loop, ``concurrency`` at a time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from time import perf_counter_ns
from typing import Any

from benchmarks._common import OURS, STARLETTE, STARLETTE_BARE, gc_paused
from benchmarks._data import URL_PREFIX

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: uvicorn 0.54 itself says "2.3" (with which Starlette's FileResponse also runs a task that
#: listens for the disconnect); 2.4 lets it skip that, so this is the kinder choice for it.
SPEC_VERSION = "2.4"
SERVER = ("127.0.0.1", 8000)
CLIENT = ("127.0.0.1", 51000)
BASE_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"host", b"127.0.0.1:8000"),
    (b"user-agent", b"imageattach-bench/1"),
    (b"accept", b"*/*"),
)


class HarnessError(RuntimeError):
    """A competitor answered something other than what the scenario expects."""


class ProtocolError(HarnessError):
    """A competitor sent ASGI messages out of order, or ones this driver does not offer."""


@dataclass(frozen=True)
class Req:
    """One request of a batch: its path, extra headers, and what the answer must be."""

    path: str
    headers: tuple[tuple[bytes, bytes], ...] = ()
    status: int = 200
    nbytes: int | None = None  # the body's length; None: any


def make_scope(path: str, headers: Sequence[tuple[bytes, bytes]]) -> Scope:
    """A fresh HTTP scope, as a server builds one per request."""
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": SPEC_VERSION},
        "http_version": "1.1",
        "server": SERVER,
        "client": CLIENT,
        "scheme": "http",
        "method": "GET",
        "root_path": "",
        "path": path,
        "raw_path": path.encode("ascii"),
        "query_string": b"",
        "headers": [*BASE_HEADERS, *headers],
        "extensions": {},
    }


class Exchange:
    """One request's ``receive`` and ``send``: records the status, headers and body size."""

    __slots__ = ("_disconnect", "_requested", "complete", "headers", "nbytes", "status")

    def __init__(self) -> None:
        self.status = 0
        self.headers: Sequence[tuple[bytes, bytes]] = ()
        self.nbytes = 0
        self.complete = False
        self._requested = False
        self._disconnect: asyncio.Future[None] | None = None

    async def receive(self) -> Message:
        if not self._requested:
            self._requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        if not self.complete:  # like a server: nothing more until the client goes away
            if self._disconnect is None:
                self._disconnect = asyncio.get_running_loop().create_future()
            await self._disconnect
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.body":
            if not self.status or self.complete:
                raise ProtocolError("http.response.body outside a response")
            self.nbytes += len(message.get("body", b""))
            if not message.get("more_body", False):
                self.finish()
        elif kind == "http.response.start":
            if self.status:
                raise ProtocolError("a second http.response.start")
            self.status = message["status"]
            self.headers = message.get("headers", ())
        else:
            raise ProtocolError(f"unexpected message {kind!r} (no extensions are offered)")

    def finish(self) -> None:
        """The response is over (or the app returned): wake a pending ``receive``."""
        self.complete = True
        if self._disconnect is not None and not self._disconnect.done():
            self._disconnect.set_result(None)

    def header(self, name: bytes) -> bytes | None:
        for key, value in self.headers:
            if key.lower() == name:
                return bytes(value)
        return None

    def problem(self, req: Req) -> str:
        """What is wrong with this answer to ``req``, or ""."""
        if self.status != req.status:
            return f"status {self.status}, want {req.status}"
        if not self.complete:
            return "the response never ended (no body message without more_body)"
        if req.nbytes is not None and self.nbytes != req.nbytes:
            return f"{self.nbytes} body bytes, want {req.nbytes}"
        return ""


async def request(app: ASGIApp, req: Req) -> Exchange:
    ex = Exchange()
    await app(make_scope(req.path, req.headers), ex.receive, ex.send)
    ex.finish()
    return ex


def batch_runner(
    app: ASGIApp, reqs: Sequence[Req], concurrency: int
) -> Callable[[], Awaitable[float]]:
    """One timed batch: ``reqs``, ``concurrency`` at a time; returns requests/s.

    Every answer is checked after the batch (status, completeness, body length).
    """

    async def run() -> float:
        exchanges: list[Exchange | None] = [None] * len(reqs)
        todo = iter(enumerate(reqs))

        async def worker() -> None:
            for i, req in todo:
                ex = Exchange()
                await app(make_scope(req.path, req.headers), ex.receive, ex.send)
                ex.finish()
                exchanges[i] = ex

        with gc_paused():
            start = perf_counter_ns()
            if concurrency <= 1:
                await worker()
            else:
                await asyncio.gather(*(worker() for _ in range(concurrency)))
            elapsed = perf_counter_ns() - start
        wrong = []
        for req, ex in zip(reqs, exchanges, strict=True):
            why = "never answered" if ex is None else ex.problem(req)
            if why:
                wrong.append(f"{req.path}: {why}")
        if wrong:
            raise HarnessError(f"{len(wrong)} of {len(reqs)} answers wrong (first: {wrong[0]})")
        return len(reqs) * 1e9 / elapsed

    return run


# -- competitors -----------------------------------------------------------------------------


async def fallback_app(scope: Scope, receive: Receive, send: Send) -> None:
    """The wrapped application: a 404 for anything a middleware passes on; lifespan is a no-op."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    await send(
        {
            "type": "http.response.start",
            "status": 404,
            "headers": [(b"content-type", b"text/plain"), (b"content-length", b"9")],
        }
    )
    await send({"type": "http.response.body", "body": b"not found"})


class OursUnavailableError(RuntimeError):
    """``imageattach.asgi.StaticServerMiddleware`` is not there (yet)."""


def ours_middleware_class() -> Any:
    try:
        from imageattach import asgi
    except ImportError as exc:
        raise OursUnavailableError(f"import imageattach.asgi failed: {exc}") from exc
    cls = getattr(asgi, "StaticServerMiddleware", None)
    if cls is None:
        raise OursUnavailableError("imageattach.asgi has no StaticServerMiddleware yet")
    return cls


class _UnderPrefix:
    """Starlette's bare ``StaticFiles`` under ``URL_PREFIX``, the rest to ``fallback_app``.

    It is given the scope a ``Mount`` would give it (``root_path`` = the prefix, ``path``
    unchanged: Starlette 1.x computes its route path as ``path`` minus ``root_path``), without
    the ``Starlette`` application around it (no middleware stack, no router).
    """

    def __init__(self, app: ASGIApp, prefix: str) -> None:
        self.app = app
        self.prefix = prefix
        self.start = prefix + "/"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(self.start):
            await self.app({**scope, "root_path": scope["root_path"] + self.prefix}, receive, send)
        else:
            await fallback_app(scope, receive, send)


def make_asgi_app(name: str, root: Path) -> ASGIApp:
    """Build competitor ``name`` serving ``root`` under ``/__images__``."""
    store_dir = str(root)
    if name == OURS:
        app: ASGIApp = ours_middleware_class()(fallback_app, URL_PREFIX, store_dir)
        return app
    if name == STARLETTE:
        from starlette.applications import Starlette
        from starlette.routing import Mount
        from starlette.staticfiles import StaticFiles

        return Starlette(routes=[Mount(URL_PREFIX, app=StaticFiles(directory=store_dir))])
    if name == STARLETTE_BARE:
        from starlette.staticfiles import StaticFiles

        return _UnderPrefix(StaticFiles(directory=store_dir), URL_PREFIX)
    raise ValueError(name)
