"""Benchmark: a page of 100 entities with an image each, and ``locate()`` for every image.

The page is loaded the documented way (``select(User).options(selectinload(User.picture))``)
from a SQLite file, then each user's original and thumbnail is located.  Targets: the whole
page costs two queries (the users, then their images), and the ``locate()`` calls do no I/O
(no file opened, no socket, no query) — counted with an audit hook and a statement counter,
not timed.  The time per page and per ``locate()`` are reported for information, with the
same page loaded lazily (no loading option: one query per user, the N+1 of 1.1.0 #4/#26).
"""

from __future__ import annotations

import io
import sys
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import ForeignKey
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from benchmarks._common import MISS, OURS, PASS, Row, Settings, median
from imageattach.core import Image, image_attachment

Log = Callable[[str], None]
PAGE = 100
SECTION = "entities"


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "bench_user"
    id: Mapped[int] = mapped_column(primary_key=True)
    picture = image_attachment("UserPicture")


class UserPicture(Base, Image):
    __tablename__ = "bench_user_picture"
    user_id: Mapped[int] = mapped_column(ForeignKey("bench_user.id"), primary_key=True)


class _Counter:
    """SQL statements and I/O audit events seen while it is on."""

    def __init__(self, engine: Any) -> None:
        from sqlalchemy import event

        self.on = False
        self.statements = 0
        self.io_events: list[str] = []
        event.listen(engine, "before_cursor_execute", self._statement)
        sys.addaudithook(self._audit)

    def _statement(self, *args: object) -> None:
        if self.on:
            self.statements += 1

    def _audit(self, name: str, args: tuple[Any, ...]) -> None:
        if self.on and (
            name == "open" or name.startswith(("os.", "socket.", "shutil.", "sqlite3."))
        ):
            self.io_events.append(name)


def run(settings: Settings, log: Log) -> tuple[list[Row], dict[str, Any]]:
    from PIL import Image as PILImage
    from sqlalchemy import create_engine, select
    from sqlalchemy.orm import Session, selectinload

    from imageattach.core import FileSystemStore, store_context

    base, user_cls = Base, User
    folder = settings.data_dir / "entities"
    db = folder / "page.sqlite3"
    folder.mkdir(parents=True, exist_ok=True)
    if db.exists():
        db.unlink()
    store = FileSystemStore(folder / "store", "https://img.example.com/")
    engine = create_engine(f"sqlite:///{db}")
    base.metadata.create_all(engine)
    buffer = io.BytesIO()
    PILImage.new("RGB", (640, 480), (90, 120, 200)).save(buffer, "JPEG")
    with store_context(store), Session(engine) as session:
        for n in range(PAGE):
            user = user_cls(id=n + 1)
            user.picture.from_blob(buffer.getvalue())
            user.picture.generate_thumbnail(width=120)
            session.add(user)
        session.commit()
    log(f"{SECTION}: {PAGE} users with an original and a thumbnail each, in {db}")

    counter = _Counter(engine)
    rounds = 3 if settings.quick else 15

    def render(eager: bool) -> tuple[float, float, int, int]:
        """(seconds for the page, seconds per locate(), queries, I/O events in locate())."""
        with Session(engine) as session, store_context(store):
            query = select(user_cls).order_by(user_cls.id).limit(PAGE)
            if eager:
                query = query.options(selectinload(user_cls.picture))
            counter.on, counter.statements, counter.io_events = True, 0, []
            started = time.perf_counter()
            users = session.scalars(query).all()
            loaded = time.perf_counter()
            loading = counter.statements
            counter.statements, counter.io_events = 0, []
            urls = [u.picture.find_thumbnail(width=120).locate() for u in users]
            urls += [u.picture.locate() for u in users]
            finished = time.perf_counter()
            counter.on = False
        assert len(set(urls)) == 2 * PAGE
        locating = counter.statements
        return (
            finished - started,
            (finished - loaded) / (2 * PAGE),
            loading + locating,
            len(counter.io_events) + locating,
        )

    rows: list[Row] = []
    for eager, competitor in ((True, OURS), (False, f"{OURS}, no loading option")):
        results = [render(eager) for _ in range(rounds)]
        page_ms = [r[0] * 1000 for r in results]
        statements = max(r[2] for r in results)
        row = Row(SECTION, f"page of {PAGE}", competitor, "queries", "queries", statements)
        if eager:
            row.target = "<= 2"
            row.verdict = PASS if statements <= 2 else MISS
            row.note = "the users, then all their images (selectinload)"
        else:
            row.note = "lazy loading: one query per user (1.1.0 #4, #26)"
        rows.append(row)
        rows.append(
            Row(SECTION, f"page of {PAGE}", competitor, "time per page", "ms",
                median(page_ms), page_ms)
        )  # fmt: skip
        if eager:
            io_events = max(r[3] for r in results)
            rows.append(
                Row(SECTION, f"{2 * PAGE} locate()", OURS, "I/O during locate()", "events",
                    io_events, target="0", verdict=PASS if io_events == 0 else MISS,
                    note="files opened, os/socket calls and queries, by audit hook")
            )  # fmt: skip
            per_locate = [r[1] * 1e6 for r in results]
            rows.append(
                Row(SECTION, f"{2 * PAGE} locate()", OURS, "time per locate()", "µs",
                    median(per_locate), per_locate, note="find_thumbnail() + locate()")
            )  # fmt: skip
    engine.dispose()
    return rows, {SECTION: {"page": PAGE, "rounds": rounds}}
