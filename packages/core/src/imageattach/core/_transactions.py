"""Image files that follow the database transaction.

A file is written when the session flushes the row that points to it, and removed again
when the transaction (or the savepoint) that wrote it rolls back.  A file whose row is
deleted is removed only after the transaction commits.  So the database and the store
agree at every commit, and a crash between a flush and its commit can leave a file that
no row points to (see :func:`~imageattach.core.find_orphaned_files`), never a committed
row whose file is missing.

The state lives in a :class:`FileTracker` in ``session.info``: one per session, with one
record per transaction and savepoint.  Nothing is global, so sessions in other threads,
tasks or greenlets never see each other's files (1.1.0 kept two class-level sets shared
by every session: its issues #10 and #24, and the unmerged PR #36).

The SQLAlchemy events that drive it, and the order they fire in:

=========================  =====================================================
``after_insert/update``     (mapper) the row is written: write its file now
``after_delete``            (mapper) the row is gone: delete its file at commit
``after_commit``            a savepoint is released (its record joins the
                            enclosing one) or the transaction commits (the
                            deletions run; the record is dropped)
``after_transaction_end``   any other end of a transaction or savepoint: a
                            rollback, or a session closed before it committed.
                            Every file it wrote is removed, or put back as it was
=========================  =====================================================
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO

from sqlalchemy.orm import Session, SessionTransaction

from ._store import Store, _closing

__all__ = ["FileTracker", "Key"]

logger = logging.getLogger("imageattach")

#: A file's key in a store: (object_type, object_id, width, height, mimetype).
Key = tuple[str, int, int, int, str]

#: Old contents kept in memory up to this size, on disk beyond it.
_SPOOL_BYTES = 4 * 1024 * 1024

_INFO_KEY = "imageattach.tracker"


@dataclass(slots=True)
class _Written:
    store: Store
    key: Key
    reproducible: bool
    #: What was stored under the key before (put back on rollback), or None.
    previous: IO[bytes] | None
    #: The identity of the image whose row the file belongs to.
    owner: int
    #: Called once the write is committed (the image drops its pending data).
    on_commit: Callable[[], None] | None


@dataclass(slots=True)
class _Deleted:
    store: Store
    key: Key
    #: The identity of the image whose row was deleted, or replaced by a new row with the
    #: same primary key (SQLAlchemy's "row switch", which deletes no row).
    owner: int


@dataclass(slots=True)
class _Record:
    """What one transaction or savepoint did to the stores, in the order it did it."""

    operations: list[_Written | _Deleted] = field(default_factory=list)

    def absorb(self, inner: _Record) -> None:
        self.operations.extend(inner.operations)


class FileTracker:
    """The file work of one session, one :class:`_Record` per open transaction.

    Use :meth:`of` to get a session's tracker; the methods are called by the event
    handlers of :mod:`imageattach.core._entity`.
    """

    __slots__ = ("_records",)

    def __init__(self) -> None:
        self._records: dict[SessionTransaction, _Record] = {}

    @classmethod
    def of(cls, session: Session) -> FileTracker:
        tracker = session.info.get(_INFO_KEY)
        if tracker is None:
            tracker = session.info[_INFO_KEY] = cls()
        assert isinstance(tracker, cls)
        return tracker

    @staticmethod
    def _boundary(session: Session) -> SessionTransaction:
        """The innermost savepoint, or the transaction: what a rollback would undo."""
        transaction = session.get_nested_transaction() or session.get_transaction()
        if transaction is None:  # pragma: no cover - flushes always run in a transaction
            raise RuntimeError("an image file was written outside any transaction")
        return transaction

    def _record(self, session: Session) -> _Record:
        transaction = self._boundary(session)
        record = self._records.get(transaction)
        if record is None:
            record = self._records[transaction] = _Record()
        return record

    # --- during the flush ------------------------------------------------------------

    def write(
        self,
        session: Session,
        store: Store,
        key: Key,
        file: IO[bytes],
        *,
        reproducible: bool,
        owner: object,
        on_commit: Callable[[], None] | None = None,
    ) -> None:
        """Write ``file`` under ``key`` now for the row of ``owner``, keeping what it
        replaces until the commit."""
        previous = _copy_of(store, key)
        try:
            store.put_file(file, *key, reproducible)
        except BaseException:
            if previous is not None:
                previous.close()
            raise
        self._record(session).operations.append(
            _Written(store, key, reproducible, previous, id(owner), on_commit)
        )

    def delete_after_commit(self, session: Session, store: Store, key: Key, owner: object) -> None:
        """Delete the file under ``key`` once the transaction commits, unless a row written
        in it (and not deleted since) owns the key then.  ``owner`` is the image whose row
        was deleted or replaced."""
        self._record(session).operations.append(_Deleted(store, key, id(owner)))

    # --- when the transaction ends ---------------------------------------------------

    def committed(self, session: Session) -> None:
        """``after_commit``: a savepoint was released, or the transaction committed."""
        transaction = self._boundary(session)
        record = self._records.pop(transaction, None)
        if transaction.nested:
            if record is not None:
                parent = transaction.parent
                while parent is not None and not (parent.nested or parent.parent is None):
                    parent = parent.parent
                if parent is not None:
                    self._records.setdefault(parent, _Record()).absorb(record)
            return
        # The root transaction: anything left (a savepoint whose release fired no event)
        # belongs to it too.
        for leftover in self._records.values():
            record = record or _Record()
            record.absorb(leftover)
        self._records.clear()
        if record is not None:
            _finish(record)

    def ended(self, session: Session, transaction: SessionTransaction) -> None:
        """``after_transaction_end``: a transaction or savepoint that did not commit."""
        record = self._records.pop(transaction, None)
        if record is not None:
            _undo(record)


def _copy_of(store: Store, key: Key) -> IO[bytes] | None:
    """What ``store`` holds under ``key`` now, copied, or None when it holds nothing."""
    try:
        source = store.get_file(*key)
    except OSError:
        return None
    copy = tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES)  # noqa: SIM115 - closed later
    try:
        with _closing(source):
            shutil.copyfileobj(source, copy)
    except BaseException:
        copy.close()
        raise
    return copy


def _finish(record: _Record) -> None:
    """The commit succeeded: delete the files no surviving row owns, drop the copies."""
    owners: dict[tuple[int, Key], set[int]] = {}  # who owns each key written, in the end
    doomed: dict[tuple[int, Key], tuple[Store, Key]] = {}
    for operation in record.operations:
        slot = (id(operation.store), operation.key)
        if isinstance(operation, _Written):
            owners.setdefault(slot, set()).add(operation.owner)
        else:
            owners.get(slot, set()).discard(operation.owner)
            doomed[slot] = (operation.store, operation.key)
    for slot, (store, key) in doomed.items():
        if owners.get(slot):
            continue  # a row of this transaction owns the key now
        try:
            store.delete_file(*key)
        except Exception:
            # The commit happened; a file left over is an orphan, not an error.
            logger.warning("could not delete the image file %r from %r", key, store, exc_info=True)
    for operation in record.operations:
        if isinstance(operation, _Written):
            if operation.previous is not None:
                operation.previous.close()
            if operation.on_commit is not None:
                operation.on_commit()


def _undo(record: _Record) -> None:
    """The transaction rolled back: every file it wrote goes back to what it was."""
    for written in reversed(record.operations):
        if not isinstance(written, _Written):
            continue
        # each file is undone on its own, whatever happens to the others
        try:
            if written.previous is None:
                written.store.delete_file(*written.key)
            else:
                written.previous.seek(0)
                written.store.put_file(written.previous, *written.key, written.reproducible)
        except Exception:
            logger.warning(
                "could not undo the image file %r in %r", written.key, written.store, exc_info=True
            )
        finally:
            if written.previous is not None:
                written.previous.close()
