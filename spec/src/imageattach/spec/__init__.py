"""imageattach-spec: the conformance suite of ``spec/SPEC.md``, as a pytest plugin.

Subclass a suite in a test module and override its abstract fixture::

    from imageattach.spec import ServingSuite

    class TestMyAdapter(ServingSuite):
        @pytest.fixture
        def make_server(self):
            return MyMiddleware  # (app, url_path, dir_path, *, cors=False, **options)

:class:`ServingSuite` checks SPEC §1-6, 9 and 10 of a WSGI or ASGI image server,
:class:`HostURLSuite` §7 of a store's request middleware, and :class:`StoreSuite`
§8 of any :class:`~imageattach.core.Store`.  Each test is marked
``@pytest.mark.spec_rule("2.3")`` and a failure says ``SPEC 2.3``.

PYTEST_DONT_REWRITE: this module has no assertions; the suites it imports do, and
are rewritten because it registers the package for rewriting before importing
them (a plugin inside a PEP 420 namespace package gets no rewriting otherwise).
"""

from __future__ import annotations

import pytest

pytest.register_assert_rewrite("imageattach.spec")

from ._callers import (  # noqa: E402 - after the rewrite hook is told
    AppError,
    FileWrapper,
    ProtocolError,
    Response,
    acall_asgi,
    asgi_fallback,
    call_asgi,
    call_wsgi,
    make_environ,
    make_scope,
    wsgi_fallback,
)
from ._host_url import HostURLSuite, SpecImage  # noqa: E402
from ._rules import RULES, SPEC_VERSION  # noqa: E402
from ._serving import SERVER_OPTIONS, ServerFactory, ServingSuite, SpecClient  # noqa: E402
from ._store import StoreSuite  # noqa: E402
from ._suite import SuiteDefinitionError  # noqa: E402
from ._tree import SpecTree  # noqa: E402

__all__ = [
    "RULES",
    "SERVER_OPTIONS",
    "SPEC_VERSION",
    "AppError",
    "FileWrapper",
    "HostURLSuite",
    "ProtocolError",
    "Response",
    "ServerFactory",
    "ServingSuite",
    "SpecClient",
    "SpecImage",
    "SpecTree",
    "StoreSuite",
    "SuiteDefinitionError",
    "acall_asgi",
    "asgi_fallback",
    "call_asgi",
    "call_wsgi",
    "make_environ",
    "make_scope",
    "wsgi_fallback",
]
