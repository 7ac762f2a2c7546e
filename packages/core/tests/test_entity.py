"""The entity layer on real databases (SQLite and PostgreSQL) and a real store folder."""

from __future__ import annotations

import asyncio
import io
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest
from PIL import Image as PILImage
from sqlalchemy import ForeignKey, String, Uuid, create_engine, event, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, NoResultFound
from sqlalchemy.ext.asyncio import AsyncAttrs, AsyncSession, create_async_engine
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    mapped_column,
    relationship,
    selectinload,
)

from imageattach.core import (
    FileSystemStore,
    Image,
    InvalidImageError,
    MissingOriginalError,
    MultipleImageSet,
    SingleImageSet,
    Store,
    StoreContextError,
    image_attachment,
    store_context,
)


class Base(AsyncAttrs, DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "user_account"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)
    picture: Mapped[SingleImageSet[UserPicture]] = image_attachment("UserPicture")


class UserPicture(Base, Image):
    __tablename__ = "user_picture"
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), primary_key=True)
    user: Mapped[User] = relationship(viewonly=True)


class Product(Base):
    __tablename__ = "product"
    id: Mapped[int] = mapped_column(primary_key=True)
    pictures: Mapped[MultipleImageSet[ProductPicture]] = image_attachment(
        "ProductPicture", uselist=True
    )


class ProductPicture(Base, Image):
    __tablename__ = "product_picture"
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), primary_key=True)
    order_index: Mapped[int] = mapped_column(primary_key=True)

    @property
    def object_id(self) -> int:
        return self.product_id * 100 + self.order_index


class Document(Base):
    __tablename__ = "document"
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    cover: Mapped[SingleImageSet[DocumentCover]] = image_attachment("DocumentCover")


class DocumentCover(Base, Image):
    __tablename__ = "document_cover"
    document_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("document.id"), primary_key=True)


# --- fixtures ----------------------------------------------------------------------------


def make_image(
    fmt: str = "JPEG", size: tuple[int, int] = (400, 300), color: Any = (200, 30, 30)
) -> bytes:
    mode = "RGBA" if fmt == "PNG" and len(color) == 4 else "RGB"
    buffer = io.BytesIO()
    PILImage.new(mode, size, color).save(buffer, fmt)
    return buffer.getvalue()


JPEG = make_image()
PNG = make_image("PNG", (400, 300), (0, 0, 255, 128))


@pytest.fixture
def store(tmp_path: Path) -> FileSystemStore:
    return FileSystemStore(tmp_path / "store", "https://img.example/")


@pytest.fixture
def schema(engine: Engine) -> Engine:
    Base.metadata.create_all(engine)
    return engine


@pytest.fixture
def session(schema: Engine, store: FileSystemStore) -> Iterator[Session]:
    with Session(schema) as session, store_context(store):
        yield session


