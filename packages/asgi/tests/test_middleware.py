"""The ASGI adapter through asgiref's ApplicationCommunicator and hand-driven ASGI calls.

The full rule set runs in the spec suite (test_conformance.py); these tests check
what is the adapter's own: pass-through of other scopes, ``http.response.pathsend``,
files closed on disconnect and cancellation, the thread hops per request, the
request path and headers taken from the scope, and the host URL of a request.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import gc
import io
import math
import os
import sys
import threading
import time
import warnings
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from asgiref.testing import ApplicationCommunicator

from imageattach.asgi import StaticServerMiddleware
from imageattach.core import ConfigurationError, HttpExposedFileSystemStore, StaticFiles
from imageattach.spec import make_scope

Message = dict[str, Any]
Scope = dict[str, Any]

BLOCK = 1000
SMALL = os.urandom(BLOCK - 1)
BIG = os.urandom(BLOCK * 5 + 17)
PATHSEND = {"http.response.pathsend": {}}

needs_proc_fd = pytest.mark.skipif(
    not os.path.isdir("/proc/self/fd"), reason="counts open files in /proc/self/fd (Linux)"
)


# -- helpers ------------------------------------------------------------------------------


class Fallback:
    """The wrapped application: it records every scope it gets and answers 200 ``fallback``."""

    def __init__(self) -> None:
        self.scopes: list[Scope] = []

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        self.scopes.append(scope)
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        elif scope["type"] == "websocket":
            assert (await receive())["type"] == "websocket.connect"
            await send({"type": "websocket.accept"})
            await send({"type": "websocket.send", "text": "fallback " + scope["path"]})
            await send({"type": "websocket.close", "code": 1000})
        else:
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"fallback"})


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "images"
    root.mkdir()
    (root / "small.png").write_bytes(SMALL)
    (root / "big.png").write_bytes(BIG)
    return root


def make(root: Path, app: Any = None, **options: Any) -> StaticServerMiddleware:
    options.setdefault("block_size", BLOCK)
    return StaticServerMiddleware(app or Fallback(), "/images", str(root), **options)


def scope_for(
    method: str = "GET",
    target: str = "/images/small.png",
    headers: Any = (),
    *,
    extensions: dict[str, Any] | None = None,
    **changes: Any,
) -> Scope:
    scope = dict(make_scope(method, target, headers))
    scope["extensions"] = dict(extensions or {})
    scope.update(changes)
    return scope


async def exchange(app: Any, scope: Scope) -> list[Message]:
    """One HTTP request through ApplicationCommunicator; the messages the app sent."""
    communicator = ApplicationCommunicator(app, scope)
    await communicator.send_input({"type": "http.request", "body": b"", "more_body": False})
    messages: list[Message] = []
    while True:
        message = await communicator.receive_output(5)
        messages.append(message)
        if message["type"] == "http.response.pathsend":
            break
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            break
    await communicator.wait(5)
    return messages


def request(app: Any, *args: Any, **kwargs: Any) -> list[Message]:
    return asyncio.run(exchange(app, scope_for(*args, **kwargs)))


def status(messages: list[Message]) -> int:
    assert messages[0]["type"] == "http.response.start"
    return int(messages[0]["status"])


def header(messages: list[Message], name: str) -> str | None:
    for key, value in messages[0]["headers"]:
        if key == name.encode():
            return str(value.decode("latin-1"))
    return None


def body(messages: list[Message]) -> bytes:
    assert all(m["type"] == "http.response.body" for m in messages[1:])
    return b"".join(m.get("body", b"") for m in messages[1:])


def open_fds_to(path: Path) -> list[str]:
    """This process's descriptors open on ``path``."""
    target = os.path.realpath(path)
    found = []
    for name in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            if os.readlink(f"/proc/self/fd/{name}") == target:
                found.append(name)
    return found


@contextlib.contextmanager
def no_file_left_to_the_collector() -> Iterator[None]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        yield
        gc.collect()
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)]


async def until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    """Let the loop (and the worker threads) run until ``condition()`` holds.

    Bounded in time, not in loop turns: on a loaded machine a thread hop can take
    longer than any fixed number of idle turns.
    """
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"the condition never came true in {timeout} s")
        await asyncio.sleep(0.001)


class CountingExecutor(ThreadPoolExecutor):
    """A thread pool that counts its jobs: each one is a thread hop."""

    def __init__(self) -> None:
        super().__init__(max_workers=2)
        self.jobs: list[str] = []

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.jobs.append(fn.__name__)
        return super().submit(fn, *args, **kwargs)


