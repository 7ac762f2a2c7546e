"""imageattach for ASGI: serve an image store from any ASGI application.

::

    from imageattach.asgi import StaticServerMiddleware

    app = StaticServerMiddleware(app, "/__images__", "/var/lib/myapp/images")

or, with a store, ``app = store.asgi_middleware(app)``.
"""

from __future__ import annotations

from ._middleware import StaticServerMiddleware

__all__ = ["StaticServerMiddleware"]

StaticServerMiddleware.__module__ = __name__
