"""The serving suite: SPEC §1-6, 9 and 10 for any WSGI or ASGI image server.

Subclass :class:`ServingSuite` in a test module and override the ``make_server``
fixture::

    class TestMyAdapter(ServingSuite):
        @pytest.fixture
        def make_server(self):
            def factory(app, url_path, dir_path, *, cors=False, block_size=None, **options):
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
import shutil
import threading
import time
import tracemalloc
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
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
from ._tree import (
    A_PNG,
    APPENDIX_A,
    BIG_SIZE,
    LARGE_SIZE,
    RANGE_DATA,
    RANGE_SIZE,
    SAFE_NAMES,
    SpecTree,
    build_tree,
    etag_of,
)

__all__ = ["SERVER_OPTIONS", "ServerFactory", "ServingSuite", "SpecClient"]

#: ``factory(app, url_path, dir_path, *, cors=False, block_size=..., **options)``
#: returns the server under test wrapping ``app``; ``block_size`` and each of the
#: :data:`SERVER_OPTIONS` are passed only by the tests that need them.
ServerFactory = Callable[..., Any]

#: The keyword options of SPEC 2.7, 3.8 and 3.11 the suite may pass to the factory.
SERVER_OPTIONS: Final = frozenset(
    {"follow_symlinks", "svg_as_attachment", "cache_control", "versioned_cache_control"}
)
Transport = Literal["wsgi", "wsgi+file_wrapper", "asgi"]

spec_rule = pytest.mark.spec_rule

NOSNIFF: Final = "nosniff"
SVG_CSP: Final = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
SHORT_BODY: Final = 1024
#: A header value of any size is answered in well under this many seconds.
TIME_LIMIT: Final = 1.0
FIFO_TIMEOUT: Final = 5.0

# SPEC 1.2, 2.6, 3.8, 5.2-5.4: exact header values.
ALLOW: Final = "GET, HEAD"
ALLOW_WITH_CORS: Final = "GET, HEAD, OPTIONS"
NO_STORE: Final = "no-store"
DEFAULT_CACHE: Final = "public, max-age=60"
VERSIONED_CACHE: Final = "public, max-age=31536000, immutable"
#: The version locate() appends (SPEC 3.8, 8.5): ``%Y%m%d%H%M%S%f``, 20 digits.
VERSION_QUERY: Final = "_ts=20240102030405123456"
EXPOSE: Final = "Accept-Ranges, Content-Length, Content-Range, ETag"
PREFLIGHT: Final = (
    ("Access-Control-Allow-Origin", "*"),
    ("Access-Control-Allow-Methods", "GET, HEAD"),
    (
        "Access-Control-Allow-Headers",
        "If-Match, If-Modified-Since, If-None-Match, If-Range, If-Unmodified-Since, Range",
    ),
    ("Access-Control-Max-Age", "86400"),
)
OTHER_ORIGIN: Final = "https://other.example"

# SPEC 9.6: the multipart/byteranges media type and a part's Content-Range.
MULTIPART_TYPE: Final = re.compile(r"\Amultipart/byteranges; boundary=([0-9A-Fa-f]{32})\Z")
PART_RANGE: Final = re.compile(r"\Abytes ([0-9]{1,18})-([0-9]{1,18})/([0-9]{1,18})\Z")

# SPEC 10.4: distinct missing paths asked for, after a warm-up, and the growth allowed.
MEMORY_WARMUP: Final = 2_000
MEMORY_REQUESTS: Final = 10_000
MEMORY_BOUND: Final = 64 * 1024

# a.png was modified at 2020-01-01T00:00:00.123456789Z.
LM: Final = "Wed, 01 Jan 2020 00:00:00 GMT"
LATER: Final = "Thu, 02 Jan 2020 00:00:00 GMT"
# SPEC 10.5: how long after the root is replaced the new one must be served (a second, and
# room for a loaded machine).
ROOT_RECHECK_BOUND: Final = 1.5
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
    "200-head-range": _case("HEAD", "a.png", 200, Range="bytes=0-9"),
    "206": _case("GET", "a.png", 206, Range="bytes=0-9"),
    "206-multi": _case("GET", "a.png", 206, Range="bytes=0-9,500-509"),
    "304": _case("GET", "a.png", 304, If_None_Match="{etag}"),
    "304-head": _case("HEAD", "a.png", 304, If_None_Match="{etag}"),
    "404": _case("GET", "missing.png", 404),
    "404-head": _case("HEAD", "missing.png", 404),
    "404-dir": _case("GET", "sub", 404),
    "404-escape": _case("GET", "out.png", 404),
    "405": _case("POST", "a.png", 405),
    "405-options": _case("OPTIONS", "a.png", 405),
    "412": _case("GET", "a.png", 412, If_Match='"nope"'),
    "412-head": _case("HEAD", "a.png", 412, If_Match='"nope"'),
    "416": _case("GET", "a.png", 416, Range="bytes=5000-"),
}
FILE_RESPONSES: Final = (
    "200",
    "200-head",
    "200-empty",
    "200-svg",
    "200-head-range",
    "206",
    "206-multi",
    "304",
    "304-head",
)

#: Requests answered only with CORS on (SPEC 5.3, 5.4), and a 405 with CORS on.
CORS_KINDS: Final = {
    "preflight": _case(
        "OPTIONS", "a.png", 204, Origin=OTHER_ORIGIN, Access_Control_Request_Method="GET"
    ),
    "preflight-missing": _case(
        "OPTIONS", "missing.png", 204, Origin="null", Access_Control_Request_Method="GET"
    ),
    "options": _case("OPTIONS", "a.png", 204),
    "405-cors": _case("POST", "a.png", 405),
}


def _kinds(*names: str) -> list[Any]:
    chosen = names or tuple(EVERY_KIND)
    return [pytest.param(EVERY_KIND[name], id=name) for name in chosen]


def _cors_kinds() -> list[Any]:
    return [pytest.param(case, id=name) for name, case in CORS_KINDS.items()]


def _with_query(case: _Case, query: str) -> _Case:
    return _Case(case.method, f"{case.rest}?{query}", case.headers, case.status)


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


# SPEC §9, on range.png (RANGE_SIZE bytes that never repeat): (id, Range, first, last)
# of the one range a 206 must send.
_N: Final = RANGE_SIZE
ONE_RANGE: Final = [
    ("first-byte", "bytes=0-0", 0, 0),
    ("first-ten", "bytes=0-9", 0, 9),
    ("middle", "bytes=1000-1999", 1000, 1999),
    ("last-byte", f"bytes={_N - 1}-{_N - 1}", _N - 1, _N - 1),
    ("open", "bytes=5000-", 5000, _N - 1),
    ("open-last-byte", f"bytes={_N - 1}-", _N - 1, _N - 1),
    ("open-whole", "bytes=0-", 0, _N - 1),
    ("suffix", "bytes=-10", _N - 10, _N - 1),
    ("suffix-one", "bytes=-1", _N - 1, _N - 1),
]
RANGE_EDGES: Final = [
    ("suffix-whole", f"bytes=-{_N}", 0, _N - 1),
    ("suffix-longer", f"bytes=-{_N + 1}", 0, _N - 1),
    ("suffix-much-longer", f"bytes=-{_N * 1000}", 0, _N - 1),
    ("last-at-end", f"bytes=9000-{_N}", 9000, _N - 1),
    ("last-past-end", f"bytes=9000-{_N * 1000}", 9000, _N - 1),
    ("whole-past-end", f"bytes=0-{_N * 1000}", 0, _N - 1),
    ("unsatisfiable-one-dropped", f"bytes=0-9, {_N}-", 0, 9),
    ("unsatisfiable-first", f"bytes={_N}-{_N + 10},100-109", 100, 109),
    ("suffix-zero-dropped", "bytes=-0, 0-9", 0, 9),
]
RANGE_GRAMMAR: Final = [
    ("unit-upper-case", "BYTES=0-9", 0, 9),
    ("unit-capitalised", "Bytes=0-9", 0, 9),
    ("unit-mixed-case", "bYtEs=0-9", 0, 9),
    ("trailing-comma", "bytes=0-9,", 0, 9),
    ("leading-comma", "bytes=,0-9", 0, 9),
    ("empty-elements", "bytes=,, 0-9 ,\t,", 0, 9),
    ("space-after-comma", "bytes=0-9, 5-20", 0, 20),
    ("space-before-comma", "bytes=0-9 ,5-20", 0, 20),
    ("tabs-around-comma", "bytes=0-9\t,\t5-20", 0, 20),
    ("32-commas", "bytes=0-9" + "," * 32, 0, 9),
]
RANGES_COALESCED: Final = [
    ("duplicate", "bytes=0-9,0-9", 0, 9),
    ("overlapping", "bytes=0-99,50-149", 0, 149),
    ("contained", "bytes=0-999,100-199", 0, 999),
    ("adjacent", "bytes=0-99,100-199", 0, 199),
    ("gap-of-1", "bytes=0-99,101-199", 0, 199),
    ("gap-of-79", "bytes=0-99,179-299", 0, 299),
    ("unsorted", "bytes=100-199,0-99", 0, 199),
    ("chain", "bytes=300-399,0-99,150-249,100-149,250-299", 0, 399),
    ("suffix-meets-first", f"bytes=-{_N // 2},0-{_N // 2 - 1}", 0, _N - 1),
    ("open-meets-first", "bytes=5000-,0-4999", 0, _N - 1),
    ("suffix-overlaps-open", "bytes=9000-,-500", 9000, _N - 1),
    ("sixteen-adjacent", "bytes=" + ",".join(f"{i}-{i}" for i in range(16)), 0, 15),
]
#: (id, Range, ranges) of range.png that make a multipart/byteranges.
MANY_RANGES: Final = [
    ("two", "bytes=0-9,5000-5009", [(0, 9), (5000, 5009)]),
    ("unsorted", "bytes=5000-5009,0-9", [(0, 9), (5000, 5009)]),
    ("gap-of-80", "bytes=0-99,180-299", [(0, 99), (180, 299)]),
    ("first-and-suffix", "bytes=-10,0-9", [(0, 9), (_N - 10, _N - 1)]),
    ("first-and-open", "bytes=0-0,9000-", [(0, 0), (9000, _N - 1)]),
    ("last-clamped", f"bytes=0-9,9990-{_N * 10}", [(0, 9), (9990, _N - 1)]),
    ("one-unsatisfiable", f"bytes=0-9,5000-5009,{_N}-", [(0, 9), (5000, 5009)]),
    (
        "some-coalesced",
        "bytes=200-299,0-99,250-400,1000-1099",
        [(0, 99), (200, 400), (1000, 1099)],
    ),
    ("unit-upper-case", "BYTES=0-9, 5000-5009", [(0, 9), (5000, 5009)]),
    (
        "sixteen",
        "bytes=" + ",".join(f"{i * 600}-{i * 600 + 9}" for i in range(16)),
        [(i * 600, i * 600 + 9) for i in range(16)],
    ),
]
#: (id, Range) that no byte of range.png satisfies: 416.
UNSATISFIABLE_RANGES: Final = [
    ("first-at-end", f"bytes={_N}-"),
    ("first-at-end-closed", f"bytes={_N}-{_N + 5}"),
    ("far-past-end", f"bytes={_N * 2}-{_N * 3}"),
    ("suffix-zero", "bytes=-0"),
    ("all-unsatisfiable", f"bytes={_N}-, -0, {_N * 2}-{_N * 2 + 1}"),
    ("unit-upper-case", f"BYTES={_N}-"),
    ("18-digit-first", "bytes=" + "9" * 18 + "-"),
    ("19-digit-first", "bytes=1" + "0" * 18 + "-"),
    ("5000-digit-first", "bytes=" + "9" * 5000 + "-"),
]
#: (id, Range) that is ill-formed, of another unit or too long: the full 200.
IGNORED_RANGES: Final = [
    ("other-unit", "items=0-9"),
    ("unit-prefix", "bytesx=0-9"),
    ("unit-only", "bytes"),
    ("no-equals", "bytes 0-9"),
    ("space-before-equals", "bytes =0-9"),
    ("first-after-last", "bytes=5-2"),
    ("letters", "bytes=abc"),
    ("empty-list", "bytes="),
    ("only-commas", "bytes=,,"),
    ("no-dash", "bytes=10"),
    ("dash-only", "bytes=-"),
    ("double-dash", "bytes=--5"),
    ("negative-last", "bytes=0--5"),
    ("three-numbers", "bytes=0-5-9"),
    ("plus-sign", "bytes=+0-9"),
    ("hex", "bytes=0x0-0x9"),
    ("decimal-point", "bytes=0.5-9"),
    ("space-inside", "bytes=0 -9"),
    ("superscript-digit", "bytes=\u00b2-9"),
    ("semicolon", "bytes=0-9;x=1"),
    ("one-bad-spoils-all", "bytes=0-9,abc"),
    ("one-backwards-spoils-all", "bytes=0-9,5-2"),
    ("one-unsatisfiable-bad", f"bytes={_N}-,abc"),
    ("17-ranges", "bytes=" + ",".join(f"{i * 500}-{i * 500}" for i in range(17))),
    ("17-unsatisfiable", "bytes=" + ",".join([f"{_N}-"] * 17)),
    ("17-adjacent", "bytes=" + ",".join(f"{i}-{i}" for i in range(17))),
    ("33-commas", "bytes=0-9" + "," * 33),
]
#: (id, If-Range, Range, outcome) on a.png: "206" one range, "multi", "416", or "200".
IF_RANGE: Final = [
    ("strong-match", "{etag}", "bytes=0-9", "206"),
    ("strong-match-several", "{etag}", "bytes=0-9,500-509", "multi"),
    ("strong-match-unsatisfiable", "{etag}", "bytes=5000-", "416"),
    ("other-tag", '"other"', "bytes=0-9", "200"),
    ("other-tag-unsatisfiable", '"other"', "bytes=5000-", "200"),
    ("weak-match", "W/{etag}", "bytes=0-9", "200"),
    ("unquoted", "{etag_inner}", "bytes=0-9", "200"),
    ("unterminated", '"{etag_inner}', "bytes=0-9", "200"),
    ("list", '"other", {etag}', "bytes=0-9", "200"),
    ("star", "*", "bytes=0-9", "200"),
    ("exact-date", LM, "bytes=0-9", "206"),
    ("exact-date-unsatisfiable", LM, "bytes=5000-", "416"),
    ("later-date", LATER, "bytes=0-9", "200"),
    ("earlier-date", EARLIER, "bytes=0-9", "200"),
    ("garbage", "not a validator", "bytes=0-9", "200"),
    ("impossible-date", "Wed, 32 Foo 2020 99:99:99 GMT", "bytes=0-9", "200"),
    ("empty", "", "bytes=0-9", "200"),
    ("match-ill-formed-range", "{etag}", "bytes=abc", "200"),
]
#: (id, headers, status): preconditions are evaluated before Range (SPEC 9.1).
PRECONDITIONS_BEFORE_RANGE: Final = [
    ("inm-304", {"If-None-Match": "{etag}"}, "bytes=0-9", 304),
    ("inm-star-304", {"If-None-Match": "*"}, "bytes=0-9", 304),
    ("inm-304-unsatisfiable", {"If-None-Match": "{etag}"}, "bytes=5000-", 304),
    ("inm-304-if-range", {"If-None-Match": "{etag}", "If-Range": "{etag}"}, "bytes=0-9", 304),
    ("ims-304", {"If-Modified-Since": LATER}, "bytes=0-9", 304),
    ("if-match-412", {"If-Match": '"nope"'}, "bytes=0-9", 412),
    ("if-match-412-unsatisfiable", {"If-Match": '"nope"'}, "bytes=5000-", 412),
    ("ius-412", {"If-Unmodified-Since": EARLIER}, "bytes=0-9", 412),
    ("if-match-passes", {"If-Match": "{etag}"}, "bytes=0-9", 206),
    ("inm-passes", {"If-None-Match": '"nope"'}, "bytes=0-9", 206),
    ("ims-passes", {"If-Modified-Since": EARLIER}, "bytes=0-9", 206),
    ("ius-passes", {"If-Unmodified-Since": LATER}, "bytes=0-9", 206),
    ("if-match-passes-unsatisfiable", {"If-Match": "*"}, "bytes=5000-", 416),
]
#: (id, request headers, status, Content-Range): huge Range or If-Range values (SPEC 9.3).
GIANT_RANGES: Final[list[tuple[str, list[tuple[str, str | bytes]], int, str | None]]] = [
    ("100k-of-ranges", [("Range", "bytes=" + "0-0," * 25_000)], 200, None),
    ("100k-commas", [("Range", "bytes=0-9" + "," * 100_000)], 200, None),
    ("100k-spaces", [("Range", "bytes=0-9" + " " * 100_000 + ",10-19")], 206, f"bytes 0-19/{_N}"),
    ("100k-digit-first", [("Range", "bytes=" + "1" * 100_000 + "-")], 416, f"bytes */{_N}"),
    ("100k-digit-last", [("Range", "bytes=0-" + "9" * 100_000)], 206, f"bytes 0-{_N - 1}/{_N}"),
    ("100k-digit-suffix", [("Range", "bytes=-" + "9" * 100_000)], 206, f"bytes 0-{_N - 1}/{_N}"),
    (
        "16-ranges-of-6000-digits",
        [("Range", "bytes=" + ",".join(["1-" + "9" * 6000] * 16))],
        206,
        f"bytes 1-{_N - 1}/{_N}",
    ),
    ("100k-dashes", [("Range", "bytes=" + "-" * 100_000)], 200, None),
    ("100k-letters", [("Range", "bytes=" + "a" * 100_000)], 200, None),
    ("100k-unit", [("Range", "b" * 100_000 + "=0-9")], 200, None),
    ("100k-equals", [("Range", "bytes" + "=" * 100_000)], 200, None),
    ("100k-high-bytes", [("Range", b"bytes=" + bytes(range(0x80, 0x100)) * 800)], 200, None),
    ("100k-if-range-quotes", [("Range", "bytes=0-9"), ("If-Range", '"' * 100_000)], 200, None),
    ("100k-if-range-dates", [("Range", "bytes=0-9"), ("If-Range", "Wed, " * 20_000)], 200, None),
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


def _write_file(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _fresh_file(tree: SpecTree, data: bytes, suffix: str = ".png") -> tuple[str, Path]:
    name = f"fresh-{secrets.token_hex(6)}{suffix}"
    path = tree.root / name
    path.write_bytes(data)
    return name, path


def _skip_unless_made(tree: SpecTree, rest: str) -> None:
    """Skip when the link or bait behind ``rest`` (or its first segment) is missing."""
    _bait(tree, rest)
    _bait(tree, rest.partition("/")[0])


def _assert_text_error(response: Response) -> None:
    """A short fixed text body, as a 404's (SPEC 2.6, 4.5, 9.4)."""
    assert _normalised(response.header("Content-Type")) == "text/plain;charset=utf-8"
    assert response.header_values("Content-Length") == [str(len(response.body))]
    assert 0 < len(response.body) <= SHORT_BODY, "the body is short"


