"""Images attached to SQLAlchemy entities: the :class:`Image` mixin and :func:`image_attachment`.

Each kind of image is a mapped class with the :class:`Image` mixin, related to its parent
by :func:`image_attachment`::

    class Base(DeclarativeBase):
        pass

    class User(Base):
        __tablename__ = "user"
        id: Mapped[int] = mapped_column(primary_key=True)
        picture: Mapped[SingleImageSet[UserPicture]] = image_attachment("UserPicture")

    class UserPicture(Base, Image):
        __tablename__ = "user_picture"
        user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), primary_key=True)
        user: Mapped[User] = relationship(viewonly=True)  # the way back, if wanted

``user.picture`` is an image set: the original and its thumbnails, as a list of
``UserPicture`` rows loaded like any other relationship, so ``selectinload(User.picture)``
loads the images of a whole page of users in one query and ``locate()`` needs no other.

Files follow the transaction (:mod:`imageattach.core._transactions`): written at flush,
removed on rollback, and deleted with their rows only after the commit.
"""

# No ``from __future__ import annotations`` here: SQLAlchemy reads the Mapped[...]
# annotations of the mixin at mapping time, and a string annotation would be evaluated
# in imageattach.core, the module the public names say they come from.

import html
import io
import tempfile
import uuid
import warnings
import weakref
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timezone
from typing import IO, Any, ClassVar, Generic, TypeVar

from sqlalchemy import Boolean, DateTime, Integer, String, event, inspect, tuple_
from sqlalchemy.engine import Connection
from sqlalchemy.exc import NoResultFound
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import (
    Mapped,
    Mapper,
    Relationship,
    Session,
    SessionTransaction,
    mapped_column,
    object_session,
    relationship,
)
from sqlalchemy.orm.collections import collection_adapter
from sqlalchemy.sql.elements import ColumnElement

from ._errors import ImageTooLargeError, MissingOriginalError
from ._imaging import (
    DEFAULT_LIMITS,
    ImageLimits,
    make_thumbnail,
    probe_image,
    thumbnail_size,
)
from ._media_types import guess_extension
from ._store import Store
from ._store_context import _CurrentStore, current_store, get_current_store
from ._transactions import FileTracker, Key

__all__ = [
    "VECTOR_TYPES",
    "BaseImageSet",
    "Image",
    "ImageSubset",
    "MultipleImageSet",
    "SingleImageSet",
    "image_attachment",
]

#: The image types thumbnails are rasterised from (to PNG), as in 1.1.0.
VECTOR_TYPES = frozenset({"image/svg+xml", "application/pdf"})

#: Uploads are kept in memory up to this size until they are flushed, on disk beyond.
_SPOOL_BYTES = 8 * 1024 * 1024

_ImageT = TypeVar("_ImageT", bound="Image")


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _resolve(store: Store) -> Store:
    """The store itself for ``current_store``: pinned when the image is made, not at flush."""
    if isinstance(store, _CurrentStore):
        return get_current_store()
    if not isinstance(store, Store):
        raise TypeError(f"store must be an imageattach.core.Store, got {store!r}")
    return store


class _Pending:
    """The data of an image made in this process, until its row is committed."""

    __slots__ = ("file", "store")

    def __init__(self, file: IO[bytes], store: Store) -> None:
        self.file = file
        self.store = store


class _ObjectType:
    """The default :attr:`Image.object_type`: ``__tablename__`` with ``_`` made ``-``."""

    def __get__(self, instance: object, owner: type[Any]) -> str:
        name = getattr(owner, "__tablename__", None)
        if not isinstance(name, str):
            raise NotImplementedError(
                f"{owner.__qualname__} has no __tablename__ to derive object_type from: "
                "set object_type = '...' on the class"
            )
        return name.replace("_", "-")