class ManualExecutor(Executor):
    """An executor whose jobs the test starts and finishes by hand, on the test's thread."""

    def __init__(self) -> None:
        self.jobs: list[tuple[Future[Any], Callable[..., Any], tuple[Any, ...]]] = []

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        self.jobs.append((future, fn, args))
        return future

    def start(self, index: int) -> bool:
        """Mark a job as running (as a worker that picked it up); False if it was cancelled."""
        return self.jobs[index][0].set_running_or_notify_cancel()

    def finish(self, index: int) -> None:
        future, fn, args = self.jobs[index]
        try:
            result = fn(*args)
        except BaseException as error:
            future.set_exception(error)
        else:
            future.set_result(result)

    def run(self, index: int) -> None:
        assert self.start(index)
        self.finish(index)


class RecordingFiles:
    """Stands in for the engine and records the thread each decision is made on."""

    def __init__(self, files: StaticFiles) -> None:
        self.files = files
        self.threads: list[threading.Thread] = []

    def decide(self, *args: Any) -> Any:
        self.threads.append(threading.current_thread())
        return self.files.decide(*args)


def drive(
    app: Any, scope: Scope, *, send: Callable[[Message], Awaitable[None]] | None = None
) -> tuple[asyncio.Task[None], list[Message]]:
    """Start ``app`` on ``scope`` in a task (inside a running loop); messages it sends."""
    sent: list[Message] = []
    requested = False

    async def receive() -> Message:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.Event().wait()  # the client stays
        raise AssertionError("unreachable")

    async def record(message: Message) -> None:
        sent.append(message)

    return asyncio.ensure_future(app(scope, receive, send or record)), sent


# -- construction ---------------------------------------------------------------------------


def test_the_wsgi_signature_and_attributes(root: Path) -> None:
    app = Fallback()
    middleware = StaticServerMiddleware(app, "images", str(root))
    assert (middleware.app, middleware.url_path, middleware.dir_path) == (
        app,
        "/images/",
        str(root),
    )
    assert (middleware.block_size, middleware.cors) == (65536, False)
    assert (middleware.executor, middleware.pathsend) == (None, True)
    assert repr(middleware).startswith("StaticServerMiddleware(")
    assert StaticServerMiddleware.__module__ == "imageattach.asgi"


@pytest.mark.parametrize("block_size", [0, -1, 1.5, "8192", True])
def test_bad_block_size_fails_at_startup(root: Path, block_size: object) -> None:
    with pytest.raises(ConfigurationError, match="block_size must be a positive int"):
        StaticServerMiddleware(Fallback(), "/images", str(root), block_size=block_size)  # type: ignore[arg-type]


def test_options_reach_the_engine(root: Path) -> None:
    (root / "v.svg").write_bytes(b"<svg/>")
    middleware = make(root, cache_control="private", svg_as_attachment=True, cors=True)
    messages = request(middleware, "GET", "/images/v.svg")
    assert header(messages, "cache-control") == "private"
    assert header(messages, "content-disposition") == "attachment"
    assert header(messages, "access-control-allow-origin") == "*"


# -- pass-through ---------------------------------------------------------------------------


def test_lifespan_goes_to_the_app_untouched(root: Path) -> None:
    fallback = Fallback()
    scope: Scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}

    async def main() -> None:
        communicator = ApplicationCommunicator(make(root, fallback), scope)
        await communicator.send_input({"type": "lifespan.startup"})
        assert await communicator.receive_output() == {"type": "lifespan.startup.complete"}
        await communicator.send_input({"type": "lifespan.shutdown"})
        assert await communicator.receive_output() == {"type": "lifespan.shutdown.complete"}
        await communicator.wait()

    asyncio.run(main())
    assert fallback.scopes == [scope]
    assert fallback.scopes[0] is scope


@pytest.mark.parametrize("path", ["/images/small.png", "/chat"])
def test_websocket_goes_to_the_app_untouched(root: Path, path: str) -> None:
    fallback = Fallback()
    scope = scope_for("GET", path, type="websocket", scheme="ws", subprotocols=[])
    del scope["method"]

    async def main() -> list[Message]:
        communicator = ApplicationCommunicator(make(root, fallback), scope)
        await communicator.send_input({"type": "websocket.connect"})
        messages = [await communicator.receive_output() for _ in range(3)]
        await communicator.wait()
        return messages

    messages = asyncio.run(main())
    assert messages[1] == {"type": "websocket.send", "text": "fallback " + path}
    assert fallback.scopes == [scope]
    assert fallback.scopes[0] is scope


@pytest.mark.parametrize("target", ["/", "/imagesx/small.png", "/images", "/other/images/a"])
def test_requests_outside_the_mount_go_to_the_app(root: Path, target: str) -> None:
    fallback = Fallback()
    middleware = make(root, fallback)
    middleware.executor = executor = CountingExecutor()
    scope = scope_for("GET", target)
    messages = asyncio.run(exchange(middleware, scope))
    assert body(messages) == b"fallback"
    assert fallback.scopes[0] is scope
    assert executor.jobs == [], "a request for the app costs no thread hop"