def _assert_full(response: Response, data: bytes) -> None:
    """The full 200 of a GET for a file holding ``data``: the Range was ignored."""
    assert response.status == 200, f"the full 200, not {response.status}"
    assert "content-range" not in response.header_names(), "a full 200 has no Content-Range"
    assert response.header_values("Content-Length") == [str(len(data))]
    assert response.body == data, "the body is the whole file"


def _assert_one_range(response: Response, data: bytes, first: int, last: int) -> None:
    """A 206 of bytes ``first``-``last`` of a file holding ``data`` (SPEC 9.5)."""
    assert response.status == 206, f"bytes {first}-{last} must be a 206, got {response.status}"
    assert response.header_values("Content-Range") == [f"bytes {first}-{last}/{len(data)}"]
    assert response.header_values("Content-Length") == [str(last - first + 1)]
    assert len(response.body) == last - first + 1, "Content-Length is the body's length"
    assert response.body == data[first : last + 1], "the body is exactly those bytes"


def _assert_416(response: Response, size: int) -> None:
    assert response.status == 416, f"no satisfiable range must be a 416, got {response.status}"
    assert response.header_values("Content-Range") == [f"bytes */{size}"]
    _assert_text_error(response)


def _parse_multipart(response: Response) -> tuple[str, list[tuple[str, str, bytes]]]:
    """Parse a body laid out as SPEC 9.6 says, strictly; return the boundary and the
    parts as (Content-Type, Content-Range, bytes)."""
    content_type = response.header("Content-Type") or ""
    match = MULTIPART_TYPE.match(content_type)
    assert match, (
        f"Content-Type must be 'multipart/byteranges; boundary=<32 hex digits>', "
        f"got {content_type!r}"
    )
    boundary = match.group(1)
    body = response.body
    delimiter = f"--{boundary}".encode("ascii")
    parts: list[tuple[str, str, bytes]] = []
    position = 0
    while True:
        assert body.startswith(delimiter, position), f"expected --{boundary} at byte {position}"
        position += len(delimiter)
        if body.startswith(b"--\r\n", position):
            position += 4
            break
        assert body.startswith(b"\r\n", position), "the delimiter line ends with CRLF"
        position += 2
        end = body.find(b"\r\n\r\n", position)
        assert end >= 0, "a part's header fields end with an empty line"
        fields: dict[str, str] = {}
        for line in body[position:end].split(b"\r\n"):
            name, colon, value = line.decode("latin-1").partition(":")
            assert colon, f"a part's header line must be 'Name: value', got {line!r}"
            assert name.lower() not in fields, f"a part carries {name} twice"
            fields[name.lower()] = value.strip(" \t")
        assert sorted(fields) == ["content-range", "content-type"], (
            f"a part carries Content-Type and Content-Range, got {sorted(fields)}"
        )
        position = end + 4
        part_range = PART_RANGE.match(fields["content-range"])
        assert part_range, f"a part's Content-Range is {fields['content-range']!r}"
        length = int(part_range.group(2)) - int(part_range.group(1)) + 1
        assert length > 0, f"a part's Content-Range is {fields['content-range']!r}"
        data = body[position : position + length]
        assert len(data) == length, "a part holds the bytes its Content-Range names"
        position += length
        assert body.startswith(b"\r\n", position), "a part's bytes are followed by CRLF"
        position += 2
        parts.append((fields["content-type"], fields["content-range"], data))
    assert position == len(body), "nothing follows the closing delimiter --B-- CRLF"
    return boundary, parts