class Image:
    """The mixin of image entities: one row per image file, the original or a thumbnail.

    It adds the columns ``width`` and ``height`` (part of the primary key), ``mimetype``,
    ``original`` and ``created_at`` (1.1.0's schema, so existing tables keep working).
    A subclass adds the rest of its primary key, usually a foreign key to the parent.

    In templates, ``{{ image }}`` renders an ``<img>`` element (:meth:`__html__`).
    """

    width: Mapped[int] = mapped_column("width", Integer, primary_key=True)
    height: Mapped[int] = mapped_column("height", Integer, primary_key=True)
    mimetype: Mapped[str] = mapped_column("mimetype", String(255), nullable=False)
    original: Mapped[bool] = mapped_column("original", Boolean, nullable=False, default=False)
    created_at: Mapped[datetime] = mapped_column(
        "created_at", DateTime(timezone=True), nullable=False, default=_now
    )

    #: The identifier of the image type in the store: its first path segment.
    #: Defaults to ``__tablename__`` with ``_`` replaced by ``-``; override it with a
    #: plain string.
    object_type: ClassVar[str] = _ObjectType()  # type: ignore[assignment]

    #: Limits checked on every image attached to this class (bytes, pixels, frames).
    #: Override on a subclass: ``image_limits = ImageLimits(max_pixels=20_000_000)``.
    image_limits: ClassVar[ImageLimits] = DEFAULT_LIMITS

    _imageattach_pending: _Pending | None = None
    _imageattach_store: Store | None = None

    @property
    def object_id(self) -> int:
        """The identifier number of the image in the store.

        By default the primary key (but ``width`` and ``height``) when it is one integer
        column, or the ``.int`` of a UUID primary key.  Override it for any other key::

            @property
            def object_id(self) -> int:
                return self.product_id * 100 + self.order_index
        """
        names = self.identity_attributes()
        if len(names) == 1:
            value = getattr(self, names[0])
            if isinstance(value, uuid.UUID):
                return value.int
            if isinstance(value, int) and not isinstance(value, bool):
                return value
            if value is None:
                raise ValueError(
                    f"{type(self).__name__}.{names[0]} is not set yet, so the image has no "
                    "object_id: flush the session first"
                )
        raise NotImplementedError(
            f"{type(self).__name__}.object_id cannot be derived from the primary key "
            f"{tuple(names)!r} (one integer or UUID column is needed): define an object_id "
            "property that returns an int"
        )

    @classmethod
    def identity_attributes(cls) -> list[str]:
        """The names of the primary key attributes, but ``width`` and ``height``."""
        mapper = inspect(cls)
        names = []
        for column in mapper.primary_key:
            key = mapper.get_property_by_column(column).key
            if key not in ("width", "height"):
                names.append(key)
        return names

    @property
    def identity_map(self) -> dict[str, Any]:
        """The values of :meth:`identity_attributes`, by name."""
        return {name: getattr(self, name) for name in self.identity_attributes()}

    @hybrid_property
    def size(self) -> tuple[int, int]:
        """``(width, height)``; in a query, the SQL tuple of the two columns."""
        return self.width, self.height

    @size.inplace.setter
    def _size_setter(self, size: tuple[int, int]) -> None:
        self.width, self.height = size

    @size.inplace.expression
    @classmethod
    def _size_expression(cls) -> ColumnElement[Any]:
        return tuple_(cls.width, cls.height)

    @property
    def _key(self) -> Key:
        return (self.object_type, self.object_id, self.width, self.height, self.mimetype)

    def make_blob(self, store: Store = current_store) -> bytes:
        """The bytes of the image file."""
        with self.open_file(store) as file:
            return file.read()

    def open_file(self, store: Store = current_store, use_seek: bool = False) -> IO[bytes]:
        """Open the image file for reading, as a context manager.

        An image attached in this process and not committed yet is read from the data it
        was made from, so it can be resized before its row is flushed.

        :raises FileNotFoundError: when the store has no file for the image.
        """
        pending = self._imageattach_pending
        if pending is not None:
            pending.file.seek(0)
            return _Borrowed(pending.file)  # type: ignore[return-value]
        if not isinstance(store, Store):
            raise TypeError(f"store must be an imageattach.core.Store, got {store!r}")
        return store.open(self, use_seek)

    def locate(self, store: Store = current_store) -> str:
        """The URL of the image, with 1.1.0's ``_ts`` cache buster.  No I/O, no query."""
        if not isinstance(store, Store):
            raise TypeError(f"store must be an imageattach.core.Store, got {store!r}")
        return store.locate(self)

    def __html__(self) -> str:
        """``<img src="..." width="..." height="...">``, for Jinja2 and Mako."""
        src = html.escape(self.locate(), quote=True)
        return f'<img src="{src}" width="{int(self.width)}" height="{int(self.height)}">'


