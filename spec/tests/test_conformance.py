"""The serving suite over ASGI, against a tiny ASGI image server on the core engine.

No ASGI adapter ships yet, and the suite's ASGI caller must work before one does.
Our WSGI adapter and our stores run the suites from their own packages' tests
(packages/wsgi/tests/test_conformance.py, packages/core/tests/test_conformance.py),
the way a user's adapter would.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import unquote_to_bytes

import pytest

from imageattach.core import StaticFiles
from imageattach.spec import ServingSuite


class TestASGIReference(ServingSuite):
    """The ASGI caller, on a tiny ASGI server built on the core engine."""

    protocol = "asgi"

    @pytest.fixture
    def make_server(self) -> Callable[..., Any]:
        return ASGIStaticFiles


class _ScopeHeaders:
    def __init__(self, scope: dict[str, Any]) -> None:
        self._headers: dict[str, str] = {}
        for name, value in scope["headers"]:
            key = name.decode("latin-1")
            text = value.decode("latin-1")
            self._headers[key] = f"{self._headers[key]}, {text}" if key in self._headers else text

    def get(self, name: str, /) -> str | None:
        return self._headers.get(name.lower())


class ASGIStaticFiles:
    def __init__(
        self,
        app: Any,
        url_path: str,
        dir_path: str,
        *,
        block_size: int = 8192,
        cors: bool = False,
        **options: Any,
    ) -> None:
        self.app = app
        self.files = StaticFiles(dir_path, url_path, cors=cors, **options)
        self.block_size = block_size

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = unquote_to_bytes(scope["raw_path"]).decode("utf-8", "surrogateescape")
        query = scope["query_string"].decode("latin-1")
        response = self.files.decide(scope["method"], path, _ScopeHeaders(scope), query)
        if response is None:
            await self.app(scope, receive, send)
            return
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": response.status,
                    "headers": [
                        (k.lower().encode("latin-1"), v.encode("latin-1"))
                        for k, v in response.headers
                    ],
                }
            )
            body = response.body
            if isinstance(body, bytes):
                await send({"type": "http.response.body", "body": body})
                return
            for block in body.blocks(self.block_size):  # a slice, or a multipart's parts
                await send({"type": "http.response.body", "body": block, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        finally:
            response.close()
