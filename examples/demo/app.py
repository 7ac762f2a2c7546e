"""The demo's application, on each adapter: a gallery page and a list of image URLs.

The application itself never serves an image.  It only asks the store for
URLs (``store.locate(image)``), and the adapter around it serves the files
under ``/__images__/``: ``store.wsgi_middleware(app)``,
``store.asgi_middleware(app)``, or the Pyramid tween of
``config.include("imageattach.pyramid")``.  The adapter also records each
request's own host, so a page fetched from ``localhost:8000`` links images on
``localhost:8000`` and one fetched from ``127.0.0.1:8000`` links them on
``127.0.0.1:8000``.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape
from typing import TYPE_CHECKING, Any, Final

from imageattach.core import HttpExposedFileSystemStore

from .gallery import DemoImage, Gallery

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = ["ADAPTERS", "make_app", "make_asgi_app", "make_pyramid_app"]

#: The adapters the demo runs on, the first the default.
ADAPTERS: Final = ("wsgi", "asgi", "pyramid")

GRID_WIDTH: Final = 320  # the thumbnail shown in the grid; the other sizes are links


def make_app(
    store: HttpExposedFileSystemStore, gallery: Gallery, store_path: str
) -> WSGIApplication:
    """The gallery as a WSGI application, wrapped by the store's WSGI middleware."""
    return store.wsgi_middleware(
        gallery_app(store, gallery, store_path, "store.wsgi_middleware(app)")
    )


def make_asgi_app(store: HttpExposedFileSystemStore, gallery: Gallery, store_path: str) -> Any:
    """The gallery as an ASGI application, wrapped by the store's ASGI middleware.

    The page itself is the WSGI one run by asgiref's ``WsgiToAsgi`` (in a thread,
    with the request's context, so ``locate()`` sees the host the ASGI middleware
    recorded); the images are served by ``imageattach.asgi``, never blocking the
    event loop.
    """
    from asgiref.wsgi import WsgiToAsgi  # noqa: PLC0415 - only for this adapter

    page = gallery_app(store, gallery, store_path, "store.asgi_middleware(app)")
    return store.asgi_middleware(WsgiToAsgi(page))


def make_pyramid_app(
    store: HttpExposedFileSystemStore, gallery: Gallery, store_path: str
) -> WSGIApplication:
    """The gallery as a Pyramid application: two views, and the imageattach tween."""
    from ._pyramid import make_pyramid_app as make  # noqa: PLC0415 - imports Pyramid

    return make(store, gallery, store_path)


def gallery_app(
    store: HttpExposedFileSystemStore, gallery: Gallery, store_path: str, served_by: str
) -> WSGIApplication:
    """The bare gallery: the page and ``/urls.txt``; it serves no image itself.

    ``served_by`` names, on the page, what serves the images.
    """

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO") or "/"
        method = environ.get("REQUEST_METHOD", "GET")
        if path not in {"/", "/urls.txt"}:
            return _respond(start_response, "404 Not Found", b"Not found\n", method)
        if method not in {"GET", "HEAD"}:
            return _respond(
                start_response,
                "405 Method Not Allowed",
                b"Method not allowed\n",
                method,
                [("Allow", "GET, HEAD")],
            )
        try:
            if path == "/urls.txt":
                body = "".join(store.locate(image) + "\n" for image in gallery.images)
                content_type = "text/plain; charset=utf-8"
            else:
                host = environ.get("HTTP_HOST") or environ.get("SERVER_NAME", "")
                body = render_page(store, gallery, store_path, host, served_by)
                content_type = "text/html; charset=utf-8"
        except RuntimeError as error:
            # locate() raises RuntimeError when the request's Host header is not
            # one of the store's trusted_hosts: no URL is built on a forged host.
            message = f"This demo answers to 127.0.0.1 and localhost only.\n\n{error}\n"
            return _respond(start_response, "400 Bad Request", message.encode(), method)
        return _respond(
            start_response, "200 OK", body.encode(), method, [("Content-Type", content_type)]
        )

    return app


