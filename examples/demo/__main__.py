"""``python -m examples.demo``: make the sample gallery and serve it on 127.0.0.1.

The first run creates the store folder, the SQLite database in it (``.demo.sqlite3``)
and the sample photos; the next runs reuse them, with the photos uploaded since.

::

    hatch run demo:serve                       # http://127.0.0.1:8000/
    hatch run demo:serve --port 0              # any free port
    hatch run demo:serve --store /tmp/images   # another store folder
    hatch run demo:serve --adapter asgi        # imageattach.asgi under uvicorn
    hatch run demo:serve --adapter pyramid     # the imageattach.pyramid tween
"""

from __future__ import annotations

import argparse
import socket
import sys
from pathlib import Path
from typing import Any, Final

from sqlalchemy.orm import Session, sessionmaker

from imageattach.core import HttpExposedFileSystemStore, host_url_context, store_context

from .app import ADAPTERS, MAX_REQUEST_BYTES, make_app, make_asgi_app, make_pyramid_app
from .gallery import ensure_gallery
from .models import DATABASE, dispose, open_database
from .photos import image_urls, load_photos

HOST: Final = "127.0.0.1"
SHOWN_URLS: Final = 5


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m examples.demo",
        description="Keep a gallery of photos in a SQLite database and an imageattach "
        "filesystem store, and serve it over HTTP on 127.0.0.1.",
    )
    parser.add_argument(
        "--store",
        default="demo-store",
        metavar="DIR",
        help=f"the store folder, with the database {DATABASE} in it; made on the first run "
        "and reused after (default: ./demo-store)",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=8000,
        help="the port to listen on; 0 picks a free one (default: 8000)",
    )
    parser.add_argument(
        "--adapter",
        choices=ADAPTERS,
        default=ADAPTERS[0],
        help="serve through imageattach.wsgi (waitress), imageattach.asgi (uvicorn) "
        "or imageattach.pyramid (waitress) (default: wsgi)",
    )
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535:
        parser.error(f"--port must be between 0 and 65535, got {args.port}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    store_path = Path(args.store).resolve()
    # The store with its 1.1.0 arguments (the prefix is the default one), plus
    # trusted_hosts, which keeps a forged Host header out of the URLs: the server
    # listens on 127.0.0.1 only, and a browser may call it by either name.
    store = HttpExposedFileSystemStore(
        store_path, prefix="__images__", trusted_hosts=["127.0.0.1", "localhost"]
    )
    sessions = open_database(store_path)
    try:
        return _run(args, store, sessions, store_path)
    finally:
        dispose(sessions)


def _run(
    args: argparse.Namespace,
    store: HttpExposedFileSystemStore,
    sessions: sessionmaker[Session],
    store_path: Path,
) -> int:
    seeding = ensure_gallery(sessions, store)
    make = {"wsgi": make_app, "asgi": make_asgi_app, "pyramid": make_pyramid_app}[args.adapter]
    app = make(store, sessions, str(store_path))
    try:
        listener = socket.create_server((HOST, args.port))
    except OSError as error:
        print(f"cannot listen on {HOST}:{args.port}: {error}; try --port 0", file=sys.stderr)
        return 1
    port = listener.getsockname()[1]
    host = f"{HOST}:{port}"
    # The URLs are built per request, from its Host; these are the ones a client
    # of 127.0.0.1 gets.
    with host_url_context(f"http://{host}/"), store_context(store), sessions() as session:
        urls = image_urls(load_photos(session))

    count = len(urls)
    what = "generated" if seeding.generated else "reused"
    print(
        f"imageattach demo: {seeding.photos} photos, {count} images in {store_path} ({what}); "
        f"database {store_path / DATABASE}"
    )
    print(f"Gallery: http://{host}/")
    print(f"Image URLs ({count}; all of them at http://{host}/urls.txt):")
    for url in urls[:SHOWN_URLS]:
        print(f"  {url}")
    if count > SHOWN_URLS:
        print(f"  ... and {count - SHOWN_URLS} more")
    print(f"Adapter: imageattach.{args.adapter}")
    try:
        serve(app, args.adapter, listener)
    except KeyboardInterrupt:  # Ctrl-C before the loop started
        pass
    finally:
        listener.close()
    print("Stopped.")
    return 0


def serve(app: Any, adapter: str, listener: socket.socket) -> None:
    """Serve ``app`` on ``listener`` until Ctrl-C: uvicorn for ASGI, waitress for WSGI."""
    if adapter == "asgi":
        import uvicorn  # noqa: PLC0415 - only for this adapter

        config = uvicorn.Config(app, lifespan="off", log_level="warning", access_log=False)
        print("Serving with uvicorn; press Ctrl-C to stop.", flush=True)
        uvicorn.Server(config).run(sockets=[listener])  # returns on Ctrl-C
        return
    from waitress.server import create_server  # noqa: PLC0415

    # waitress reads the whole body before the app runs: it refuses one over the limit.
    server = create_server(
        app, sockets=[listener], threads=8, max_request_body_size=MAX_REQUEST_BYTES
    )
    try:
        print("Serving with waitress; press Ctrl-C to stop.", flush=True)
        server.run()  # until Ctrl-C: waitress catches it and returns
    finally:
        server.close()


if __name__ == "__main__":
    sys.exit(main())
