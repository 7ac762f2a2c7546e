"""The demo's application, on each adapter: a gallery of photos, an upload form, deletion.

=====================================  ==============================================
``GET /``                              the gallery page
``GET /urls.txt``                      the URL of every image, one a line
``POST /photos``                       upload (``multipart/form-data``: ``picture``,
                                       the file, and ``title``); 303 to the gallery
``POST /photos/<id>/delete``           delete a photo and its files; 303 to the gallery
``/__images__/...``                    the image files, served by the adapter
=====================================  ==============================================

The application itself never serves an image.  It asks the entities for URLs
(``photo.picture.find_thumbnail(width=320).locate()``), and the adapter around it
serves the files under ``/__images__/``: ``store.wsgi_middleware(app)``,
``store.asgi_middleware(app)``, or the Pyramid tween of
``config.include("imageattach.pyramid")``.  The adapter also records each request's own
host, so a page fetched from ``localhost:8000`` links images on ``localhost:8000`` and
one fetched from ``127.0.0.1:8000`` links them on ``127.0.0.1:8000``.

Every request runs in ``with sessions() as session, store_context(store):``: a
SQLAlchemy session of its own, and the store the entity methods use.  The WSGI page
below serves all three adapters (the ASGI one runs it through asgiref's
``WsgiToAsgi``); the Pyramid one has views of its own (:mod:`examples.demo._pyramid`)
around the same functions.
"""

from __future__ import annotations

import asyncio
import contextvars
import re
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from dataclasses import dataclass, field
from html import escape
from typing import IO, TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

from sqlalchemy.orm import Session, sessionmaker
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.formparser import parse_form_data

from imageattach.core import HttpExposedFileSystemStore, current_host_url, store_context

from .models import DATABASE, MAX_IMAGE_BYTES, Photo, PhotoPicture
from .photos import (
    GRID_WIDTH,
    REJECTED,
    add_photo,
    delete_photo,
    grid_image,
    image_urls,
    images_of,
    load_photos,
    title_for,
)

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = [
    "ADAPTERS",
    "MAX_REQUEST_BYTES",
    "Answer",
    "make_app",
    "make_asgi_app",
    "make_pyramid_app",
]

#: The adapters the demo runs on, the first the default.
ADAPTERS: Final = ("wsgi", "asgi", "pyramid")

#: The largest request body taken (an upload and its form); over it, a 413.
MAX_REQUEST_BYTES: Final = 20 * 1024 * 1024
#: The most bytes of form fields but files kept in memory.
MAX_FORM_MEMORY: Final = 64 * 1024

DELETE_PATH: Final = re.compile(r"/photos/([1-9][0-9]{0,17})/delete")

Sessions = sessionmaker[Session]


def make_app(
    store: HttpExposedFileSystemStore, sessions: Sessions, store_path: str
) -> WSGIApplication:
    """The gallery as a WSGI application, wrapped by the store's WSGI middleware."""
    return store.wsgi_middleware(
        gallery_app(store, sessions, store_path, "store.wsgi_middleware(app)")
    )


def make_asgi_app(store: HttpExposedFileSystemStore, sessions: Sessions, store_path: str) -> Any:
    """The gallery as an ASGI application, wrapped by the store's ASGI middleware.

    The pages are the WSGI ones run by asgiref's ``WsgiToAsgi`` (in a thread, with the
    request's context, so ``locate()`` sees the host the ASGI middleware recorded);
    the images are served by ``imageattach.asgi``, never blocking the event loop.
    :func:`limit_body` stands in front of ``WsgiToAsgi``.
    """
    from asgiref.wsgi import WsgiToAsgi  # noqa: PLC0415 - only for this adapter

    page = gallery_app(store, sessions, store_path, "store.asgi_middleware(app)")
    page_app = WsgiToAsgi(page)  # type: ignore[no-untyped-call]
    return store.asgi_middleware(limit_body(page_app, MAX_REQUEST_BYTES))


