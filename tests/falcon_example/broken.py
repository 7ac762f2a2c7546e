"""Falcon adapters with the mistakes the conformance suite is there to catch.

Each is the adapter of :mod:`falcon_example.adapter` with one plausible change,
or Falcon's own static route; ``tests/test_falcon_example.py`` runs the suite
against each and checks which rules fail.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import falcon

from imageattach.core import FileBody, Response

from .adapter import ImageSink, WSGIAppSink, falcon_app, request_path

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

    from .adapter import FalconApp

__all__ = ["falcon_headers", "falcon_static_route", "file_stream"]


class FileStreamSink(ImageSink):
    """Hands Falcon the open file, as Falcon's documentation suggests for files.

    Falcon then reads it, or gives it to ``wsgi.file_wrapper``, in blocks of its
    own fixed 8 KiB, whatever ``block_size`` says: SPEC 6.1 fails.
    """

    def set_body(self, req: falcon.Request, resp: falcon.Response, body: bytes | FileBody) -> None:
        if isinstance(body, FileBody) and body.whole:
            resp.set_stream(body.file, body.length)
        else:
            super().set_body(req, resp, body)


class FalconHeadersSink(ImageSink):
    """Passes ``req.headers``, whose names Falcon upper-cases (``IF-NONE-MATCH``).

    The engine asks for ``if-none-match`` and ``range``, finds nothing, and so
    never sees a precondition or a range: every 304, 412, 206 and 416 is a 200.
    """

    def decide(self, req: falcon.Request) -> Response | None:
        return self.files.decide(req.method, request_path(req.env), req.headers, req.query_string)


def file_stream(app: WSGIApplication, url_path: str, dir_path: str, **kwargs: Any) -> FalconApp:
    return falcon_app(app, FileStreamSink(url_path, dir_path, **kwargs))


def falcon_headers(app: WSGIApplication, url_path: str, dir_path: str, **kwargs: Any) -> FalconApp:
    return falcon_app(app, FalconHeadersSink(url_path, dir_path, **kwargs))


def falcon_static_route(
    app: WSGIApplication, url_path: str, dir_path: str, **kwargs: Any
) -> FalconApp:
    """Falcon's own ``add_static_route``, with no imageattach in it.

    It takes no options: run it with ``--imageattach-no-cors
    --imageattach-no-block-size --imageattach-supported-options=``.  It opens
    the joined, normalized path with ``open()``, which follows a symbolic link
    wherever it leads: SPEC 2.3 fails, among many others.
    """
    static = falcon.App(sink_before_static_route=False)
    static.add_sink(WSGIAppSink(app), prefix="/")
    static.add_static_route(url_path, dir_path)
    return static