def test_an_asgi2_application_is_accepted(root: Path, tmp_path: Path) -> None:
    seen: list[Scope] = []

    class Legacy:  # ASGI 2: a class made with the scope, then called with receive and send
        def __init__(self, scope: Scope) -> None:
            seen.append(scope)

        async def __call__(self, receive: Any, send: Any) -> None:
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"legacy"})

    assert body(request(make(root, Legacy), "GET", "/page")) == b"legacy"
    store = HttpExposedFileSystemStore(tmp_path / "store", "images")
    assert body(request(store.asgi_middleware(Legacy), "GET", "/page")) == b"legacy"
    assert len(seen) == 2


# -- pathsend -------------------------------------------------------------------------------


@needs_proc_fd
def test_pathsend_when_the_server_offers_it(root: Path) -> None:
    middleware = make(root)
    middleware.executor = executor = CountingExecutor()
    messages = request(middleware, "GET", "/images/big.png", extensions=PATHSEND)
    assert [m["type"] for m in messages] == ["http.response.start", "http.response.pathsend"]
    assert messages[1]["path"] == os.path.realpath(root / "big.png")
    assert header(messages, "content-length") == str(len(BIG))
    assert executor.jobs == ["_decide"], "pathsend: one hop, and no block read"
    assert open_fds_to(root / "big.png") == [], "the server opens the file itself"


@pytest.mark.parametrize(
    ("method", "target", "headers", "extensions", "expected_status"),
    [
        ("HEAD", "/images/big.png", (), PATHSEND, 200),
        ("GET", "/images/big.png", {"Range": "bytes=10-4000"}, PATHSEND, 206),
        ("GET", "/images/big.png", {"Range": "bytes=0-9,4000-4009"}, PATHSEND, 206),
        ("GET", "/images/big.png", (), {}, 200),
        ("GET", "/images/big.png", (), {"http.response.zerocopysend": {}}, 200),
        ("GET", "/images/small.png", (), PATHSEND, 200),
    ],
    ids=["head", "range", "multipart", "not-offered", "other-extension", "one-block"],
)
def test_no_pathsend(
    root: Path,
    method: str,
    target: str,
    headers: Any,
    extensions: dict[str, Any],
    expected_status: int,
) -> None:
    messages = request(make(root), method, target, headers, extensions=extensions)
    assert status(messages) == expected_status
    assert "http.response.pathsend" not in [m["type"] for m in messages]
    if method == "GET" and expected_status == 200:
        data = (root / target.rsplit("/", 1)[1]).read_bytes()
        assert body(messages) == data, "a body of one block is sent as bytes, read in the hop"


def test_pathsend_can_be_turned_off(root: Path) -> None:
    middleware = make(root)
    middleware.pathsend = False
    messages = request(middleware, "GET", "/images/big.png", extensions=PATHSEND)
    assert body(messages) == BIG


# -- thread hops ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "target", "headers", "hops"),
    [
        ("GET", "/images/small.png", (), ["_decide"]),
        ("HEAD", "/images/small.png", (), ["_decide"]),
        ("GET", "/images/small.png", {"If-None-Match": "{etag}"}, ["_decide"]),
        ("HEAD", "/images/small.png", {"If-None-Match": "{etag}"}, ["_decide"]),
        ("GET", "/images/small.png", {"If-Modified-Since": "{date}"}, ["_decide"]),
        ("GET", "/images/small.png", {"Range": "bytes=0-9"}, ["_decide"]),
        ("GET", "/images/missing.png", (), ["_decide"]),
        ("GET", "/images/%2e%2e/secret.png", (), ["_decide"]),
        ("GET", "/images/big.png", (), ["_decide"] + ["read"] * math.ceil(len(BIG) / BLOCK - 1)),
        ("POST", "/images/small.png", (), []),
        ("OPTIONS", "/images/small.png", (), []),
    ],
    ids=[
        "200",
        "head",
        "304",
        "304-head",
        "304-date",
        "206",
        "404",
        "404-unsafe",
        "200-blocks",
        "405",
        "options",
    ],
)
@pytest.mark.parametrize("warm", [False, True], ids=["cold", "cached"])
def test_thread_hops(
    root: Path, method: str, target: str, headers: Any, hops: list[str], warm: bool
) -> None:
    """One hop decides and reads the first block; each further block is one more."""
    middleware = make(root, cors=True)
    if warm:  # the engine knows the file: a 304 or a HEAD is one stat
        assert status(request(middleware, "GET", target)) in {200, 404}
    validators = request(make(root), "HEAD", "/images/small.png")
    filled = {
        name: value.format(
            etag=header(validators, "etag"), date=header(validators, "last-modified")
        )
        for name, value in dict(headers).items()
    }
    middleware.executor = executor = CountingExecutor()
    middleware.files = recorder = RecordingFiles(middleware.files)  # type: ignore[assignment]
    messages = request(middleware, method, target, filled)
    assert executor.jobs == hops
    if "If-None-Match" in filled or "If-Modified-Since" in filled:
        assert status(messages) == 304
    loop_thread = threading.current_thread()  # asyncio.run runs the loop on this thread
    if method in {"GET", "HEAD"}:
        assert recorder.threads, "the engine was asked"
        assert loop_thread not in recorder.threads, "file I/O never runs on the event loop"