def files(store: FileSystemStore) -> dict[str, bytes]:
    root = Path(store.path)
    if not root.exists():
        return {}
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def pixel(data: bytes) -> tuple[int, ...]:
    with PILImage.open(io.BytesIO(data)) as image:
        return tuple(image.convert("RGB").getpixel((image.width // 2, image.height // 2)))  # type: ignore[arg-type]


def close(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    return all(abs(x - y) <= 12 for x, y in zip(a, b, strict=True))


class Statements:
    """Counts the SQL statements an engine runs."""

    def __init__(self, engine: Engine) -> None:
        self.count = 0
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, conn: object, cursor: object, statement: str, *args: object) -> None:
        if statement != "BEGIN":  # the SQLite savepoint recipe's, not a query
            self.count += 1


# --- the model ---------------------------------------------------------------------------


def test_attach_stores_the_file_in_the_1_1_0_layout(session: Session, store: Store) -> None:
    user = User(name="ann")
    image = user.picture.from_blob(JPEG)
    session.add(user)
    session.commit()
    assert (image.width, image.height, image.mimetype, image.original) == (
        400,
        300,
        "image/jpeg",
        True,
    )
    assert image.object_type == "user-picture"
    assert image.object_id == user.id
    path = f"user-picture/{user.id % 1000}/{user.id // 1000}/{user.id}.400x300.jpe"
    assert files(store) == {path: JPEG}  # type: ignore[arg-type]
    assert user.picture.locate().startswith(f"https://img.example/{path}?_ts=")
    assert user.picture.make_blob() == JPEG


def test_the_type_and_size_come_from_the_bytes(session: Session) -> None:
    user = User(name="ann")

    class Named(io.BytesIO):
        name = "photo.jpg"
        content_type = "image/jpeg"

    image = user.picture.from_file(Named(PNG))
    assert (image.mimetype, image.size) == ("image/png", (400, 300))


@pytest.mark.parametrize("data", [b"", b"not an image", JPEG[:200]], ids=["empty", "text", "cut"])
def test_a_bad_file_raises_and_stores_nothing(
    session: Session, store: FileSystemStore, data: bytes
) -> None:
    user = User(name="ann")
    user.picture.from_blob(JPEG)
    session.add(user)
    session.commit()
    before = files(store)
    with pytest.raises(InvalidImageError):
        user.picture.from_blob(data)
    assert len(user.picture) == 1
    assert user.picture.original is not None
    session.commit()
    assert files(store) == before


def test_the_byte_limit_applies_to_uploads(session: Session) -> None:
    user = User(name="ann")
    original = UserPicture.image_limits
    try:
        UserPicture.image_limits = type(original)(max_bytes=len(JPEG) - 1)
        with pytest.raises(InvalidImageError, match="bytes"):
            user.picture.from_file(io.BytesIO(JPEG))
    finally:
        UserPicture.image_limits = original
    assert list(user.picture) == []


def test_uuid_primary_keys_give_their_int(session: Session, store: FileSystemStore) -> None:
    document = Document()
    cover = document.cover.from_blob(JPEG)
    session.add(document)
    session.commit()
    assert cover.object_id == document.id.int
    assert any(name.endswith(f"/{document.id.int}.400x300.jpe") for name in files(store))


def test_object_id_says_what_to_override() -> None:
    class Tag(Base):
        __tablename__ = "tag"
        name: Mapped[str] = mapped_column(String(20), primary_key=True)

    class TagIcon(Base, Image):
        __tablename__ = "tag_icon"
        tag_name: Mapped[str] = mapped_column(ForeignKey("tag.name"), primary_key=True)

    try:
        with pytest.raises(NotImplementedError, match="define an object_id property"):
            TagIcon(tag_name="x", width=1, height=1).object_id  # noqa: B018
        with pytest.raises(ValueError, match="flush the session first"):
            UserPicture(width=1, height=1).object_id  # noqa: B018
    finally:
        Base.metadata.remove(TagIcon.__table__)  # type: ignore[arg-type]
        Base.metadata.remove(Tag.__table__)  # type: ignore[arg-type]


def test_identity_and_size(session: Session) -> None:
    assert UserPicture.identity_attributes() == ["user_id"]
    assert ProductPicture.identity_attributes() == ["product_id", "order_index"]
    user = User(name="ann")
    image = user.picture.from_blob(JPEG)
    session.add(user)
    session.commit()
    assert image.identity_map == {"user_id": user.id}
    by_size = select(UserPicture).where(UserPicture.size == (400, 300))
    assert session.scalars(by_size).one() is image
    image.size = (40, 30)
    assert (image.width, image.height) == (40, 30)


def test_html_escapes_the_url() -> None:
    class Odd(FileSystemStore):
        def get_url(self, *key: Any) -> str:
            return 'https://x.example/a"b<c>&d'

    user = User(id=7, name="ann")
    image = user.picture.from_blob(JPEG, store=Odd("/nonexistent", "/"))
    image.user_id = user.id  # as the flush would
    with store_context(Odd("/nonexistent", "/")):
        html = image.__html__()
        assert user.picture.__html__() == html
    assert html.startswith('<img src="https://x.example/a&quot;b&lt;c&gt;&amp;d?_ts=')
    assert html.endswith('" width="400" height="300">')


def test_outside_a_store_context_the_error_says_what_to_do(schema: Engine) -> None:
    user = User(name="ann")
    with pytest.raises(StoreContextError, match="store_context"):
        user.picture.from_blob(JPEG)


# --- thumbnails --------------------------------------------------------------------------


class Recording(FileSystemStore):
    def __init__(self, path: Any) -> None:
        super().__init__(path, "/")
        self.puts: list[tuple[str, int, int, bool]] = []

    def put_file(self, file: IO[bytes], *key: Any) -> None:
        _object_type, _object_id, width, height, mimetype, reproducible = key
        self.puts.append((mimetype, width, height, reproducible))
        super().put_file(file, *key)


def test_thumbnails(schema: Engine, tmp_path: Path) -> None:
    store = Recording(tmp_path / "rec")
    with Session(schema) as session, store_context(store):
        user = User(name="ann")
        user.picture.from_blob(JPEG)
        small = user.picture.generate_thumbnail(width=100)  # before the flush: from the data
        assert user.picture.generate_thumbnail(width=100) is small
        assert user.picture.generate_thumbnail(ratio=0.25) is small
        half = user.picture.generate_thumbnail(height=150)
        session.add(user)
        session.commit()
        assert (small.size, small.mimetype, small.original) == ((100, 75), "image/jpeg", False)
        assert half.size == (200, 150)
        assert sorted(store.puts) == [
            ("image/jpeg", 100, 75, True),
            ("image/jpeg", 200, 150, True),
            ("image/jpeg", 400, 300, False),
        ]
        assert user.picture.find_thumbnail(width=100) is small
        assert user.picture.find_thumbnail(height=150) is half
        with pytest.raises(NoResultFound):
            user.picture.find_thumbnail(width=99)
        assert close(pixel(small.make_blob()), (200, 30, 30))
        session.expunge_all()
        # after a reload, from the store
        user = session.scalars(select(User)).one()
        tiny = user.picture.generate_thumbnail(width=40)
        session.commit()
        assert tiny.size == (40, 30)
        assert close(pixel(tiny.make_blob()), (200, 30, 30))


def test_the_1_1_0_filter_argument_is_accepted_and_ignored(session: Session) -> None:
    user = User(name="ann")
    user.picture.from_blob(JPEG)
    assert user.picture.generate_thumbnail(width=50, filter="undefined").width == 50
    with pytest.warns(DeprecationWarning, match="Lanczos"):
        assert user.picture.generate_thumbnail(width=60, filter="lanczos").width == 60


def test_no_original_yet(session: Session) -> None:
    user = User(name="ann")
    assert user.picture.original is None
    with pytest.raises(MissingOriginalError):
        user.picture.generate_thumbnail(width=10)
    with pytest.raises(OSError, match="no original image"):
        user.picture.locate()


def test_multiple_image_sets_keep_their_thumbnails_apart(
    session: Session, store: FileSystemStore
) -> None:
    product = Product()
    red = product.pictures.get_image_set(order_index=1)
    blue = product.pictures.get_image_set(order_index=2)
    red.from_blob(make_image(color=(220, 0, 0)))
    blue.from_blob(make_image(color=(0, 0, 220)))
    session.add(product)
    session.commit()
    session.expunge_all()
    product = session.scalars(select(Product)).one()
    blue = product.pictures.get_image_set(order_index=2)
    red = product.pictures.get_image_set(order_index=1)
    blue_thumb = blue.generate_thumbnail(width=50)  # 1.1.0 #44: this came from set 1
    red_thumb = red.generate_thumbnail(width=50)
    session.commit()
    assert blue_thumb is not red_thumb
    assert close(pixel(blue_thumb.make_blob()), (0, 0, 220))
    assert close(pixel(red_thumb.make_blob()), (220, 0, 0))
    assert blue.find_thumbnail(width=50) is blue_thumb
    assert [s.original.order_index for s in product.pictures.image_sets] == [1, 2]  # type: ignore[union-attr]
    assert len(files(store)) == 4
    with pytest.raises(TypeError, match="order_index"):
        product.pictures.get_image_set(position=1)
    # replacing one set leaves the other alone
    red.from_blob(make_image(size=(80, 60), color=(10, 200, 10)))
    session.commit()
    assert len(red._images()) == 1
    assert len(blue._images()) == 2
    assert len(files(store)) == 3


# --- files follow the transaction --------------------------------------------------------


def test_rollback_removes_the_files_of_the_transaction(
    session: Session, store: FileSystemStore
) -> None:
    user = User(name="ann")
    user.picture.from_blob(JPEG)
    user.picture.generate_thumbnail(width=100)
    session.add(user)
    session.flush()
    assert len(files(store)) == 2
    session.rollback()
    assert files(store) == {}
    # the objects keep their data: adding them again stores the files again
    session.add(user)
    session.commit()
    assert len(files(store)) == 2


def test_a_savepoint_rolled_back_removes_only_its_own_files(
    session: Session, store: FileSystemStore
) -> None:
    ann = User(name="ann")
    ann.picture.from_blob(JPEG)
    session.add(ann)
    session.flush()
    savepoint = session.begin_nested()
    bob = User(name="bob")
    bob.picture.from_blob(PNG)
    session.add(bob)
    session.flush()
    assert len(files(store)) == 2
    savepoint.rollback()
    assert [name.split("/")[-1] for name in files(store)] == [f"{ann.id}.400x300.jpe"]
    session.commit()
    assert len(files(store)) == 1


def test_a_savepoint_released_then_the_transaction_rolled_back(
    session: Session, store: FileSystemStore
) -> None:
    with session.begin_nested():
        user = User(name="ann")
        user.picture.from_blob(JPEG)
        session.add(user)
    assert len(files(store)) == 1  # released: still uncommitted
    session.rollback()
    assert files(store) == {}


def test_a_failed_flush_then_rollback_leaves_no_file(
    session: Session, store: FileSystemStore
) -> None:
    session.add(User(name="dup"))
    session.commit()
    user = User(name="dup")  # violates the unique name
    user.picture.from_blob(JPEG)
    session.add(user)
    with pytest.raises(IntegrityError):
        session.flush()
    session.rollback()
    assert files(store) == {}


def test_a_session_closed_without_commit_leaves_no_file(
    schema: Engine, store: FileSystemStore
) -> None:
    with store_context(store):
        session = Session(schema)
        user = User(name="ann")
        user.picture.from_blob(JPEG)
        session.add(user)
        session.flush()
        assert len(files(store)) == 1
        session.close()
    assert files(store) == {}


def test_deleted_files_go_only_after_the_commit(session: Session, store: FileSystemStore) -> None:
    user = User(name="ann")
    user.picture.from_blob(JPEG)
    user.picture.generate_thumbnail(width=100)
    session.add(user)
    session.commit()
    stored = files(store)
    session.delete(user)
    session.flush()
    assert files(store) == stored  # deleted rows, not yet committed
    session.rollback()
    assert files(store) == stored
    assert session.get(User, user.id) is not None
    session.delete(user)
    session.commit()
    assert files(store) == {}


def test_deleting_needs_a_store(schema: Engine, store: FileSystemStore) -> None:
    with store_context(store), Session(schema) as session:
        user = User(name="ann")
        user.picture.from_blob(JPEG)
        session.add(user)
        session.commit()
    with Session(schema) as session:
        user = session.scalars(select(User)).one()
        session.delete(user)
        with pytest.raises(StoreContextError):
            session.commit()
        session.rollback()
    assert len(files(store)) == 1


@pytest.mark.parametrize("new", ["same size and type", "other type", "other size"])
def test_replacing_the_original(session: Session, store: FileSystemStore, new: str) -> None:
    user = User(name="ann")
    user.picture.from_blob(make_image(color=(200, 0, 0)))
    user.picture.generate_thumbnail(width=100)
    session.add(user)
    session.commit()
    old = files(store)
    data = {
        "same size and type": make_image(color=(0, 200, 0)),
        "other type": make_image("PNG", color=(0, 200, 0)),
        "other size": make_image(size=(300, 300), color=(0, 200, 0)),
    }[new]
    user.picture.from_blob(data)
    user.picture.generate_thumbnail(width=100)
    session.flush()
    session.rollback()  # the old files are back as they were
    assert files(store) == old
    user.picture.from_blob(data)
    user.picture.generate_thumbnail(width=100)
    session.commit()
    now = files(store)
    assert len(now) == 2
    assert all(close(pixel(content), (0, 200, 0)) for content in now.values())
    rows = {image.size for image in session.scalars(select(UserPicture))}
    assert rows == {image.size for image in user.picture}


def test_two_sessions_in_two_threads_each_get_their_own_outcome(
    schema: Engine, store: FileSystemStore, tmp_path: Path
) -> None:
    flushed = threading.Barrier(2, timeout=30)
    errors: list[BaseException] = []
    other = schema
    if schema.dialect.name == "sqlite":  # one writer at a time: the other gets its own file
        other = create_engine(f"sqlite:///{tmp_path / 'other.sqlite3'}")
        Base.metadata.create_all(other)

    def work(name: str, commit: bool) -> None:
        try:
            engine = schema if commit else other
            with store_context(store), Session(engine) as session:
                user = User(id=1 if commit else 2, name=name)
                user.picture.from_blob(JPEG)
                session.add(user)
                session.flush()
                flushed.wait()  # both files are written before either session ends
                if commit:
                    session.commit()
                else:
                    session.rollback()
                flushed.wait()
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [
        threading.Thread(target=work, args=("committer", True)),
        threading.Thread(target=work, args=("roller", False)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if other is not schema:
        other.dispose()
    assert not errors
    with Session(schema) as session:
        (committed,) = session.scalars(select(User)).all()
        assert committed.name == "committer"
        assert list(files(store)) == [
            f"user-picture/{committed.id % 1000}/{committed.id // 1000}/{committed.id}.400x300.jpe"
        ]


# --- queries -----------------------------------------------------------------------------


def test_a_page_of_images_costs_a_bounded_number_of_queries(
    session: Session, schema: Engine
) -> None:
    for n in range(20):
        user = User(name=f"u{n}")
        user.picture.from_blob(JPEG)
        user.picture.generate_thumbnail(width=100)
        session.add(user)
    session.commit()
    session.expunge_all()
    statements = Statements(schema)
    users = session.scalars(select(User).options(selectinload(User.picture))).all()
    urls = [user.picture.find_thumbnail(width=100).locate() for user in users]
    urls += [user.picture.locate() for user in users]
    assert statements.count == 2
    assert len(set(urls)) == 40
    session.expunge_all()
    statements.count = 0
    for user in session.scalars(select(User)).all():  # without the option: one per user
        user.picture.locate()
    assert statements.count == 21


# --- AsyncSession ------------------------------------------------------------------------


def test_async_sessions(database: Any, store: FileSystemStore) -> None:
    from datetime import timedelta

    from imageattach.core import find_orphaned_files

    async def main() -> None:
        engine = create_async_engine(database.async_url)
        try:
            async with engine.begin() as connection:
                await connection.run_sync(Base.metadata.create_all)
            with store_context(store):
                async with AsyncSession(engine, expire_on_commit=False) as session:
                    user = User(name="ann")
                    user.picture.from_blob(JPEG)
                    user.picture.generate_thumbnail(width=100)
                    session.add(user)
                    await session.flush()
                    assert len(files(store)) == 2
                    await session.rollback()
                    assert files(store) == {}
                    session.add(user)
                    await session.commit()
                    assert len(files(store)) == 2
                async with AsyncSession(engine) as session:
                    query = select(User).options(selectinload(User.picture))
                    user = (await session.scalars(query)).one()
                    assert user.picture.locate().startswith("https://img.example/user-picture/")
                    await session.delete(user)
                    await session.flush()
                    assert len(files(store)) == 2
                    await session.commit()
                    assert files(store) == {}
                async with AsyncSession(engine) as session:
                    user = User(name="bob")
                    user.picture.from_blob(PNG)
                    session.add(user)
                    await session.flush()
                    user_id = user.id
                    await session.commit()
                    session.expunge_all()
                    user = await session.get_one(User, user_id)
                    picture = await user.awaitable_attrs.picture  # the other way to load them
                    assert picture.original.mimetype == "image/png"  # type: ignore[union-attr]
                async with AsyncSession(engine) as session:  # a savepoint rolled back
                    async with session.begin():
                        savepoint = await session.begin_nested()
                        user = User(name="carl")
                        user.picture.from_blob(JPEG)
                        session.add(user)
                        await session.flush()
                        assert len(files(store)) == 2
                        await savepoint.rollback()
                        assert len(files(store)) == 1
                    orphans = await session.run_sync(
                        find_orphaned_files, store, min_age=timedelta(0)
                    )
                    assert orphans == []
        finally:
            await engine.dispose()

    asyncio.run(main())


# --- orphans -----------------------------------------------------------------------------


def test_orphaned_files(session: Session, store: FileSystemStore) -> None:
    from datetime import timedelta

    from sqlalchemy import delete

    from imageattach.core import find_orphaned_files, remove_orphaned_files

    kept = User(name="kept")
    kept.picture.from_blob(JPEG)
    gone = User(name="gone")
    gone.picture.from_blob(JPEG)
    gone.picture.generate_thumbnail(width=100)
    session.add_all([kept, gone])
    session.commit()
    gone_id = gone.id
    session.execute(delete(UserPicture).where(UserPicture.user_id == gone_id))  # bypasses the ORM
    session.commit()
    other = Path(store.path) / "not-ours" / "file.txt"  # another application's folder
    other.parent.mkdir()
    other.write_text("keep me")
    assert find_orphaned_files(session, store) == []  # too young to be sure
    orphans = find_orphaned_files(session, store, min_age=timedelta(0))
    assert sorted(o.path.rsplit("/", 1)[1] for o in orphans) == [
        f"{gone_id}.100x75.jpe",
        f"{gone_id}.400x300.jpe",
    ]
    assert all(Path(o.filename).is_file() and o.size > 0 for o in orphans)
    assert remove_orphaned_files(session, store, [UserPicture], min_age=timedelta(0)) == orphans
    assert find_orphaned_files(session, store, min_age=timedelta(0)) == []
    assert other.read_text() == "keep me"
    assert len(files(store)) == 2  # kept's picture and the other file
    with pytest.raises(TypeError, match="filesystem store"):
        find_orphaned_files(session, object())  # type: ignore[arg-type]


# --- the 1.1.0 facade --------------------------------------------------------------------

MODEL_1_1_0 = """
from sqlalchemy import Column, ForeignKey, Integer, Unicode
from sqlalchemy.orm import relationship
from sqlalchemy.ext.declarative import declarative_base
from sqlalchemy_imageattach.entity import Image, image_attachment
from sqlalchemy_imageattach.context import store_context

Base = declarative_base()


class User(Base):
    '''User model.'''

    id = Column(Integer, primary_key=True)
    name = Column(Unicode, nullable=False)
    picture = image_attachment('UserPicture')
    __tablename__ = 'user'


class UserPicture(Base, Image):
    '''User picture model.'''

    user_id = Column(Integer, ForeignKey('user.id'), primary_key=True)
    user = relationship('User')
    __tablename__ = 'user_picture'
"""


def test_a_1_1_0_model_module_runs_unchanged(tmp_path: Path) -> None:
    import warnings

    namespace: dict[str, Any] = {"__name__": "legacy_models"}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        exec(compile(MODEL_1_1_0, "legacy_models.py", "exec"), namespace)
        engine = create_engine(f"sqlite:///{tmp_path / 'legacy.db'}")
        namespace["Base"].metadata.create_all(engine)
        store = FileSystemStore(tmp_path / "images", "https://img.example/")
        with namespace["store_context"](store), Session(engine) as session:
            user = namespace["User"](name="ann")
            with io.BytesIO(JPEG) as f:
                user.picture.from_file(f)
            user.picture.generate_thumbnail(width=100)
            session.add(user)
            session.commit()
            assert (
                user.picture.find_thumbnail(width=100)
                .locate()
                .startswith("https://img.example/user-picture/1/0/1.100x75.jpe?_ts=")
            )
        engine.dispose()
    # SQLAlchemy 2 warns about two things in such a module; nothing else does
    messages = {type(w.message).__name__ for w in caught}
    assert messages <= {"MovedIn20Warning", "SAWarning"}, [str(w.message) for w in caught]
    assert sorted(p.name for p in (tmp_path / "images").rglob("*.jpe")) == [
        "1.100x75.jpe",
        "1.400x300.jpe",
    ]


def test_the_1_1_0_entity_and_context_names() -> None:
    from imageattach import core
    from sqlalchemy_imageattach import context, entity

    assert entity.Image is core.Image
    assert entity.image_attachment is core.image_attachment
    assert entity.ImageSet is core.SingleImageSet
    assert entity.NoResultFound is NoResultFound
    assert context.ContextError is core.StoreContextError
    assert context.store_context is core.store_context
    assert {"current_store", "get_current_store", "push_store_context"} <= set(context.__all__)
    with pytest.raises(ValueError, match="lazy='dynamic'"):
        image_attachment("UserPicture", lazy="dynamic")


def test_deleting_an_expired_image(session: Session, store: FileSystemStore) -> None:
    user = User(name="ann")
    user.picture.from_blob(JPEG)
    session.add(user)
    session.commit()  # expires every attribute
    image = session.scalars(select(UserPicture)).one()
    session.expire(image)
    session.delete(image)
    session.commit()
    assert files(store) == {}


CRASH = """
import os, sys
from sqlalchemy import ForeignKey, create_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from imageattach.core import FileSystemStore, Image, image_attachment, store_context

class Base(DeclarativeBase):
    pass

class User(Base):
    __tablename__ = "user_account"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str]
    picture = image_attachment("UserPicture")

class UserPicture(Base, Image):
    __tablename__ = "user_picture"
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), primary_key=True)

engine = create_engine(sys.argv[1])
with store_context(FileSystemStore(sys.argv[2], "/")), Session(engine) as session:
    user = User(id=42, name="crash")
    user.picture.from_blob(sys.stdin.buffer.read())
    session.add(user)
    session.flush()
    os._exit(3)  # the process dies between the flush and the commit
"""


def test_a_crash_between_flush_and_commit_leaves_an_orphan_never_a_row(
    session: Session, store: FileSystemStore, database: Any
) -> None:
    import subprocess
    import sys
    from datetime import timedelta

    from imageattach.core import find_orphaned_files

    url = database.url.render_as_string(hide_password=False)
    crashed = subprocess.run(
        [sys.executable, "-c", CRASH, url, store.path], input=JPEG, timeout=120, check=False
    )
    assert crashed.returncode == 3
    assert session.scalars(select(User)).all() == []
    (orphan,) = find_orphaned_files(session, store, min_age=timedelta(0))
    assert orphan.path == "user-picture/42/0/42.400x300.jpe"


def test_upload_objects_and_seekable_files(session: Session, store: FileSystemStore) -> None:
    class UploadFile:  # what Starlette and cgi.FieldStorage hand out
        def __init__(self, data: bytes) -> None:
            self.file = io.BytesIO(data)
            self.filename = "x.gif"

    user = User(name="ann")
    image = user.picture.from_file(UploadFile(PNG))  # type: ignore[arg-type]
    assert image.mimetype == "image/png"
    with image.open_file(use_seek=True) as f:  # before the flush: the attached data
        f.seek(10)
        assert f.read(4) == PNG[10:14]
    session.add(user)
    session.commit()
    with image.open_file(use_seek=True) as f:  # after the commit: the store's file
        f.seek(10)
        assert f.read(4) == PNG[10:14]
    with pytest.raises(TypeError, match="readable"):
        user.picture.from_file(b"bytes are not a file")  # type: ignore[arg-type]


def test_from_raw_file_trusts_a_given_size_and_type(session: Session) -> None:
    from imageattach.core import UnknownMimetypeError

    user = User(name="ann")
    image = user.picture.from_raw_file(io.BytesIO(b"whatever"), size=(3, 4), mimetype="image/png")
    assert (image.size, image.mimetype) == ((3, 4), "image/png")
    with pytest.raises(UnknownMimetypeError):
        user.picture.from_raw_file(io.BytesIO(JPEG), size=(3, 4), mimetype="text/html")
    assert list(user.picture) == [image]


def test_savepoints_inside_savepoints(session: Session, store: FileSystemStore) -> None:
    def attach(name: str) -> None:
        user = User(name=name)
        user.picture.from_blob(JPEG)
        session.add(user)
        session.flush()

    attach("a")
    with session.begin_nested():
        attach("b")
        inner = session.begin_nested()
        attach("c")
        inner.rollback()
        assert len(files(store)) == 2
        with session.begin_nested():
            attach("d")
    assert len(files(store)) == 3
    session.commit()
    names = {u.name for u in session.scalars(select(User))}
    assert names == {"a", "b", "d"}
    assert len(files(store)) == 3


@pytest.mark.parametrize(
    "widths", [(400, 400, 400), (400, 300, 400), (300, 400, 300), (400, 300, 300)]
)
def test_replaced_twice_between_flushes_then_deleted(
    session: Session, store: FileSystemStore, widths: tuple[int, int, int]
) -> None:
    # Found by test_entity_transactions: an original replaced by one that is itself
    # replaced before it is flushed.  A row replaced in place (same primary key) is an
    # UPDATE, so no DELETE said which file went, and the first file outlived its row.
    first, second, third = widths
    user = User(id=1, name="ann")
    user.picture.from_blob(make_image(size=(first, 300)))
    session.add(user)
    session.flush()
    user.picture.from_blob(make_image(size=(second, 300)))
    user.picture.from_blob(make_image(size=(third, 300)))
    session.flush()
    assert f"user-picture/1/0/1.{third}x300.jpe" in files(store)
    session.delete(user)
    session.commit()
    assert files(store) == {}


def test_an_image_removed_by_hand_and_replaced_in_place(
    session: Session, store: FileSystemStore
) -> None:
    user = User(id=1, name="ann")
    user.picture.from_blob(PNG)
    session.add(user)
    session.commit()
    user.picture.remove(user.picture[0])  # by hand: the image set never sees it go
    user.picture.from_blob(JPEG)  # same primary key (1, 400, 300): an UPDATE, no DELETE
    session.commit()
    assert list(files(store)) == ["user-picture/1/0/1.400x300.jpe"]
