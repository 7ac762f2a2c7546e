"""``python -m examples.demo``: generate the sample gallery and serve it on 127.0.0.1.

::

    hatch run demo:serve                       # http://127.0.0.1:8000/
    hatch run demo:serve --port 0              # any free port
    hatch run demo:serve --store /tmp/images   # another store folder
"""

from __future__ import annotations

import argparse
import sys
import wsgiref.util
from pathlib import Path
from typing import TYPE_CHECKING, Final

from waitress.server import create_server

from imageattach.core import HttpExposedFileSystemStore

from .app import make_app
from .gallery import ensure_gallery

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

HOST: Final = "127.0.0.1"
SHOWN_URLS: Final = 5


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m examples.demo",
        description="Generate a gallery of sample images in an imageattach filesystem store "
        "and serve it over HTTP on 127.0.0.1.",
    )
    parser.add_argument(
        "--store",
        default="demo-store",
        metavar="DIR",
        help="the store folder; made on the first run and reused after (default: ./demo-store)",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=8000,
        help="the port to listen on; 0 picks a free one (default: 8000)",
    )
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535:
        parser.error(f"--port must be between 0 and 65535, got {args.port}")
    return args


def get(app: WSGIApplication, path: str, host: str) -> bytes:
    """Ask ``app`` for ``path`` as a browser on ``host`` would, without a socket."""
    environ: dict[str, object] = {"PATH_INFO": path, "HTTP_HOST": host}
    wsgiref.util.setup_testing_defaults(environ)
    statuses: list[str] = []

    def start_response(status: str, headers: object, exc_info: object = None) -> None:
        statuses.append(status)

    body = app(environ, start_response)  # type: ignore[arg-type]
    try:
        data = b"".join(body)
    finally:
        close = getattr(body, "close", None)
        if close is not None:
            close()
    if not statuses or not statuses[-1].startswith("200"):
        raise RuntimeError(f"GET {path} answered {statuses[-1:]}: {data[:200]!r}")
    return data


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    store_path = Path(args.store).resolve()
    # The store with its 1.1.0 arguments (the prefix is the default one), plus
    # trusted_hosts, which keeps a forged Host header out of the URLs: the server
    # listens on 127.0.0.1 only, and a browser may call it by either name.
    store = HttpExposedFileSystemStore(
        store_path, prefix="__images__", trusted_hosts=["127.0.0.1", "localhost"]
    )
    gallery = ensure_gallery(store, store_path)
    app = make_app(store, gallery, str(store_path))
    try:
        server = create_server(app, host=HOST, port=args.port, threads=8)
    except OSError as error:
        print(f"cannot listen on {HOST}:{args.port}: {error}; try --port 0", file=sys.stderr)
        return 1
    port = server.effective_port  # type: ignore[union-attr]
    host = f"{HOST}:{port}"
    # The URLs are built per request, from its Host; ask the app for its list
    # as a client of 127.0.0.1 would, before any real request arrives.
    urls = get(app, "/urls.txt", host).decode().splitlines()

    count = len(urls)
    what = "generated" if gallery.generated else "reused"
    print(f"imageattach demo: {count} images in {store_path} ({what})")
    print(f"Gallery: http://{host}/")
    print(f"Image URLs ({count}; all of them at http://{host}/urls.txt):")
    for url in urls[:SHOWN_URLS]:
        print(f"  {url}")
    if count > SHOWN_URLS:
        print(f"  ... and {count - SHOWN_URLS} more")
    try:
        print("Serving with waitress; press Ctrl-C to stop.", flush=True)
        server.run()  # until Ctrl-C: waitress catches it and returns
    except KeyboardInterrupt:  # Ctrl-C before the loop started
        pass
    finally:
        server.close()
    print("Stopped.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