def test_blocks_are_at_most_block_size(root: Path) -> None:
    messages = request(make(root), "GET", "/images/big.png")
    sizes = [len(m["body"]) for m in messages[1:]]
    assert max(sizes) == BLOCK
    assert body(messages) == BIG
    assert [m["more_body"] for m in messages[1:]] == [True] * (len(sizes) - 1) + [False]


def test_multipart_delimiters_share_blocks_with_bytes(root: Path) -> None:
    middleware = make(root)
    middleware.executor = executor = CountingExecutor()
    messages = request(middleware, "GET", "/images/big.png", {"Range": "bytes=0-9,3000-3009"})
    assert status(messages) == 206
    assert len(executor.jobs) == 1, "a multipart body of less than a block is one hop"
    assert len(messages) == 2
    assert BIG[:10] in body(messages)
    assert BIG[3000:3010] in body(messages)


# -- files closed: disconnect and cancellation ---------------------------------------------


@needs_proc_fd
def test_send_raising_oserror_closes_the_file_and_raises_nothing(root: Path) -> None:
    sent: list[Message] = []

    async def send(message: Message) -> None:
        if len(sent) == 2:
            raise OSError("the client has gone away")
        sent.append(message)

    async def main() -> None:
        task, _ = drive(make(root), scope_for("GET", "/images/big.png"), send=send)
        await task  # returns: a gone client is no error

    with no_file_left_to_the_collector():
        asyncio.run(main())
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
    assert open_fds_to(root / "big.png") == []


@needs_proc_fd
@pytest.mark.parametrize("target", ["/images/small.png", "/images/missing.png"])
def test_send_raising_oserror_on_a_small_response(root: Path, target: str) -> None:
    async def send(message: Message) -> None:
        raise OSError("the client has gone away")

    async def main() -> None:
        task, _ = drive(make(root), scope_for("GET", target), send=send)
        await task

    with no_file_left_to_the_collector():
        asyncio.run(main())
    assert open_fds_to(root / "small.png") == []


@needs_proc_fd
def test_http_disconnect_stops_the_body_and_closes_the_file(root: Path) -> None:
    """A server that drops sends to a closed connection silently still says http.disconnect."""
    communicator_messages: list[Message] = []
    middleware = make(root)
    middleware.executor = executor = CountingExecutor()

    async def main() -> None:
        communicator = ApplicationCommunicator(middleware, scope_for("GET", "/images/big.png"))
        await communicator.send_input({"type": "http.request", "body": b"", "more_body": False})
        await communicator.send_input({"type": "http.disconnect"})
        await communicator.wait(5)
        while not communicator.output_queue.empty():
            communicator_messages.append(communicator.output_queue.get_nowait())

    with no_file_left_to_the_collector():
        asyncio.run(main())
    assert communicator_messages[-1]["more_body"] is True, "the body was never completed"
    assert len(executor.jobs) < math.ceil(len(BIG) / BLOCK), "reading stopped early"
    assert open_fds_to(root / "big.png") == []


@needs_proc_fd
def test_cancelled_while_sending_closes_the_file(root: Path) -> None:
    async def main() -> None:
        never = asyncio.Event()
        sent: list[Message] = []

        async def send(message: Message) -> None:
            sent.append(message)
            if len(sent) == 2:
                await never.wait()  # the client reads no more

        task, _ = drive(make(root), scope_for("GET", "/images/big.png"), send=send)
        await until(lambda: len(sent) == 2)
        assert len(open_fds_to(root / "big.png")) == 1
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert open_fds_to(root / "big.png") == []

    with no_file_left_to_the_collector():
        asyncio.run(main())


@needs_proc_fd
@pytest.mark.parametrize("started", [False, True], ids=["queued", "running"])
def test_cancelled_during_a_read_closes_the_file(root: Path, started: bool) -> None:
    middleware = make(root)
    middleware.executor = executor = ManualExecutor()
    path = root / "big.png"

    async def main() -> None:
        task, sent = drive(middleware, scope_for("GET", "/images/big.png"))
        await until(lambda: len(executor.jobs) == 1)
        executor.run(0)  # the decision and the first block
        await until(lambda: len(executor.jobs) == 2)  # the second block is asked for
        assert len(sent) == 2
        assert len(open_fds_to(path)) == 1
        if started:
            assert executor.start(1)  # a worker is reading when the task is cancelled
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        if started:
            assert len(open_fds_to(path)) == 1, "the worker still reads: not closed under it"
            executor.finish(1)
        else:
            assert executor.jobs[1][0].cancelled(), "the read never runs"
        assert open_fds_to(path) == []

    with no_file_left_to_the_collector():
        asyncio.run(main())


