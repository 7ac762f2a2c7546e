"""1.1.0's ``sqlalchemy_imageattach.context``: the current image store.

The names are 1.1.0's; the state is a :class:`contextvars.ContextVar` now, right under
threads, asyncio and gevent alike, and :func:`store_context` pops its store also when
its block raises.  ``ContextError`` is :class:`imageattach.core.StoreContextError`.
"""

from __future__ import annotations

from imageattach.core import (
    StoreContextError,
    current_store,
    get_current_store,
    pop_store_context,
    push_store_context,
    store_context,
)

#: 1.1.0's name of :class:`imageattach.core.StoreContextError`.
ContextError = StoreContextError

__all__ = [
    "ContextError",
    "current_store",
    "get_current_store",
    "pop_store_context",
    "push_store_context",
    "store_context",
]
