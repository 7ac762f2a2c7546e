"""The WSGI adapter passes the imageattach-spec suites, run the way a user runs them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from imageattach.spec import HostURLSuite, ServingSuite
from imageattach.wsgi import StaticServerMiddleware


class TestStaticServerMiddleware(ServingSuite):
    @pytest.fixture
    def make_server(self) -> Callable[..., Any]:
        return StaticServerMiddleware


class TestHttpExposedMiddleware(HostURLSuite):
    @pytest.fixture
    def make_store_server(self) -> Callable[[Any, Any], Any]:
        return lambda store, app: store.wsgi_middleware(app)