def _respond(
    start_response: StartResponse,
    status: str,
    body: bytes,
    method: str,
    headers: list[tuple[str, str]] | None = None,
) -> list[bytes]:
    headers = headers or [("Content-Type", "text/plain; charset=utf-8")]
    headers += [("Content-Length", str(len(body))), ("Cache-Control", "no-store")]
    start_response(status, headers)
    return [] if method == "HEAD" else [body]


def _img(store: HttpExposedFileSystemStore, image: DemoImage, alt: str) -> str:
    return (
        f'<img src="{escape(store.locate(image))}" width="{image.width}" '
        f'height="{image.height}" alt="{escape(alt)}">'
    )


def render_page(
    store: HttpExposedFileSystemStore,
    gallery: Gallery,
    store_path: str,
    host: str,
    served_by: str = "store.wsgi_middleware(app)",
) -> str:
    """The gallery page: every thumbnail links to its original."""
    cards = []
    for picture in gallery.photos:
        original, shown = picture.original, picture.thumbnail(GRID_WIDTH)
        sizes = " ".join(
            f'<a class="size" href="{escape(store.locate(image))}">'
            f"{image.width}&times;{image.height}</a>"
            for image in picture.images
        )
        cards.append(
            f"""\
<figure class="card">
  <a href="{escape(store.locate(original))}" title="Open the original">\
{_img(store, shown, picture.title)}</a>
  <figcaption><span class="title">{escape(picture.title)}</span>\
<span class="sizes">{sizes}</span></figcaption>
</figure>"""
        )
    others = [
        f"""\
<figure class="card other">
  <a class="backdrop" href="{escape(store.locate(picture.original))}">\
{_img(store, picture.original, picture.title)}</a>
  <figcaption><span class="title">{escape(picture.title)}</span>\
<code>{escape(picture.original.mimetype)}</code></figcaption>
</figure>"""
        for picture in gallery.others
    ]
    count = sum(1 for _ in gallery.images)
    return PAGE.format(
        count=count,
        store=escape(store_path),
        host=escape(host),
        prefix=escape(store.prefix),
        cards="\n".join(cards),
        others="\n".join(others),
        served_by=escape(served_by),
    )


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
  .grid {{ display: grid; gap: 20px; grid-template-columns: repeat(auto-fill, minmax(240px, 1fr));
          margin-bottom: 24px; }}
  .card {{ margin: 0; background: #fff; border: 1px solid var(--line); border-radius: 12px;
          overflow: hidden; box-shadow: 0 1px 2px rgb(15 23 42 / 6%); }}
  .card img {{ display: block; width: 100%; height: auto; }}
  .card figcaption {{ padding: 8px 12px 10px; display: flex; flex-direction: column;
                     align-items: flex-start; gap: 4px; }}
  .title {{ font-weight: 600; }}
  .sizes {{ display: flex; gap: 6px; font-size: 12px; }}
  .size {{ color: var(--muted); text-decoration: none; border: 1px solid var(--line);
          border-radius: 6px; padding: 0 6px; }}
  .size:hover {{ color: var(--ink); border-color: var(--muted); }}
  .other .backdrop {{ display: flex; justify-content: center; padding: 16px;
    background: repeating-conic-gradient(#e2e8f0 0 25%, #fff 0 50%) 0 0 / 24px 24px; }}
  .other img {{ width: 160px; }}
  code {{ font: 13px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }}
  footer {{ padding: 0 32px 32px; color: var(--muted); }}
  a {{ color: inherit; }}
</style>
</head>
<body data-images-loaded="" data-images-total="">
<header>
  <h1>imageattach demo</h1>
  <p>{count} images kept in <code>{store}</code>, served at <code>/{prefix}/</code> by
  <code>{served_by}</code>; every URL comes from <code>store.locate(image)</code>
  and was built for the host of this request, <code>{host}</code>.</p>
  <span id="status">loading images&hellip;</span>
</header>
<main>
<h2>JPEG photos: a 320&times;240 thumbnail links to the 640&times;480 original</h2>
<section class="grid">
{cards}
</section>
<h2>Other media types</h2>
<section class="grid">
{others}
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