class _Borrowed:
    """A file handed out by :meth:`Image.open_file` that ``with`` must not close."""

    __slots__ = ("_file",)

    def __init__(self, file: IO[bytes]) -> None:
        self._file = file

    def __getattr__(self, name: str) -> Any:
        return getattr(self._file, name)

    def __enter__(self) -> IO[bytes]:
        return self._file

    def __exit__(self, *exc_info: object) -> None:
        self._file.seek(0)

    def close(self) -> None:
        self._file.seek(0)


# --- image sets ---------------------------------------------------------------------------


class BaseImageSet(Generic[_ImageT]):
    """What :class:`SingleImageSet` and :class:`ImageSubset` share: one original image
    and the thumbnails made from it."""

    # Subclasses say which images are theirs and how to add and remove one.
    def _images(self) -> Sequence[_ImageT]:
        raise NotImplementedError

    def _image_class(self) -> type[_ImageT]:
        raise NotImplementedError

    def _identity(self) -> dict[str, Any]:
        return {}

    def _add(self, image: _ImageT) -> None:
        raise NotImplementedError

    def _remove(self, image: _ImageT) -> None:
        raise NotImplementedError

    # --- attaching --------------------------------------------------------------------

    def from_file(
        self,
        file: IO[bytes],
        store: Store = current_store,
        extra_args: Sequence[Any] | None = None,
        extra_kwargs: Mapping[str, Any] | None = None,
    ) -> _ImageT:
        """Attach the image read from ``file`` as the new original.

        Its type and size come from its bytes.  The images it replaces (the old original
        and its thumbnails) are deleted with their files when the session commits.

        :raises InvalidImageError: when the data is not an image that can be stored
            (corrupt, unsupported, or over :attr:`Image.image_limits`); nothing is
            attached then.
        """
        # a cgi.FieldStorage or a Starlette UploadFile (.file), a Werkzeug FileStorage (.stream)
        file = getattr(file, "file", None) or getattr(file, "stream", None) or file
        if not callable(getattr(file, "read", None)):
            raise TypeError(f"file must be a readable binary file, got {file!r}")
        limits = self._image_class().image_limits
        spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES)  # noqa: SIM115
        try:
            _copy_limited(file, spool, limits.max_bytes)
            spool.seek(0)
            image = self.from_raw_file(
                spool,
                store,
                original=True,
                extra_args=extra_args,
                extra_kwargs=extra_kwargs,
            )
        except BaseException:
            spool.close()
            raise
        weakref.finalize(image, spool.close)  # an image dropped before its commit
        return image

    def from_blob(
        self,
        blob: bytes,
        store: Store = current_store,
        extra_args: Sequence[Any] | None = None,
        extra_kwargs: Mapping[str, Any] | None = None,
    ) -> _ImageT:
        """Attach the image of the bytes ``blob`` as the new original."""
        if not isinstance(blob, bytes | bytearray | memoryview):
            raise TypeError(f"blob must be bytes, got {blob!r:.60}")
        return self.from_raw_file(
            io.BytesIO(blob),
            store,
            original=True,
            extra_args=extra_args,
            extra_kwargs=extra_kwargs,
        )

    def from_raw_file(
        self,
        raw_file: IO[bytes],
        store: Store = current_store,
        size: tuple[int, int] | None = None,
        mimetype: str | None = None,
        original: bool = True,
        extra_args: Sequence[Any] | None = None,
        extra_kwargs: Mapping[str, Any] | None = None,
    ) -> _ImageT:
        """Attach the image of the seekable ``raw_file``, kept as it is until the flush.

        Given both ``size`` and ``mimetype``, it trusts them and reads nothing (as 1.1.0
        did: this is how thumbnails are attached); otherwise both come from the bytes.

        ``extra_args`` and ``extra_kwargs`` go to the image class's constructor.
        """
        cls = self._image_class()
        target = _resolve(store)
        if size is None or mimetype is None:
            raw_file.seek(0)
            info = probe_image(raw_file, limits=cls.image_limits)
            size = size or (info.width, info.height)
            mimetype = mimetype or info.mimetype
        guess_extension(mimetype)  # an unknown type fails here, before anything is stored
        width, height = size
        kwargs = dict(extra_kwargs or {})
        kwargs.update(self._identity())
        if original:
            for existing in list(self._images()):
                if inspect(existing).persistent:
                    # Load its columns now: if the new row takes its primary key, the flush
                    # needs its key without a query (see _switched_out).
                    existing.mimetype  # noqa: B018
                self._remove(existing)
        image = cls(*(extra_args or ()), **kwargs)
        image.width = width
        image.height = height
        image.mimetype = mimetype
        image.original = original
        image.created_at = _now()
        raw_file.seek(0)
        image._imageattach_pending = _Pending(raw_file, target)
        image._imageattach_store = target
        self._add(image)
        return image

    # --- reading ----------------------------------------------------------------------

    @property
    def original(self) -> _ImageT | None:
        """The original image, or None when there is none yet."""
        for image in self._images():
            if image.original:
                return image
        return None

    def require_original(self) -> _ImageT:
        """The original image.

        :raises MissingOriginalError: when there is none yet (an :exc:`OSError`, as in
            1.1.0).
        """
        image = self.original
        if image is None:
            raise MissingOriginalError("there is no original image yet")
        return image

    def find_thumbnail(self, width: int | None = None, height: int | None = None) -> _ImageT:
        """The image of this set with the given width, height or both.  No query.

        :raises sqlalchemy.orm.exc.NoResultFound: when there is none.
        """
        if width is None and height is None:
            raise TypeError("find_thumbnail() needs width, height or both")
        for image in self._images():
            if (width is None or image.width == width) and (
                height is None or image.height == height
            ):
                return image
        raise NoResultFound(f"no thumbnail of width={width!r}, height={height!r}")

    def generate_thumbnail(
        self,
        ratio: float | None = None,
        width: int | None = None,
        height: int | None = None,
        filter: str = "undefined",  # 1.1.0's name, shadowing the builtin
        store: Store = current_store,
    ) -> _ImageT:
        """Resize the original to exactly one of ``ratio``, ``width`` or ``height``,
        keeping its aspect ratio, and attach the result; an existing thumbnail of that
        size is returned instead.

        The thumbnail applies the original's EXIF orientation, carries no metadata but its
        colour profile, keeps the format where browsers show it (a vector or a format they
        do not, becomes PNG or JPEG), and is stored as reproducible.

        ``filter`` is 1.1.0's ImageMagick filter name; it is accepted for compatibility
        and ignored (with a :exc:`DeprecationWarning` unless ``'undefined'``): thumbnails
        are resampled with Lanczos.
        """
        if filter != "undefined":
            warnings.warn(
                f"generate_thumbnail(filter={filter!r}) is ignored: imageattach resamples "
                "with Lanczos; leave filter out",
                DeprecationWarning,
                stacklevel=2,
            )
        original = self.require_original()
        target_width, target_height = thumbnail_size(
            original.width, original.height, ratio=ratio, target_width=width,
            target_height=height,
        )  # fmt: skip
        for image in self._images():
            if image.width == target_width and image.height == target_height:
                return image
        cls = self._image_class()
        with original.open_file(store) as file:  # read bounded by image_limits.max_bytes
            data, mimetype = make_thumbnail(
                file, target_width, target_height, limits=cls.image_limits
            )
        return self.from_raw_file(
            io.BytesIO(data),
            store,
            size=(target_width, target_height),
            mimetype=mimetype,
            original=False,
        )

    def open_file(self, store: Store = current_store, use_seek: bool = False) -> IO[bytes]:
        """Open the original image's file: :meth:`Image.open_file` of :attr:`original`."""
        return self.require_original().open_file(store, use_seek)

    def make_blob(self, store: Store = current_store) -> bytes:
        """The bytes of the original image."""
        return self.require_original().make_blob(store)

    def locate(self, store: Store = current_store) -> str:
        """The URL of the original image.  No I/O, no query."""
        return self.require_original().locate(store)

    def __html__(self) -> str:
        """The original as ``<img src="..." width="..." height="...">``."""
        return self.require_original().__html__()


