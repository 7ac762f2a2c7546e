"""The ASGI adapter passes the imageattach-spec suites, run the way a user runs them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from imageattach.asgi import StaticServerMiddleware
from imageattach.spec import HostURLSuite, ServingSuite


class TestStaticServerMiddleware(ServingSuite):
    protocol = "asgi"

    @pytest.fixture
    def make_server(self) -> Callable[..., Any]:
        return StaticServerMiddleware


class TestHttpExposedMiddleware(HostURLSuite):
    protocol = "asgi"

    @pytest.fixture
    def make_store_server(self) -> Callable[[Any, Any], Any]:
        return lambda store, app: store.asgi_middleware(app)
