"""imageattach core: stores, storage layout, media types, URLs and the serving engine.

Framework-free: nothing here imports a web framework.  The adapters
(``imageattach.wsgi``, and next ``imageattach.asgi`` and ``imageattach.pyramid``)
translate :class:`StaticFiles` decisions to their protocols.
"""

from __future__ import annotations

from types import FunctionType

from ._context import (
    HOST_URL,
    build_host_url,
    current_host_url,
    environ_host_url,
    host_url_context,
)
from ._dates import format_http_date, parse_http_date
from ._engine import (
    DEFAULT_CACHE_CONTROL,
    REQUEST_FIELDS,
    VERSIONED_CACHE_CONTROL,
    BlockIterable,
    FileBody,
    Headers,
    Response,
    StaticFiles,
)
from ._errors import (
    ConfigurationError,
    ImageAttachError,
    InvalidImageKeyError,
    UnknownMimetypeError,
)
from ._fs import BaseFileSystemStore, FileSystemStore, HttpExposedFileSystemStore
from ._layout import image_path
from ._media_types import guess_extension, guess_type
from ._paths import decode_path_info, is_safe_path
from ._ranges import UNSATISFIABLE, ByteRange, parse_ranges
from ._store import ImageLike, Store

__all__ = [
    "DEFAULT_CACHE_CONTROL",
    "HOST_URL",
    "REQUEST_FIELDS",
    "UNSATISFIABLE",
    "VERSIONED_CACHE_CONTROL",
    "BaseFileSystemStore",
    "BlockIterable",
    "ByteRange",
    "ConfigurationError",
    "FileBody",
    "FileSystemStore",
    "Headers",
    "HttpExposedFileSystemStore",
    "ImageAttachError",
    "ImageLike",
    "InvalidImageKeyError",
    "Response",
    "StaticFiles",
    "Store",
    "UnknownMimetypeError",
    "build_host_url",
    "current_host_url",
    "decode_path_info",
    "environ_host_url",
    "format_http_date",
    "guess_extension",
    "guess_type",
    "host_url_context",
    "image_path",
    "is_safe_path",
    "parse_http_date",
    "parse_ranges",
]

# Public classes and functions say where users import them from, in reprs,
# tracebacks and error messages: imageattach.core.HttpExposedFileSystemStore.
for _name in __all__:
    _obj = globals()[_name]
    if isinstance(_obj, type | FunctionType) and _obj.__module__.startswith(__name__ + "._"):
        _obj.__module__ = __name__
del _name, _obj, FunctionType