def make_pyramid_app(
    store: HttpExposedFileSystemStore, sessions: Sessions, store_path: str
) -> WSGIApplication:
    """The gallery as a Pyramid application: four views, and the imageattach tween."""
    from ._pyramid import make_pyramid_app as make  # noqa: PLC0415 - imports Pyramid

    return make(store, sessions, store_path)


# --- what every adapter answers ----------------------------------------------------------


@dataclass
class Answer:
    """A response, before an adapter turns it into its own."""

    status: str
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"
    headers: list[tuple[str, str]] = field(default_factory=list)

    @property
    def code(self) -> int:
        return int(self.status.split(" ", 1)[0])

    def header_list(self) -> list[tuple[str, str]]:
        headers = [("Content-Type", self.content_type), *self.headers]
        headers += [("Content-Length", str(len(self.body))), ("Cache-Control", "no-store")]
        return headers


def text(status: str, message: str) -> Answer:
    return Answer(status, message.encode())


def redirect(location: str) -> Answer:
    """303 See Other: after a POST, the browser GETs ``location``."""
    return Answer("303 See Other", headers=[("Location", location)])


def error_page(status: str, title: str, message: str) -> Answer:
    body = ERROR_PAGE.format(status=escape(status), title=escape(title), message=escape(message))
    return Answer(status, body.encode(), "text/html; charset=utf-8")


TOO_LARGE: Final = f"The request is over {MAX_REQUEST_BYTES // (1024 * 1024)} MB.\n"


def too_large() -> Answer:
    return error_page("413 Content Too Large", "The upload is too large", TOO_LARGE)


def refused(method: str, origin: str | None) -> Answer | None:
    """A 400 for a request on an untrusted host; a 403 for a cross-site POST.

    The adapter records the request's host only when it is one of the store's
    ``trusted_hosts`` (``current_host_url()`` is None otherwise): no page is built on
    a forged ``Host``, and a DNS-rebinding page cannot post to this server.  A POST
    whose ``Origin`` is another site's (a form on some page posting here) is refused
    as well.
    """
    host_url = current_host_url()
    if host_url is None:
        return text(
            "400 Bad Request",
            "This demo answers to 127.0.0.1 and localhost only: "
            "the request's Host header is not in the store's trusted_hosts.\n",
        )
    if method == "POST":
        own = urlsplit(host_url)
        if origin is not None and origin != f"{own.scheme}://{own.netloc}":
            return text("403 Forbidden", f"A form of {origin} cannot post here.\n")
    return None


def page_answer(
    session: Session,
    store: HttpExposedFileSystemStore,
    store_path: str,
    host: str,
    served_by: str,
) -> Answer:
    body = render_page(load_photos(session), store, store_path, host, served_by)
    return Answer("200 OK", body.encode(), "text/html; charset=utf-8")


def urls_answer(session: Session) -> Answer:
    urls = image_urls(load_photos(session))
    return Answer("200 OK", "".join(url + "\n" for url in urls).encode())


def upload_answer(
    session: Session, title: str, filename: str | None, file: IO[bytes] | None
) -> Answer:
    """Add the uploaded photo and redirect to it; a 400 page when it is no image."""
    if file is None:
        return error_page(
            "400 Bad Request",
            "No file",
            "Choose an image file to upload (the form's picture field was empty).",
        )
    try:
        photo = add_photo(session, title_for(title, filename), file)
    except REJECTED as error:
        # InvalidImageError and the like: nothing was stored, the session rolled back.
        what = f"{filename!r} is" if filename else "The file is"
        return error_page(
            "400 Bad Request", "Not an image the demo can keep", f"{what} refused: {error}"
        )
    return redirect(f"/#photo-{photo.id}")


def delete_answer(session: Session, photo_id: int) -> Answer:
    if not delete_photo(session, photo_id):
        return error_page("404 Not Found", "No such photo", f"There is no photo #{photo_id}.")
    return redirect("/")


# --- the WSGI page -----------------------------------------------------------------------


