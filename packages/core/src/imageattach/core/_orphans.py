"""Files in a filesystem store that no row points to.

Files follow the transaction (written at flush, removed on rollback), so a process that
dies between a flush and its commit leaves files behind whose rows never committed.
Bulk ``DELETE`` statements, which bypass the ORM, leave some too.  These are the
orphans: :func:`find_orphaned_files` lists them, :func:`remove_orphaned_files` removes
them.  The reverse, a committed row whose file is missing, does not happen.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from ._entity import Image
from ._fs import BaseFileSystemStore
from ._layout import image_path

__all__ = ["OrphanedFile", "find_orphaned_files", "remove_orphaned_files"]

#: A file younger than this may belong to a transaction still running: left alone.
DEFAULT_MIN_AGE = timedelta(hours=1)


@dataclass(frozen=True, slots=True, kw_only=True)
class OrphanedFile:
    """A file of a store that no image row points to."""

    #: Its path relative to the store's folder, with ``/`` separators.
    path: str
    #: Its absolute path on disk.
    filename: str
    size: int
    #: Its modification time (seconds since the epoch).
    mtime: float


def _image_classes(session: Session, classes: Iterable[type[Image]] | None) -> list[type[Image]]:
    if classes is not None:
        found = list(classes)
        for cls in found:
            if not (isinstance(cls, type) and issubclass(cls, Image)):
                raise TypeError(f"classes must be Image subclasses, got {cls!r}")
        return found
    seen: list[type[Image]] = []
    pending: list[type[Any]] = [Image]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls is not Image and inspect(cls, raiseerr=False) is not None and cls not in seen:
            seen.append(cls)
    return seen


def find_orphaned_files(
    session: Session,
    store: BaseFileSystemStore,
    classes: Iterable[type[Image]] | None = None,
    *,
    min_age: timedelta = DEFAULT_MIN_AGE,
) -> list[OrphanedFile]:
    """The files of ``store`` that no row of the image ``classes`` points to.

    Only the folders of those classes' ``object_type`` are looked at, so files of other
    applications sharing the folder are never listed.  Files younger than ``min_age``
    are left out: their transaction may not have committed yet.  Left-over temporary
    files of interrupted writes (``.*.tmp``) older than that are listed too.

    :param classes: the :class:`Image` classes whose rows count; by default every
        mapped subclass of :class:`Image` whose table is in the session's database.
    """
    if not isinstance(store, BaseFileSystemStore):
        raise TypeError(
            f"find_orphaned_files() needs a filesystem store that can list its files, "
            f"got {store!r}"
        )
    by_type: dict[str, set[str]] = {}
    database = inspect(session.connection())
    for cls in _image_classes(session, classes):
        table = cls.__table__  # type: ignore[attr-defined]
        if classes is None and not database.has_table(table.name, schema=table.schema):
            continue  # mapped in this process, but not in this database
        known = by_type.setdefault(cls.object_type, set())
        for image in session.scalars(select(cls).execution_options(yield_per=1000)):
            known.add(
                "/".join(
                    image_path(
                        image.object_type,
                        image.object_id,
                        image.width,
                        image.height,
                        image.mimetype,
                    )
                )
            )
    cutoff = time.time() - min_age.total_seconds()
    orphans = []
    for object_type, known in by_type.items():
        for relative, entry in _walk(store.path, object_type):
            stat = entry.stat(follow_symlinks=False)
            if relative in known or stat.st_mtime > cutoff:
                continue
            orphans.append(
                OrphanedFile(
                    path=relative, filename=entry.path, size=stat.st_size, mtime=stat.st_mtime
                )
            )
    orphans.sort(key=lambda orphan: orphan.path)
    return orphans


def remove_orphaned_files(
    session: Session,
    store: BaseFileSystemStore,
    classes: Iterable[type[Image]] | None = None,
    *,
    min_age: timedelta = DEFAULT_MIN_AGE,
) -> list[OrphanedFile]:
    """Remove what :func:`find_orphaned_files` lists, and return it."""
    orphans = find_orphaned_files(session, store, classes, min_age=min_age)
    removed = []
    for orphan in orphans:
        try:
            os.remove(orphan.filename)
        except FileNotFoundError:
            continue
        removed.append(orphan)
    return removed


def _walk(root: str, object_type: str) -> Iterator[tuple[str, os.DirEntry[str]]]:
    """Regular files below ``root/object_type``, three levels deep as the layout is."""
    top = os.path.join(root, object_type)
    stack = [(top, object_type, 0)]
    while stack:
        directory, relative, depth = stack.pop()
        try:
            entries = list(os.scandir(directory))
        except (FileNotFoundError, NotADirectoryError):
            continue
        for entry in entries:
            child = f"{relative}/{entry.name}"
            if depth < 2:
                if entry.is_dir(follow_symlinks=False):
                    stack.append((entry.path, child, depth + 1))
            elif entry.is_file(follow_symlinks=False):
                yield child, entry
