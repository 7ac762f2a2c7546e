"""The demo gallery as a Pyramid application: the imageattach tween serves the images.

Four views answer the pages and the forms, around the functions the WSGI page uses
too.  Each runs in a session of its own and in ``store_context(request.imageattach_store)``,
the store the tween adds to every request; the tween also records the request's own
host, which ``locate()`` builds the URLs on.  The upload is WebOb's
``request.POST["picture"]`` (a ``cgi.FieldStorage``), which ``from_file()`` takes as
it is.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session, sessionmaker

from imageattach.core import HttpExposedFileSystemStore, store_context

from .app import (
    MAX_REQUEST_BYTES,
    Answer,
    delete_answer,
    error_page,
    page_answer,
    refused,
    too_large,
    upload_answer,
    urls_answer,
)

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

SERVED_BY = "the imageattach.pyramid tween"


def make_pyramid_app(
    store: HttpExposedFileSystemStore, sessions: sessionmaker[Session], store_path: str
) -> WSGIApplication:
    def view(answer: Callable[[Any, Session], Answer]) -> Callable[[Any], Response]:
        """A view: the request's session and store around ``answer``, as a Response."""

        def wrapped(request: Any) -> Response:
            result = refused(request.method, request.headers.get("Origin"))
            if result is None:
                with sessions() as session, store_context(request.imageattach_store):
                    result = answer(request, session)
            return Response(
                body=result.body, status=result.status, headerlist=result.header_list()
            )

        return wrapped

    def page(request: Any, session: Session) -> Answer:
        return page_answer(session, request.imageattach_store, store_path, request.host, SERVED_BY)

    def urls(request: Any, session: Session) -> Answer:
        return urls_answer(session)

    def upload(request: Any, session: Session) -> Answer:
        # waitress refuses a body over the limit; another server may not.
        if (request.content_length or 0) > MAX_REQUEST_BYTES:
            return too_large()
        try:
            form = request.POST
        except ValueError as error:  # a malformed multipart body
            return error_page("400 Bad Request", "Malformed form", str(error))
        title = form.get("title", "")
        title = title if isinstance(title, str) else ""  # a file sent as the title
        picture = form.get("picture")
        if not getattr(picture, "filename", None):  # no file chosen: a str, or no field
            return upload_answer(session, title, None, None)
        # A cgi.FieldStorage: from_file() reads its .file.
        return upload_answer(session, title, picture.filename, picture)

    def delete(request: Any, session: Session) -> Answer:
        photo_id = request.matchdict["id"]
        if len(photo_id) > 18:  # more than SQLite's integers
            return error_page("404 Not Found", "No such photo", "There is no such photo.")
        return delete_answer(session, int(photo_id))

    config = Configurator(settings={"imageattach.store": store})
    config.include("imageattach.pyramid")
    config.add_route("page", "/")
    config.add_route("urls", "/urls.txt")
    config.add_route("upload", "/photos")
    config.add_route("delete", "/photos/{id:[1-9][0-9]*}/delete")
    config.add_view(view(page), route_name="page", request_method=("GET", "HEAD"))
    config.add_view(view(urls), route_name="urls", request_method=("GET", "HEAD"))
    config.add_view(view(upload), route_name="upload", request_method="POST")
    config.add_view(view(delete), route_name="delete", request_method="POST")
    app: WSGIApplication = config.make_wsgi_app()
    return app
