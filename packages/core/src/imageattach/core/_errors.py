"""The exceptions imageattach raises.

Every error derives from :class:`ImageAttachError`; each also derives from the
standard exception a caller would already catch for the same condition.
"""

from __future__ import annotations

__all__ = [
    "ConfigurationError",
    "CorruptImageError",
    "ImageAttachError",
    "ImageTooLargeError",
    "InvalidImageError",
    "InvalidImageKeyError",
    "MissingExtraError",
    "MissingOriginalError",
    "StoreContextError",
    "UnknownMimetypeError",
    "UnsupportedImageError",
]


class ImageAttachError(Exception):
    """Base class of every exception imageattach raises."""


class UnknownMimetypeError(ImageAttachError, ValueError):
    """The mimetype is malformed, or is not one imageattach can store."""

    def __init__(self, mimetype: object) -> None:
        super().__init__(
            f"mimetype must be a known image type such as 'image/jpeg', got {mimetype!r}"
        )
        self.mimetype = mimetype


class InvalidImageKeyError(ImageAttachError, ValueError):
    """An image key (object_type, object_id, width, height) cannot name a file safely."""


class ConfigurationError(ImageAttachError, ValueError):
    """A store or middleware was set up with a value it cannot work with."""


class InvalidImageError(ImageAttachError, ValueError):
    """The data given as an image cannot be stored as one: nothing was stored."""


class CorruptImageError(InvalidImageError):
    """The data is not a readable image: truncated, damaged, or not an image at all."""


class UnsupportedImageError(InvalidImageError):
    """The data is an image of a format imageattach does not accept or cannot read."""


class ImageTooLargeError(InvalidImageError):
    """The image is over a configured limit (bytes, pixels or frames): a decompression bomb
    is refused before it is decoded."""


class MissingExtraError(UnsupportedImageError, ImportError):
    """A format needs an optional dependency that is not installed; the message names the
    extra to install, e.g. ``pip install 'imageattach-core[svg]'``.

    It is an :class:`UnsupportedImageError` too, so an upload handler that catches
    :class:`InvalidImageError` answers such a file as it answers any it cannot take."""


class StoreContextError(ImageAttachError, LookupError):
    """A store was needed from the context, but no :func:`store_context` is active."""


class MissingOriginalError(ImageAttachError, OSError):
    """An image set has no original image yet, so it has nothing to open or resize."""
