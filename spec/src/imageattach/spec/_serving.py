"""The serving suite: SPEC §1-6 for any WSGI or ASGI image server.

Subclass :class:`ServingSuite` in a test module and override the ``make_server``
fixture::

    class TestMyAdapter(ServingSuite):
        @pytest.fixture
        def make_server(self):
            def factory(app, url_path, dir_path, *, cors=False, block_size=None):
                ...
            return factory

The suite drives the application itself (see ``_callers``): WSGI once with and
once without ``wsgi.file_wrapper``, or ASGI when ``protocol = "asgi"``.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import re
import secrets
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from email.utils import formatdate, parsedate_to_datetime
from pathlib import Path
from typing import Any, ClassVar, Final, Literal
from urllib.parse import quote, unquote, unquote_to_bytes

import pytest

from ._callers import (
    Environ,
    HeaderInput,
    Response,
    acall_asgi,
    asgi_fallback,
    call_wsgi,
    make_environ,
    make_scope,
    wsgi_fallback,
)
from ._suite import Suite
from ._tree import A_PNG, APPENDIX_A, BIG_SIZE, LARGE_SIZE, SAFE_NAMES, SpecTree, build_tree

__all__ = ["ServerFactory", "ServingSuite", "SpecClient"]

#: ``factory(app, url_path, dir_path, *, cors=False, block_size=...)`` returns the
#: server under test wrapping ``app``; ``block_size`` is passed only when the suite
#: tests it.
ServerFactory = Callable[..., Any]
Transport = Literal["wsgi", "wsgi+file_wrapper", "asgi"]

spec_rule = pytest.mark.spec_rule

NOSNIFF: Final = "nosniff"
SVG_CSP: Final = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
SHORT_BODY: Final = 1024
#: A header value of any size is answered in well under this many seconds.
TIME_LIMIT: Final = 1.0
FIFO_TIMEOUT: Final = 5.0

# a.png was modified at 2020-01-01T00:00:00.123456789Z.
LM: Final = "Wed, 01 Jan 2020 00:00:00 GMT"
LATER: Final = "Thu, 02 Jan 2020 00:00:00 GMT"
EARLIER: Final = "Tue, 31 Dec 2019 23:59:59 GMT"
LM_RFC850: Final = "Wednesday, 01-Jan-20 00:00:00 GMT"
EARLIER_RFC850: Final = "Tuesday, 31-Dec-19 23:59:59 GMT"
LM_ASCTIME: Final = "Wed Jan  1 00:00:00 2020"
EARLIER_ASCTIME: Final = "Tue Dec 31 23:59:59 2019"
IMF_FIXDATE: Final = re.compile(
    r"\A(Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{2} "
    r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [0-9]{4} "
    r"[0-9]{2}:[0-9]{2}:[0-9]{2} GMT\Z"
)


class SpecClient:
    """Sends requests to one server under test, over one transport."""

    def __init__(
        self, app: Any, transport: Transport, mount: str, fallback: Any, tree: SpecTree
    ) -> None:
        self.app = app
        self.transport = transport
        self.mount = mount
        self.fallback = fallback
        self.tree = tree

    @property
    def fallback_requests(self) -> list[dict[str, Any]]:
        """What the wrapped (fallback) application received, oldest first."""
        requests: list[dict[str, Any]] = self.fallback.requests
        return requests

    def target(self, rest: str) -> str:
        """Return the request target of ``rest`` (raw, percent-encoded) under the mount."""
        return f"{self.mount}/{rest}"

    def request(
        self, method: str, rest: str, headers: HeaderInput = (), **kwargs: Any
    ) -> Response:
        """Send ``method`` for ``rest`` under the mount."""
        return self.request_target(method, self.target(rest), headers, **kwargs)

    def get(self, rest: str, headers: HeaderInput = (), **kwargs: Any) -> Response:
        return self.request("GET", rest, headers, **kwargs)

    def head(self, rest: str, headers: HeaderInput = (), **kwargs: Any) -> Response:
        return self.request("HEAD", rest, headers, **kwargs)

    def make_request(
        self, method: str, target: str, headers: HeaderInput = (), *, body: bytes = b""
    ) -> Any:
        """Return the environ (WSGI) or scope (ASGI) a server builds for this request."""
        if self.transport == "asgi":
            return make_scope(method, target, headers)
        return make_environ(
            method,
            target,
            headers,
            body=body,
            file_wrapper=self.transport == "wsgi+file_wrapper",
        )

    def request_target(
        self,
        method: str,
        target: str,
        headers: HeaderInput = (),
        *,
        body: bytes = b"",
        on_start: Callable[[int, list[tuple[str, str]]], None] | None = None,
        close_after: int | None = None,
        after_close: Callable[[], None] | None = None,
        request: Any = None,
    ) -> Response:
        """Send a request for a raw target (``/path?query``)."""
        if self.transport == "asgi":
            # The suite calls from plain (synchronous) tests: one event loop per request.
            response = asyncio.run(
                acall_asgi(
                    self.app,
                    method,
                    target,
                    headers,
                    body=body,
                    on_start=on_start,
                    disconnect_after=close_after,
                    scope=request,
                )
            )
            if after_close is not None:
                after_close()
            return response
        environ: Environ = request or make_environ(
            method,
            target,
            headers,
            body=body,
            file_wrapper=self.transport == "wsgi+file_wrapper",
        )
        return call_wsgi(
            self.app,
            method,
            target,
            on_start=on_start,
            close_after=close_after,
            after_close=after_close,
            environ=environ,
        )


@dataclass(frozen=True)
class _Case:
    """A request and the status SPEC gives it."""

    method: str
    rest: str
    headers: tuple[tuple[str, str], ...]
    status: int

    def send(self, client: SpecClient, extra: HeaderInput = ()) -> Response:
        tree = client.tree
        headers: list[tuple[str, str | bytes]] = [(k, _fill(v, tree)) for k, v in self.headers]
        headers.extend(extra.items() if isinstance(extra, Mapping) else extra)
        return client.request(self.method, _fill(self.rest, tree), headers)


def _fill(template: str, tree: SpecTree) -> str:
    if "{" not in template:
        return template
    etag = tree.etag("a.png")
    return template.format(
        etag=etag,
        etag_inner=etag[1:-1],
        secret_abs=quote(str(tree.secret_paths[0])),
        root=quote(tree.root.name),
    )


def _case(method: str, rest: str, status: int, **headers: str) -> _Case:
    pairs = tuple((name.replace("_", "-"), value) for name, value in headers.items())
    return _Case(method, rest, pairs, status)


#: One request of every kind the server answers itself, for the cross-cutting rules.
EVERY_KIND: Final = {
    "200": _case("GET", "a.png", 200),
    "200-head": _case("HEAD", "a.png", 200),
    "200-empty": _case("GET", "empty.png", 200),
    "200-svg": _case("GET", "vec.svg", 200),
    "304": _case("GET", "a.png", 304, If_None_Match="{etag}"),
    "304-head": _case("HEAD", "a.png", 304, If_None_Match="{etag}"),
    "404": _case("GET", "missing.png", 404),
    "404-head": _case("HEAD", "missing.png", 404),
    "404-dir": _case("GET", "sub", 404),
    "404-escape": _case("GET", "out.png", 404),
    "405": _case("POST", "a.png", 405),
    "412": _case("GET", "a.png", 412, If_Match='"nope"'),
    "412-head": _case("HEAD", "a.png", 412, If_Match='"nope"'),
}
FILE_RESPONSES: Final = ("200", "200-head", "200-empty", "200-svg", "304", "304-head")


def _kinds(*names: str) -> list[Any]:
    chosen = names or tuple(EVERY_KIND)
    return [pytest.param(EVERY_KIND[name], id=name) for name in chosen]


# SPEC 2.1: (id, rest, bait).  A bait is a real file the rest would name on this
# filesystem; without the check it would be served.
UNSAFE_PATHS: Final[list[tuple[str, str, str | None]]] = [
    ("empty-rest", "", None),
    ("leading-slash", "/a.png", None),
    ("double-slash", "sub//b.png", None),
    ("trailing-slash", "sub/b.png/", None),
    ("dir-trailing-slash", "sub/", None),
    ("dot", "./a.png", None),
    ("dot-inner", "sub/./b.png", None),
    ("dotdot", "../secret.png", None),
    ("dotdot-inner", "sub/../../secret.png", None),
    ("dotdot-back-inside", "sub/../a.png", None),
    ("dotdot-pct", "%2e%2e/secret.png", None),
    ("dotdot-pct-upper", "%2E%2E/secret.png", None),
    ("dotdot-pct-half", ".%2e/secret.png", None),
    ("dotdot-pct-slash", "..%2fsecret.png", None),
    ("dotdot-all-pct", "%2e%2e%2fsecret.png", None),
    ("sibling", "../{root}_secret/secret.png", None),
    ("sibling-pct", "%2e%2e%2f{root}_secret%2fsecret.png", None),
    ("backslash-dotdot", "..%5csecret.png", None),
    ("backslash-leading", "%5c..%5csecret.png", None),
    ("backslash", "back%5cslash.png", "backslash"),
    ("unc", "%5c%5chost%5cshare%5cx.png", None),
    ("nul", "a.png%00", None),
    ("nul-ext", "a.png%00.txt", None),
    ("nul-only", "%00", None),
    ("c0-control", "ctl%01.png", "ctl"),
    ("del", "del%7f.png", "del"),
    ("tab", "tab%09.png", "tab"),
    ("crlf", "crlf%0d%0a.png", "crlf"),
    ("crlf-injection", "a.png%0d%0aSet-Cookie%3a%20x=1", None),
    ("absolute", "/etc/passwd", None),
    ("absolute-secret", "{secret_abs}", None),
    ("drive", "C:/x.png", "drive"),
    ("drive-relative", "C:x.png", None),
    ("drive-backslash", "c:%5cwindows%5cwin.ini", None),
    ("colon", "colon:x.png", "colon"),
    ("colon-pct", "colon%3ax.png", "colon"),
    ("ntfs-stream", "a.png::$DATA", None),
    ("ntfs-stream-pct", "a.png%3a%3a$DATA", None),
    ("trailing-dot", "a.png.", None),
    ("trailing-dot-bait", "dot.png.", "trailing-dot"),
    ("trailing-space", "a.png%20", None),
    ("trailing-space-bait", "space.png%20", "trailing-space"),
    ("device-con", "CON", "CON"),
    ("device-con-lower-ext", "con.png", None),
    ("device-nul", "nul.png", "nul.png"),
    ("device-com1", "com1.jpg", "com1.jpg"),
    ("device-com0", "COM0.png", None),
    ("device-lpt1", "LPT1.png", "LPT1.png"),
    ("device-lpt-superscript", "LPT%c2%b9.png", "lpt-superscript"),
    ("device-com-superscript", "com%c2%b2", None),
    ("device-aux-dir", "Aux/x.png", "aux-dir"),
    ("device-prn", "PRN.txt", "prn"),
    ("dotfile", ".hidden", "hidden"),
    ("dot-dir", ".git/config", "git-config"),
    ("dotfile-in-sub", "sub/.hidden.png", "sub-hidden"),
    ("invalid-utf8", "%ff.png", "invalid-utf8"),
    ("overlong-utf8-dot", "%c0%ae.png", "overlong-utf8"),
    ("overlong-utf8-dotdot", "%c0%ae%c0%ae/secret.png", None),
    ("overlong-utf8-slash", "..%c0%afsecret.png", None),
    ("utf8-surrogate", "%ed%a0%80.png", None),
    ("utf8-truncated", "%e2%80.png", None),
    ("long-segment", "a" * 300 + ".png", None),
    ("long-segment-utf8", "%c3%a9" * 128 + ".png", None),
    ("long-rest", "/".join(["d" * 200] * 6) + "/deep.png", "long-rest"),
    ("long-path", "/".join(["abcd"] * 1000), None),
]

# Not unsafe by 2.1, yet naming nothing servable: still 404, never the secret.
LOOKALIKES: Final = [
    ("two-dot-leader", "%e2%80%a5/secret.png"),
    ("one-dot-leaders", "%e2%80%a4%e2%80%a4/secret.png"),
    ("fullwidth-dots", "%ef%bc%8e%ef%bc%8e/secret.png"),
    ("fullwidth-solidus", "..%ef%bc%8fsecret.png"),
    ("double-encoded-dotdot", "%252e%252e/secret.png"),
    ("double-encoded-slash", "..%252fsecret.png"),
    ("double-encoded-backslash", "..%255csecret.png"),
]


def _secret_free(tree: SpecTree, response: Response) -> None:
    assert tree.secret not in response.body, "the body holds the secret from outside the root"
    for _, value in response.headers:
        assert tree.secret.decode() not in value, "a header holds the secret"


def _needs(response: Response, status: int) -> None:
    """Skip unless ``response`` has ``status``: the rule under test is checked on a
    response of that kind, and a wrong status is reported by the tests of its own rule."""
    if response.status != status:
        pytest.skip(
            f"needs a {status} to check this rule on, the server answered {response.status} "
            "(the tests of the rule that gives the status report that)"
        )


def _bait(tree: SpecTree, bait: str | None) -> None:
    if bait is not None and bait in tree.missing:
        pytest.skip(tree.missing[bait])


def _normalised(value: str | None) -> str | None:
    return None if value is None else re.sub(r"\s+", "", value).lower()


def _essence(value: str | None) -> str | None:
    return None if value is None else value.partition(";")[0].strip().lower()


def _http_date(timestamp: float) -> str:
    return formatdate(timestamp, usegmt=True)


def _comparable(response: Response) -> list[tuple[str, str]]:
    return sorted((k.lower(), v) for k, v in response.headers if k.lower() != "date")


def _rchar() -> int | None:
    try:
        with open("/proc/self/io", encoding="ascii") as io_stats:
            for line in io_stats:
                if line.startswith("rchar:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _open_fds_to(*paths: Path) -> list[str]:
    """Return this process's descriptors open on any of ``paths`` (Linux)."""
    fd_dir = "/proc/self/fd"
    if not os.path.isdir(fd_dir):
        pytest.skip("needs /proc/self/fd (Linux) to see which files are open")
    targets = {os.path.realpath(path) for path in paths}
    found = []
    for name in os.listdir(fd_dir):
        with contextlib.suppress(OSError):
            link = os.readlink(os.path.join(fd_dir, name))
            if link in targets:
                found.append(f"fd {name} -> {link}")
    return found