def gallery_app(
    store: HttpExposedFileSystemStore, sessions: Sessions, store_path: str, served_by: str
) -> WSGIApplication:
    """The bare gallery: its pages and forms; it serves no image itself.

    ``served_by`` names, on the page, what serves the images.
    """

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        answer = _answer(environ, method)
        start_response(answer.status, answer.header_list())
        return [] if method == "HEAD" else [answer.body]

    def _answer(environ: WSGIEnvironment, method: str) -> Answer:
        path = environ.get("PATH_INFO") or "/"
        delete = DELETE_PATH.fullmatch(path)
        if path in {"/", "/urls.txt"}:
            allowed = "GET, HEAD"
        elif path == "/photos" or delete:
            allowed = "POST"
        else:
            return text("404 Not Found", "Not found\n")
        if method not in allowed.split(", "):
            answer = text("405 Method Not Allowed", "Method not allowed\n")
            answer.headers.append(("Allow", allowed))
            return answer
        refusal = refused(method, environ.get("HTTP_ORIGIN"))
        if refusal is not None:
            return refusal
        with sessions() as session, store_context(store):
            if path == "/":
                host = environ.get("HTTP_HOST") or environ.get("SERVER_NAME", "")
                return page_answer(session, store, store_path, host, served_by)
            if path == "/urls.txt":
                return urls_answer(session)
            if delete:
                return delete_answer(session, int(delete[1]))
            return _upload(environ, session)

    return app


def _upload(environ: WSGIEnvironment, session: Session) -> Answer:
    """Parse the multipart body with Werkzeug (imageattach-wsgi's own dependency)."""
    try:
        _stream, form, files = parse_form_data(
            environ,
            max_content_length=MAX_REQUEST_BYTES,
            max_form_memory_size=MAX_FORM_MEMORY,
            silent=False,
        )
    except RequestEntityTooLarge:
        return too_large()
    except ValueError as error:  # a malformed multipart body
        return error_page("400 Bad Request", "Malformed form", str(error))
    try:
        upload = files.get("picture")
        if upload is None or not upload.filename:  # a browser sends no name for no file
            return upload_answer(session, form.get("title", ""), None, None)
        return upload_answer(session, form.get("title", ""), upload.filename, upload.stream)
    finally:
        for upload in files.values():
            upload.close()


# --- ASGI: in front of WsgiToAsgi --------------------------------------------------------

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class _BodyTooLargeError(Exception):
    pass