def _assert_multipart(
    response: Response, data: bytes, ranges: Sequence[tuple[int, int]], media_type: str
) -> str:
    """A 206 multipart/byteranges of ``ranges`` of ``data`` (SPEC 9.6); return the boundary."""
    assert response.status == 206, f"{len(ranges)} ranges must be a 206, got {response.status}"
    assert "content-range" not in response.header_names(), "no top-level Content-Range"
    assert response.header_values("Content-Length") == [str(len(response.body))]
    boundary, parts = _parse_multipart(response)
    size = len(data)
    assert [(kind, where) for kind, where, _ in parts] == [
        (media_type, f"bytes {first}-{last}/{size}") for first, last in ranges
    ], "the parts are the sorted, coalesced ranges"
    for (first, last), (_, _, got) in zip(ranges, parts, strict=True):
        assert got == data[first : last + 1], f"part bytes {first}-{last} holds those bytes"
    assert len(response.body) == _multipart_length(ranges, size, media_type)
    return boundary


def _multipart_length(ranges: Sequence[tuple[int, int]], size: int, media_type: str) -> int:
    """The length of the multipart/byteranges body SPEC 9.6 lays out for ``ranges``."""
    boundary = "0" * 32
    length = len(f"--{boundary}--\r\n")
    for first, last in ranges:
        head = (
            f"--{boundary}\r\nContent-Type: {media_type}\r\n"
            f"Content-Range: bytes {first}-{last}/{size}\r\n\r\n"
        )
        length += len(head) + (last - first + 1) + 2
    return length


def _statuses(client: SpecClient, rests: Iterable[str]) -> set[int]:
    """GET each of ``rests``, keeping only the statuses: one event loop for ASGI."""
    if client.transport == "asgi":

        async def run() -> set[int]:
            seen: set[int] = set()
            for rest in rests:
                response = await acall_asgi(client.app, "GET", client.target(rest))
                seen.add(response.status)
            return seen

        return asyncio.run(run())
    return {client.get(rest).status for rest in rests}


