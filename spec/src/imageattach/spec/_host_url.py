"""The host-URL suite: SPEC §7 for the request middleware of ``HttpExposedFileSystemStore``.

Subclass :class:`HostURLSuite` and override ``make_store_server``: a factory
``(store, app) -> app`` that wraps ``app`` with the store's middleware; for our
WSGI adapter that is ``lambda store, app: store.wsgi_middleware(app)``.

The suite's inner application calls ``store.locate(image)`` and answers with the
URL as its body, or ``no-url`` when ``locate`` raises :exc:`RuntimeError`.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar, Final, Literal

import pytest

from imageattach.core import HttpExposedFileSystemStore

from ._callers import Environ, Receive, Response, Scope, Send, StartResponse, acall_asgi, call_wsgi
from ._suite import Suite

__all__ = ["HostURLSuite", "SpecImage"]

spec_rule = pytest.mark.spec_rule

NO_URL: Final = "no-url"
PREFIX: Final = "images"
TS: Final = "_ts=20200102030405678901"
WAIT: Final = 10.0


@dataclass(frozen=True)
class SpecImage:
    """An image as a store sees it (the attributes of ``imageattach.core.ImageLike``)."""

    object_type: str = "spec"
    object_id: int = 1234
    width: int = 10
    height: int = 20
    mimetype: str = "image/png"
    created_at: datetime = datetime(2020, 1, 2, 3, 4, 5, 678901)
    original: bool = True


IMAGE: Final = SpecImage()


def _locate(store: Any) -> str:
    try:
        url: str = store.locate(IMAGE)
    except RuntimeError:
        return NO_URL
    return url


class _Inner:
    """The application the store's middleware wraps: it answers with located URLs.

    ``pause`` (when set) is called between two ``locate`` calls of one request,
    so a test can run other requests, or other threads, in between.
    """

    def __init__(self, store: Any, pause: Callable[[], None] | None = None) -> None:
        self.store = store
        self.pause = pause
        self.apause: Callable[[], Any] | None = None

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        urls = [_locate(self.store)]
        if self.pause is not None:
            self.pause()
            urls.append(_locate(self.store))
        body = "\n".join(urls).encode()
        start_response(
            "200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))]
        )
        return [body]

    async def asgi(self, scope: Scope, receive: Receive, send: Send) -> None:
        urls = [_locate(self.store)]
        if self.apause is not None:
            await self.apause()
            urls.append(_locate(self.store))
        body = "\n".join(urls).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/plain")],
            }
        )
        await send({"type": "http.response.body", "body": body})


class HostURLSuite(Suite):
    """Conformance tests of SPEC §7 for a store middleware.

    Override ``make_store_server``; override ``make_store`` to test a subclass of
    ``HttpExposedFileSystemStore``.  ``protocol`` is ``"wsgi"`` or ``"asgi"``.
    """

    _spec_suite: ClassVar[bool] = True
    protocol: ClassVar[Literal["wsgi", "asgi"]] = "wsgi"

    @pytest.fixture
    def make_store_server(self) -> Callable[[Any, Any], Any]:
        """Override: return ``factory(store, app) -> app``, the store's middleware."""
        raise NotImplementedError(
            f"{type(self).__name__} must override the make_store_server fixture: "
            "return a factory (store, app) -> the app wrapped by the store's middleware, "
            "e.g. lambda store, app: store.wsgi_middleware(app)"
        )

    @pytest.fixture
    def make_store(self, tmp_path: Path) -> Callable[..., Any]:
        """``make(**kwargs)``: an ``HttpExposedFileSystemStore`` with prefix ``images``."""

        def make(**kwargs: Any) -> Any:
            directory = tmp_path / "store"
            directory.mkdir(exist_ok=True)
            return HttpExposedFileSystemStore(directory, PREFIX, **kwargs)

        return make

    def _get(
        self,
        app: Any,
        inner: _Inner,
        host: str,
        *,
        scheme: str = "http",
        script_name: str = "",
    ) -> str:
        target = f"{script_name}/page"
        headers = [("Host", host)]
        response: Response
        if self.protocol == "asgi":
            response = asyncio.run(
                acall_asgi(app, "GET", target, headers, root_path=script_name, scheme=scheme)
            )
        else:
            response = call_wsgi(
                app, "GET", target, headers, scheme=scheme, script_name=script_name
            )
        assert response.status == 200, "the request must reach the inner application"
        return response.body.decode()

    def _serve(
        self, make_store_server: Callable[[Any, Any], Any], store: Any
    ) -> tuple[Any, _Inner]:
        inner = _Inner(store)
        app = make_store_server(store, inner.asgi if self.protocol == "asgi" else inner)
        return app, inner

    @spec_rule("7.1")
    @pytest.mark.parametrize(
        ("scheme", "host", "script_name", "prefix"),
        [
            ("http", "img.example", "", "http://img.example/images/"),
            ("https", "img.example:8443", "", "https://img.example:8443/images/"),
            ("https", "img.example", "/app", "https://img.example/app/images/"),
            ("http", "127.0.0.1:8080", "/a/b", "http://127.0.0.1:8080/a/b/images/"),
        ],
    )
    def test_url_uses_the_request(
        self,
        make_store_server: Callable[[Any, Any], Any],
        make_store: Callable[..., Any],
        scheme: str,
        host: str,
        script_name: str,
        prefix: str,
    ) -> None:
        app, inner = self._serve(make_store_server, make_store())
        url = self._get(app, inner, host, scheme=scheme, script_name=script_name)
        assert url.startswith(prefix), f"the URL must start {prefix!r}"
        assert url.endswith("?" + TS)

    @spec_rule("7.2")
    def test_no_host_url_outside_a_request(
        self, make_store_server: Callable[[Any, Any], Any], make_store: Callable[..., Any]
    ) -> None:
        store = make_store()
        app, inner = self._serve(make_store_server, store)
        with pytest.raises(RuntimeError):
            store.locate(IMAGE)
        assert self._get(app, inner, "one.example").startswith("http://one.example/")
        with pytest.raises(RuntimeError):
            store.locate(IMAGE)

    @spec_rule("7.2")
    def test_host_url_gone_after_a_failed_request(
        self, make_store_server: Callable[[Any, Any], Any], make_store: Callable[..., Any]
    ) -> None:
        store = make_store()

        def broken(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
            store.locate(IMAGE)
            raise ValueError("the application failed")

        async def abroken(scope: Scope, receive: Receive, send: Send) -> None:
            store.locate(IMAGE)
            raise ValueError("the application failed")

        app = make_store_server(store, abroken if self.protocol == "asgi" else broken)
        with pytest.raises(AssertionError):  # AppError: the app raised
            self._get(app, _Inner(store), "one.example")
        with pytest.raises(RuntimeError):
            store.locate(IMAGE)

    @spec_rule("7.2")
    def test_interleaved_requests_keep_their_hosts(
        self, make_store_server: Callable[[Any, Any], Any], make_store: Callable[..., Any]
    ) -> None:
        store = make_store()
        app, inner = self._serve(make_store_server, store)
        hosts = ("one.example", "two.example")
        if self.protocol == "asgi":
            bodies, outside = self._interleave_asgi(app, inner, store, hosts)
        else:
            bodies, outside = self._interleave_wsgi(app, inner, store, hosts)
        assert outside == [NO_URL], "a thread outside the requests must see no host URL"
        for host, body in zip(hosts, bodies, strict=True):
            urls = body.split("\n")
            assert len(urls) == 2
            for url in urls:
                assert url.startswith(f"http://{host}/"), f"the request to {host} got {url}"

    def _interleave_wsgi(
        self, app: Any, inner: _Inner, store: Any, hosts: tuple[str, str]
    ) -> tuple[list[str], list[str]]:
        barrier = threading.Barrier(3, timeout=WAIT)

        def pause() -> None:
            barrier.wait()  # both requests have located once; the test thread looks
            barrier.wait()  # the test thread has looked; locate again

        inner.pause = pause
        bodies: dict[str, str] = {}
        errors: list[BaseException] = []

        def run(host: str) -> None:
            try:
                bodies[host] = self._get(app, inner, host)
            except BaseException as exc:
                errors.append(exc)
                barrier.abort()

        threads = [threading.Thread(target=run, args=(host,)) for host in hosts]
        for thread in threads:
            thread.start()
        barrier.wait()  # both requests have located once
        outside = [_locate(store)]
        barrier.wait()  # let them locate again
        for thread in threads:
            thread.join(WAIT)
        if errors:
            raise errors[0]
        return [bodies[host] for host in hosts], outside

    def _interleave_asgi(
        self, app: Any, inner: _Inner, store: Any, hosts: tuple[str, str]
    ) -> tuple[list[str], list[str]]:
        outside: list[str] = []

        async def main() -> list[Response]:
            arrived = 0
            both = asyncio.Event()
            resume = asyncio.Event()

            async def pause() -> None:
                nonlocal arrived
                arrived += 1
                if arrived == len(hosts):
                    both.set()
                await resume.wait()

            inner.apause = pause
            tasks = [
                asyncio.ensure_future(acall_asgi(app, "GET", "/page", [("Host", host)]))
                for host in hosts
            ]
            await asyncio.wait_for(both.wait(), WAIT)
            outside.append(_locate(store))
            resume.set()
            return list(await asyncio.gather(*tasks))

        responses = asyncio.run(main())
        return [r.body.decode() for r in responses], outside

    @spec_rule("7.3")
    @pytest.mark.parametrize("base", ["https://cdn.example", "https://cdn.example/"])
    def test_getter_wins_over_host(
        self,
        make_store_server: Callable[[Any, Any], Any],
        make_store: Callable[..., Any],
        base: str,
    ) -> None:
        store = make_store(host_url_getter=lambda: base)
        app, inner = self._serve(make_store_server, store)
        url = self._get(app, inner, "evil.example", script_name="/app")
        assert url.startswith("https://cdn.example/images/"), "the getter's answer is used"
        assert "evil.example" not in url
        assert store.locate(IMAGE) == url, "the getter also works outside a request"

    @spec_rule("7.4")
    @pytest.mark.parametrize(
        ("host", "expected"),
        [
            ("good.example", "http://good.example/images/"),
            ("evil.example", NO_URL),
            ("good.example.evil.example", NO_URL),
            ("evilgood.example", NO_URL),
            ("evil.example/good.example", NO_URL),
            ("evil.example#good.example", NO_URL),
            ("", NO_URL),
        ],
        ids=["trusted", "untrusted", "suffix", "prefix", "slash", "fragment", "empty"],
    )
    def test_untrusted_host_records_nothing(
        self,
        make_store_server: Callable[[Any, Any], Any],
        make_store: Callable[..., Any],
        host: str,
        expected: str,
    ) -> None:
        store = make_store(trusted_hosts=["good.example"])
        app, inner = self._serve(make_store_server, store)
        url = self._get(app, inner, host)
        if expected == NO_URL:
            assert url == NO_URL, f"Host {host!r} is not trusted, yet the URL is {url!r}"
        else:
            assert url.startswith(expected)
        with pytest.raises(RuntimeError):
            store.locate(IMAGE)