def limit_body(app: ASGIApp, max_bytes: int) -> ASGIApp:
    """Run ``WsgiToAsgi(page)`` as ``app``: answer 413 to a request body over
    ``max_bytes`` before it is buffered, and call the server's ``send`` in this
    request's own context.

    The size: ``WsgiToAsgi`` reads the whole body before the WSGI page runs, so it
    is limited here, on its ``Content-Length`` and as it arrives.

    The context: ``WsgiToAsgi`` calls ``send`` from its thread through asgiref's
    ``AsyncToSync``, in a context that holds that thread's executor, and uvicorn
    resumes reading the connection from inside ``send``, so the next request on a
    kept-alive connection starts in that context; the executor is gone by then, and
    asgiref fails that request ("CurrentThreadExecutor already quit or is broken", a
    500 for every second request of a browser).  ``send`` runs in a task of this
    request's context instead.
    """

    async def limited(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        length = dict(scope.get("headers") or ()).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > max_bytes):
            await _send_answer(send, too_large())
            return
        context = contextvars.copy_context()
        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_bytes:
                    raise _BodyTooLargeError
            return message

        async def send_here(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            # A task made in ``context`` runs in a copy of it.
            await context.run(asyncio.ensure_future, send(message))

        try:
            await app(scope, counted, send_here)
        except _BodyTooLargeError:
            if started:
                raise
            await _send_answer(send, too_large())

    return limited


async def _send_answer(send: Send, answer: Answer) -> None:
    headers = [(k.lower().encode(), v.encode()) for k, v in answer.header_list()]
    await send({"type": "http.response.start", "status": answer.code, "headers": headers})
    await send({"type": "http.response.body", "body": answer.body})


# --- the pages ---------------------------------------------------------------------------


def _img(image: PhotoPicture, alt: str) -> str:
    # What image.__html__() gives ({{ image }} in Jinja2), with an alt text.
    return (
        f'<img src="{escape(image.locate())}" width="{image.width}" '
        f'height="{image.height}" alt="{escape(alt)}">'
    )


def render_page(
    photos: list[Photo],
    store: HttpExposedFileSystemStore,
    store_path: str,
    host: str,
    served_by: str = "store.wsgi_middleware(app)",
) -> str:
    """The gallery page: every thumbnail links to its original, and to its other sizes."""
    cards = []
    for photo in photos:
        shown, original = grid_image(photo), photo.picture.original
        if shown is None or original is None:  # a photo without a picture (none here)
            picture = '<span class="missing">no picture</span>'
            sizes = ""
        else:
            picture = (
                f'<a class="backdrop" href="{escape(original.locate())}" '
                f'title="Open the original">{_img(shown, photo.title)}</a>'
            )
            sizes = " ".join(
                f'<a class="size" href="{escape(image.locate())}" '
                f'title="{escape(image.mimetype)}">{image.width}&times;{image.height}</a>'
                for image in images_of(photo)
            )
            sizes += f" <code>{escape(original.mimetype)}</code>"
        cards.append(
            f"""\
<figure class="card" id="photo-{photo.id}">
  {picture}
  <figcaption><span class="title">{escape(photo.title)}</span>\
<span class="sizes">{sizes}</span>
    <form method="post" action="/photos/{photo.id}/delete">\
<button class="delete" title="Delete the photo and its files">Delete</button></form>
  </figcaption>
</figure>"""
        )
    count = sum(len(photo.picture) for photo in photos)
    return PAGE.format(
        photos=len(photos),
        count=count,
        store=escape(store_path),
        database=escape(DATABASE),
        host=escape(host),
        prefix=escape(store.prefix),
        cards="\n".join(cards) or '<p class="empty">No photos: upload one.</p>',
        served_by=escape(served_by),
        grid=GRID_WIDTH,
        max_mb=MAX_IMAGE_BYTES // (1024 * 1024),
    )


ERROR_PAGE: Final = """\
<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>{status}: {title}</title>
<style>body {{ font: 15px/1.5 system-ui, sans-serif; margin: 40px; color: #0f172a; }}</style>
</head>
<body>
<h1>{title}</h1>
<p class="error">{message}</p>
<p><a href="/">Back to the gallery</a></p>
</body>
</html>
"""

# The script at the end counts the images the browser really decoded, at their
# stated size, and shows it (and puts it in the title and on <body>, where a
# headless browser test reads it).
PAGE: Final = """\
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>imageattach demo</title>
<style>
  :root {{ --ink: #0f172a; --muted: #64748b; --line: #e2e8f0; --accent: #14aaaa; }}
  * {{ box-sizing: border-box; }}
  body {{ margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
         color: var(--ink); background: #f8fafc; }}
  header {{ background: var(--ink); color: #f8fafc; padding: 20px 32px; display: flex;
           align-items: center; gap: 24px; flex-wrap: wrap; }}
  header h1 {{ margin: 0; font-size: 22px; font-weight: 650; }}
  header p {{ margin: 0; color: #cbd5e1; flex: 1 1 420px; }}
  header code {{ color: #f8fafc; }}
  #status {{ padding: 4px 12px; border-radius: 999px; background: #334155; font-weight: 600;
            white-space: nowrap; }}
  #status.ok {{ background: var(--accent); color: var(--ink); }}
  #status.bad {{ background: #ef4444; }}
  main {{ padding: 24px 32px 8px; }}
  h2 {{ font-size: 16px; margin: 8px 0 14px; color: var(--muted); font-weight: 600; }}
  .upload {{ display: flex; gap: 12px; align-items: center; flex-wrap: wrap;
            margin-bottom: 24px; padding: 14px 16px; background: #fff;
            border: 1px solid var(--line); border-radius: 12px; }}
  .upload input[type=text] {{ font: inherit; padding: 4px 8px; border: 1px solid var(--line);
                             border-radius: 6px; }}
  .upload small {{ color: var(--muted); }}
  button {{ font: inherit; padding: 4px 14px; border-radius: 6px; cursor: pointer;
           border: 1px solid var(--ink); background: var(--ink); color: #f8fafc; }}
  .grid {{ display: grid; gap: 20px; grid-template-columns: repeat(auto-fill, minmax(240px, 1fr));
          margin-bottom: 24px; }}
  .card {{ margin: 0; background: #fff; border: 1px solid var(--line); border-radius: 12px;
          overflow: hidden; box-shadow: 0 1px 2px rgb(15 23 42 / 6%); }}
  .backdrop {{ display: flex; justify-content: center; align-items: center; min-height: 120px;
    background: repeating-conic-gradient(#e2e8f0 0 25%, #fff 0 50%) 0 0 / 24px 24px; }}
  .card img {{ display: block; max-width: 100%; max-height: 360px; width: auto; height: auto; }}
  .card figcaption {{ padding: 8px 12px 10px; display: flex; flex-direction: column;
                     align-items: flex-start; gap: 4px; }}
  .title {{ font-weight: 600; overflow-wrap: anywhere; }}
  .sizes {{ display: flex; gap: 6px; font-size: 12px; flex-wrap: wrap; align-items: center; }}
  .size {{ color: var(--muted); text-decoration: none; border: 1px solid var(--line);
          border-radius: 6px; padding: 0 6px; }}
  .size:hover {{ color: var(--ink); border-color: var(--muted); }}
  .delete {{ font-size: 12px; padding: 0 10px; background: #fff; color: #b91c1c;
            border-color: #fecaca; }}
  .missing, .empty {{ color: var(--muted); padding: 16px; }}
  code {{ font: 13px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }}
  footer {{ padding: 0 32px 32px; color: var(--muted); }}
  a {{ color: inherit; }}
</style>
</head>
<body data-images-loaded="" data-images-total="">
<header>
  <h1>imageattach demo</h1>
  <p>{photos} photos, {count} images kept in <code>{store}</code> (their rows in the SQLite
  database <code>{database}</code> there), served at <code>/{prefix}/</code> by
  <code>{served_by}</code>; every URL comes from <code>image.locate()</code>
  and was built for the host of this request, <code>{host}</code>.</p>
  <span id="status">loading images&hellip;</span>
</header>
<main>
<form class="upload" method="post" action="/photos" enctype="multipart/form-data">
  <input type="file" name="picture" accept="image/*" required>
  <input type="text" name="title" placeholder="Title (optional)" maxlength="100">
  <button>Upload</button>
  <small>JPEG, PNG, GIF, WebP, SVG&hellip; up to {max_mb} MB: the original is kept,
  thumbnails are made of it</small>
</form>
<h2>Photos: a {grid}-pixel-wide thumbnail (or the original, when it is no wider)
links to the original</h2>
<section class="grid">
{cards}
</section>
</main>
<footer>Every image URL, for scripts: <a href="/urls.txt">/urls.txt</a>.
Each carries a <code>?_ts=</code> cache buster made from the image's
<code>created_at</code>.</footer>
<script>
window.addEventListener("load", function () {{
  var images = document.images, loaded = 0;
  for (var i = 0; i < images.length; i++) {{
    var image = images[i];
    if (image.complete && image.naturalWidth === +image.getAttribute("width")
        && image.naturalHeight === +image.getAttribute("height")) loaded++;
  }}
  var status = document.getElementById("status");
  status.textContent = loaded + " of " + images.length + " images loaded";
  status.className = loaded === images.length ? "ok" : "bad";
  document.body.dataset.imagesLoaded = loaded;
  document.body.dataset.imagesTotal = images.length;
  document.title = "imageattach demo: " + loaded + "/" + images.length + " images loaded";
}});
</script>
</body>
</html>
"""