class _Collection(list[_ImageT]):
    """A relationship collection that knows its parent and its image class."""

    def _adapter(self) -> Any:
        adapter = collection_adapter(self)
        if adapter is None:
            raise TypeError(
                f"this {type(self).__name__} is not attached to an entity: use it through "
                "the image_attachment() attribute, e.g. user.picture"
            )
        return adapter

    def _image_class(self) -> type[_ImageT]:
        adapter = self._adapter()
        cls = adapter.attr.parent_token.mapper.class_
        if not (isinstance(cls, type) and issubclass(cls, Image)):
            raise TypeError(f"image_attachment() must relate to an Image class, not {cls!r}")
        return cls  # type: ignore[return-value]


class SingleImageSet(_Collection[_ImageT], BaseImageSet[_ImageT]):
    """The images of an ``image_attachment()``: one original and its thumbnails.

    It is the relationship's collection (a list of image rows), so it loads with
    ``selectinload()`` or ``joinedload()`` like any other, and serialises as a list.
    """

    def _images(self) -> Sequence[_ImageT]:
        return self

    def _add(self, image: _ImageT) -> None:
        self.append(image)

    def _remove(self, image: _ImageT) -> None:
        self.remove(image)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({list.__repr__(self)})"


#: 1.1.0's deprecated name of :class:`SingleImageSet`.
ImageSet = SingleImageSet


