"""The applications the e2e servers load, over the store named by ``$IMAGEATTACH_BENCH_STORE``.

``uvicorn --factory benchmarks._e2e_apps:ours_asgi`` (or ``starlette_asgi``) and
``gunicorn 'benchmarks._e2e_apps:ours_wsgi()'`` (or ``werkzeug_wsgi()``): the same competitors
as the in-process sections build (``benchmarks._asgi.make_asgi_app``,
``benchmarks._wsgi.make_app``), each over a 404 fallback application.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from benchmarks._asgi import ASGIApp, make_asgi_app
from benchmarks._common import OURS, STARLETTE, WERKZEUG
from benchmarks._data import URL_PREFIX
from benchmarks._wsgi import WSGIApp, make_app

STORE_ENV = "IMAGEATTACH_BENCH_STORE"


def _store() -> Path:
    return Path(os.environ[STORE_ENV])


def ours_asgi() -> ASGIApp:
    return make_asgi_app(OURS, _store())


def starlette_asgi() -> ASGIApp:
    return make_asgi_app(STARLETTE, _store())


def ours_wsgi() -> WSGIApp:
    return make_app(OURS, _store())


def werkzeug_wsgi() -> WSGIApp:
    return make_app(WERKZEUG, _store())


def floor_wsgi() -> WSGIApp:
    """Not a competitor but a bound: the least a file request can cost under gunicorn.

    A 304 to any ``If-None-Match`` after the one ``os.stat`` SPEC 10.4 asks of every
    request; otherwise the file, opened and handed to ``wsgi.file_wrapper`` with fixed
    headers.  No path checks, no validators, no conditional logic.
    """
    base = str(_store()).rstrip("/") + "/"
    skip = len(URL_PREFIX) + 1

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        path = base + environ["PATH_INFO"][skip:]
        if "HTTP_IF_NONE_MATCH" in environ:
            os.stat(path)
            start_response("304 Not Modified", [("ETag", '"0"')])
            return []
        file = open(path, "rb")  # noqa: SIM115 - the server closes it through the wrapper
        size = os.fstat(file.fileno()).st_size
        start_response(
            "200 OK",
            [("Content-Type", "image/jpeg"), ("Content-Length", str(size)), ("ETag", '"0"')],
        )
        return environ["wsgi.file_wrapper"](file, 65536)  # type: ignore[no-any-return]

    return app  # type: ignore[return-value]
