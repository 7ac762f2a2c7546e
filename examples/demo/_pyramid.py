"""The demo gallery as a Pyramid application: the imageattach tween serves the images.

Two views build the page and ``/urls.txt`` from ``request.imageattach_store``,
which the tween binds to the request's own host.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

from imageattach.core import HttpExposedFileSystemStore

from .app import render_page
from .gallery import Gallery

with warnings.catch_warnings():
    # The frameworks' own import-time warnings (WebOb imports the deprecated cgi
    # module; Pyramid imports pkg_resources); the demo runs with -W error.
    warnings.filterwarnings("ignore", "'cgi' is deprecated", DeprecationWarning)
    warnings.filterwarnings("ignore", "pkg_resources is deprecated", UserWarning)
    warnings.filterwarnings("ignore", "Deprecated call to `pkg_resources", DeprecationWarning)
    from pyramid.config import Configurator
    from pyramid.response import Response

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

__all__ = ["make_pyramid_app"]


def make_pyramid_app(
    store: HttpExposedFileSystemStore, gallery: Gallery, store_path: str
) -> WSGIApplication:
    def page(request: Any) -> Response:
        store = request.imageattach_store
        try:
            if request.path_info == "/urls.txt":
                body = "".join(store.locate(image) + "\n" for image in gallery.images)
                content_type = "text/plain"
            else:
                body = render_page(
                    store, gallery, store_path, request.host, "the imageattach.pyramid tween"
                )
                content_type = "text/html"
        except RuntimeError as error:  # an untrusted Host: locate() builds no URL on it
            message = f"This demo answers to 127.0.0.1 and localhost only.\n\n{error}\n"
            return Response(message, status=400, content_type="text/plain", charset="utf-8")
        response = Response(body, content_type=content_type, charset="utf-8")
        response.cache_control = "no-store"
        return response

    config = Configurator(settings={"imageattach.store": store})
    config.include("imageattach.pyramid")
    config.add_route("page", "/")
    config.add_route("urls", "/urls.txt")
    config.add_view(page, route_name="page", request_method=("GET", "HEAD"))
    config.add_view(page, route_name="urls", request_method=("GET", "HEAD"))
    app: WSGIApplication = config.make_wsgi_app()
    return app
