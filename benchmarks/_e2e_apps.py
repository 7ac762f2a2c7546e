"""The applications the e2e servers load, over the store named by ``$IMAGEATTACH_BENCH_STORE``.

``uvicorn --factory benchmarks._e2e_apps:ours_asgi`` (or ``starlette_asgi``) and
``gunicorn 'benchmarks._e2e_apps:ours_wsgi()'`` (or ``werkzeug_wsgi()``): the same competitors
as the in-process sections build (``benchmarks._asgi.make_asgi_app``,
``benchmarks._wsgi.make_app``), each over a 404 fallback application.
"""

from __future__ import annotations

import os
from pathlib import Path

from benchmarks._asgi import ASGIApp, make_asgi_app
from benchmarks._common import OURS, STARLETTE, WERKZEUG
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
