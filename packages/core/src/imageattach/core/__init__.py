"""imageattach core: image entities, stores, storage layout, media types, URLs and the
serving engine.

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
from ._entity import (
    VECTOR_TYPES,
    BaseImageSet,
    Image,
    ImageSubset,
    MultipleImageSet,
    SingleImageSet,
    image_attachment,
)
from ._errors import (
    ConfigurationError,
    CorruptImageError,
    ImageAttachError,
    ImageTooLargeError,
    InvalidImageError,
    InvalidImageKeyError,
    MissingExtraError,
    MissingOriginalError,
    StoreContextError,
    UnknownMimetypeError,
    UnsupportedImageError,
)
from ._fs import BaseFileSystemStore, FileSystemStore, HttpExposedFileSystemStore
from ._imaging import (
    DEFAULT_LIMITS,
    ImageInfo,
    ImageLimits,
    make_thumbnail,
    probe_image,
    thumbnail_size,
)
from ._layout import image_path
from ._media_types import guess_extension, guess_type
from ._orphans import OrphanedFile, find_orphaned_files, remove_orphaned_files
from ._paths import decode_path_info, is_safe_path
from ._ranges import UNSATISFIABLE, ByteRange, parse_ranges
from ._store import ImageLike, Store
from ._store_context import (
    current_store,
    get_current_store,
    pop_store_context,
    push_store_context,
    store_context,
)

__all__ = [
    "DEFAULT_CACHE_CONTROL",
    "DEFAULT_LIMITS",
    "HOST_URL",
    "REQUEST_FIELDS",
    "UNSATISFIABLE",
    "VECTOR_TYPES",
    "VERSIONED_CACHE_CONTROL",
    "BaseFileSystemStore",
    "BaseImageSet",
    "BlockIterable",
    "ByteRange",
    "ConfigurationError",
    "CorruptImageError",
    "FileBody",
    "FileSystemStore",
    "Headers",
    "HttpExposedFileSystemStore",
    "Image",
    "ImageAttachError",
    "ImageInfo",
    "ImageLike",
    "ImageLimits",
    "ImageSubset",
    "ImageTooLargeError",
    "InvalidImageError",
    "InvalidImageKeyError",
    "MissingExtraError",
    "MissingOriginalError",
    "MultipleImageSet",
    "OrphanedFile",
    "Response",
    "SingleImageSet",
    "StaticFiles",
    "Store",
    "StoreContextError",
    "UnknownMimetypeError",
    "UnsupportedImageError",
    "build_host_url",
    "current_host_url",
    "current_store",
    "decode_path_info",
    "environ_host_url",
    "find_orphaned_files",
    "format_http_date",
    "get_current_store",
    "guess_extension",
    "guess_type",
    "host_url_context",
    "image_attachment",
    "image_path",
    "is_safe_path",
    "make_thumbnail",
    "parse_http_date",
    "parse_ranges",
    "pop_store_context",
    "probe_image",
    "push_store_context",
    "remove_orphaned_files",
    "store_context",
    "thumbnail_size",
]

# Public classes and functions say where users import them from, in reprs,
# tracebacks and error messages: imageattach.core.HttpExposedFileSystemStore.
for _name in __all__:
    _obj = globals()[_name]
    if isinstance(_obj, type | FunctionType) and _obj.__module__.startswith(__name__ + "._"):
        _obj.__module__ = __name__
del _name, _obj, FunctionType