class ServingSuite(Suite):
    """Conformance tests of SPEC §1-6, 9 and 10 for an image server.

    Override the ``make_server`` fixture.  Class attributes:

    ``protocol``
        ``"wsgi"`` (the default; every test runs with and without
        ``wsgi.file_wrapper``) or ``"asgi"``.
    ``mount``
        The ``url_path`` passed to the factory; default ``"/__images__"``.
    ``supports_cors``
        False when the factory has no working ``cors=True``: the tests of SPEC 5.2-5.4
        (and of the other rules checked with CORS on) then skip.
    ``supports_block_size``
        False when the factory takes no ``block_size``: SPEC 6.1's block check skips.
    ``supported_options``
        The keyword options of :data:`SERVER_OPTIONS` the factory takes
        (``follow_symlinks``, ``svg_as_attachment``, ``cache_control``,
        ``versioned_cache_control``); default all.  A test that needs another skips.
    """

    _spec_suite: ClassVar[bool] = True

    protocol: ClassVar[Literal["wsgi", "asgi"]] = "wsgi"
    mount: ClassVar[str] = "/__images__"
    supports_cors: ClassVar[bool] = True
    supports_block_size: ClassVar[bool] = True
    supported_options: ClassVar[frozenset[str]] = SERVER_OPTIONS

    # -- fixtures ------------------------------------------------------------------

    @pytest.fixture
    def make_server(self) -> ServerFactory:
        """Override: return ``factory(app, url_path, dir_path, *, cors=False, **kw)``.

        The factory wraps ``app`` (a WSGI or ASGI application, per ``protocol``) in
        the server under test, serving the directory ``dir_path`` (a ``str``) under
        the URL path ``url_path``.  When the suite checks block sizes it also passes
        ``block_size=<int>``, and the tests of SPEC 2.7, 3.8 and 3.11 pass the option
        they check (``follow_symlinks=False``, ``cache_control=...``, ...).
        """
        raise NotImplementedError(
            f"{type(self).__name__} must override the make_server fixture: "
            "return factory(app, url_path, dir_path, *, cors=False, block_size=..., **options)"
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
        """Return ``make(root=None, *, cors=False, block_size=None, **options) -> SpecClient``.

        Each of ``options`` (see :data:`SERVER_OPTIONS`) is passed to the factory as
        given; one not in ``supported_options`` skips the test, saying so.
        """

        def make(
            root: Path | None = None,
            *,
            cors: bool = False,
            block_size: int | None = None,
            **options: Any,
        ) -> SpecClient:
            unsupported = sorted(set(options) - set(self.supported_options))
            if unsupported:
                pytest.skip(
                    f"{type(self).__name__}.supported_options lacks {', '.join(unsupported)}"
                )
            fallback: Any = asgi_fallback() if spec_transport == "asgi" else wsgi_fallback()
            kwargs: dict[str, Any] = {"cors": cors}
            if block_size is not None:
                kwargs["block_size"] = block_size
            kwargs.update(options)
            directory = str(spec_tree.root if root is None else root)
            app = make_server(fallback, self.mount, directory, **kwargs)
            return SpecClient(app, spec_transport, self.mount, fallback, spec_tree)

        return make

    @pytest.fixture
    def spec_client(self, make_spec_client: Callable[..., SpecClient]) -> SpecClient:
        """A client of the server under test, CORS off, serving ``spec_tree``."""
        return make_spec_client()

    @pytest.fixture
    def cors_client(self, make_spec_client: Callable[..., SpecClient]) -> SpecClient:
        """A client of the server under test with CORS on; skips unless ``supports_cors``."""
        if not self.supports_cors:
            pytest.skip(f"{type(self).__name__}.supports_cors is False")
        return make_spec_client(cors=True)

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
        assert response.header_values("Allow") == [ALLOW], "405 must carry Allow: GET, HEAD"
        assert A_PNG not in response.body, "a 405 carries no byte of the file"
        assert not spec_client.fallback_requests

    @spec_rule("1.2")
    @pytest.mark.parametrize(
        "method",
        [
            *("POST", "PUT", "DELETE", "PATCH", "TRACE", "CONNECT", "PROPFIND"),
            *("BREW", "QUERY", "get", "head", "options", "Options"),
        ],
    )
    @pytest.mark.parametrize("rest", ["a.png", "missing.png", "%2e%2e/secret.png"])
    def test_other_method_is_405_with_cors(
        self, cors_client: SpecClient, method: str, rest: str
    ) -> None:
        response = cors_client.request(method, rest, {"Origin": OTHER_ORIGIN})
        assert response.status == 405, f"{method} under the mount must be 405 with CORS on too"
        assert response.header_values("Allow") == [ALLOW_WITH_CORS], (
            "with CORS on, a 405 carries Allow: GET, HEAD, OPTIONS"
        )
        assert A_PNG not in response.body, "a 405 carries no byte of the file"
        _secret_free(cors_client.tree, response)
        assert not cors_client.fallback_requests

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
            pytest.param(_case("GET", f"a.png?{VERSION_QUERY}", 0), id="versioned"),
            pytest.param(_case("GET", f"missing.png?{VERSION_QUERY}", 0), id="404-versioned"),
        ],
    )
    def test_head_matches_get(self, spec_client: SpecClient, case: _Case) -> None:
        get = case.send(spec_client)
        head = _Case("HEAD", case.rest, case.headers, 0).send(spec_client)
        assert head.status == get.status, "HEAD must have the status of GET"
        assert _comparable(head) == _comparable(get), "HEAD must have the headers of GET"
        assert head.body == b"", "a response to HEAD has no body"

    @spec_rule("1.3", "9.1")
    @pytest.mark.parametrize(
        ("rest", "headers"),
        [
            ("a.png", {"Range": "bytes=0-9"}),
            ("a.png", {"Range": "bytes=0-"}),
            ("a.png", {"Range": "bytes=-10"}),
            ("a.png", {"Range": "bytes=0-9,500-509"}),
            ("a.png", {"Range": "bytes=5000-"}),
            ("a.png", {"Range": "bytes=abc"}),
            ("a.png", {"Range": "bytes=0-9", "If-Range": "{etag}"}),
            ("a.png", {"Range": "bytes=0-9", "If-Range": '"other"'}),
            ("empty.png", {"Range": "bytes=0-0"}),
            ("vec.svg", {"Range": "bytes=0-9"}),
            ("range.png", {"Range": "bytes=0-9,5000-5009"}),
        ],
        ids=[
            "one",
            "open",
            "suffix",
            "several",
            "unsatisfiable",
            "ill-formed",
            "if-range-match",
            "if-range-other",
            "empty-file",
            "svg",
            "range-file",
        ],
    )
    def test_head_ignores_range(
        self, spec_client: SpecClient, rest: str, headers: dict[str, str]
    ) -> None:
        tree = spec_client.tree
        plain = spec_client.head(rest)
        assert plain.status == 200
        response = spec_client.head(rest, {k: _fill(v, tree) for k, v in headers.items()})
        assert response.status == 200, "a HEAD with Range gets the full 200's status"
        assert _comparable(response) == _comparable(plain), "and the full 200's headers"
        assert "content-range" not in response.header_names()
        assert response.header_values("Content-Length") == [str(len(tree.read(rest)))]
        assert response.body == b""

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
    @pytest.mark.parametrize(
        "rest", ["sub", "indir", "%2e%2e", "Aux", "sock.png", "dev.png", "C:"]
    )
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
            ("GET", "missing-{token}.png?" + VERSION_QUERY, 404),
            ("POST", "a.png?{token}", 405),
            ("DELETE", "{token}.png", 405),
            ("OPTIONS", "{token}.png", 405),
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
            assert response.header_values("Cache-Control") == [NO_STORE], (
                f"a {status} carries Cache-Control: no-store"
            )
            bodies.add(response.body)
        assert len(bodies) == 1, "the body is fixed"

    @spec_rule("2.6")
    @pytest.mark.parametrize(
        ("method", "rest", "status"),
        [
            ("GET", "missing.png", 404),
            ("HEAD", "missing.png", 404),
            ("GET", "sub", 404),
            ("GET", "out.png", 404),
            ("GET", "%2e%2e/secret.png", 404),
            ("GET", f"missing.png?{VERSION_QUERY}", 404),
            ("HEAD", f"missing.png?{VERSION_QUERY}", 404),
            ("POST", "a.png", 405),
            ("POST", f"a.png?{VERSION_QUERY}", 405),
            ("PUT", "missing.png", 405),
        ],
    )
    @pytest.mark.parametrize(
        "options",
        [
            {},
            {"cache_control": "public, max-age=600"},
            {"versioned_cache_control": "public, max-age=600", "cache_control": None},
        ],
        ids=["default", "cache-control", "versioned-cache-control"],
    )
    def test_error_is_no_store_whatever_the_policy(
        self,
        make_spec_client: Callable[..., SpecClient],
        method: str,
        rest: str,
        status: int,
        options: dict[str, Any],
    ) -> None:
        for cors in (False, True):
            if cors and not self.supports_cors:
                continue
            client = make_spec_client(cors=cors, **options)
            response = client.request(method, rest)
            assert response.status == status
            assert response.header_values("Cache-Control") == [NO_STORE], (
                f"a {status} carries Cache-Control: no-store, never the file policy"
            )
            assert "expires" not in response.header_names()

    @spec_rule("2.7")
    @pytest.mark.parametrize(
        "rest",
        [
            "in.png",
            "indir/b.png",
            "sub/up.png",
            "indir/out.png",
            "sub/out.png",
            "out.png",
            "outdir/secret.png",
            "prefix.png",
            "loop.png",
            "dangling.png",
        ],
    )
    @pytest.mark.parametrize(
        "headers",
        [{}, {"If-None-Match": "*"}, {"Range": "bytes=0-0"}],
        ids=["plain", "inm-star", "range"],
    )
    @pytest.mark.parametrize("method", ["GET", "HEAD"])
    def test_no_follow_symlinks_refuses_links(
        self,
        make_spec_client: Callable[..., SpecClient],
        method: str,
        rest: str,
        headers: dict[str, str],
    ) -> None:
        client = make_spec_client(follow_symlinks=False)
        tree = client.tree
        _skip_unless_made(tree, rest)
        response = client.request(method, rest, headers)
        assert response.status == 404, f"{rest} passes through a link: 404 without following"
        _secret_free(tree, response)
        if method == "GET":
            assert A_PNG not in response.body
            assert tree.read("sub/b.png") not in response.body

    @spec_rule("2.7")
    @pytest.mark.parametrize(
        "rest", ["a.png", "sub/b.png", "empty.png", "vec.svg", "big.png", "n" * 251 + ".png"]
    )
    def test_no_follow_symlinks_serves_regular_files(
        self, make_spec_client: Callable[..., SpecClient], rest: str
    ) -> None:
        client = make_spec_client(follow_symlinks=False)
        _bait(client.tree, rest)
        response = client.get(rest)
        assert response.status == 200, f"{rest} is a regular file and passes through no link"
        assert response.body == client.tree.read(rest)
        head = client.head(rest)
        assert head.status == 200

    @spec_rule("2.7")
    def test_no_follow_symlinks_root_behind_a_link(
        self, make_spec_client: Callable[..., SpecClient]
    ) -> None:
        client = make_spec_client(follow_symlinks=False)
        tree = client.tree
        _bait(tree, "linked-root")
        client = make_spec_client(tree.base / "linked-root", follow_symlinks=False)
        response = client.get("a.png")
        assert response.status == 200, "the root itself may be reached through a link"
        assert response.body == A_PNG
        assert client.get("sub/b.png").status == 200
        for rest in ("in.png", "indir/b.png", "sub/up.png", "out.png"):
            _skip_unless_made(tree, rest)
            assert client.get(rest).status == 404, f"{rest} passes through a link below the root"

    @spec_rule("2.7", "10.3")
    def test_no_follow_symlinks_file_replaced_by_a_link(
        self, make_spec_client: Callable[..., SpecClient]
    ) -> None:
        client = make_spec_client(follow_symlinks=False)
        tree = client.tree
        name, path = _fresh_file(tree, b"a regular file, then a link")
        etag = tree.etag(name)
        assert client.get(name).status == 200
        assert client.head(name).status == 200
        assert client.get(name, {"If-None-Match": etag}).status == 304
        link = path.with_name(name + ".link")
        try:
            os.symlink("a.png", link)
        except (OSError, NotImplementedError) as exc:
            pytest.skip(f"cannot create a symbolic link here: {exc}")
        os.replace(link, path)
        for method, headers in (
            ("GET", {}),
            ("HEAD", {}),
            ("GET", {"If-None-Match": etag}),
            ("GET", {"If-None-Match": tree.etag("a.png")}),
            ("GET", {"Range": "bytes=0-0"}),
        ):
            response = client.request(method, name, headers)
            assert response.status == 404, (
                f"{method} {headers}: the file is now a link, refused without following"
            )
            assert A_PNG not in response.body

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

    @spec_rule("3.5")
    @pytest.mark.parametrize("case", _cors_kinds())
    def test_nosniff_with_cors_on(self, cors_client: SpecClient, case: _Case) -> None:
        response = case.send(cors_client)
        _needs(response, case.status)
        assert response.header_values("X-Content-Type-Options") == [NOSNIFF]

    @spec_rule("3.8")
    @pytest.mark.parametrize("case", _kinds(*FILE_RESPONSES))
    def test_default_cache_control(self, spec_client: SpecClient, case: _Case) -> None:
        response = case.send(spec_client)
        _needs(response, case.status)
        assert response.header_values("Cache-Control") == [DEFAULT_CACHE]
        assert "expires" not in response.header_names(), "Expires is never sent"

    @spec_rule("3.8")
    @pytest.mark.parametrize("case", _kinds(*FILE_RESPONSES))
    @pytest.mark.parametrize(
        "query",
        [
            VERSION_QUERY,
            f"a=1&{VERSION_QUERY}",
            f"{VERSION_QUERY}&b=2",
            f"a=1&{VERSION_QUERY}&b=2",
            "_ts=00000000000000000000",
            "_ts=99999999999999999999",
        ],
        ids=["alone", "last", "first", "middle", "zeros", "nines"],
    )
    def test_versioned_url_is_immutable(
        self, spec_client: SpecClient, case: _Case, query: str
    ) -> None:
        response = _with_query(case, query).send(spec_client)
        _needs(response, case.status)
        assert response.header_values("Cache-Control") == [VERSIONED_CACHE], (
            f"?{query} names one version of the image for ever"
        )
        assert "expires" not in response.header_names(), "Expires is never sent"

    @spec_rule("3.8")
    @pytest.mark.parametrize(
        "query",
        [
            "",
            "_ts=1",
            "_ts=2024010203040512345",
            "_ts=202401020304051234567",
            "_ts=2024010203040512345x",
            "_ts=-2024010203040512345",
            "_ts=+2024010203040512345",
            "_ts=2024010203040512345%20",
            "_ts=",
            "_ts",
            "x_ts=20240102030405123456",
            "ts=20240102030405123456",
            "_TS=20240102030405123456",
            "a=_ts=20240102030405123456",
            "_ts_=20240102030405123456",
        ],
        ids=[
            "empty",
            "short",
            "19-digits",
            "21-digits",
            "letter",
            "minus",
            "plus",
            "trailing-space",
            "no-value",
            "no-equals",
            "prefixed-name",
            "other-name",
            "upper-case-name",
            "in-a-value",
            "suffixed-name",
        ],
    )
    @pytest.mark.parametrize("case", _kinds("200", "200-head", "206", "304"))
    def test_unversioned_query_gets_the_default(
        self, spec_client: SpecClient, case: _Case, query: str
    ) -> None:
        response = _with_query(case, query).send(spec_client)
        _needs(response, case.status)
        assert response.header_values("Cache-Control") == [DEFAULT_CACHE], (
            f"?{query} carries no version of 20 digits"
        )

    @spec_rule("3.8")
    @pytest.mark.parametrize(
        ("options", "query", "expected"),
        [
            ({"cache_control": "private, max-age=5"}, "", ["private, max-age=5"]),
            ({"cache_control": "private, max-age=5"}, VERSION_QUERY, [VERSIONED_CACHE]),
            ({"versioned_cache_control": "public, max-age=86400"}, "", [DEFAULT_CACHE]),
            (
                {"versioned_cache_control": "public, max-age=86400"},
                VERSION_QUERY,
                ["public, max-age=86400"],
            ),
            ({"cache_control": None}, "", []),
            ({"cache_control": None}, VERSION_QUERY, [VERSIONED_CACHE]),
            ({"versioned_cache_control": None}, "", [DEFAULT_CACHE]),
            ({"versioned_cache_control": None}, VERSION_QUERY, []),
            (
                {"cache_control": "no-cache", "versioned_cache_control": "max-age=7"},
                "",
                ["no-cache"],
            ),
            (
                {"cache_control": "no-cache", "versioned_cache_control": "max-age=7"},
                VERSION_QUERY,
                ["max-age=7"],
            ),
        ],
        ids=[
            "custom",
            "custom-versioned-untouched",
            "versioned-custom-default-untouched",
            "versioned-custom",
            "none",
            "none-versioned-untouched",
            "versioned-none-default-untouched",
            "versioned-none",
            "both",
            "both-versioned",
        ],
    )
    @pytest.mark.parametrize("case", _kinds("200", "200-head", "206", "206-multi", "304"))
    def test_cache_control_options(
        self,
        make_spec_client: Callable[..., SpecClient],
        case: _Case,
        options: dict[str, Any],
        query: str,
        expected: list[str],
    ) -> None:
        client = make_spec_client(**options)
        response = (_with_query(case, query) if query else case).send(client)
        _needs(response, case.status)
        assert response.header_values("Cache-Control") == expected
        assert "expires" not in response.header_names(), "Expires is never sent"

    @spec_rule("3.8")
    @pytest.mark.parametrize("case", _kinds())
    @pytest.mark.parametrize("query", ["", VERSION_QUERY], ids=["plain", "versioned"])
    def test_no_expires(self, spec_client: SpecClient, case: _Case, query: str) -> None:
        response = (_with_query(case, query) if query else case).send(spec_client)
        _needs(response, case.status)
        assert "expires" not in response.header_names(), "Expires is never sent"

    @spec_rule("3.9")
    @pytest.mark.parametrize("case", _kinds() + _cors_kinds())
    @pytest.mark.parametrize("cors", [False, True], ids=["cors-off", "cors-on"])
    def test_no_vary(
        self, make_spec_client: Callable[..., SpecClient], case: _Case, cors: bool
    ) -> None:
        if cors and not self.supports_cors:
            pytest.skip(f"{type(self).__name__}.supports_cors is False")
        client = make_spec_client(cors=cors)
        for extra in ((), [("Origin", OTHER_ORIGIN)], [("Accept-Encoding", "gzip")]):
            response = case.send(client, extra)
            assert "vary" not in response.header_names(), f"a {response.status} carries Vary"

    @spec_rule("3.10")
    @pytest.mark.parametrize(
        "case",
        [
            *_kinds("200", "200-head", "200-empty", "200-svg", "200-head-range", "206"),
            *_kinds("206-multi"),
            pytest.param(_case("GET", "a.png", 200, Range="bytes=abc"), id="200-ill-formed"),
            pytest.param(_case("GET", "a.png", 200, Range="items=0-9"), id="200-other-unit"),
            pytest.param(
                _case("GET", "a.png", 200, Range="bytes=0-9", If_Range='"other"'),
                id="200-if-range-other",
            ),
            pytest.param(_case("GET", "range.png", 206, Range="bytes=0-"), id="206-whole"),
            pytest.param(_case("GET", "vec.svg", 206, Range="bytes=0-9"), id="206-svg"),
        ],
    )
    def test_accept_ranges(self, spec_client: SpecClient, case: _Case) -> None:
        response = case.send(spec_client)
        _needs(response, case.status)
        assert response.header_values("Accept-Ranges") == ["bytes"]

    @spec_rule("3.11")
    @pytest.mark.parametrize(
        ("method", "rest", "headers", "status"),
        [
            ("GET", "vec.svg", {}, 200),
            ("HEAD", "vec.svg", {}, 200),
            ("GET", "pic.SVG", {}, 200),
            ("GET", "type.svg", {}, 200),
            ("GET", f"vec.svg?{VERSION_QUERY}", {}, 200),
            ("GET", "vec.svg", {"Range": "bytes=0-9"}, 206),
        ],
        ids=["get", "head", "upper-case", "type", "versioned", "range"],
    )
    def test_svg_as_attachment(
        self,
        make_spec_client: Callable[..., SpecClient],
        method: str,
        rest: str,
        headers: dict[str, str],
        status: int,
    ) -> None:
        client = make_spec_client(svg_as_attachment=True)
        response = client.request(method, rest, headers)
        assert response.status == status
        assert response.header_values("Content-Disposition") == ["attachment"]
        assert response.header_values("Content-Security-Policy") == [SVG_CSP], (
            "an attachment keeps its sandboxing policy"
        )

    @spec_rule("3.11")
    @pytest.mark.parametrize("rest", ["a.png", "type.png", "photo.jpe", "page.html", "noext"])
    def test_svg_as_attachment_only_for_svg(
        self, make_spec_client: Callable[..., SpecClient], rest: str
    ) -> None:
        response = make_spec_client(svg_as_attachment=True).get(rest)
        assert response.status == 200
        assert "content-disposition" not in response.header_names(), f"{rest} is no SVG"

    @spec_rule("3.11")
    @pytest.mark.parametrize(
        ("method", "rest"), [("GET", "vec.svg"), ("HEAD", "pic.SVG"), ("GET", "a.png")]
    )
    def test_svg_inline_by_default(
        self, make_spec_client: Callable[..., SpecClient], method: str, rest: str
    ) -> None:
        for options in ({}, {"svg_as_attachment": False}):
            response = make_spec_client(**options).request(method, rest)
            assert response.status == 200
            assert "content-disposition" not in response.header_names(), (
                "without svg_as_attachment=True an SVG is shown, not downloaded"
            )

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
            ("GET", {"If-None-Match": "{etag}", "Range": "bytes=0-9"}),
        ],
        ids=["inm", "inm-star", "ims", "head", "range"],
    )
    @pytest.mark.parametrize(
        ("query", "cache_control"),
        [("", DEFAULT_CACHE), (VERSION_QUERY, VERSIONED_CACHE)],
        ids=["plain", "versioned"],
    )
    def test_304_headers(
        self,
        spec_client: SpecClient,
        method: str,
        headers: dict[str, str],
        query: str,
        cache_control: str,
    ) -> None:
        rest = f"a.png?{query}" if query else "a.png"
        full = spec_client.get(rest)
        headers = {k: _fill(v, spec_client.tree) for k, v in headers.items()}
        response = spec_client.request(method, rest, headers)
        _needs(response, 304)
        assert response.body == b""
        assert (
            response.header_values("ETag")
            == full.header_values("ETag")
            == [spec_client.tree.etag("a.png")]
        )
        assert "content-type" not in response.header_names()
        assert "content-length" not in response.header_names()
        assert "content-range" not in response.header_names()
        assert response.header_values("X-Content-Type-Options") == [NOSNIFF]
        assert (
            response.header_values("Cache-Control")
            == full.header_values("Cache-Control")
            == [cache_control]
        ), "a 304 carries the Cache-Control the 200 carries"
        assert "vary" not in response.header_names()

    @spec_rule("4.5", "5.2")
    @pytest.mark.parametrize(
        ("method", "headers"),
        [
            ("GET", {"If-None-Match": "{etag}"}),
            ("HEAD", {"If-None-Match": "{etag}"}),
            ("GET", {"If-Modified-Since": LATER}),
            ("GET", {"If-None-Match": "{etag}", "Range": "bytes=0-9"}),
        ],
        ids=["inm", "head", "ims", "range"],
    )
    def test_304_carries_cors(
        self, cors_client: SpecClient, method: str, headers: dict[str, str]
    ) -> None:
        full = cors_client.get("a.png")
        headers = {k: _fill(v, cors_client.tree) for k, v in headers.items()}
        response = cors_client.request(method, "a.png", {**headers, "Origin": OTHER_ORIGIN})
        _needs(response, 304)
        for name, value in (
            ("Access-Control-Allow-Origin", "*"),
            ("Access-Control-Expose-Headers", EXPOSE),
        ):
            assert response.header_values(name) == full.header_values(name) == [value], (
                f"a 304 carries the {name} the 200 carries"
            )
        assert "access-control-allow-credentials" not in response.header_names()

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
    @pytest.mark.parametrize("case", _kinds(*FILE_RESPONSES, "416"))
    def test_cors_on_allows_any_origin(self, cors_client: SpecClient, case: _Case) -> None:
        for origin in ((), [("Origin", OTHER_ORIGIN)], [("Origin", "null")]):
            response = case.send(cors_client, origin)
            _needs(response, case.status)
            assert response.header_values("Access-Control-Allow-Origin") == ["*"]
            assert response.header_values("Access-Control-Expose-Headers") == [EXPOSE]
            assert "access-control-allow-credentials" not in response.header_names()
            for name, value in response.headers:
                assert OTHER_ORIGIN not in value, f"{name} echoes the request's Origin"

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

    @spec_rule("5.3")
    @pytest.mark.parametrize(
        "rest",
        [
            "a.png",
            "missing.png",
            "sub",
            "sub/missing/x.png",
            "out.png",
            "%2e%2e/secret.png",
            "",
        ],
    )
    @pytest.mark.parametrize("origin", [OTHER_ORIGIN, "null"], ids=["other", "null"])
    def test_preflight(self, cors_client: SpecClient, rest: str, origin: str) -> None:
        response = cors_client.request(
            "OPTIONS", rest, {"Origin": origin, "Access-Control-Request-Method": "GET"}
        )
        assert response.status == 204, "a preflight under the mount is answered 204"
        for name, value in PREFLIGHT:
            assert response.header_values(name) == [value]
        assert "access-control-allow-credentials" not in response.header_names()
        assert "content-length" not in response.header_names(), (
            "a 204 has no Content-Length (RFC 9110 §8.6)"
        )
        assert response.body == b""
        _secret_free(cors_client.tree, response)
        assert not cors_client.fallback_requests

    @spec_rule("5.3")
    @pytest.mark.parametrize(
        "asked",
        [
            {"Access-Control-Request-Method": "PUT"},
            {
                "Access-Control-Request-Method": "DELETE",
                "Access-Control-Request-Headers": "x-evil, authorization, content-type",
            },
            {
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "range, if-none-match",
            },
            {
                "Access-Control-Request-Method": "BREW",
                "Access-Control-Request-Headers": "x-" * 500,
            },
            {"Access-Control-Request-Method": "get"},
        ],
        ids=["put", "delete-with-headers", "get-with-headers", "unknown", "lower-case"],
    )
    def test_preflight_lists_are_fixed(
        self, cors_client: SpecClient, asked: dict[str, str]
    ) -> None:
        response = cors_client.request("OPTIONS", "a.png", {"Origin": OTHER_ORIGIN, **asked})
        assert response.status == 204
        for name, value in PREFLIGHT:
            assert response.header_values(name) == [value], f"{name} is fixed, never copied"
        for name, value in response.headers:
            for echoed in ("PUT", "DELETE", "BREW", "x-evil", "authorization", OTHER_ORIGIN):
                assert echoed not in value, f"{name} echoes {echoed!r} from the request"
        assert "access-control-allow-credentials" not in response.header_names()

    @spec_rule("5.3")
    def test_preflight_outside_mount_reaches_app(self, cors_client: SpecClient) -> None:
        headers = {"Origin": OTHER_ORIGIN, "Access-Control-Request-Method": "GET"}
        for target in ("/other/a.png", cors_client.mount, f"{cors_client.mount}x/a.png"):
            response = cors_client.request_target("OPTIONS", target, headers)
            assert response.status == 200, f"OPTIONS {target} is not under the mount"
            assert response.body.startswith(b"fallback")
        assert len(cors_client.fallback_requests) == 3

    @spec_rule("5.4")
    @pytest.mark.parametrize("rest", ["a.png", "missing.png", "sub", "%2e%2e/secret.png"])
    @pytest.mark.parametrize(
        "headers",
        [{}, {"Origin": OTHER_ORIGIN}, {"Access-Control-Request-Method": "GET"}],
        ids=["plain", "origin-only", "request-method-only"],
    )
    def test_options_with_cors_on(
        self, cors_client: SpecClient, rest: str, headers: dict[str, str]
    ) -> None:
        response = cors_client.request("OPTIONS", rest, headers)
        assert response.status == 204, "an OPTIONS that is not a preflight is 204 with CORS on"
        assert response.header_values("Allow") == [ALLOW_WITH_CORS]
        assert "content-length" not in response.header_names(), (
            "a 204 has no Content-Length (RFC 9110 §8.6)"
        )
        assert response.body == b""
        assert "access-control-allow-credentials" not in response.header_names()
        _secret_free(cors_client.tree, response)
        assert not cors_client.fallback_requests

    @spec_rule("5.4", "1.2")
    @pytest.mark.parametrize("rest", ["a.png", "missing.png"])
    @pytest.mark.parametrize(
        "headers",
        [{}, {"Origin": OTHER_ORIGIN, "Access-Control-Request-Method": "GET"}],
        ids=["plain", "preflight"],
    )
    def test_options_with_cors_off_is_405(
        self, spec_client: SpecClient, rest: str, headers: dict[str, str]
    ) -> None:
        response = spec_client.request("OPTIONS", rest, headers)
        assert response.status == 405, "with CORS off, OPTIONS is a 405"
        assert response.header_values("Allow") == [ALLOW]
        found = [n for n in response.header_names() if n.startswith("access-control-")]
        assert not found, f"with CORS off no Access-Control-* header, got {found}"
        assert A_PNG not in response.body

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
    @pytest.mark.parametrize(
        ("headers", "status"),
        [
            ({}, 200),
            ({"Range": "bytes=100-150000"}, 206),
            ({"Range": "bytes=0-99,1000-150000"}, 206),
        ],
        ids=["full", "range", "multipart"],
    )
    def test_file_closed_when_response_closed_early(
        self, spec_client: SpecClient, headers: dict[str, str], status: int
    ) -> None:
        name, path = _fresh_file(spec_client.tree, os.urandom(BIG_SIZE))
        left_open: list[str] = []
        with _no_unclosed_files():
            response = spec_client.get(
                name,
                headers,
                close_after=1,
                after_close=lambda: left_open.extend(_open_fds_to(path)),
            )
            if headers:
                _needs(response, status)  # the tests of SPEC 9.5 and 9.6 report a wrong one
            assert response.status == status
        assert not left_open, "the file is closed when the response is closed early"

    @spec_rule("6.2")
    @pytest.mark.parametrize(
        "case",
        _kinds(
            "200-head", "206", "206-multi", "304", "304-head", "404-escape", "405", "412", "416"
        ),
    )
    def test_no_file_left_open(self, spec_client: SpecClient, case: _Case) -> None:
        tree = spec_client.tree
        left_open: list[str] = []
        targets = (tree.root / "a.png", *tree.secret_paths)
        # Only this request's descriptors: one that an earlier test leaked is its failure.
        already = set(_open_fds_to(*targets))
        with _no_unclosed_files():
            headers = [(k, _fill(v, tree)) for k, v in case.headers]
            response = spec_client.request(
                case.method,
                case.rest,
                headers,
                after_close=lambda: left_open.extend(
                    fd for fd in _open_fds_to(*targets) if fd not in already
                ),
            )
        _needs(response, case.status)
        assert not left_open, f"a {case.status} to {case.method} leaves no file open"

    # -- 9. Ranges ----------------------------------------------------------------------

    @spec_rule("9.1")
    @pytest.mark.parametrize(
        ("method", "rest", "status"),
        [
            ("GET", "missing.png", 404),
            ("GET", "sub", 404),
            ("GET", "out.png", 404),
            ("GET", "%2e%2e/secret.png", 404),
            ("POST", "a.png", 405),
            ("DELETE", "range.png", 405),
        ],
    )
    @pytest.mark.parametrize("value", ["bytes=0-0", "bytes=5000-", "bytes=0-9,500-509"])
    def test_range_only_for_a_file(
        self, spec_client: SpecClient, method: str, rest: str, status: int, value: str
    ) -> None:
        response = spec_client.request(method, rest, {"Range": value})
        assert response.status == status, f"a Range never turns a {status} into anything else"
        assert "content-range" not in response.header_names()
        _secret_free(spec_client.tree, response)

    @spec_rule("9.1")
    @pytest.mark.parametrize(
        ("headers", "value", "status"),
        [pytest.param(h, v, s, id=i) for i, h, v, s in PRECONDITIONS_BEFORE_RANGE],
    )
    def test_preconditions_before_range(
        self, spec_client: SpecClient, headers: dict[str, str], value: str, status: int
    ) -> None:
        tree = spec_client.tree
        sent = {k: _fill(v, tree) for k, v in headers.items()}
        response = spec_client.get("a.png", {**sent, "Range": value})
        assert response.status == status, f"{headers} with Range: {value} must be {status}"
        if status == 206:
            _assert_one_range(response, A_PNG, 0, 9)
        elif status == 416:
            _assert_416(response, len(A_PNG))
        else:
            assert "content-range" not in response.header_names()
            assert A_PNG[:10] not in response.body

    @spec_rule("9.2")
    @pytest.mark.parametrize("value", [pytest.param(v, id=i) for i, v in IGNORED_RANGES])
    def test_ignored_range_gives_the_full_200(self, spec_client: SpecClient, value: str) -> None:
        response = spec_client.get("range.png", {"Range": value})
        _assert_full(response, RANGE_DATA)

    @spec_rule("9.2")
    @pytest.mark.parametrize(
        ("value", "first", "last"), [pytest.param(v, f, la, id=i) for i, v, f, la in RANGE_GRAMMAR]
    )
    def test_range_grammar(
        self, spec_client: SpecClient, value: str, first: int, last: int
    ) -> None:
        response = spec_client.get("range.png", {"Range": value})
        _assert_one_range(response, RANGE_DATA, first, last)

    @spec_rule("9.3")
    @pytest.mark.parametrize(
        ("value", "first", "last"),
        [
            pytest.param("bytes=0-" + "9" * 5000, 0, _N - 1, id="5000-digit-last"),
            pytest.param("bytes=-" + "9" * 5000, 0, _N - 1, id="5000-digit-suffix"),
            pytest.param("bytes=1-" + "9" * 19, 1, _N - 1, id="19-digit-last"),
            pytest.param("bytes=-" + "1" + "0" * 18, 0, _N - 1, id="19-digit-suffix"),
            pytest.param("bytes=" + "9" * 5000 + "-, 0-9", 0, 9, id="5000-digit-first-dropped"),
            pytest.param("bytes=10-" + "9" * 18, 10, _N - 1, id="18-digit-last"),
        ],
    )
    def test_range_numbers_of_many_digits(
        self, spec_client: SpecClient, value: str, first: int, last: int
    ) -> None:
        response = spec_client.get("range.png", {"Range": value})
        _assert_one_range(response, RANGE_DATA, first, last)

    @spec_rule("9.3")
    @pytest.mark.parametrize(
        ("headers", "status", "content_range"),
        [pytest.param(h, s, c, id=i) for i, h, s, c in GIANT_RANGES],
    )
    def test_giant_range_in_time(
        self,
        spec_client: SpecClient,
        headers: list[tuple[str, str | bytes]],
        status: int,
        content_range: str | None,
    ) -> None:
        started = time.perf_counter()
        response = spec_client.get("range.png", headers)
        elapsed = time.perf_counter() - started
        size = sum(len(value) for _, value in headers)
        assert response.status == status
        assert response.header_values("Content-Range") == (
            [] if content_range is None else [content_range]
        )
        if status == 200:
            assert response.body == RANGE_DATA
        assert elapsed < TIME_LIMIT, f"a {size}-byte Range took {elapsed:.2f} s"

    @spec_rule("9.3")
    def test_sixteen_ranges_honoured_seventeen_ignored(self, spec_client: SpecClient) -> None:
        ranges = [(i * 600, i * 600 + 9) for i in range(17)]
        specs = [f"{first}-{last}" for first, last in ranges]
        sixteen = spec_client.get("range.png", {"Range": "bytes=" + ",".join(specs[:16])})
        _assert_multipart(sixteen, RANGE_DATA, ranges[:16], "image/png")
        seventeen = spec_client.get("range.png", {"Range": "bytes=" + ",".join(specs)})
        _assert_full(seventeen, RANGE_DATA)
        empties = spec_client.get("range.png", {"Range": "bytes=" + ",".join(specs[:16]) + ","})
        _assert_multipart(empties, RANGE_DATA, ranges[:16], "image/png")

    @spec_rule("9.4")
    @pytest.mark.parametrize(
        ("value", "first", "last"), [pytest.param(v, f, la, id=i) for i, v, f, la in RANGE_EDGES]
    )
    def test_range_edges(self, spec_client: SpecClient, value: str, first: int, last: int) -> None:
        response = spec_client.get("range.png", {"Range": value})
        _assert_one_range(response, RANGE_DATA, first, last)

    @spec_rule("9.4")
    @pytest.mark.parametrize(
        ("rest", "value"),
        [pytest.param("range.png", v, id=i) for i, v in UNSATISFIABLE_RANGES]
        + [
            pytest.param("empty.png", value, id=f"empty-file-{value}")
            for value in ("bytes=0-0", "bytes=0-", "bytes=-5", "bytes=-0", "bytes=0-0,-1")
        ]
        + [pytest.param("a.png", "bytes=1032-", id="a.png-first-at-end")],
    )
    def test_unsatisfiable_range_is_416(
        self, spec_client: SpecClient, rest: str, value: str
    ) -> None:
        data = spec_client.tree.read(rest)
        response = spec_client.get(rest, {"Range": value})
        _assert_416(response, len(data))
        if data:
            assert data[:16] not in response.body, "a 416 carries no byte of the file"
            assert data[-16:] not in response.body, "a 416 carries no byte of the file"

    @spec_rule("9.4")
    def test_416_body_is_fixed(self, spec_client: SpecClient) -> None:
        bodies = set()
        for rest, value in (
            ("range.png", f"bytes={_N}-"),
            ("a.png", "bytes=-0"),
            ("empty.png", "bytes=0-0"),
            ("vec.svg", "bytes=5000-5001"),
        ):
            response = spec_client.get(rest, {"Range": value})
            _assert_416(response, len(spec_client.tree.read(rest)))
            bodies.add(response.body)
        assert len(bodies) == 1, "a 416's body is short, fixed text, like a 404's"

    @spec_rule("9.5")
    @pytest.mark.parametrize(
        ("value", "first", "last"), [pytest.param(v, f, la, id=i) for i, v, f, la in ONE_RANGE]
    )
    def test_one_range(self, spec_client: SpecClient, value: str, first: int, last: int) -> None:
        response = spec_client.get("range.png", {"Range": value})
        _assert_one_range(response, RANGE_DATA, first, last)
        assert response.header_values("Content-Type") == ["image/png"]

    @spec_rule("9.5")
    @pytest.mark.parametrize(
        ("rest", "value", "first", "last"),
        [
            ("a.png", "bytes=0-9", 0, 9),
            ("range.png", "bytes=100-199", 100, 199),
            ("range.png", "bytes=0-", 0, _N - 1),
            ("vec.svg", "bytes=0-9", 0, 9),
            ("pic.SVG", "bytes=-5", None, None),
            (f"a.png?{VERSION_QUERY}", "bytes=0-9", 0, 9),
            ("photo.jpe", "bytes=1-2", 1, 2),
            ("noext", "bytes=0-0", 0, 0),
        ],
        ids=["png", "range", "whole", "svg", "svg-suffix", "versioned", "jpeg", "octet-stream"],
    )
    def test_range_has_the_headers_of_the_200(
        self,
        spec_client: SpecClient,
        rest: str,
        value: str,
        first: int | None,
        last: int | None,
    ) -> None:
        tree = spec_client.tree
        data = tree.read(rest.partition("?")[0])
        if first is None or last is None:  # a suffix of the file
            first, last = len(data) - 5, len(data) - 1
        full = spec_client.get(rest)
        assert full.status == 200
        response = spec_client.get(rest, {"Range": value})
        _assert_one_range(response, data, first, last)
        for name in (
            "Content-Type",
            "ETag",
            "Last-Modified",
            "Cache-Control",
            "Accept-Ranges",
            "X-Content-Type-Options",
            "Content-Security-Policy",
            "Content-Disposition",
        ):
            assert response.header_values(name) == full.header_values(name), (
                f"a 206 carries the {name} of the 200"
            )
        assert response.header_values("ETag") == [tree.etag(rest.partition("?")[0])]
        assert response.header_values("Accept-Ranges") == ["bytes"]
        assert response.header_values("X-Content-Type-Options") == [NOSNIFF]

    @spec_rule("9.5")
    @pytest.mark.parametrize("value", ["bytes=0-9", "bytes=0-9,500-509", "bytes=-1"])
    def test_range_has_cors_headers(self, cors_client: SpecClient, value: str) -> None:
        response = cors_client.get("a.png", {"Range": value, "Origin": OTHER_ORIGIN})
        assert response.status == 206
        assert response.header_values("Access-Control-Allow-Origin") == ["*"]
        assert response.header_values("Access-Control-Expose-Headers") == [EXPOSE]

    @spec_rule("9.6")
    @pytest.mark.parametrize(
        ("value", "first", "last"),
        [pytest.param(v, f, la, id=i) for i, v, f, la in RANGES_COALESCED],
    )
    def test_ranges_coalesced_into_one(
        self, spec_client: SpecClient, value: str, first: int, last: int
    ) -> None:
        response = spec_client.get("range.png", {"Range": value})
        _assert_one_range(response, RANGE_DATA, first, last)
        assert response.header_values("Content-Type") == ["image/png"], "one range is no multipart"

    @spec_rule("9.6")
    @pytest.mark.parametrize(
        ("value", "ranges"), [pytest.param(v, r, id=i) for i, v, r in MANY_RANGES]
    )
    def test_multipart_byteranges(
        self, spec_client: SpecClient, value: str, ranges: list[tuple[int, int]]
    ) -> None:
        response = spec_client.get("range.png", {"Range": value})
        _assert_multipart(response, RANGE_DATA, ranges, "image/png")

    @spec_rule("9.6")
    def test_multipart_has_the_headers_of_the_200(self, spec_client: SpecClient) -> None:
        full = spec_client.get("big.png")
        response = spec_client.get("big.png", {"Range": "bytes=0-9,100000-100009"})
        _assert_multipart(
            response, spec_client.tree.read("big.png"), [(0, 9), (100000, 100009)], "image/png"
        )
        for name in ("ETag", "Last-Modified", "Cache-Control", "Accept-Ranges"):
            assert response.header_values(name) == full.header_values(name), (
                f"a multipart 206 carries the {name} of the 200"
            )
        assert response.header_values("ETag") == [spec_client.tree.etag("big.png")]
        assert response.header_values("X-Content-Type-Options") == [NOSNIFF]

    @spec_rule("9.6")
    def test_multipart_boundary_is_random(self, spec_client: SpecClient) -> None:
        boundaries = {
            _assert_multipart(
                spec_client.get("range.png", {"Range": "bytes=0-9,5000-5009"}),
                RANGE_DATA,
                [(0, 9), (5000, 5009)],
                "image/png",
            )
            for _ in range(3)
        }
        assert len(boundaries) == 3, "the boundary is random, new for every response"

    @spec_rule("9.6")
    @pytest.mark.parametrize(
        ("shrink", "status"),
        [(0, 200), (1, 206), (-1, 200), (-100, 200), (500, 206)],
        ids=["as-large", "one-byte-smaller", "one-byte-larger", "larger", "smaller"],
    )
    def test_multipart_never_larger_than_the_file(
        self, spec_client: SpecClient, shrink: int, status: int
    ) -> None:
        # Two ranges, 0-4999 and second-(N-1), whose multipart body is N - shrink bytes.
        target = _N - shrink
        first_last = 4999
        second = next(
            start
            for start in range(first_last + 81, _N)
            if _multipart_length([(0, first_last), (start, _N - 1)], _N, "image/png") <= target
        )
        ranges = [(0, first_last), (second, _N - 1)]
        assert _multipart_length(ranges, _N, "image/png") == target
        value = f"bytes=0-{first_last},{second}-"
        response = spec_client.get("range.png", {"Range": value})
        if status == 200:
            _assert_full(response, RANGE_DATA)
        else:
            _assert_multipart(response, RANGE_DATA, ranges, "image/png")

    @spec_rule("9.6")
    def test_many_large_ranges_give_the_full_200(self, spec_client: SpecClient) -> None:
        # Sixteen ranges 85 bytes apart: their multipart body would outgrow the file.
        ranges = [(i * 625, i * 625 + 539) for i in range(16)]
        assert _multipart_length(ranges, _N, "image/png") > _N
        value = "bytes=" + ",".join(f"{first}-{last}" for first, last in ranges)
        response = spec_client.get("range.png", {"Range": value})
        _assert_full(response, RANGE_DATA)

    @spec_rule("9.7")
    @pytest.mark.parametrize(
        ("if_range", "value", "outcome"),
        [pytest.param(ir, v, o, id=i) for i, ir, v, o in IF_RANGE],
    )
    def test_if_range(
        self, spec_client: SpecClient, if_range: str, value: str, outcome: str
    ) -> None:
        tree = spec_client.tree
        response = spec_client.get("a.png", {"Range": value, "If-Range": _fill(if_range, tree)})
        if outcome == "206":
            _assert_one_range(response, A_PNG, 0, 9)
        elif outcome == "multi":
            _assert_multipart(response, A_PNG, [(0, 9), (500, 509)], "image/png")
        elif outcome == "416":
            _assert_416(response, len(A_PNG))
        else:
            _assert_full(response, A_PNG)

    @spec_rule("9.7")
    def test_if_range_date_of_a_changed_file(self, spec_client: SpecClient) -> None:
        tree = spec_client.tree
        name, path = _fresh_file(tree, RANGE_DATA)
        os.utime(path, ns=(1_600_000_000 * 10**9, 1_600_000_000 * 10**9))
        last_modified = _http_date(1_600_000_000)
        response = spec_client.get(name, {"Range": "bytes=0-9", "If-Range": last_modified})
        _assert_one_range(response, RANGE_DATA, 0, 9)
        os.utime(path, ns=(1_600_000_001 * 10**9, 1_600_000_001 * 10**9))
        response = spec_client.get(name, {"Range": "bytes=0-9", "If-Range": last_modified})
        _assert_full(response, RANGE_DATA)

    @spec_rule("9.7")
    @pytest.mark.parametrize("if_range", ["{etag}", '"other"', LM, "garbage", "W/{etag}"])
    def test_if_range_without_range_is_ignored(
        self, spec_client: SpecClient, if_range: str
    ) -> None:
        response = spec_client.get("a.png", {"If-Range": _fill(if_range, spec_client.tree)})
        _assert_full(response, A_PNG)

    @spec_rule("9.8")
    def test_range_reads_only_its_bytes(self, spec_client: SpecClient) -> None:
        before = _rchar()
        if before is None:
            pytest.skip("needs /proc/self/io (Linux) to count the bytes the process reads")
        get = spec_client.get("large.png")
        after_get = _rchar()
        assert get.status == 200
        assert after_get is not None
        if after_get - before < LARGE_SIZE // 2:
            pytest.skip("this server's reads do not show in /proc/self/io (zero-copy?)")
        last = LARGE_SIZE - 1
        for value, expected in (
            ("bytes=-10", f"bytes {last - 9}-{last}/{LARGE_SIZE}"),
            (f"bytes={LARGE_SIZE - 100}-", f"bytes {LARGE_SIZE - 100}-{last}/{LARGE_SIZE}"),
            (f"bytes={LARGE_SIZE // 2}-{LARGE_SIZE // 2 + 9}", None),
            (f"bytes=0-9,{LARGE_SIZE // 2}-{LARGE_SIZE // 2 + 9},-10", None),
        ):
            start = _rchar()
            response = spec_client.get("large.png", {"Range": value})
            end = _rchar()
            assert start is not None
            assert end is not None
            assert response.status == 206
            if expected is not None:
                assert response.header_values("Content-Range") == [expected]
            assert len(response.body) < 1024
            assert end - start < LARGE_SIZE // 16, (
                f"Range: {value} read {end - start} bytes of the file"
            )

    # -- 10. Files that change under the server ------------------------------------------

    @spec_rule("10.1")
    @pytest.mark.parametrize("where", ["top", "in-sub", "new-dir", "new-dirs"])
    def test_file_served_once_it_appears(self, spec_client: SpecClient, where: str) -> None:
        tree = spec_client.tree
        token = secrets.token_hex(6)
        rest = {
            "top": f"later-{token}.png",
            "in-sub": f"sub/later-{token}.png",
            "new-dir": f"later-{token}/x.png",
            "new-dirs": f"later-{token}/y/z.png",
        }[where]
        for method, headers in (("GET", {}), ("HEAD", {}), ("GET", {"If-None-Match": "*"})):
            assert spec_client.request(method, rest, headers).status == 404
        assert spec_client.get(rest, {"Range": "bytes=0-0"}).status == 404
        _write_file(tree.path(rest), b"it is here now")
        response = spec_client.get(rest)
        assert response.status == 200, "a path that gave 404 is served once a file is there"
        assert response.body == b"it is here now"
        assert response.header_values("ETag") == [tree.etag(rest)]
        head = spec_client.head(rest)
        assert head.status == 200
        assert head.header_values("Content-Length") == [str(len(b"it is here now"))]
        assert spec_client.get(rest, {"If-None-Match": "*"}).status == 304

    @spec_rule("10.2")
    @pytest.mark.parametrize("replacement", ["nothing", "directory"])
    def test_file_deleted_after_served(self, spec_client: SpecClient, replacement: str) -> None:
        tree = spec_client.tree
        name, path = _fresh_file(tree, b"soon gone" * 100)
        etag = tree.etag(name)
        requests: list[tuple[str, dict[str, str]]] = [
            ("GET", {}),
            ("HEAD", {}),
            ("GET", {"If-None-Match": etag}),
            ("HEAD", {"If-None-Match": etag}),
            ("GET", {"If-Modified-Since": LATER}),
            ("GET", {"If-Match": etag}),
            ("GET", {"Range": "bytes=0-9"}),
        ]
        before = [
            spec_client.request(method, name, headers).status for method, headers in requests
        ]
        assert before == [200, 200, 304, 304, 200, 200, 206]
        path.unlink()
        if replacement == "directory":
            path.mkdir()
        for method, headers in requests:
            response = spec_client.request(method, name, headers)
            assert response.status == 404, f"{method} {headers} of a deleted file must be 404"
            assert b"soon gone" not in response.body

    @spec_rule("10.3")
    @pytest.mark.parametrize(
        ("how", "new_size", "same_mtime"),
        [
            ("replace", 3000, False),
            ("replace", 1000, True),
            ("replace", 1000, False),
            ("rewrite", 3000, False),
            ("rewrite", 1000, True),
        ],
        ids=[
            "replaced",
            "replaced-same-size-and-mtime",
            "replaced-same-size",
            "rewritten",
            "rewritten-same-size-and-mtime",
        ],
    )
    def test_file_replaced_after_served(
        self, spec_client: SpecClient, how: str, new_size: int, same_mtime: bool
    ) -> None:
        tree = spec_client.tree
        old = bytes(range(250)) * 4  # 1000 bytes
        new = RANGE_DATA[:new_size]
        name, path = _fresh_file(tree, old)
        old_ns, new_ns = 1_600_000_000 * 10**9, 1_700_000_000 * 10**9
        os.utime(path, ns=(old_ns, old_ns))
        old_etag = tree.etag(name)
        assert spec_client.get(name).body == old
        assert spec_client.head(name).status == 200
        assert spec_client.get(name, {"If-None-Match": old_etag}).status == 304
        assert spec_client.get(name, {"Range": "bytes=0-9"}).body == old[:10]
        if how == "replace":
            fresh = path.with_name(name + ".new")
            fresh.write_bytes(new)
            mtime = old_ns if same_mtime else new_ns
            os.utime(fresh, ns=(mtime, mtime))
            os.replace(fresh, path)
        else:
            with open(path, "r+b") as file:
                file.truncate(0)
                file.write(new)
            mtime = old_ns if same_mtime else new_ns
            os.utime(path, ns=(mtime, mtime))
        etag = etag_of(path)
        assert (etag == old_etag) == (same_mtime and new_size == len(old))
        last_modified = _http_date(mtime // 10**9)

        response = spec_client.get(name)
        assert response.status == 200
        assert response.body == new, "the next request gets the new file's body"
        assert response.header_values("Content-Length") == [str(len(new))]
        assert response.header_values("ETag") == [etag]
        assert response.header_values("Last-Modified") == [last_modified]
        head = spec_client.head(name)
        assert head.status == 200
        assert head.header_values("Content-Length") == [str(len(new))]
        assert head.header_values("ETag") == [etag]
        assert head.header_values("Last-Modified") == [last_modified]
        conditional = spec_client.get(name, {"If-None-Match": old_etag})
        if etag == old_etag:
            assert conditional.status == 304
        else:
            assert conditional.status == 200, "the old ETag no longer matches"
            assert conditional.body == new
        _assert_one_range(spec_client.get(name, {"Range": "bytes=0-9"}), new, 0, 9)
        _assert_one_range(
            spec_client.get(name, {"Range": "bytes=-10"}), new, len(new) - 10, len(new) - 1
        )
        if_range = spec_client.get(name, {"Range": "bytes=0-9", "If-Range": old_etag})
        if etag == old_etag:
            _assert_one_range(if_range, new, 0, 9)
        else:
            _assert_full(if_range, new)

    @spec_rule("10.3", "2.3")
    @pytest.mark.parametrize("target", ["secret", "outdir", "inside"])
    def test_file_replaced_by_a_link(self, spec_client: SpecClient, target: str) -> None:
        tree = spec_client.tree
        name, path = _fresh_file(tree, b"a file, then a link")
        etag = tree.etag(name)
        assert spec_client.get(name).status == 200
        assert spec_client.get(name, {"If-None-Match": etag}).status == 304
        link = path.with_name(name + ".link")
        pointed = {
            "secret": str(tree.base / "secret.png"),
            "outdir": os.path.join("outdir", "secret.png"),
            "inside": "a.png",
        }[target]
        try:
            os.symlink(pointed, link)
        except (OSError, NotImplementedError) as exc:
            pytest.skip(f"cannot create a symbolic link here: {exc}")
        os.replace(link, path)
        requests: list[tuple[str, dict[str, str]]] = [
            ("GET", {}),
            ("HEAD", {}),
            ("GET", {"If-None-Match": etag}),
            ("GET", {"Range": "bytes=0-9"}),
        ]
        for method, headers in requests:
            response = spec_client.request(method, name, headers)
            if target == "inside":
                assert response.status in {200, 206}, "a link inside the root is followed"
                assert response.header_values("ETag") == [tree.etag("a.png")]
            else:
                assert response.status == 404, f"{method} {headers}: the link leads outside"
                _secret_free(tree, response)

    @spec_rule("10.5")
    @pytest.mark.parametrize("old", ["renamed", "deleted"])
    def test_root_replaced(
        self, make_spec_client: Callable[..., SpecClient], tmp_path: Path, old: str
    ) -> None:
        root = tmp_path / "root"
        (root / "sub").mkdir(parents=True)
        (root / "a.png").write_bytes(b"the old root's a.png")
        (root / "sub" / "only-old.png").write_bytes(b"only in the old root")
        client = make_spec_client(root)
        old_etag = etag_of(root / "a.png")
        assert client.get("a.png").body == b"the old root's a.png"
        assert client.head("sub/only-old.png").status == 200
        if old == "renamed":
            root.rename(tmp_path / "old-root")
        else:
            shutil.rmtree(root)
        (root / "sub").mkdir(parents=True)
        (root / "a.png").write_bytes(b"the new root's a.png, longer")
        (root / "sub" / "only-new.png").write_bytes(b"only in the new root")
        time.sleep(ROOT_RECHECK_BOUND)
        new = b"the new root's a.png, longer"
        for headers in ({}, {"If-None-Match": old_etag}):
            response = client.get("a.png", headers)
            assert response.status == 200, f"GET {headers}: the new root's file"
            assert response.body == new, f"GET {headers}: the new root's file"
        head = client.head("a.png")
        assert head.header_values("Content-Length") == [str(len(new))]
        assert client.get("sub/only-new.png").body == b"only in the new root"
        for method in ("GET", "HEAD"):
            assert client.request(method, "sub/only-old.png").status == 404

    @spec_rule("10.4")
    def test_missing_paths_leave_memory_flat(self, spec_client: SpecClient) -> None:
        token = secrets.token_hex(4)

        def missing(start: int, count: int) -> Iterator[str]:
            for number in range(start, start + count):
                yield (
                    f"gone-{token}-{number}.png",
                    f"sub/gone-{token}-{number}.png",
                    f"gone-{token}-{number}/x.png",
                )[number % 3]

        # First the one-time costs (imports, interned names, fixed-size caches).
        assert _statuses(spec_client, missing(0, MEMORY_WARMUP)) == {404}
        gc.collect()
        tracing = tracemalloc.is_tracing()
        if not tracing:
            tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            statuses = _statuses(spec_client, missing(MEMORY_WARMUP, MEMORY_REQUESTS))
            gc.collect()
            after = tracemalloc.get_traced_memory()[0]
        finally:
            if not tracing:
                tracemalloc.stop()
        assert statuses == {404}
        growth = after - before
        assert growth < MEMORY_BOUND, (
            f"{MEMORY_REQUESTS} requests for distinct missing paths left {growth} bytes more "
            "allocated: the server remembers something about paths that have no file"
        )


def _decoded(path: str, transport: str) -> bytes:
    """The bytes the fallback echoes for ``path`` (decoded once, as the server does)."""
    if transport == "asgi":
        return unquote(path).encode("utf-8", "surrogateescape")
    return unquote_to_bytes(path)
