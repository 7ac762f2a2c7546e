"""Filesystem-backed image stores, with the names and signatures of 1.1.0.

:class:`FileSystemStore`
    Stores files under a directory; URLs start with a fixed base URL.
:class:`HttpExposedFileSystemStore`
    The same, plus a middleware that serves the files and URLs built from the
    host of the request being handled.

Files are laid out as 1.1.0 laid them out, so an existing store folder keeps
working: ``<object_type>/<id % 1000>/<id // 1000>/<id>.<W>x<H><ext>``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterable
from functools import cache
from typing import IO, TYPE_CHECKING, Any

from ._context import HOST_URL, RejectedHost, normalize_trusted_hosts
from ._layout import Segments, image_path, key_url_path
from ._store import Store

if TYPE_CHECKING:
    import imageattach.asgi
    from imageattach.wsgi import StaticServerMiddleware

__all__ = ["BaseFileSystemStore", "FileSystemStore", "HttpExposedFileSystemStore"]


@cache
def _file_mode() -> int:
    """The mode ``open()`` would give a new file under the process umask."""
    umask = None
    if sys.platform.startswith("linux"):
        try:
            with open("/proc/self/status", encoding="ascii") as status:
                for line in status:
                    if line.startswith("Umask:"):
                        umask = int(line.split()[1], 8)
                        break
        except (OSError, ValueError):
            pass
    if umask is None:  # the only portable way: set it and put it back
        umask = os.umask(0o022)
        os.umask(umask)
    return 0o666 & ~umask


class BaseFileSystemStore(Store):
    """Abstract base of :class:`FileSystemStore` and :class:`HttpExposedFileSystemStore`.

    :param path: the directory the image files are kept in.  It is created,
        with the directories below it, on the first write.
    """

    base_url: str

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)

    def get_path(
        self, object_type: str, object_id: int, width: int, height: int, mimetype: str
    ) -> Segments:
        """The path segments of a key below :attr:`path`, in the 1.1.0 layout."""
        return image_path(object_type, object_id, width, height, mimetype)

    def put_file(
        self,
        file: IO[bytes],
        object_type: str,
        object_id: int,
        width: int,
        height: int,
        mimetype: str,
        reproducible: bool,
    ) -> None:
        """Write ``file`` atomically: a reader sees the old file or the new one, never a part.

        The data goes to a hidden temporary file in the target directory (never
        served, as a dot-file), is flushed to disk, and is renamed over the
        target in one step.
        """
        segments = self.get_path(object_type, object_id, width, height, mimetype)
        directory = os.path.join(self.path, *segments[:3])
        os.makedirs(directory, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=".", suffix=".tmp", dir=directory)
        try:
            with open(fd, "wb") as out:
                shutil.copyfileobj(file, out)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(temporary, _file_mode())
            os.replace(temporary, os.path.join(directory, segments[3]))
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise

    def delete_file(
        self, object_type: str, object_id: int, width: int, height: int, mimetype: str
    ) -> None:
        """Delete the file of the key; silent when it does not exist."""
        segments = self.get_path(object_type, object_id, width, height, mimetype)
        with contextlib.suppress(FileNotFoundError, NotADirectoryError):
            os.remove(os.path.join(self.path, *segments))

    def get_file(
        self, object_type: str, object_id: int, width: int, height: int, mimetype: str
    ) -> IO[bytes]:
        """Open the file of the key.

        :raises FileNotFoundError: when it does not exist.
        """
        segments = self.get_path(object_type, object_id, width, height, mimetype)
        return open(os.path.join(self.path, *segments), "rb")

    def get_url(
        self, object_type: str, object_id: int, width: int, height: int, mimetype: str
    ) -> str:
        """The URL of the key: :attr:`base_url` followed by its layout path."""
        try:
            base_url = self.base_url
        except AttributeError:
            raise NotImplementedError(
                f"{type(self).__name__} must have a base_url attribute or property"
            ) from None
        return base_url + key_url_path(object_type, object_id, width, height, mimetype)


class FileSystemStore(BaseFileSystemStore):
    """A filesystem store whose URLs start with a fixed ``base_url``.

    Something else (nginx, a CDN, the WSGI middleware) serves the directory at
    that URL::

        store = FileSystemStore("/var/lib/myapp/images", "https://images.example.com/")

    :param path: the directory the image files are kept in.
    :param base_url: the URL the directory is served at; a trailing ``/`` is
        added when missing.
    """

    def __init__(self, path: str | os.PathLike[str], base_url: str) -> None:
        super().__init__(path)
        if not isinstance(base_url, str):
            raise TypeError(f"base_url must be a str, got {base_url!r}")
        if not base_url.endswith("/"):
            base_url += "/"
        self.base_url = base_url

    def __repr__(self) -> str:
        cls = type(self)
        return f"{cls.__module__}.{cls.__qualname__}({self.path!r}, {self.base_url!r})"


class HttpExposedFileSystemStore(BaseFileSystemStore):
    """A filesystem store that also serves its files, at URLs on the request's own host.

    ::

        from flask import Flask
        from imageattach.core import HttpExposedFileSystemStore

        app = Flask(__name__)
        fs_store = HttpExposedFileSystemStore("userimages", "images/")
        app.wsgi_app = fs_store.wsgi_middleware(app.wsgi_app)

    The middleware records the host URL of each request (scheme, host and
    script name) for that request only, so :meth:`locate` called while handling
    it gives URLs on the same host.  Outside a request (a Celery task, a shell)
    there is no host to use; pass ``host_url_getter``, or wrap the code in
    :func:`~imageattach.core.host_url_context`, or :meth:`locate` raises
    :exc:`RuntimeError`.

    :param path: the directory the image files are kept in.
    :param prefix: the URL path the files are served under, ``'__images__'``
        by default; leading and trailing slashes are ignored.
    :param host_url_getter: a callable taking nothing and returning a host URL
        such as ``'https://example.com/'``; when given, it is used instead of
        the request's host.
    :param cors: whether the middleware lets pages on any origin load the
        images (``Access-Control-Allow-Origin: *``).
    :param trusted_hosts: host names (``'example.com'``, or ``'.example.com'``
        for it and its subdomains) that may appear in URLs.  A request with any
        other ``Host`` records no host URL.  Recommended unless a proxy in
        front already enforces the host.
    :raises TypeError: when ``host_url_getter`` is given and is not callable.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        prefix: str = "__images__",
        host_url_getter: Callable[[], str] | None = None,
        cors: bool = False,
        *,
        trusted_hosts: Iterable[str] | None = None,
    ) -> None:
        if host_url_getter is not None and not callable(host_url_getter):
            raise TypeError(f"host_url_getter must be callable, got {host_url_getter!r}")
        if not isinstance(prefix, str):
            raise TypeError(f"prefix must be a str, got {prefix!r}")
        super().__init__(path)
        self.prefix = prefix.strip("/")
        self.host_url_getter = host_url_getter
        self.cors = bool(cors)
        self.trusted_hosts = normalize_trusted_hosts(trusted_hosts)
        self._url_tail = self.prefix + "/" if self.prefix else ""

    @property
    def base_url(self) -> str:  # type: ignore[override]
        """The URL the files are served under, for the current request.

        :raises RuntimeError: when there is no ``host_url_getter`` and no
            request (or the request's host was not trusted).
        """
        getter = self.host_url_getter
        if getter is not None:
            host_url = getter()
            if host_url.endswith("/"):
                return host_url + self._url_tail
            return f"{host_url}/{self._url_tail}"
        request_url = HOST_URL.get()
        if request_url is not None and type(request_url) is str:
            return request_url + self._url_tail
        cls = type(self)
        name = f"{cls.__module__}.{cls.__qualname__}"
        untrusted = (
            f"- the request's Host header {str(request_url)!r} is not in trusted_hosts "
            f"{list(self.trusted_hosts or ())!r}\n"
            if isinstance(request_url, RejectedHost)
            else ""
        )
        raise RuntimeError(
            "could not determine image url. there are two ways to workaround this:\n"
            f"- set host_url_getter parameter to {name}\n"
            f"- use {name}.wsgi_middleware\n"
            f"{untrusted}"
            f"see docs of {name} for more details"
        )

    def wsgi_middleware(
        self, app: Any, cors: bool | None = None, **options: Any
    ) -> StaticServerMiddleware:
        """Wrap the WSGI application ``app`` so that it serves this store's files.

        Requests under ``/<prefix>/`` are answered from the store; every other
        request goes to ``app``, with this request's host URL recorded for
        :meth:`locate`.  ``cors`` overrides the store's own ``cors`` setting;
        ``options`` are those of :class:`imageattach.wsgi.StaticServerMiddleware`
        (``cache_control``, ``versioned_cache_control``, ``follow_symlinks``,
        ``svg_as_attachment``).  Needs the ``imageattach-wsgi`` package.

        :returns: a :class:`imageattach.wsgi.StaticServerMiddleware`.
        """
        try:
            from imageattach.wsgi import StaticServerMiddleware  # noqa: PLC0415
        except ImportError as error:  # pragma: no cover - depends on what is installed
            raise ImportError(
                "HttpExposedFileSystemStore.wsgi_middleware() needs the WSGI adapter: "
                "pip install imageattach-wsgi"
            ) from error
        if cors is None:
            cors = self.cors
        return StaticServerMiddleware.for_store(self, app, cors=cors, **options)

    def asgi_middleware(
        self, app: Any, cors: bool | None = None, **options: Any
    ) -> imageattach.asgi.StaticServerMiddleware:
        """Wrap the ASGI application ``app`` so that it serves this store's files.

        The ASGI twin of :meth:`wsgi_middleware`: requests under ``/<prefix>/``
        are answered from the store, without blocking the event loop; every
        other request goes to ``app`` (ASGI 3, or ASGI 2), with this request's
        host URL (its scheme, ``Host`` and ``root_path``) recorded for
        :meth:`locate` while ``app`` handles it.  ``cors`` overrides the store's
        own ``cors`` setting; ``options`` are those of
        :class:`imageattach.asgi.StaticServerMiddleware` (``block_size``,
        ``cache_control``, ``versioned_cache_control``, ``follow_symlinks``,
        ``svg_as_attachment``).  Needs the ``imageattach-asgi`` package.

        :returns: a :class:`imageattach.asgi.StaticServerMiddleware`.
        """
        try:
            from imageattach.asgi import (  # noqa: PLC0415
                StaticServerMiddleware as ASGIStaticServerMiddleware,
            )
        except ImportError as error:  # pragma: no cover - depends on what is installed
            raise ImportError(
                "HttpExposedFileSystemStore.asgi_middleware() needs the ASGI adapter: "
                "pip install imageattach-asgi"
            ) from error
        if cors is None:
            cors = self.cors
        return ASGIStaticServerMiddleware.for_store(self, app, cors=cors, **options)

    def __repr__(self) -> str:
        cls = type(self)
        return (
            f"{cls.__module__}.{cls.__qualname__}({self.path!r}, {self.prefix!r}, "
            f"{self.host_url_getter!r})"
        )
