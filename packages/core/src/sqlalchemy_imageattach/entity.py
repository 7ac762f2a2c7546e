"""1.1.0's ``sqlalchemy_imageattach.entity``: image entities and image sets.

A 1.1.0 model module (``class UserPicture(Base, Image)``, ``image_attachment('UserPicture')``)
imports unchanged.  What changed: an image set is the relationship's collection, not a
dynamic query, so it can be eager-loaded (``selectinload``), works with ``AsyncSession``,
and ``lazy='dynamic'`` is refused with a message saying so.
"""

from __future__ import annotations

from sqlalchemy.exc import NoResultFound

from imageattach.core import (
    VECTOR_TYPES,
    BaseImageSet,
    Image,
    ImageSubset,
    MultipleImageSet,
    SingleImageSet,
    image_attachment,
)
from imageattach.core._entity import ImageSet

from .context import current_store, get_current_store, store_context

__all__ = [
    "VECTOR_TYPES",
    "BaseImageSet",
    "Image",
    "ImageSet",
    "ImageSubset",
    "MultipleImageSet",
    "NoResultFound",
    "SingleImageSet",
    "current_store",
    "get_current_store",
    "image_attachment",
    "store_context",
]
