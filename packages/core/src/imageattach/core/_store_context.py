"""The current image store, scoped to the code that set it.

:func:`store_context` makes a store current for the code inside a ``with`` block, so
entity methods (``user.picture.locate()``) need not be passed one::

    with store_context(store):
        url = user.picture.locate()

The stack of stores lives in a :class:`contextvars.ContextVar`, so it is right under
threads, asyncio tasks and gevent greenlets alike: a store set in one thread, task or
greenlet is never seen by another, and a task started inside a ``with`` block sees
the store it was started with.  (1.1.0 kept one stack per thread id in a global
dict, shared by every asyncio task on the thread.)
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

from ._errors import StoreContextError
from ._store import Store

__all__ = [
    "current_store",
    "get_current_store",
    "pop_store_context",
    "push_store_context",
    "store_context",
]

#: The stores pushed in this context, innermost last.  A tuple, never mutated: every
#: push and pop sets a new one, so contexts copied for tasks never share a list.
_STACK: contextvars.ContextVar[tuple[Store, ...]] = contextvars.ContextVar(
    "imageattach.store_context", default=()
)


def _check(store: object) -> Store:
    if isinstance(store, _CurrentStore):
        store = get_current_store()  # pushing current_store pins the store it stands for
    if not isinstance(store, Store):
        raise TypeError(f"store must be an imageattach.core.Store, got {store!r}")
    return store


@contextmanager
def store_context(store: Store) -> Iterator[Store]:
    """Make ``store`` the current store inside the ``with`` block::

        with store_context(store1):
            assert get_current_store() is store1
            with store_context(store2):
                assert get_current_store() is store2
            assert get_current_store() is store1

    The store is popped when the block ends, also when it raises (1.1.0 left it
    pushed).

    :raises TypeError: when ``store`` is not a :class:`~imageattach.core.Store`.
    """
    previous = _STACK.get()
    _STACK.set((*previous, _check(store)))
    try:
        yield store
    finally:
        # Not a Token reset: that fails when the block ends in another context (a
        # generator finalised elsewhere); and a push left unpopped inside goes too.
        _STACK.set(previous)


def push_store_context(store: Store) -> None:
    """Make ``store`` the current store until :func:`pop_store_context`.

    For framework hooks that cannot wrap a request in ``with``: push in a
    before-request hook, pop in a teardown hook that runs whatever happened.
    Prefer :func:`store_context` wherever a ``with`` block fits.
    """
    _STACK.set((*_STACK.get(), _check(store)))


def pop_store_context() -> Store:
    """Undo the latest :func:`push_store_context` of this context, returning its store.

    :raises StoreContextError: when nothing was pushed.
    """
    stack = _STACK.get()
    if not stack:
        raise StoreContextError("pop_store_context() called with no store pushed")
    _STACK.set(stack[:-1])
    return stack[-1]


def get_current_store() -> Store:
    """The store of the innermost :func:`store_context` (or push) of this context.

    :raises StoreContextError: outside any store context.
    """
    stack = _STACK.get()
    if not stack:
        raise StoreContextError(
            "no current image store: wrap the code in imageattach.core.store_context(store), "
            "or pass store= explicitly"
        )
    return stack[-1]


class _CurrentStore(Store):
    """A :class:`Store` that forwards every call to :func:`get_current_store`.

    It is what :data:`current_store` is: a default argument value that means "the
    current store at the time of the call".
    """

    __slots__ = ()

    def put_file(
        self,
        file: IO[bytes],
        object_type: str,
        object_id: int,
        width: int,
        height: int,
        mimetype: str,
        reproducible: bool,
    ) -> None:
        get_current_store().put_file(
            file, object_type, object_id, width, height, mimetype, reproducible
        )

    def delete_file(
        self, object_type: str, object_id: int, width: int, height: int, mimetype: str
    ) -> None:
        get_current_store().delete_file(object_type, object_id, width, height, mimetype)

    def get_file(
        self, object_type: str, object_id: int, width: int, height: int, mimetype: str
    ) -> IO[bytes]:
        return get_current_store().get_file(object_type, object_id, width, height, mimetype)

    def get_url(
        self, object_type: str, object_id: int, width: int, height: int, mimetype: str
    ) -> str:
        return get_current_store().get_url(object_type, object_id, width, height, mimetype)

    def __repr__(self) -> str:
        stack = _STACK.get()
        bound = repr(stack[-1]) if stack else "no store"
        return f"<imageattach.core.current_store ({bound})>"


#: The current store, as a :class:`Store`: each call goes to the store of the
#: innermost :func:`store_context`.  Entity methods take it as their default
#: ``store``; :func:`get_current_store` gives the store itself.
current_store: Store = _CurrentStore()
