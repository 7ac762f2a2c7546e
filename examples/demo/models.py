"""The demo's entities: photos, each with a picture (an original and its thumbnails).

The way an application declares them, with SQLAlchemy 2.x declarative mapping:
``Photo.picture`` is an :func:`~imageattach.core.image_attachment`, and each row of
``PhotoPicture`` is one image file in the store: the original or a thumbnail.  Its
``object_type`` (the first segment of the file's path) is ``photo-picture``, from the
table name, and its ``object_id`` is ``photo_id``.

The database is a SQLite file kept in the store folder under a name starting with a
dot (``.demo.sqlite3``), so it goes with the images, and the middleware never serves
it.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Final

from sqlalchemy import DateTime, ForeignKey, String, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from imageattach.core import Image, ImageLimits, SingleImageSet, image_attachment

__all__ = [
    "DATABASE",
    "MAX_IMAGE_BYTES",
    "Base",
    "DemoState",
    "Photo",
    "PhotoPicture",
    "open_database",
]

#: The database file, in the store folder: a dot-file, which is never served.
DATABASE: Final = ".demo.sqlite3"

#: The largest image file attached, and the most pixels one may decode to (a small
#: file can be a decompression bomb); over either, the upload gets a 400.
MAX_IMAGE_BYTES: Final = 10 * 1024 * 1024
MAX_IMAGE_PIXELS: Final = 40_000_000

TITLE_LENGTH: Final = 100


class Base(DeclarativeBase):
    pass


class Photo(Base):
    __tablename__ = "photo"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(TITLE_LENGTH))
    #: The original and its thumbnails: a list of PhotoPicture rows, loaded like any
    #: other relationship (the page uses selectinload()).
    picture: Mapped[SingleImageSet[PhotoPicture]] = image_attachment("PhotoPicture")

    def __repr__(self) -> str:
        return f"<Photo #{self.id} {self.title!r}>"


class PhotoPicture(Base, Image):
    __tablename__ = "photo_picture"

    photo_id: Mapped[int] = mapped_column(ForeignKey("photo.id"), primary_key=True)

    image_limits = ImageLimits(max_bytes=MAX_IMAGE_BYTES, max_pixels=MAX_IMAGE_PIXELS)


class DemoState(Base):
    """What the demo remembers of itself: when it put its sample photos in.

    The samples go in on the first run, in the same transaction as this row, so a
    first run stopped half way puts them in again, and photos deleted in the gallery
    do not come back on the next run.
    """

    __tablename__ = "demo_state"

    key: Mapped[str] = mapped_column(String(50), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=lambda: datetime.now(timezone.utc)
    )


def open_database(store_path: str | os.PathLike[str]) -> sessionmaker[Session]:
    """Open (and on the first run create) the demo's SQLite database in ``store_path``."""
    folder = Path(store_path)
    folder.mkdir(parents=True, exist_ok=True)
    engine = create_engine(f"sqlite:///{folder / DATABASE}")
    event.listen(engine, "connect", _sqlite_pragmas)
    Base.metadata.create_all(engine)  # only the tables that are not there yet
    return sessionmaker(engine, expire_on_commit=True)


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    # SQLite enforces foreign keys only when asked, once per connection; and a writer
    # waits for another one (waitress runs eight threads) rather than fail at once.
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA busy_timeout = 10000")
    cursor.close()


def dispose(sessions: sessionmaker[Session]) -> None:
    """Close the database's connections (at exit)."""
    engine = sessions.kw.get("bind")
    if isinstance(engine, Engine):
        engine.dispose()