@contextlib.contextmanager
def _no_unclosed_files() -> Iterator[None]:
    """Fail if a file object is reclaimed without being closed (a ResourceWarning)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        yield
        gc.collect()
    unclosed = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    assert not unclosed, f"a file was left for the garbage collector to close: {unclosed}"


def _fresh_file(tree: SpecTree, data: bytes, suffix: str = ".png") -> tuple[str, Path]:
    name = f"fresh-{secrets.token_hex(6)}{suffix}"
    path = tree.root / name
    path.write_bytes(data)
    return name, path


class ServingSuite(Suite):
    """Conformance tests of SPEC §1-6 for an image server.

    Override the ``make_server`` fixture.  Class attributes:

    ``protocol``
        ``"wsgi"`` (the default; every test runs with and without
        ``wsgi.file_wrapper``) or ``"asgi"``.
    ``mount``
        The ``url_path`` passed to the factory; default ``"/__images__"``.
    ``supports_cors``
        False when the factory has no working ``cors=True``: SPEC 5.2 then skips.
    ``supports_block_size``
        False when the factory takes no ``block_size``: SPEC 6.1's block check skips.
    """

    _spec_suite: ClassVar[bool] = True

    protocol: ClassVar[Literal["wsgi", "asgi"]] = "wsgi"
    mount: ClassVar[str] = "/__images__"
    supports_cors: ClassVar[bool] = True
    supports_block_size: ClassVar[bool] = True

    # -- fixtures ------------------------------------------------------------------

    @pytest.fixture
    def make_server(self) -> ServerFactory:
        """Override: return ``factory(app, url_path, dir_path, *, cors=False, **kw)``.

        The factory wraps ``app`` (a WSGI or ASGI application, per ``protocol``) in
        the server under test, serving the directory ``dir_path`` (a ``str``) under
        the URL path ``url_path``.  When the suite checks block sizes it also passes
        ``block_size=<int>``.
        """
        raise NotImplementedError(
            f"{type(self).__name__} must override the make_server fixture: "
            "return factory(app, url_path, dir_path, *, cors=False, block_size=...)"
        )

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        if "spec_transport" in metafunc.fixturenames:
            transports: Sequence[Transport] = (
                ("asgi",) if self.protocol == "asgi" else ("wsgi", "wsgi+file_wrapper")
            )
            metafunc.parametrize("spec_transport", transports, scope="function")

    @pytest.fixture(scope="class")
    @classmethod
    def spec_tree(cls, tmp_path_factory: pytest.TempPathFactory) -> SpecTree:
        """The served directory with its baits; see ``imageattach.spec._tree``."""
        return build_tree(tmp_path_factory.mktemp("imageattach-spec"))

    @pytest.fixture
    def make_spec_client(
        self, make_server: ServerFactory, spec_tree: SpecTree, spec_transport: Transport
    ) -> Callable[..., SpecClient]:
        """Return ``make(root=None, *, cors=False, block_size=None) -> SpecClient``."""

        def make(
            root: Path | None = None, *, cors: bool = False, block_size: int | None = None
        ) -> SpecClient:
            fallback: Any = asgi_fallback() if spec_transport == "asgi" else wsgi_fallback()
            kwargs: dict[str, Any] = {"cors": cors}
            if block_size is not None:
                kwargs["block_size"] = block_size
            directory = str(spec_tree.root if root is None else root)
            app = make_server(fallback, self.mount, directory, **kwargs)
            return SpecClient(app, spec_transport, self.mount, fallback, spec_tree)

        return make

    @pytest.fixture
    def spec_client(self, make_spec_client: Callable[..., SpecClient]) -> SpecClient:
        """A client of the server under test, CORS off, serving ``spec_tree``."""
        return make_spec_client()

    # -- 1. Dispatch and methods ----------------------------------------------------

    @spec_rule("1.1")
    @pytest.mark.parametrize(
        "target",
        [
            "/",
            "/index.html",
            "/__images__",
            "/__images__x/a.png",
            "/__images__.png",
            "/__IMAGES__/a.png",
            "/other/__images__/a.png",
            "/__images__%2e%2e/a.png",
            "/a.png?next=/__images__/a.png",
        ],
    )
    def test_outside_mount_reaches_app(self, spec_client: SpecClient, target: str) -> None:
        target = target.replace("/__images__", self.mount)
        response = spec_client.request_target("GET", target)
        path = target.partition("?")[0]
        expected = b"fallback" + _decoded(path, spec_client.transport)
        assert (response.status, response.body) == (200, expected), (
            f"GET {target} must reach the wrapped application"
        )
        assert len(spec_client.fallback_requests) == 1

    @spec_rule("1.1")
    @pytest.mark.parametrize("method", ["GET", "HEAD", "POST", "PUT", "DELETE", "BREW"])
    def test_outside_mount_request_is_unchanged(
        self, spec_client: SpecClient, method: str
    ) -> None:
        target = "/upload/%7Euser/x%20y.png?a=1&b=%2F"
        headers = [("If-None-Match", "*"), ("X-Custom", "kept"), ("Content-Type", "text/x")]
        sent = spec_client.make_request(method, target, headers, body=b"payload")
        response = spec_client.request_target(
            method, target, headers, body=b"payload", request=sent
        )
        assert response.status == 200, "the wrapped application's response must be returned"
        assert response.header("Content-Type") == "text/plain; charset=utf-8"
        if method != "HEAD":
            assert response.body.startswith(b"fallback")
        [seen] = spec_client.fallback_requests
        changed = {
            key: (value, seen.get(key))
            for key, value in sent.items()
            if key not in {"wsgi.input", "wsgi.errors"} and seen.get(key) != value
        }
        assert not changed, "the request reached the wrapped application changed"
        assert seen["spec.body"] == b"payload", "the request body must reach the app"

    @spec_rule("1.1")
    def test_outside_mount_body_reaches_app(self, spec_client: SpecClient) -> None:
        response = spec_client.request_target("POST", "/form", body=b"field=value")
        assert response.status == 200
        [seen] = spec_client.fallback_requests
        assert seen["spec.body"] == b"field=value", "the request body must reach the app"

    @spec_rule("1.2")
    @pytest.mark.parametrize(
        "method",
        [
            *("POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT", "PROPFIND"),
            *("BREW", "QUERY", "get", "head", "Get"),
        ],
    )
    def test_other_method_is_405(self, spec_client: SpecClient, method: str) -> None:
        response = spec_client.request(method, "a.png")
        assert response.status == 405, f"{method} under the mount must be 405"
        allow = [m.strip() for m in (response.header("Allow") or "").split(",")]
        assert sorted(allow) == ["GET", "HEAD"], "405 must carry Allow: GET, HEAD"
        assert A_PNG not in response.body, "a 405 carries no byte of the file"
        assert not spec_client.fallback_requests

    @spec_rule("1.2")
    @pytest.mark.parametrize(
        "rest", ["missing.png", "sub", "../secret.png", "%2e%2e/secret.png", "out.png", ""]
    )
    def test_405_before_path_is_resolved(self, spec_client: SpecClient, rest: str) -> None:
        response = spec_client.request("POST", rest)
        assert response.status == 405, "the method is checked before the path"
        _secret_free(spec_client.tree, response)

    @spec_rule("1.2")
    @pytest.mark.parametrize(
        "headers",
        [
            {"If-None-Match": "{etag}"},
            {"If-None-Match": "*"},
            {"If-Modified-Since": LATER},
            {"If-Match": '"nope"'},
            {"If-Unmodified-Since": EARLIER},
        ],
        ids=["inm", "inm-star", "ims", "if-match", "ius"],
    )
    def test_405_before_preconditions(
        self, spec_client: SpecClient, headers: dict[str, str]
    ) -> None:
        headers = {k: _fill(v, spec_client.tree) for k, v in headers.items()}
        for method in ("POST", "PUT", "DELETE"):
            response = spec_client.request(method, "a.png", headers)
            assert response.status == 405, f"{method} with {headers} must be 405, never 304/412"
            assert A_PNG not in response.body

    @spec_rule("1.3")
    @pytest.mark.parametrize(
        "case",
        [
            pytest.param(_case("GET", name, 0), id=name)
            for name in ("a.png", "empty.png", "vec.svg", "big.png", "UP.PNG", "in.png")
        ]
        + [
            pytest.param(_case("GET", "missing.png", 0), id="404"),
            pytest.param(_case("GET", "../secret.png", 0), id="404-unsafe"),
            pytest.param(_case("GET", "a.png", 0, If_None_Match="{etag}"), id="304"),
            pytest.param(_case("GET", "a.png", 0, If_Modified_Since=LATER), id="304-ims"),
            pytest.param(_case("GET", "a.png", 0, If_Match='"nope"'), id="412"),
        ],
    )
    def test_head_matches_get(self, spec_client: SpecClient, case: _Case) -> None:
        get = case.send(spec_client)
        head = _Case("HEAD", case.rest, case.headers, 0).send(spec_client)
        assert head.status == get.status, "HEAD must have the status of GET"
        assert _comparable(head) == _comparable(get), "HEAD must have the headers of GET"
        assert head.body == b"", "a response to HEAD has no body"

    @spec_rule("1.3")
    def test_head_reads_no_file(self, spec_client: SpecClient) -> None:
        before = _rchar()
        if before is None:
            pytest.skip("needs /proc/self/io (Linux) to count the bytes the process reads")
        get = spec_client.get("large.png")
        after_get = _rchar()
        assert get.status == 200
        assert after_get is not None
        if after_get - before < LARGE_SIZE // 2:
            pytest.skip("this server's reads do not show in /proc/self/io (zero-copy?)")
        start = _rchar()
        head = spec_client.head("large.png")
        end = _rchar()
        assert start is not None
        assert end is not None
        assert head.status == 200
        assert end - start < LARGE_SIZE // 16, f"HEAD read {end - start} bytes of the file"

    @spec_rule("1.4")
    @pytest.mark.parametrize(
        "query", ["_ts=1", "../../secret.png", "a=b&c=d", "", "file=big.png", "%00"]
    )
    def test_query_string_is_ignored(self, spec_client: SpecClient, query: str) -> None:
        plain = spec_client.get("a.png")
        response = spec_client.get(f"a.png?{query}")
        assert response.status == 200
        assert response.body == A_PNG
        assert response.header("ETag") == plain.header("ETag")

    @spec_rule("1.4")
    def test_query_string_names_no_file(self, spec_client: SpecClient) -> None:
        assert spec_client.get("missing.png?a.png").status == 404
        assert spec_client.get("?a.png").status == 404

    # -- 2. Resolving a path ------------------------------------------------------------

    @spec_rule("2.1")
    @pytest.mark.parametrize(
        ("rest", "bait"), [pytest.param(rest, bait, id=id_) for id_, rest, bait in UNSAFE_PATHS]
    )
    def test_unsafe_path_is_404(
        self, spec_client: SpecClient, rest: str, bait: str | None
    ) -> None:
        tree = spec_client.tree
        _bait(tree, bait)
        response = spec_client.get(_fill(rest, tree))
        assert response.status == 404, f"GET {_fill(rest, tree)!r} must be 404"
        _secret_free(tree, response)
        assert not spec_client.fallback_requests, "a path under the mount never passes through"

    @spec_rule("2.1")
    @pytest.mark.parametrize("name", SAFE_NAMES)
    def test_safe_name_is_served(self, spec_client: SpecClient, name: str) -> None:
        tree = spec_client.tree
        _bait(tree, name)
        response = spec_client.get(quote(name))
        assert response.status == 200, f"{name!r} breaks no rule and must be served"
        assert response.body == f"safe:{name}".encode()

    @spec_rule("2.1")
    @pytest.mark.parametrize(
        "rest", ["a.png", "sub/b.png", "in.png", "photo.jpe", "n" * 251 + ".png"]
    )
    def test_segments_within_limits_are_served(self, spec_client: SpecClient, rest: str) -> None:
        _bait(spec_client.tree, rest)
        response = spec_client.get(rest)
        assert response.status == 200

    @spec_rule("2.2")
    @pytest.mark.parametrize(
        ("rest", "name"),
        [
            ("%252e%252e.png", "%2e%2e.png"),
            ("%252e%252e/x.png", "%2e%2e/x.png"),
            ("%2541.png", "%41.png"),
        ],
    )
    def test_percent_decoded_once(self, spec_client: SpecClient, rest: str, name: str) -> None:
        _bait(spec_client.tree, name)
        response = spec_client.get(rest)
        assert response.status == 200, f"{rest!r} names the file {name!r}, not anything else"
        assert response.body == f"safe:{name}".encode()

    @spec_rule("2.2")
    @pytest.mark.parametrize(("case", "rest"), LOOKALIKES)
    def test_lookalike_is_not_dotdot(self, spec_client: SpecClient, case: str, rest: str) -> None:
        response = spec_client.get(rest)
        assert response.status == 404, f"{rest!r} must be looked up as written, and not found"
        _secret_free(spec_client.tree, response)

    @spec_rule("2.3")
    @pytest.mark.parametrize(
        "rest", ["out.png", "outdir/secret.png", "prefix.png", "indir/out.png"]
    )
    def test_link_out_of_root_is_404(self, spec_client: SpecClient, rest: str) -> None:
        tree = spec_client.tree
        _bait(tree, rest.partition("/")[0])
        response = spec_client.get(rest)
        assert response.status == 404, f"{rest} leads outside the root"
        _secret_free(tree, response)

    @spec_rule("2.3")
    @pytest.mark.parametrize(
        ("rest", "target"), [("in.png", "a.png"), ("indir/b.png", "sub/b.png")]
    )
    def test_link_inside_root_is_served(
        self, spec_client: SpecClient, rest: str, target: str
    ) -> None:
        tree = spec_client.tree
        _bait(tree, rest.partition("/")[0])
        response = spec_client.get(rest)
        assert response.status == 200, f"{rest} leads to {target}, inside the root"
        assert response.body == tree.read(target)

    @spec_rule("2.3")
    def test_root_behind_a_link(self, make_spec_client: Callable[..., SpecClient]) -> None:
        client = make_spec_client()
        tree = client.tree
        _bait(tree, "linked-root")
        client = make_spec_client(tree.base / "linked-root")
        assert client.get("a.png").body == A_PNG, "the root's own links are resolved first"
        assert client.get("in.png").status == 200
        assert client.get("out.png").status == 404
        assert client.get("prefix.png").status == 404

    @spec_rule("2.4")
    @pytest.mark.parametrize("rest", ["sub", "indir", "%2e%2e", "Aux", "sock.png", "C:"])
    def test_not_a_regular_file_is_404(self, spec_client: SpecClient, rest: str) -> None:
        _bait(spec_client.tree, rest)
        response = spec_client.get(rest)
        assert response.status == 404, f"{rest} is not a regular file"
        assert response.header("Location") is None, "no redirect"

    @spec_rule("2.4")
    @pytest.mark.parametrize("method", ["GET", "HEAD"])
    def test_fifo_is_404_without_blocking(self, spec_client: SpecClient, method: str) -> None:
        tree = spec_client.tree
        _bait(tree, "pipe.png")
        outcome: list[Response | BaseException] = []

        def run() -> None:
            try:
                outcome.append(spec_client.request(method, "pipe.png"))
            except BaseException as exc:
                outcome.append(exc)

        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        worker.join(FIFO_TIMEOUT)
        blocked = worker.is_alive()
        if blocked:  # let the stuck open() finish: open the write end, then close it
            with contextlib.suppress(OSError):
                os.close(os.open(tree.root / "pipe.png", os.O_WRONLY | os.O_NONBLOCK))
            worker.join(FIFO_TIMEOUT)
        assert not blocked, f"{method} of a FIFO blocked for {FIFO_TIMEOUT} s"
        [result] = outcome
        if isinstance(result, BaseException):
            raise result
        assert result.status == 404

    @spec_rule("2.5")
    @pytest.mark.parametrize(
        "rest",
        [
            "missing.png",
            "sub/missing.png",
            "missing/x.png",
            "a.png/x",
            "a.png/",
            "dangling.png",
            "loop.png",
            "a" * 255,
            "x" * 250 + "/" + "y" * 250 + "/" + "z" * 250 + "/w.png",
        ],
    )
    def test_cannot_open_is_404(self, spec_client: SpecClient, rest: str) -> None:
        _bait(spec_client.tree, rest)
        response = spec_client.get(rest)
        assert response.status == 404

    @spec_rule("2.5")
    def test_unreadable_file_is_404(self, spec_client: SpecClient) -> None:
        name, path = _fresh_file(spec_client.tree, b"unreadable")
        path.chmod(0)
        try:
            if os.access(path, os.R_OK):
                pytest.skip("permissions do not stop this process reading (root?)")
            assert spec_client.get(name).status == 404
        finally:
            path.chmod(0o644)

    @spec_rule("2.6")
    @pytest.mark.parametrize(
        ("method", "rest", "status"),
        [
            ("GET", "missing-{token}.png", 404),
            ("GET", "..%2f{token}.png", 404),
            ("GET", "sub/{token}/", 404),
            ("POST", "a.png?{token}", 405),
            ("DELETE", "{token}.png", 405),
        ],
    )
    def test_error_body_is_short_fixed_text(
        self, spec_client: SpecClient, method: str, rest: str, status: int
    ) -> None:
        bodies = set()
        for _ in range(2):
            token = f"tok{secrets.token_hex(8)}"
            response = spec_client.request(method, rest.format(token=token))
            _needs(response, status)
            assert _normalised(response.header("Content-Type")) == "text/plain;charset=utf-8"
            assert response.header("Content-Length") == str(len(response.body))
            assert 0 < len(response.body) <= SHORT_BODY, "the body is short"
            assert token.encode() not in response.body, "the body never echoes the path"
            bodies.add(response.body)
        assert len(bodies) == 1, "the body is fixed"

    # -- 3. The file response -------------------------------------------------------------

    @spec_rule("3.1")
    @pytest.mark.parametrize(
        ("rest", "media_type"),
        [(f"type{ext}", media_type) for ext, media_type in APPENDIX_A.items()]
        + [("photo.jpe", "image/jpeg"), ("UP.PNG", "image/png"), ("Mixed.JpEg", "image/jpeg")]
        + [("pic.SVG", "image/svg+xml"), ("sub/b.png", "image/png"), ("in.png", "image/png")],
    )
    def test_content_type_from_table(
        self, spec_client: SpecClient, rest: str, media_type: str
    ) -> None:
        _bait(spec_client.tree, rest)
        response = spec_client.get(rest)
        assert response.status == 200
        assert _essence(response.header("Content-Type")) == media_type

    @spec_rule("3.1")
    @pytest.mark.parametrize(
        "rest", ["notes.txt", "page.html", "script.js", "style.css", "noext", "a.tar.gz"]
    )
    def test_unknown_extension_is_octet_stream(self, spec_client: SpecClient, rest: str) -> None:
        response = spec_client.get(rest)
        assert response.status == 200
        assert _essence(response.header("Content-Type")) == "application/octet-stream", (
            "a type not in Appendix A is application/octet-stream, whatever the host thinks"
        )

    @spec_rule("3.2")
    @pytest.mark.parametrize("rest", ["a.png", "empty.png", "big.png", "vec.svg", "in.png"])
    def test_content_length_is_body_length(self, spec_client: SpecClient, rest: str) -> None:
        response = spec_client.get(rest)
        assert response.status == 200
        assert response.body == spec_client.tree.read(rest)
        assert response.header_values("Content-Length") == [str(len(response.body))]

    @spec_rule("3.2")
    def test_file_replaced_while_served(self, spec_client: SpecClient) -> None:
        tree = spec_client.tree
        old, new = b"o" * 50_000, b"n" * 120_000
        name, path = _fresh_file(tree, old)
        etag = tree.etag(name)
        replacement = path.with_name(name + ".new")
        replacement.write_bytes(new)

        def replace(status: int, headers: list[tuple[str, str]]) -> None:
            os.replace(replacement, path)

        response = spec_client.get(name, on_start=replace)
        assert response.status == 200
        assert response.header("Content-Length") == str(len(response.body))
        assert response.body == old, "headers and body must come from the one file opened"
        assert response.header("ETag") in {etag, None}

    @spec_rule("3.3")
    @pytest.mark.parametrize("rest", ["a.png", "empty.png", "big.png", "sub/b.png", "in.png"])
    def test_etag_formula(self, spec_client: SpecClient, rest: str) -> None:
        response = spec_client.get(rest)
        st = os.stat(spec_client.tree.path(rest))
        assert response.header_values("ETag") == [f'"{st.st_mtime_ns:x}-{st.st_size:x}"']

    @spec_rule("3.3")
    def test_etag_follows_the_file(self, spec_client: SpecClient) -> None:
        tree = spec_client.tree
        name, path = _fresh_file(tree, b"first")
        first = spec_client.get(name).header("ETag")
        assert first == tree.etag(name)
        st = path.stat()
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
        second = spec_client.get(name).header("ETag")
        assert second == tree.etag(name) != first, "the ETag changes with the mtime"
        mtime = path.stat().st_mtime_ns
        path.write_bytes(b"second, longer")
        os.utime(path, ns=(mtime, mtime))
        third = spec_client.get(name).header("ETag")
        assert third == tree.etag(name) != second, "the ETag changes with the size"

    @spec_rule("3.4")
    def test_last_modified_is_imf_fixdate(self, spec_client: SpecClient) -> None:
        response = spec_client.get("a.png")
        assert response.header_values("Last-Modified") == [LM]

    @spec_rule("3.4")
    @pytest.mark.parametrize("method", ["GET", "HEAD"])
    def test_last_modified_never_in_future(self, spec_client: SpecClient, method: str) -> None:
        before = time.time()
        response = spec_client.request(method, "future.png")
        after = time.time()
        value = response.header("Last-Modified")
        assert value is not None
        assert IMF_FIXDATE.match(value), f"{value!r} is not an IMF-fixdate"
        stamp = parsedate_to_datetime(value).timestamp()
        assert before - 1 <= stamp <= after, "a file dated in the future is sent with the present"

    @spec_rule("3.5")
    @pytest.mark.parametrize("case", _kinds())
    def test_nosniff_on_every_response(self, spec_client: SpecClient, case: _Case) -> None:
        response = case.send(spec_client)
        _needs(response, case.status)
        assert response.header_values("X-Content-Type-Options") == [NOSNIFF]

    @spec_rule("3.6")
    @pytest.mark.parametrize(
        ("method", "rest"), [("GET", "vec.svg"), ("HEAD", "vec.svg"), ("GET", "pic.SVG")]
    )
    def test_svg_has_sandbox_csp(self, spec_client: SpecClient, method: str, rest: str) -> None:
        response = spec_client.request(method, rest)
        assert response.status == 200
        assert response.header_values("Content-Security-Policy") == [SVG_CSP]

    @spec_rule("3.7")
    @pytest.mark.parametrize("case", _kinds())
    def test_no_path_or_host_in_headers(self, spec_client: SpecClient, case: _Case) -> None:
        host = "evil-host.example"
        response = case.send(spec_client, [("Host", f"{host}:8080")])
        _needs(response, case.status)
        tree = spec_client.tree
        leaks = {host, str(tree.base), os.path.realpath(tree.base), str(tree.root)}
        for name, value in response.headers:
            for leak in leaks:
                assert leak not in value, f"header {name} carries {leak!r}"

    # -- 4. Conditional requests -----------------------------------------------------------

    @spec_rule("4.1")
    @pytest.mark.parametrize(
        ("value", "status"),
        [
            ("{etag}", 200),
            ("*", 200),
            ('"nope"', 412),
            ("W/{etag}", 412),
            ('"nope", {etag}', 200),
            ('"nope",{etag}', 200),
            ('"nope", "other"', 412),
            ("{etag_inner}", 412),
            ('"{etag_inner}', 412),
        ],
        ids=[
            "strong",
            "star",
            "mismatch",
            "weak-never-matches",
            "list",
            "list-no-space",
            "list-mismatch",
            "unquoted",
            "unterminated",
        ],
    )
    @pytest.mark.parametrize("method", ["GET", "HEAD"])
    def test_if_match(self, spec_client: SpecClient, method: str, value: str, status: int) -> None:
        response = _case(method, "a.png", 0, If_Match=value).send(spec_client)
        assert response.status == status
        if status == 412:
            assert A_PNG not in response.body

    @spec_rule("4.2")
    @pytest.mark.parametrize(
        ("headers", "status"),
        [
            ({"If-Unmodified-Since": EARLIER}, 412),
            ({"If-Unmodified-Since": EARLIER_RFC850}, 412),
            ({"If-Unmodified-Since": EARLIER_ASCTIME}, 412),
            ({"If-Unmodified-Since": LM}, 200),
            ({"If-Unmodified-Since": LATER}, 200),
            ({"If-Unmodified-Since": "not a date"}, 200),
            ({"If-Unmodified-Since": "Wed, 32 Foo 2020 99:99:99 GMT"}, 200),
            ({"If-Unmodified-Since": EARLIER, "If-Match": "*"}, 200),
            ({"If-Unmodified-Since": EARLIER, "If-Match": "{etag}"}, 200),
        ],
        ids=[
            "earlier",
            "earlier-rfc850",
            "earlier-asctime",
            "same",
            "later",
            "invalid",
            "impossible",
            "if-match-star-wins",
            "if-match-wins",
        ],
    )
    def test_if_unmodified_since(
        self, spec_client: SpecClient, headers: dict[str, str], status: int
    ) -> None:
        response = spec_client.get(
            "a.png", {k: _fill(v, spec_client.tree) for k, v in headers.items()}
        )
        assert response.status == status

    @spec_rule("4.3")
    @pytest.mark.parametrize(
        ("value", "status"),
        [
            ("{etag}", 304),
            ("W/{etag}", 304),
            ("*", 304),
            ('"a", {etag}', 304),
            ('"a",{etag}', 304),
            ('"a" ,  {etag}', 304),
            ('"a",\t{etag}', 304),
            ('W/"a", W/{etag}', 304),
            ('"nope"', 200),
            ('W/"nope"', 200),
            ('"a", "b"', 200),
            ("{etag_inner}", 200),
            ('"{etag_inner}', 200),
        ],
        ids=[
            "strong",
            "weak",
            "star",
            "list",
            "list-no-space",
            "list-spaces",
            "list-tab",
            "list-weak",
            "mismatch",
            "weak-mismatch",
            "list-mismatch",
            "unquoted",
            "unterminated",
        ],
    )
    @pytest.mark.parametrize("method", ["GET", "HEAD"])
    def test_if_none_match(
        self, spec_client: SpecClient, method: str, value: str, status: int
    ) -> None:
        response = _case(method, "a.png", 0, If_None_Match=value).send(spec_client)
        assert response.status == status
        if status == 304 or method == "HEAD":
            assert response.body == b""
        else:
            assert response.body == A_PNG

    @spec_rule("4.4")
    @pytest.mark.parametrize(
        ("headers", "status"),
        [
            ({"If-Modified-Since": LM}, 304),
            ({"If-Modified-Since": LATER}, 304),
            ({"If-Modified-Since": LM_RFC850}, 304),
            ({"If-Modified-Since": LM_ASCTIME}, 304),
            ({"If-Modified-Since": EARLIER}, 200),
            ({"If-Modified-Since": EARLIER_RFC850}, 200),
            ({"If-Modified-Since": EARLIER_ASCTIME}, 200),
            ({"If-Modified-Since": "yesterday"}, 200),
            ({"If-Modified-Since": "Wed, 32 Foo 2020 99:99:99 GMT"}, 200),
            ({"If-Modified-Since": LATER, "If-None-Match": '"nope"'}, 200),
            ({"If-Modified-Since": EARLIER, "If-None-Match": "{etag}"}, 304),
        ],
        ids=[
            "same",
            "later",
            "same-rfc850",
            "same-asctime",
            "earlier",
            "earlier-rfc850",
            "earlier-asctime",
            "invalid",
            "impossible",
            "if-none-match-wins-200",
            "if-none-match-wins-304",
        ],
    )
    def test_if_modified_since(
        self, spec_client: SpecClient, headers: dict[str, str], status: int
    ) -> None:
        response = spec_client.get(
            "a.png", {k: _fill(v, spec_client.tree) for k, v in headers.items()}
        )
        assert response.status == status

    @spec_rule("4.4")
    def test_if_modified_since_future_file(self, spec_client: SpecClient) -> None:
        first = spec_client.get("future.png")
        last_modified = first.header("Last-Modified")
        assert last_modified is not None
        later = _http_date(parsedate_to_datetime(last_modified).timestamp() + 2)
        response = spec_client.get("future.png", {"If-Modified-Since": later})
        assert response.status == 304, "the file's Last-Modified (the present) is not later"

    @spec_rule("4")
    @pytest.mark.parametrize(
        ("headers", "status"),
        [
            ({"If-Match": '"nope"', "If-None-Match": "{etag}"}, 412),
            ({"If-Match": "{etag}", "If-None-Match": "{etag}"}, 304),
            ({"If-Match": '"nope"', "If-Modified-Since": LATER}, 412),
            ({"If-Unmodified-Since": EARLIER, "If-None-Match": "{etag}"}, 412),
            ({"If-Unmodified-Since": EARLIER, "If-Modified-Since": LATER}, 412),
            ({"If-Unmodified-Since": LATER, "If-None-Match": "{etag}"}, 304),
        ],
        ids=[
            "if-match-before-inm",
            "if-match-then-inm",
            "if-match-before-ims",
            "ius-before-inm",
            "ius-before-ims",
            "ius-then-inm",
        ],
    )
    def test_precondition_order(
        self, spec_client: SpecClient, headers: dict[str, str], status: int
    ) -> None:
        response = spec_client.get(
            "a.png", {k: _fill(v, spec_client.tree) for k, v in headers.items()}
        )
        assert response.status == status

    @spec_rule("4")
    @pytest.mark.parametrize("rest", ["missing.png", "sub", "out.png", "sub/missing.png"])
    @pytest.mark.parametrize(
        "headers",
        [
            {"If-None-Match": "*"},
            {"If-Match": '"nope"'},
            {"If-Match": "*"},
            {"If-Unmodified-Since": EARLIER},
            {"If-Modified-Since": LATER},
        ],
        ids=["inm-star", "if-match", "if-match-star", "ius", "ims"],
    )
    def test_preconditions_on_missing_file(
        self, spec_client: SpecClient, rest: str, headers: dict[str, str]
    ) -> None:
        assert spec_client.get(rest, headers).status == 404, "a 404 stays a 404"

    @spec_rule("4.5")
    @pytest.mark.parametrize(
        ("method", "headers"),
        [
            ("GET", {"If-None-Match": "{etag}"}),
            ("GET", {"If-None-Match": "*"}),
            ("GET", {"If-Modified-Since": LATER}),
            ("HEAD", {"If-None-Match": "{etag}"}),
        ],
        ids=["inm", "inm-star", "ims", "head"],
    )
    def test_304_headers(
        self, spec_client: SpecClient, method: str, headers: dict[str, str]
    ) -> None:
        full = spec_client.get("a.png")
        headers = {k: _fill(v, spec_client.tree) for k, v in headers.items()}
        response = spec_client.request(method, "a.png", headers)
        _needs(response, 304)
        assert response.body == b""
        assert (
            response.header_values("ETag")
            == full.header_values("ETag")
            == [spec_client.tree.etag("a.png")]
        )
        assert "content-type" not in response.header_names()
        assert "content-length" not in response.header_names()
        for name in ("Cache-Control", "Vary"):
            assert response.header_values(name) == full.header_values(name), (
                f"a 304 carries {name} when the 200 does"
            )

    @spec_rule("4.5")
    @pytest.mark.parametrize("method", ["GET", "HEAD"])
    @pytest.mark.parametrize(
        "headers",
        [{"If-Match": '"nope"'}, {"If-Unmodified-Since": EARLIER}],
        ids=["if-match", "ius"],
    )
    def test_412_is_short_text(
        self, spec_client: SpecClient, method: str, headers: dict[str, str]
    ) -> None:
        get = spec_client.get("a.png", headers)
        _needs(get, 412)
        assert _normalised(get.header("Content-Type")) == "text/plain;charset=utf-8"
        assert get.header("Content-Length") == str(len(get.body))
        assert 0 < len(get.body) <= SHORT_BODY
        assert A_PNG not in get.body
        if method == "HEAD":
            head = spec_client.head("a.png", headers)
            assert (head.status, head.body) == (412, b"")

    @spec_rule("4.6")
    @pytest.mark.parametrize(
        ("name", "make_value", "status"),
        [
            ("If-None-Match", lambda e: ", ".join(f'"x{i}"' for i in range(12_000)), 200),
            ("If-None-Match", lambda e: "".join(f'"x{i}", ' for i in range(10_000)) + e, 304),
            ("If-Match", lambda e: "".join(f'"x{i}", ' for i in range(10_000)) + e, 200),
            ("If-Match", lambda e: ", ".join(f'"x{i}"' for i in range(12_000)), 412),
            ("If-None-Match", lambda e: bytes(range(0x80, 0x100)) * 800, 200),
            ("If-Match", lambda e: bytes(range(0x80, 0x100)) * 800, 412),
            ("If-Modified-Since", lambda e: bytes(range(0x80, 0x100)) * 800, 200),
            ("If-Unmodified-Since", lambda e: bytes(range(0x80, 0x100)) * 800, 200),
            ("If-Modified-Since", lambda e: "Wed, " * 20_000, 200),
            ("If-Unmodified-Since", lambda e: "01 Jan " * 15_000, 200),
            ("If-None-Match", lambda e: '"' * 100_000, 200),
            ("If-None-Match", lambda e: "," * 100_000, 200),
            ("If-None-Match", lambda e: "W/" * 50_000, 200),
            ("If-None-Match", lambda e: '"' + "\\" * 100_000, 200),
            ("If-None-Match", lambda e: " " * 100_000 + "x", 200),
            ("If-Match", lambda e: '"' * 100_000, 412),
            ("If-Match", lambda e: "W/" * 50_000 + e, 412),
        ],
        ids=[
            "inm-100k-list",
            "inm-10000-items-last-matches",
            "if-match-10000-items-last-matches",
            "if-match-100k-list",
            "inm-high-bytes",
            "if-match-high-bytes",
            "ims-high-bytes",
            "ius-high-bytes",
            "ims-100k",
            "ius-100k",
            "inm-quotes",
            "inm-commas",
            "inm-weak-prefixes",
            "inm-backslashes",
            "inm-spaces",
            "if-match-quotes",
            "if-match-weak-prefixes",
        ],
    )
    def test_hostile_header_value(
        self,
        spec_client: SpecClient,
        name: str,
        make_value: Callable[[str], str | bytes],
        status: int,
    ) -> None:
        value = make_value(spec_client.tree.etag("a.png"))
        started = time.perf_counter()
        response = spec_client.get("a.png", [(name, value)])
        elapsed = time.perf_counter() - started
        assert response.status == status
        assert elapsed < TIME_LIMIT, f"a {len(value)}-byte {name} took {elapsed:.2f} s"

    # -- 5. Cross-origin requests --------------------------------------------------------

    @spec_rule("5.1")
    @pytest.mark.parametrize("case", _kinds())
    def test_cors_off_sends_no_access_control(self, spec_client: SpecClient, case: _Case) -> None:
        response = case.send(spec_client, [("Origin", "https://other.example")])
        _needs(response, case.status)
        found = [n for n in response.header_names() if n.startswith("access-control-")]
        assert not found, f"with CORS off no Access-Control-* header, got {found}"

    @spec_rule("5.2")
    @pytest.mark.parametrize("case", _kinds(*FILE_RESPONSES))
    def test_cors_on_allows_any_origin(
        self, make_spec_client: Callable[..., SpecClient], case: _Case
    ) -> None:
        if not self.supports_cors:
            pytest.skip(f"{type(self).__name__}.supports_cors is False")
        client = make_spec_client(cors=True)
        for origin in ((), [("Origin", "https://other.example")]):
            response = case.send(client, origin)
            _needs(response, case.status)
            assert response.header_values("Access-Control-Allow-Origin") == ["*"]
            assert "access-control-allow-credentials" not in response.header_names()

    @spec_rule("5.2")
    @pytest.mark.parametrize("case", _kinds("404", "404-escape", "405", "412"))
    def test_cors_on_never_allows_credentials(
        self, make_spec_client: Callable[..., SpecClient], case: _Case
    ) -> None:
        if not self.supports_cors:
            pytest.skip(f"{type(self).__name__}.supports_cors is False")
        response = case.send(make_spec_client(cors=True), [("Origin", "https://o.example")])
        _needs(response, case.status)
        assert "access-control-allow-credentials" not in response.header_names()

    # -- 6. Transport -------------------------------------------------------------------

    @spec_rule("6.1")
    @pytest.mark.parametrize("rest", ["a.png", "big.png", "empty.png", "large.png"])
    def test_body_is_the_file(self, spec_client: SpecClient, rest: str) -> None:
        response = spec_client.get(rest)
        assert response.status == 200
        expected = spec_client.tree.read(rest)
        assert len(response.body) == len(expected)
        assert response.body == expected

    @spec_rule("6.1")
    @pytest.mark.parametrize("block_size", [1000, 4096])
    def test_body_in_blocks(
        self, make_spec_client: Callable[..., SpecClient], block_size: int
    ) -> None:
        if not self.supports_block_size:
            pytest.skip(f"{type(self).__name__}.supports_block_size is False")
        client = make_spec_client(block_size=block_size)
        response = client.get("big.png")
        assert response.body == client.tree.read("big.png")
        if response.file_wrapper is not None:
            assert response.file_wrapper.blksize <= block_size
        sizes = [len(chunk) for chunk in response.chunks]
        assert max(sizes) <= block_size, f"blocks of {max(sizes)} bytes exceed {block_size}"
        assert len(sizes) >= BIG_SIZE // block_size

    @spec_rule("6.2")
    def test_file_closed_after_body(self, spec_client: SpecClient) -> None:
        name, path = _fresh_file(spec_client.tree, os.urandom(100_000))
        left_open: list[str] = []
        with _no_unclosed_files():
            response = spec_client.get(
                name, after_close=lambda: left_open.extend(_open_fds_to(path))
            )
            assert response.body == path.read_bytes()
        assert not left_open, "the file is closed once the body has been sent"

    @spec_rule("6.2")
    def test_file_closed_when_response_closed_early(self, spec_client: SpecClient) -> None:
        name, path = _fresh_file(spec_client.tree, os.urandom(BIG_SIZE))
        left_open: list[str] = []
        with _no_unclosed_files():
            response = spec_client.get(
                name, close_after=1, after_close=lambda: left_open.extend(_open_fds_to(path))
            )
            assert response.status == 200
        assert not left_open, "the file is closed when the response is closed early"

    @spec_rule("6.2")
    @pytest.mark.parametrize(
        "case", _kinds("200-head", "304", "304-head", "404-escape", "405", "412")
    )
    def test_no_file_left_open(self, spec_client: SpecClient, case: _Case) -> None:
        tree = spec_client.tree
        left_open: list[str] = []
        targets = (tree.root / "a.png", *tree.secret_paths)
        with _no_unclosed_files():
            headers = [(k, _fill(v, tree)) for k, v in case.headers]
            response = spec_client.request(
                case.method,
                case.rest,
                headers,
                after_close=lambda: left_open.extend(_open_fds_to(*targets)),
            )
        _needs(response, case.status)
        assert not left_open, f"a {case.status} to {case.method} leaves no file open"


def _decoded(path: str, transport: str) -> bytes:
    """The bytes the fallback echoes for ``path`` (decoded once, as the server does)."""
    if transport == "asgi":
        return unquote(path).encode("utf-8", "surrogateescape")
    return unquote_to_bytes(path)