class ImageSubset(BaseImageSet[_ImageT]):
    """One image set of a :class:`MultipleImageSet`, picked by the extra primary key
    values: ``product.pictures.get_image_set(order_index=1)``.

    Everything it finds, makes or replaces is in that set only: a thumbnail of one
    subset never comes from another (1.1.0 #44).
    """

    __slots__ = ("_identity_values", "_key", "_owner")

    def __init__(self, parent: "MultipleImageSet[_ImageT]", identity: Mapping[str, Any]) -> None:
        # The owner and the attribute, not the collection: SQLAlchemy makes a new one
        # each time the attribute is loaded again (after a commit, say).
        adapter = parent._adapter()
        self._owner = adapter.owner_state.obj()
        self._key = adapter.attr.key
        self._identity_values = dict(identity)

    @property
    def _parent(self) -> "MultipleImageSet[_ImageT]":
        parent: MultipleImageSet[_ImageT] = getattr(self._owner, self._key)
        return parent

    def _matches(self, image: _ImageT) -> bool:
        return all(getattr(image, k) == v for k, v in self._identity_values.items())

    def _images(self) -> Sequence[_ImageT]:
        return [image for image in self._parent if self._matches(image)]

    def _image_class(self) -> type[_ImageT]:
        return self._parent._image_class()

    def _identity(self) -> dict[str, Any]:
        return dict(self._identity_values)

    def _add(self, image: _ImageT) -> None:
        self._parent.append(image)

    def _remove(self, image: _ImageT) -> None:
        self._parent.remove(image)

    def __repr__(self) -> str:
        values = ", ".join(f"{k}={v!r}" for k, v in self._identity_values.items())
        return f"<ImageSubset {values}: {self._images()!r}>"


class MultipleImageSet(_Collection[_ImageT]):
    """The images of an ``image_attachment(uselist=True)``: several image sets, told
    apart by primary key columns the image class adds (e.g. ``order_index``)."""

    def _set_keys(self) -> list[str]:
        cls = self._image_class()
        parent_keys = self._parent_keys()
        return [name for name in cls.identity_attributes() if name not in parent_keys]

    def _parent_keys(self) -> set[str]:
        adapter = self._adapter()
        prop = adapter.attr.parent_token
        keys = set()
        for _, remote in prop.local_remote_pairs:
            keys.add(prop.mapper.get_property_by_column(remote).key)
        return keys

    def get_image_set(self, **pk: Any) -> ImageSubset[_ImageT]:
        """The image set of the given extra primary key values::

        product.pictures.get_image_set(order_index=1).from_file(f)
        """
        expected = set(self._set_keys())
        if set(pk) != expected:
            raise TypeError(
                f"get_image_set() takes the primary key values {sorted(expected)!r}, "
                f"got {sorted(pk)!r}"
            )
        return ImageSubset(self, pk)

    @property
    def image_sets(self) -> Iterator[ImageSubset[_ImageT]]:
        """Each image set that has an original, in the order of the originals."""
        keys = self._set_keys()
        for image in list(self):
            if image.original:
                yield ImageSubset(self, {k: getattr(image, k) for k in keys})

    def __repr__(self) -> str:
        return f"{type(self).__name__}({list.__repr__(self)})"


