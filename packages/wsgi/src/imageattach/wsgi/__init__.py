"""imageattach for WSGI: serve an image store from any WSGI application.

::

    from imageattach.wsgi import StaticServerMiddleware

    app = StaticServerMiddleware(app, "/__images__", "/var/lib/myapp/images")

or, with a store, ``app = store.wsgi_middleware(app)``.
"""

from __future__ import annotations

from ._middleware import StaticServerMiddleware

__all__ = ["StaticServerMiddleware"]

StaticServerMiddleware.__module__ = __name__
