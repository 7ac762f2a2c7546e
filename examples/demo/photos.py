"""What the pages do with photos: list them, add one from an upload, delete one.

Each function runs inside the request's ``with store_context(store):``, so the entity
methods (``from_file()``, ``generate_thumbnail()``, ``locate()``) find the store
without being passed it, and its files follow the session's transaction: written at
the flush, removed again on a rollback, and, for a deleted photo, deleted only after
the commit.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import PurePath
from typing import IO, Final

from sqlalchemy import select
from sqlalchemy.exc import NoResultFound
from sqlalchemy.orm import Session, selectinload

from imageattach.core import InvalidImageError, MissingExtraError, UnknownMimetypeError

from .models import TITLE_LENGTH, Photo, PhotoPicture

__all__ = [
    "GRID_WIDTH",
    "REJECTED",
    "THUMBNAIL_WIDTHS",
    "add_photo",
    "attach_picture",
    "delete_photo",
    "grid_image",
    "image_urls",
    "images_of",
    "load_photos",
]

#: The thumbnails made of each original, by width; one narrower than the original is
#: never made (the original is shown instead).
THUMBNAIL_WIDTHS: Final = (320, 160)
#: The thumbnail shown in the grid; the other sizes are links.
GRID_WIDTH: Final = THUMBNAIL_WIDTHS[0]

#: What attaching an upload can raise for a file that is not an image the store can
#: keep: ``InvalidImageError`` (corrupt, unsupported, over the limits),
#: ``UnknownMimetypeError`` (a type the store has no file extension for) and
#: ``MissingExtraError`` (a format whose optional dependency is not installed).
REJECTED: Final = (InvalidImageError, UnknownMimetypeError, MissingExtraError)


def load_photos(session: Session) -> list[Photo]:
    """Every photo, oldest first, with its images.

    ``selectinload`` loads the images of every photo of the page in one more query
    (``SELECT ... FROM photo_picture WHERE photo_id IN (...)``): two queries for the
    whole page, however many photos, and ``locate()`` needs none.
    """
    query = select(Photo).options(selectinload(Photo.picture)).order_by(Photo.id)
    return list(session.scalars(query))


def images_of(photo: Photo) -> list[PhotoPicture]:
    """The images of a photo: the original first, then its thumbnails, widest first."""
    return sorted(photo.picture, key=lambda image: (not image.original, -image.width))


def grid_image(photo: Photo) -> PhotoPicture | None:
    """The image shown in the grid: the thumbnail of :data:`GRID_WIDTH`, or the original
    when it is no wider than that (no thumbnail of that width is made then)."""
    try:
        return photo.picture.find_thumbnail(width=GRID_WIDTH)
    except NoResultFound:
        return photo.picture.original


def image_urls(photos: Iterable[Photo]) -> list[str]:
    """The URL of every image of ``photos``, in the order the page shows them."""
    return [image.locate() for photo in photos for image in images_of(photo)]


def attach_picture(photo: Photo, data: bytes | IO[bytes]) -> None:
    """Attach the image ``data`` (bytes, or a file) as the photo's original, then make
    its thumbnails.

    :raises InvalidImageError: (or another of :data:`REJECTED`) when it is not an image
        that can be stored; nothing is attached then.
    """
    if isinstance(data, bytes):
        original = photo.picture.from_blob(data)
    else:
        original = photo.picture.from_file(data)
    for width in THUMBNAIL_WIDTHS:
        if width < original.width:
            photo.picture.generate_thumbnail(width=width)


def title_for(title: str, filename: str | None) -> str:
    """The title typed in the form; else the uploaded file's name, without its suffix."""
    title = " ".join(title.split())
    if not title and filename:
        title = " ".join(PurePath(filename.replace("\\", "/")).stem.split())
    return title[:TITLE_LENGTH] or "Untitled"


def add_photo(session: Session, title: str, file: IO[bytes]) -> Photo:
    """Add a photo whose picture is the image in ``file``, with its thumbnails, and commit.

    :raises InvalidImageError: (or another of :data:`REJECTED`) when ``file`` is not an
        image that can be stored: nothing is added, no file is written.
    """
    photo = Photo(title=title)
    try:
        attach_picture(photo, file)
        session.add(photo)
        session.commit()  # the INSERTs, then the files are written at the flush
    except BaseException:
        session.rollback()  # removes any file the flush wrote
        raise
    return photo


def delete_photo(session: Session, photo_id: int) -> bool:
    """Delete a photo and its images; False when there is no such photo.

    The image rows go with the photo (``image_attachment()`` cascades), and their files
    are deleted once the commit succeeded: a failed commit leaves them in place.
    """
    photo = session.get(Photo, photo_id)
    if photo is None:
        return False
    session.delete(photo)
    session.commit()
    return True