def image_attachment(*args: Any, **kwargs: Any) -> Relationship[Any]:
    """A :func:`~sqlalchemy.orm.relationship` to an :class:`Image` class, whose value is
    an image set: :class:`SingleImageSet`, or :class:`MultipleImageSet` with
    ``uselist=True``.

    It takes every argument :func:`~sqlalchemy.orm.relationship` takes, and sets
    ``cascade='all, delete-orphan'`` (an image goes with its parent) unless given.  The
    images load when first used (``lazy='select'``); to render a page of N parents with
    a bounded number of queries, load them with the page::

        select(User).options(selectinload(User.picture))

    or pass ``lazy='selectin'`` here to always do so.  With ``AsyncSession``, load them
    that way (or ``await user.awaitable_attrs.picture``) before using them.
    """
    multiple = bool(kwargs.pop("uselist", False))
    kwargs.setdefault("collection_class", MultipleImageSet if multiple else SingleImageSet)
    kwargs.setdefault("cascade", "all, delete-orphan")
    if kwargs.get("lazy") == "dynamic":
        raise ValueError(
            "image_attachment() does not take lazy='dynamic' (1.1.0's default): image sets "
            "are collections now; leave lazy out, or use 'select' or 'selectin'"
        )
    return relationship(*args, uselist=True, **kwargs)


# --- the file side of the flush -----------------------------------------------------------


def _copy_limited(source: Any, target: Any, limit: int) -> None:
    copied = 0
    while chunk := source.read(65536):
        copied += len(chunk)
        if copied > limit:
            raise ImageTooLargeError(f"image data must be at most {limit} bytes, got more")
        target.write(chunk)


def _store_for_delete(image: "Image") -> Store:
    store = image._imageattach_store
    return store if store is not None else get_current_store()


def _after_write(mapper: Mapper[Any], connection: Connection, target: Image) -> None:
    pending = target._imageattach_pending
    if pending is None:
        return
    session = object_session(target)
    assert session is not None
    pending.file.seek(0)

    def committed() -> None:
        if target._imageattach_pending is pending:
            target._imageattach_pending = None
            pending.file.close()

    tracker = FileTracker.of(session)
    switched = _switched_out(session, mapper, target)
    if switched is not None:  # its file goes at the commit, unless this one took its key
        store = switched._imageattach_store or pending.store
        tracker.delete_after_commit(session, store, switched._key, switched)
    tracker.write(
        session,
        pending.store,
        target._key,
        pending.file,
        reproducible=not target.original,
        owner=target,
        on_commit=committed,
    )


def _switched_out(session: Session, mapper: Mapper[Any], target: Image) -> "Image | None":
    """The deleted image whose row ``target`` took over in this flush, if any.

    A new object with the primary key of one deleted in the same flush is written as an
    UPDATE of that row (SQLAlchemy's "row switch"): no after_delete fires for the old one.
    It is found when its columns are loaded (there is never a query in a flush);
    ``from_raw_file`` loads them for the images it replaces.
    """
    if inspect(target).key is not None:
        return None  # an ordinary UPDATE of a persistent row
    old = session.identity_map.get(mapper.identity_key_from_instance(target))
    if old is None or old is target or not isinstance(old, Image):
        return None
    if inspect(old).unloaded & {column.key for column in mapper.column_attrs}:
        return None  # its key cannot be known without a query: at worst, an orphan
    return old


def _after_delete(mapper: Mapper[Any], connection: Connection, target: Image) -> None:
    session = object_session(target)
    assert session is not None
    FileTracker.of(session).delete_after_commit(
        session, _store_for_delete(target), target._key, target
    )


def _after_commit(session: Session) -> None:
    tracker = session.info.get("imageattach.tracker")
    if tracker is not None:
        tracker.committed(session)


def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    tracker = session.info.get("imageattach.tracker")
    if tracker is not None:
        tracker.ended(session, transaction)


event.listen(Image, "after_insert", _after_write, propagate=True)
event.listen(Image, "after_update", _after_write, propagate=True)
event.listen(Image, "after_delete", _after_delete, propagate=True)
event.listen(Session, "after_commit", _after_commit)
event.listen(Session, "after_transaction_end", _after_transaction_end)
