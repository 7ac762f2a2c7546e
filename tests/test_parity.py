"""One behaviour, three adapters: the same requests through WSGI, ASGI and Pyramid.

Every request the conformance suite makes of the rules of spec/SPEC.md (every kind
of answer, every hostile path, every Range, If-Range and precondition form, the
giant headers, CORS on and off, versioned and plain URLs) is sent through
``imageattach.wsgi``, ``imageattach.asgi`` and ``imageattach.pyramid`` serving one
directory; the answers must be identical in status, header fields (in order, all
but ``Date``) and body.  The one thing allowed to differ is the random boundary of
a ``multipart/byteranges`` answer (SPEC 9.6), which is replaced by a placeholder
before comparing.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from imageattach.spec import Response, acall_asgi, asgi_fallback, call_wsgi, wsgi_fallback
from imageattach.spec._serving import (
    CORS_KINDS,
    EVERY_KIND,
    GIANT_RANGES,
    IF_RANGE,
    IGNORED_RANGES,
    LOOKALIKES,
    MANY_RANGES,
    ONE_RANGE,
    PRECONDITIONS_BEFORE_RANGE,
    RANGE_EDGES,
    RANGE_GRAMMAR,
    RANGES_COALESCED,
    UNSAFE_PATHS,
    UNSATISFIABLE_RANGES,
    VERSION_QUERY,
)
from imageattach.spec._tree import SpecTree, build_tree

MOUNT = "/__images__"
Headers = list[tuple[str, str | bytes]]
Request = tuple[str, str, Headers]  # method, target below the mount, headers


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> SpecTree:
    return build_tree(tmp_path_factory.mktemp("parity"))


def _fill(text: str, tree: SpecTree) -> str:
    etag = tree.etag("a.png")
    return text.format(
        etag=etag,
        etag_inner=etag[1:-1],
        root=tree.root.name,
        secret_abs=str(tree.secret_paths[0]),
    )


def requests(tree: SpecTree) -> Iterator[tuple[str, Request]]:
    """Every request of the suite's tables, by an id."""
    for name, case in {**EVERY_KIND, **CORS_KINDS}.items():
        headers: Headers = [(k, _fill(v, tree)) for k, v in case.headers]
        rest = _fill(case.rest, tree)
        yield f"kind-{name}", (case.method, rest, headers)
        yield f"kind-{name}-versioned", (case.method, f"{rest}?{VERSION_QUERY}", headers)
    for name, rest, _bait in UNSAFE_PATHS:
        for method in ("GET", "HEAD"):
            yield f"unsafe-{name}-{method}", (method, _fill(rest, tree), [])
    for name, rest in LOOKALIKES:
        yield f"lookalike-{name}", ("GET", rest, [])
    for table in (ONE_RANGE, RANGE_EDGES, RANGE_GRAMMAR, RANGES_COALESCED):
        for name, value, *_ in table:
            yield f"range-{name}", ("GET", "range.png", [("Range", value)])
    for name, value, _ranges in MANY_RANGES:
        yield f"multi-{name}", ("GET", "range.png", [("Range", value)])
    for name, value in UNSATISFIABLE_RANGES + IGNORED_RANGES:
        yield f"range-{name}", ("GET", "range.png", [("Range", value)])
        yield f"range-{name}-head", ("HEAD", "range.png", [("Range", value)])
    for name, validator, value, _outcome in IF_RANGE:
        if_range: Headers = [("If-Range", _fill(validator, tree)), ("Range", value)]
        yield f"if-range-{name}", ("GET", "a.png", if_range)
    for name, conditions, value, _status in PRECONDITIONS_BEFORE_RANGE:
        headers = [(k, _fill(v, tree)) for k, v in conditions.items()]
        yield f"before-range-{name}", ("GET", "a.png", [*headers, ("Range", value)])
    for name, headers, _status, _content_range in GIANT_RANGES:
        yield f"giant-{name}", ("GET", "range.png", list(headers))
    hostile: Headers = [
        ("If-None-Match", '"' * 10_000),
        ("If-Modified-Since", "\u00ff" * 1000),
        ("If-Match", b"\xff\xfe" * 100),
        ("Host", "evil.example"),
    ]
    for name, value in hostile:
        yield f"hostile-{name}", ("GET", "a.png", [(name, value)])


_BOUNDARY = re.compile(rb"[0-9a-f]{32}")


def _comparable(response: Response) -> tuple[int, list[tuple[str, str]], bytes]:
    headers = [(k.lower(), v) for k, v in response.headers if k.lower() != "date"]
    body = response.body
    for index, (name, value) in enumerate(headers):
        if name == "content-type" and value.startswith("multipart/byteranges; boundary="):
            boundary = value.removeprefix("multipart/byteranges; boundary=")
            headers[index] = (name, "multipart/byteranges; boundary=B")
            body = body.replace(boundary.encode(), b"B")
    return response.status, headers, body


Caller = Callable[[str, str, Headers], Response]


def _wsgi(tree: SpecTree, cors: bool) -> Caller:
    from imageattach.wsgi import StaticServerMiddleware

    app = StaticServerMiddleware(wsgi_fallback(), MOUNT, str(tree.root), cors=cors)
    return lambda method, target, headers: call_wsgi(
        app, method, target, headers, file_wrapper=True
    )


def _asgi(tree: SpecTree, cors: bool) -> Caller:
    asgi = pytest.importorskip("imageattach.asgi")
    app = asgi.StaticServerMiddleware(asgi_fallback(), MOUNT, str(tree.root), cors=cors)
    return lambda method, target, headers: asyncio.run(acall_asgi(app, method, target, headers))


def _pyramid(tree: SpecTree, cors: bool) -> Caller:
    pytest.importorskip("imageattach.pyramid")
    from pyramid.config import Configurator

    config = Configurator(
        settings={
            "imageattach.path": str(tree.root),
            "imageattach.prefix": MOUNT,
            "imageattach.cors": str(cors).lower(),
        }
    )
    config.include("imageattach.pyramid")
    app: Any = config.make_wsgi_app()
    return lambda method, target, headers: call_wsgi(
        app, method, target, headers, file_wrapper=True
    )


ADAPTERS = {"asgi": _asgi, "pyramid": _pyramid}


@pytest.mark.parametrize("cors", [False, True], ids=["cors-off", "cors-on"])
@pytest.mark.parametrize("adapter", list(ADAPTERS))
def test_same_answers_as_wsgi(tree: SpecTree, adapter: str, cors: bool) -> None:
    reference = _wsgi(tree, cors)
    other = ADAPTERS[adapter](tree, cors)
    checked = 0
    differences = []
    for name, (method, rest, headers) in requests(tree):
        target = f"{MOUNT}/{rest}"
        expected = _comparable(reference(method, target, headers))
        got = _comparable(other(method, target, headers))
        if got != expected:
            differences.append(f"{name}: wsgi {expected[:2]!r}\n  {adapter} {got[:2]!r}")
        checked += 1
    assert checked > 300, "the request tables are all here"
    assert not differences, f"{len(differences)} of {checked} answers differ:\n" + "\n".join(
        differences[:10]
    )


def test_the_tables_cover_every_kind_of_answer(tree: SpecTree) -> None:
    answer = _wsgi(tree, True)
    statuses = {answer(m, f"{MOUNT}/{r}", h).status for _, (m, r, h) in requests(tree)}
    assert statuses >= {200, 204, 206, 304, 404, 405, 412, 416}
