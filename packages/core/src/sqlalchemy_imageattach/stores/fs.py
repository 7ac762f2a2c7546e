"""1.1.0's ``sqlalchemy_imageattach.stores.fs``: filesystem-backed image storage.

``StaticServerMiddleware`` lives in the WSGI adapter and is imported on first
use, so this module works without it; using it needs ``pip install imageattach-wsgi``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from imageattach.core import (
    BaseFileSystemStore,
    FileSystemStore,
    HttpExposedFileSystemStore,
    guess_extension,
)

if TYPE_CHECKING:
    from imageattach.wsgi import StaticServerMiddleware

__all__ = [
    "BaseFileSystemStore",
    "FileSystemStore",
    "HttpExposedFileSystemStore",
    "StaticServerMiddleware",
    "guess_extension",
]


def __getattr__(name: str) -> Any:
    if name == "StaticServerMiddleware":
        try:
            from imageattach.wsgi import StaticServerMiddleware  # noqa: PLC0415
        except ImportError as error:
            raise ImportError(
                "sqlalchemy_imageattach.stores.fs.StaticServerMiddleware needs the WSGI "
                "adapter: pip install imageattach-wsgi"
            ) from error
        return StaticServerMiddleware
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