@needs_proc_fd
@pytest.mark.parametrize("started", [False, True], ids=["queued", "running"])
def test_cancelled_during_the_decision_closes_the_file(root: Path, started: bool) -> None:
    middleware = make(root)
    middleware.executor = executor = ManualExecutor()
    middleware.files = recorder = RecordingFiles(middleware.files)  # type: ignore[assignment]
    path = root / "small.png"

    async def main() -> None:
        task, sent = drive(middleware, scope_for("GET", "/images/small.png"))
        await until(lambda: len(executor.jobs) == 1)
        if started:
            assert executor.start(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        if started:
            executor.finish(0)  # the engine opens the file after the task is gone
            assert len(recorder.threads) == 1
        else:
            assert not executor.start(0), "a cancelled decision is never made"
            assert recorder.threads == []
        assert sent == []
        assert open_fds_to(path) == []

    with no_file_left_to_the_collector():
        asyncio.run(main())


# -- the default worker threads (no executor set) ------------------------------------------


class GatedFiles(RecordingFiles):
    """Records the decision's thread, and holds the decision until ``gate`` is set."""

    def __init__(self, files: StaticFiles) -> None:
        super().__init__(files)
        self.entered = threading.Event()
        self.gate = threading.Event()

    def decide(self, *args: Any) -> Any:
        self.entered.set()
        assert self.gate.wait(30), "the test never opened the gate"
        return super().decide(*args)


def test_default_workers_decide_off_the_loop_in_one_hop(root: Path) -> None:
    middleware = make(root)
    middleware.files = recorder = RecordingFiles(middleware.files)  # type: ignore[assignment]
    messages = request(middleware, "GET", "/images/small.png")
    assert status(messages) == 200
    assert b"".join(m["body"] for m in messages[1:]) == SMALL
    assert len(recorder.threads) == 1
    assert recorder.threads[0] is not threading.current_thread(), "not on the event loop"
    assert recorder.threads[0].name == "imageattach-asgi"


@needs_proc_fd
def test_default_workers_cancelled_during_the_decision_close_the_file(root: Path) -> None:
    middleware = make(root)
    middleware.files = gated = GatedFiles(middleware.files)  # type: ignore[assignment]
    path = root / "big.png"  # the decision keeps it open: more than a block

    async def main() -> None:
        task, sent = drive(middleware, scope_for("GET", "/images/big.png"))
        await until(gated.entered.is_set)  # a worker is deciding
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        gated.gate.set()  # the engine opens the file after the task is gone
        await until(lambda: len(gated.threads) == 1 and open_fds_to(path) == [])
        assert sent == []

    with no_file_left_to_the_collector():
        asyncio.run(main())


@needs_proc_fd
def test_default_workers_result_back_as_the_task_is_cancelled_is_closed(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The decision is delivered, and the task cancelled before it resumes: still closed."""
    from imageattach.asgi import _middleware

    path = root / "big.png"  # the decision keeps it open: more than a block
    tasks: list[asyncio.Task[None]] = []
    real_deliver = _middleware._deliver

    def deliver_then_cancel(future: asyncio.Future[Any], *args: Any) -> None:
        real_deliver(future, *args)
        assert future.done()
        assert not future.cancelled()
        tasks[0].cancel()  # before the task resumes with the result

    monkeypatch.setattr(_middleware, "_deliver", deliver_then_cancel)

    async def main() -> None:
        task, sent = drive(make(root), scope_for("GET", "/images/big.png"))
        tasks.append(task)
        with pytest.raises(asyncio.CancelledError):
            await task
        assert sent == []
        assert open_fds_to(path) == []

    with no_file_left_to_the_collector():
        asyncio.run(main())


def test_workers_skip_a_job_cancelled_before_a_thread_takes_it() -> None:
    from imageattach.asgi._middleware import _Workers

    workers = _Workers(max_workers=1)
    gate, ran, discarded = threading.Event(), [], []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        busy = workers.hop(loop, gate.wait, (30,), discarded.append)
        queued = workers.hop(loop, ran.append, ("queued",), discarded.append)
        queued.cancel()
        gate.set()
        assert await busy is True
        await until(lambda: discarded == [None])
        follow = workers.hop(loop, ran.append, ("after",), discarded.append)
        await follow
        assert ran == ["after"], "the cancelled job never ran; the worker lives on"

    asyncio.run(main())
    assert workers._threads == 1


def test_workers_raise_the_job_error_in_the_task_and_keep_working() -> None:
    from imageattach.asgi._middleware import _Workers

    workers = _Workers(max_workers=2)

    def fail() -> None:
        raise OSError(errno.EIO, "Input/output error")

    async def main() -> None:
        loop = asyncio.get_running_loop()
        with pytest.raises(OSError, match="Input/output error"):
            await workers.hop(loop, fail, (), print)
        assert await workers.hop(loop, len, ("abc",), print) == 3

    asyncio.run(main())


def test_workers_discard_a_result_whose_loop_has_closed() -> None:
    from imageattach.asgi._middleware import _Workers

    workers = _Workers(max_workers=1)
    gate, discarded = threading.Event(), []
    loop = asyncio.new_event_loop()
    try:
        workers.hop(loop, lambda: gate.wait(30) and "an open file", (), discarded.append)
    finally:
        loop.close()
    gate.set()
    deadline = time.monotonic() + 30
    while not discarded and time.monotonic() < deadline:
        time.sleep(0.01)
    assert discarded == ["an open file"]


def test_workers_start_threads_as_needed_up_to_the_limit() -> None:
    from imageattach.asgi._middleware import _Workers

    workers = _Workers(max_workers=3)
    gate = threading.Event()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        jobs = [workers.hop(loop, gate.wait, (30,), print) for _ in range(5)]
        assert workers._threads == 3, "one thread a job, up to max_workers"
        gate.set()
        assert await asyncio.gather(*jobs) == [True] * 5
        await until(lambda: workers._idle == 3)
        again = [workers.hop(loop, len, ("ab",), print) for _ in range(3)]
        assert await asyncio.gather(*again) == [2, 2, 2]
        assert workers._threads == 3, "idle threads are used again, none added"

    asyncio.run(main())


@needs_proc_fd
def test_a_file_that_shrinks_mid_body_ends_the_response_incomplete(root: Path) -> None:
    middleware = make(root)
    middleware.executor = executor = ManualExecutor()
    path = root / "big.png"

    async def main() -> list[Message]:
        task, sent = drive(middleware, scope_for("GET", "/images/big.png"))
        await until(lambda: len(executor.jobs) == 1)
        executor.run(0)
        await until(lambda: len(executor.jobs) == 2)
        with open(path, "r+b") as file:
            file.truncate(BLOCK + 10)
        executor.run(1)  # finds 10 bytes, then the end of the file
        await task
        return sent

    with no_file_left_to_the_collector():
        sent = asyncio.run(main())
    assert all(m["more_body"] for m in sent[1:]), "never ended as if whole: the server aborts"
    assert b"".join(m["body"] for m in sent[1:]) == BIG[:BLOCK]
    assert open_fds_to(path) == []


@needs_proc_fd
def test_a_read_error_mid_body_is_raised_not_taken_for_a_gone_client(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from imageattach.asgi import _middleware

    real_pread = os.pread

    def failing_pread(fd: int, size: int, offset: int) -> bytes:
        if offset >= BLOCK:
            raise OSError(errno.EIO, "Input/output error")
        return real_pread(fd, size, offset)

    monkeypatch.setattr(_middleware, "_pread", failing_pread)

    async def main() -> list[Message]:
        task, sent = drive(make(root), scope_for("GET", "/images/big.png"))
        with pytest.raises(OSError, match="Input/output error"):
            await task  # the server logs it and aborts the response
        return sent

    with no_file_left_to_the_collector():
        sent = asyncio.run(main())
    assert [m.get("more_body") for m in sent] == [None, True]
    assert open_fds_to(root / "big.png") == []


# -- the request, from the scope ------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "raw_path", "root_path"),
    [
        ("/images/small.png", b"/images/small.png", ""),
        ("/images/small.png", None, ""),
        ("/app/images/small.png", b"/app/images/small.png", "/app"),  # ASGI: path has root_path
        ("/images/small.png", b"/images/small.png", "/app"),  # a server that leaves it out
        ("/images/small.png", b"/static/rewritten.png", ""),  # path rewritten, raw_path stale
        ("/images/small.png", b"/images/sm%61ll.png", ""),
    ],
    ids=["plain", "no-raw-path", "root-path", "root-path-left-out", "stale-raw-path", "escaped"],
)
def test_the_request_path(root: Path, path: str, raw_path: bytes | None, root_path: str) -> None:
    scope = scope_for("GET", "/x", path=path, raw_path=raw_path, root_path=root_path)
    assert body(asyncio.run(exchange(make(root), scope))) == SMALL


def test_the_mount_is_below_root_path(root: Path) -> None:
    scope = scope_for("GET", "/x", path="/images/small.png", raw_path=None, root_path="/images")
    assert body(asyncio.run(exchange(make(root), scope))) == b"fallback"


def test_bytes_that_are_not_utf8_are_refused(root: Path) -> None:
    (root / "\ufffd.png").write_bytes(b"bait")  # what path (not raw_path) names
    (root / "é.png").write_bytes(b"accent")
    assert body(request(make(root), "GET", "/images/%C3%A9.png")) == b"accent"
    assert body(request(make(root), "GET", "/images/%EF%BF%BD.png")) == b"bait"
    refused = request(make(root), "GET", "/images/%FF.png")
    assert status(refused) == 404
    assert b"bait" not in body(refused)


def test_repeated_header_fields_are_joined(root: Path) -> None:
    etag = header(request(make(root), "HEAD", "/images/small.png"), "etag")
    assert etag is not None
    headers = [("If-None-Match", '"other"'), ("Accept", "*/*"), ("If-None-Match", etag)]
    assert status(request(make(root), "GET", "/images/small.png", headers)) == 304
    ranges = [("Range", "bytes=0-1"), ("Range", "bytes=2-3")]  # not a list: ignored
    assert status(request(make(root), "GET", "/images/small.png", ranges)) == 200


def test_the_header_names_are_the_engines() -> None:
    from imageattach.asgi._middleware import ENGINE_FIELDS
    from imageattach.core import REQUEST_FIELDS

    assert sorted(ENGINE_FIELDS.values()) == sorted(REQUEST_FIELDS)
    assert all(key == value.encode() for key, value in ENGINE_FIELDS.items())


# -- the store's middleware: the request's host URL -----------------------------------------


class Image:
    object_type = "user"
    object_id = 7
    width = 10
    height = 10
    mimetype = "image/png"
    created_at = datetime(2026, 1, 2, 3, 4, 5)
    original = True


def locate(store: HttpExposedFileSystemStore) -> str:
    try:
        return store.locate(Image())
    except RuntimeError:
        return "no-url"


def test_the_host_url_in_awaits_and_in_tasks_the_request_starts(tmp_path: Path) -> None:
    store = HttpExposedFileSystemStore(tmp_path, "images")
    urls: dict[str, str] = {}

    async def app(scope: Scope, receive: Any, send: Any) -> None:
        await asyncio.sleep(0)
        urls["await"] = locate(store)

        async def background() -> None:
            await asyncio.sleep(0)
            urls["task"] = locate(store)

        await asyncio.create_task(background())
        urls["thread"] = await asyncio.to_thread(locate, store)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def main() -> None:
        headers = [("Host", "shop.example")]
        await exchange(store.asgi_middleware(app), scope_for("GET", "/", headers, root_path=""))
        urls["after"] = locate(store)

    asyncio.run(main())
    expected = "http://shop.example/images/user/7/0/7.10x10.png?_ts=20260102030405000000"
    assert urls == {"await": expected, "task": expected, "thread": expected, "after": "no-url"}


def test_the_host_url_is_reset_when_the_request_fails(tmp_path: Path) -> None:
    store = HttpExposedFileSystemStore(tmp_path, "images")

    async def app(scope: Scope, receive: Any, send: Any) -> None:
        assert locate(store).startswith("http://shop.example/")
        raise ValueError("the application failed")

    async def main() -> None:
        middleware = store.asgi_middleware(app)
        with pytest.raises(ValueError, match="the application failed"):
            await middleware(scope_for("GET", "/", [("Host", "shop.example")]), None, None)
        assert locate(store) == "no-url"

    asyncio.run(main())


@pytest.mark.parametrize(
    ("changes", "headers", "expected"),
    [
        ({"scheme": "https"}, [("Host", "shop.example")], "https://shop.example/app/images/"),
        ({"server": ("10.0.0.1", 8080)}, [("Host", "")], "http://10.0.0.1:8080/app/images/"),
        ({"server": ("shop.example", 80)}, [("Host", "")], "http://shop.example/app/images/"),
        ({"server": ("::1", 8000)}, [("Host", "")], "http://[::1]:8000/app/images/"),
        ({"server": ("/run/app.sock", None)}, [("Host", "")], "no-url"),
        ({"server": None}, [("Host", "")], "no-url"),
        ({"scheme": "ftp"}, [("Host", "shop.example")], "no-url"),
    ],
    ids=["https", "server", "default-port", "ipv6", "unix-socket", "no-server", "bad-scheme"],
)
def test_the_host_url_from_the_scope(
    tmp_path: Path, changes: dict[str, Any], headers: Any, expected: str
) -> None:
    store = HttpExposedFileSystemStore(tmp_path, "images")
    seen: list[str] = []

    async def app(scope: Scope, receive: Any, send: Any) -> None:
        seen.append(locate(store))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    scope = scope_for("GET", "/app/page", headers, root_path="/app", **changes)
    scope["headers"] = [(k, v) for k, v in scope["headers"] if v]  # an empty Host is none
    asyncio.run(exchange(store.asgi_middleware(app), scope))
    assert seen[0].startswith(expected)


@pytest.mark.parametrize(("scheme", "expected"), [("ws", "http"), ("wss", "https")])
def test_a_websocket_gets_the_host_url_of_its_page(
    tmp_path: Path, scheme: str, expected: str
) -> None:
    store = HttpExposedFileSystemStore(tmp_path, "images")

    async def app(scope: Scope, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.send", "text": locate(store)})
        await send({"type": "websocket.close", "code": 1000})

    scope = scope_for("GET", "/ws", [("Host", "shop.example")], type="websocket", scheme=scheme)

    async def main() -> str:
        communicator = ApplicationCommunicator(store.asgi_middleware(app), scope)
        await communicator.send_input({"type": "websocket.connect"})
        await communicator.receive_output()
        text = str((await communicator.receive_output())["text"])
        await communicator.wait()
        return text

    assert asyncio.run(main()).startswith(f"{expected}://shop.example/images/")


def test_lifespan_records_no_host_url(tmp_path: Path) -> None:
    store = HttpExposedFileSystemStore(tmp_path, "images")
    seen: list[str] = []

    async def app(scope: Scope, receive: Any, send: Any) -> None:
        await receive()
        seen.append(locate(store))
        await send({"type": "lifespan.startup.complete"})

    async def main() -> None:
        scope = {"type": "lifespan", "asgi": {"version": "3.0"}}
        communicator = ApplicationCommunicator(store.asgi_middleware(app), scope)
        await communicator.send_input({"type": "lifespan.startup"})
        await communicator.receive_output()
        await communicator.wait()

    asyncio.run(main())
    assert seen == ["no-url"]


def test_asgi_middleware_cors_and_options(tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(b"x" * 100)

    def get(store: HttpExposedFileSystemStore, cors: bool | None, **options: Any) -> Any:
        middleware = store.asgi_middleware(Fallback(), cors, **options)
        assert isinstance(middleware, StaticServerMiddleware)
        return request(middleware, "GET", "/__images__/a.png")

    assert (
        header(get(HttpExposedFileSystemStore(tmp_path), None), "access-control-allow-origin")
        is None
    )
    assert (
        header(
            get(HttpExposedFileSystemStore(tmp_path, cors=True), None),
            "access-control-allow-origin",
        )
        == "*"
    )
    assert (
        header(
            get(HttpExposedFileSystemStore(tmp_path, cors=True), False),
            "access-control-allow-origin",
        )
        is None
    )
    assert (
        header(get(HttpExposedFileSystemStore(tmp_path), True), "access-control-allow-origin")
        == "*"
    )
    messages = get(HttpExposedFileSystemStore(tmp_path), None, block_size=7, cache_control=None)
    assert header(messages, "cache-control") is None
    assert max(len(m["body"]) for m in messages[1:]) == 7


def test_asgi_middleware_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "imageattach.asgi", None)  # as if it were not installed
    with pytest.raises(ImportError, match="pip install imageattach-asgi"):
        HttpExposedFileSystemStore(tmp_path).asgi_middleware(Fallback())


# -- Starlette, as the README shows it ------------------------------------------------------


def test_the_readme_starlette_example(tmp_path: Path) -> None:
    pytest.importorskip("starlette")
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    store = HttpExposedFileSystemStore(tmp_path / "userimages", "images/")

    async def index(request: Request) -> PlainTextResponse:
        return PlainTextResponse(store.locate(Image()))

    app = store.asgi_middleware(Starlette(routes=[Route("/", index)]))
    store.store(Image(), io.BytesIO(b"\x89PNG fake"))

    page = request(app, "GET", "/", [("Host", "shop.example")], scheme="https")
    url = body(page).decode()
    assert url == "https://shop.example/images/user/7/0/7.10x10.png?_ts=20260102030405000000"
    image = request(app, "GET", url.removeprefix("https://shop.example"))
    assert (status(image), body(image)) == (200, b"\x89PNG fake")
    assert header(image, "content-type") == "image/png"


def test_starlette_add_middleware_and_mount(root: Path) -> None:
    pytest.importorskip("starlette")
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.routing import Mount, Route

    async def index(request: Request) -> PlainTextResponse:
        return PlainTextResponse("index")

    async def not_found(scope: Scope, receive: Any, send: Any) -> None:
        await PlainTextResponse("nothing here", status_code=404)(scope, receive, send)

    media = StaticServerMiddleware(not_found, "/", str(root))
    app = Starlette(routes=[Route("/", index), Mount("/media", app=media)])
    app.add_middleware(StaticServerMiddleware, url_path="/images", dir_path=str(root))

    assert body(request(app, "GET", "/images/small.png")) == SMALL
    # Mount sets root_path to /media and keeps it in path, as the ASGI spec has it.
    assert body(request(app, "GET", "/media/small.png")) == SMALL
    assert status(request(app, "GET", "/media/missing.png")) == 404
    assert body(request(app, "GET", "/")) == b"index"
