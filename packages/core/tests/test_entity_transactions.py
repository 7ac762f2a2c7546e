"""Files follow the transaction, whatever the sequence: a stateful property test.

Hypothesis drives one session through random sequences of attaching, replacing, making
thumbnails, deleting, flushing, savepoints, commits and rollbacks, on a real SQLite file and
a real store folder.  After every step, every row the session sees has its file; after every
commit or rollback of the whole transaction, the folder holds exactly the files of the
committed rows, byte for byte the images they were made from.
"""

from __future__ import annotations

import io
import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from PIL import Image as PILImage
from sqlalchemy import ForeignKey, create_engine, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, SessionTransaction, mapped_column

from imageattach.core import (
    FileSystemStore,
    Image,
    SingleImageSet,
    image_attachment,
    pop_store_context,
    push_store_context,
)
from imageattach.core._layout import image_path

from ._postgres import enable_sqlite_savepoints


class Base(DeclarativeBase):
    pass


class Member(Base):
    __tablename__ = "member"
    id: Mapped[int] = mapped_column(primary_key=True)
    avatar: Mapped[SingleImageSet[MemberAvatar]] = image_attachment("MemberAvatar")


class MemberAvatar(Base, Image):
    __tablename__ = "member_avatar"
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), primary_key=True)


def _jpeg(size: tuple[int, int], shade: int) -> bytes:
    buffer = io.BytesIO()
    PILImage.new("RGB", size, (shade, 255 - shade, 90)).save(buffer, "JPEG")
    return buffer.getvalue()


#: Originals to attach: two share a size (a replacement then reuses the file's key).
IMAGES = [_jpeg((64, 48), 20), _jpeg((64, 48), 200), _jpeg((40, 40), 120), _jpeg((30, 60), 60)]
MEMBER_IDS = st.integers(min_value=1, max_value=4)


class FilesFollowTransactions(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="imageattach-stateful-"))
        self.engine = create_engine(f"sqlite:///{self.folder / 'db.sqlite3'}")
        enable_sqlite_savepoints(self.engine)  # else releasing the first savepoint commits
        Base.metadata.create_all(self.engine)
        self.store = FileSystemStore(self.folder / "store", "/")
        self.session = Session(self.engine)
        self.savepoints: list[SessionTransaction] = []
        # Deleting images loaded from the database needs the store from the context.
        push_store_context(self.store)

    def teardown(self) -> None:
        pop_store_context()
        self.session.close()
        self.engine.dispose()
        shutil.rmtree(self.folder, ignore_errors=True)

    def _member(self, member_id: int) -> Member | None:
        member = self.session.get(Member, member_id)
        if member in self.session.deleted:
            # Gone, for a user. Flushed first: SQLAlchemy itself warns when a new object
            # takes the primary key of a deleted one in the same flush (plain
            # relationships do the same).
            self.session.flush()
            return None
        return member

    # --- what a user does ----------------------------------------------------------------

    @rule(member_id=MEMBER_IDS, image=st.sampled_from(IMAGES))
    def attach(self, member_id: int, image: bytes) -> None:
        member = self._member(member_id)
        if member is None:
            member = Member(id=member_id)
            self.session.add(member)
        member.avatar.from_blob(image, store=self.store)

    @rule(member_id=MEMBER_IDS, width=st.sampled_from([10, 20]))
    def thumbnail(self, member_id: int, width: int) -> None:
        member = self._member(member_id)
        if member is not None and member.avatar.original is not None:
            member.avatar.generate_thumbnail(width=width, store=self.store)

    @rule(member_id=MEMBER_IDS)
    def delete(self, member_id: int) -> None:
        # Flushed first: SQLAlchemy itself tries to INSERT a pending child with a NULL key
        # when its parent is deleted in the same flush (plain relationships do the same).
        self.session.flush()
        member = self._member(member_id)
        if member is not None:
            self.session.delete(member)

    @rule()
    def flush(self) -> None:
        self.session.flush()

    @rule()
    def begin_savepoint(self) -> None:
        self.savepoints.append(self.session.begin_nested())

    @precondition(lambda self: self.savepoints)
    @rule()
    def release_savepoint(self) -> None:
        self.savepoints.pop().commit()

    @precondition(lambda self: self.savepoints)
    @rule()
    def roll_back_savepoint(self) -> None:
        self.savepoints.pop().rollback()

    @rule()
    def commit(self) -> None:
        self.session.commit()
        self.savepoints.clear()
        self._check_folder_is_the_database()

    @rule()
    def roll_back(self) -> None:
        self.session.rollback()
        self.savepoints.clear()
        self._check_folder_is_the_database()

    # --- what must hold ------------------------------------------------------------------

    def _files(self) -> dict[str, bytes]:
        root = Path(self.store.path)
        if not root.exists():
            return {}
        return {
            p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()
        }

    def _check_folder_is_the_database(self) -> None:
        with Session(self.engine) as fresh:
            rows = fresh.scalars(select(MemberAvatar)).all()
            expected = {
                "/".join(image_path(r.object_type, r.object_id, r.width, r.height, r.mimetype)): r
                for r in rows
            }
            files = self._files()
            assert sorted(files) == sorted(expected)
            for path, row in expected.items():
                if row.original:
                    assert files[path] in IMAGES
                with PILImage.open(io.BytesIO(files[path])) as decoded:
                    assert decoded.size == (row.width, row.height)

    @invariant()
    def every_row_has_its_file(self) -> None:
        files = self._files()
        with self.session.no_autoflush:
            flushed = [
                obj
                for obj in self.session.identity_map.values()
                if isinstance(obj, MemberAvatar) and obj not in self.session.deleted
            ]
            for image in flushed:
                path = "/".join(
                    image_path(
                        image.object_type, image.object_id, image.width, image.height,
                        image.mimetype,
                    )
                )  # fmt: skip
                assert path in files, path


FilesFollowTransactions.TestCase.settings = settings(
    max_examples=200,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_files_follow_transactions = FilesFollowTransactions.TestCase
