"""The Pyramid tween: translate a request in, ask the core engine, translate the answer out.

Every HTTP decision is :class:`imageattach.core.StaticFiles`'; this module only
speaks Pyramid.  Like ``pyramid_tm``, the settings are read once (in
:func:`includeme`, or in :func:`tween_factory` when the tween is listed in
``pyramid.tweens`` without the include), and the tween is a closure over what
they made.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Final

from pyramid.response import Response as PyramidResponse
from pyramid.tweens import EXCVIEW

from imageattach.core import (
    HOST_URL,
    BlockIterable,
    HttpExposedFileSystemStore,
    Response,
    decode_path_info,
    environ_host_url,
)

from ._settings import Serving, read_settings

__all__ = ["TWEEN", "includeme", "tween_factory"]

#: The dotted name of the tween factory: what ``ptweens`` shows, and what to list
#: in ``pyramid.tweens`` to order the tweens yourself.
TWEEN: Final = "imageattach.pyramid.tween_factory"
#: pyramid_tm's tween.  Ours is placed over it, so an image request never begins a
#: transaction; when pyramid_tm is not included the name is ignored.
_PYRAMID_TM: Final = "pyramid_tm.tm_tween_factory"
#: Where the settings' result is kept: the registry is also a dict.
_REGISTRY_KEY: Final = "imageattach.pyramid"

Handler = Callable[[Any], Any]


def includeme(config: Any) -> None:
    """Serve the image store: ``config.include('imageattach.pyramid')``.

    Reads the ``imageattach.*`` settings (a mistake raises
    :exc:`imageattach.core.ConfigurationError` here, at startup), adds the tween
    over pyramid_tm's and the exception view's (``over=('pyramid_tm.tm_tween_factory',
    EXCVIEW)``), and adds ``request.imageattach_store``.
    """
    serving = read_settings(config.get_settings(), config.maybe_dotted)
    config.registry[_REGISTRY_KEY] = serving
    config.add_request_method(_StoreAttribute(serving.store), "imageattach_store")
    config.add_tween(TWEEN, over=(_PYRAMID_TM, EXCVIEW))


class _StoreAttribute:
    """``request.imageattach_store``: the store, set on each request as Pyramid makes it.

    It is registered as a request *method* whose binding (``__get__``) is the
    store itself, so Pyramid sets it as a plain attribute of every request, also
    of those ``pyramid.scripting.prepare()`` makes for scripts.  A
    ``reify=True`` property would make Pyramid build a new class for every
    request: some 20 us, more than answering a 304 costs, and memory that a
    run of requests leaves behind.
    """

    __slots__ = ("store",)

    def __init__(self, store: HttpExposedFileSystemStore) -> None:
        self.store = store

    def __get__(self, request: object, owner: type | None = None) -> HttpExposedFileSystemStore:
        return self.store

    def __repr__(self) -> str:
        return f"<request.imageattach_store {self.store!r}>"


def _serving(registry: Any) -> Serving:
    serving = registry.get(_REGISTRY_KEY)
    if serving is None:  # the tween listed in pyramid.tweens, without the include
        from pyramid.path import DottedNameResolver  # noqa: PLC0415 - only then

        serving = read_settings(registry.settings or {}, DottedNameResolver().maybe_resolve)
        registry[_REGISTRY_KEY] = serving
    if not isinstance(serving, Serving):
        raise TypeError(f"registry[{_REGISTRY_KEY!r}] must be imageattach's, got {serving!r}")
    return serving


def tween_factory(handler: Handler, registry: Any) -> Handler:
    """Make the tween: requests under the store's prefix are answered from it.

    Every other request goes on to ``handler`` with its host URL recorded in
    :data:`imageattach.core.HOST_URL` while ``handler`` runs (SPEC 7), so a view,
    a renderer, an exception view or a transaction hook calling
    ``request.imageattach_store.locate(image)`` gets a URL on the request's own
    scheme, host and script name.  Pyramid runs response and finished callbacks
    after the tweens: they see no host URL.

    Listed in ``pyramid.tweens`` without ``config.include('imageattach.pyramid')``,
    the factory reads the settings itself (a mistake raises
    :exc:`~imageattach.core.ConfigurationError` from ``make_wsgi_app()``).
    """
    included = _REGISTRY_KEY in registry
    serving = _serving(registry)
    decide = serving.files.decide
    store = serving.store
    block_size = serving.block_size

    def imageattach_tween(request: Any) -> Any:
        environ = request.environ
        path: str = environ.get("PATH_INFO", "")
        response = decide(
            environ.get("REQUEST_METHOD", "GET"),
            path if path.isascii() else decode_path_info(path),
            environ,  # the engine reads headers by environ key
            environ.get("QUERY_STRING", ""),
        )
        if response is not None:
            return _pyramid_response(response, environ, block_size)
        if not included:  # includeme has not made it a request attribute
            request.imageattach_store = store
        if store.host_url_getter is not None:  # SPEC 7.3: the getter's answer is used
            return handler(request)
        token = HOST_URL.set(environ_host_url(environ, store.trusted_hosts))
        try:
            return handler(request)
        finally:
            HOST_URL.reset(token)

    return imageattach_tween


def _pyramid_response(response: Response, environ: dict[str, Any], block_size: int) -> Any:
    """The engine's answer as a Pyramid response, exactly: status, headers and body.

    The header list is the engine's own, so WebOb adds no ``Content-Type``,
    charset or ``Content-Length``; ``conditional_response`` stays off, so WebOb's
    own conditional and range code never runs.
    """
    body = response.body
    try:
        app_iter: Iterable[bytes]
        if isinstance(body, bytes):
            app_iter = [body] if body else []
        else:
            file_wrapper = environ.get("wsgi.file_wrapper") if body.whole else None
            if file_wrapper is not None:
                # The whole file: the server can sendfile it (gunicorn), and closes
                # the file when it closes the iterable.
                app_iter = file_wrapper(body.file, block_size)
            else:  # a range, several, or no file_wrapper: read at the offsets
                app_iter = BlockIterable(body, block_size)
        return PyramidResponse(
            status=response.status_line,
            headerlist=response.headers,
            app_iter=app_iter,
            conditional_response=False,
        )
    except BaseException:
        response.close()
        raise
