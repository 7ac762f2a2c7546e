"""The exceptions imageattach raises.

Every error derives from :class:`ImageAttachError`; each also derives from the
standard exception a caller would already catch for the same condition.
"""

from __future__ import annotations

__all__ = [
    "ConfigurationError",
    "ImageAttachError",
    "InvalidImageKeyError",
    "UnknownMimetypeError",
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
