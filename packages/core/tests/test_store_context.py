"""store_context and current_store: one stack per thread, task and greenlet."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import gevent
import pytest

from imageattach.core import (
    FileSystemStore,
    Store,
    StoreContextError,
    current_store,
    get_current_store,
    pop_store_context,
    push_store_context,
    store_context,
)


def make(name: str) -> FileSystemStore:
    return FileSystemStore(Path("/nonexistent") / name, f"https://{name}.example/")


def test_nesting() -> None:
    one, two = make("one"), make("two")
    with store_context(one) as entered:
        assert entered is one
        assert get_current_store() is one
        with store_context(two):
            assert get_current_store() is two
            assert current_store.get_url("t", 1, 2, 3, "image/png").startswith("https://two.")
        assert get_current_store() is one
    with pytest.raises(StoreContextError):
        get_current_store()


def test_the_store_is_popped_when_the_block_raises() -> None:
    with pytest.raises(KeyError), store_context(make("one")):
        raise KeyError("boom")
    with pytest.raises(StoreContextError, match="store_context"):
        get_current_store()


def test_push_and_pop() -> None:
    one = make("one")
    push_store_context(one)
    try:
        assert get_current_store() is one
    finally:
        assert pop_store_context() is one
    with pytest.raises(StoreContextError, match="no store pushed"):
        pop_store_context()


def test_only_stores_are_accepted() -> None:
    with pytest.raises(TypeError, match="Store"), store_context("/tmp"):  # type: ignore[arg-type]
        pass  # pragma: no cover
    with pytest.raises(TypeError, match="Store"):
        push_store_context(object())  # type: ignore[arg-type]


def test_current_store_is_a_store_and_says_what_it_stands_for() -> None:
    assert isinstance(current_store, Store)
    assert "no store" in repr(current_store)
    with store_context(make("one")):
        assert "one.example" in repr(current_store)
        with store_context(current_store):  # pins the store it stands for
            assert get_current_store() is not current_store
    with pytest.raises(StoreContextError):
        current_store.get_url("t", 1, 2, 3, "image/png")


def test_threads_do_not_share_a_stack() -> None:
    seen: dict[str, object] = {}
    both_inside = threading.Barrier(2, timeout=10)

    def work(name: str) -> None:
        with store_context(make(name)):
            both_inside.wait()
            seen[name] = get_current_store().base_url  # type: ignore[attr-defined]
            both_inside.wait()

    with store_context(make("main")):
        threads = [threading.Thread(target=work, args=(n,)) for n in ("a", "b")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert get_current_store().base_url == "https://main.example/"  # type: ignore[attr-defined]
    assert seen == {"a": "https://a.example/", "b": "https://b.example/"}


def test_asyncio_tasks_do_not_share_a_stack() -> None:
    async def work(name: str, gate: asyncio.Event, seen: dict[str, str]) -> None:
        with store_context(make(name)):
            await gate.wait()  # both tasks are inside their blocks at once
            seen[name] = get_current_store().base_url  # type: ignore[attr-defined]

    async def main() -> dict[str, str]:
        seen: dict[str, str] = {}
        gate = asyncio.Event()
        with store_context(make("outer")):
            # a task started inside a block sees the store it was started with
            inherited = asyncio.create_task(asyncio.sleep(0, get_current_store()))
            tasks = [asyncio.create_task(work(n, gate, seen)) for n in ("a", "b")]
            await asyncio.sleep(0)
            gate.set()
            await asyncio.gather(*tasks)
            assert (await inherited).base_url == "https://outer.example/"  # type: ignore[attr-defined]
            assert get_current_store().base_url == "https://outer.example/"  # type: ignore[attr-defined]
        return seen

    assert asyncio.run(main()) == {"a": "https://a.example/", "b": "https://b.example/"}


def test_gevent_greenlets_do_not_share_a_stack() -> None:
    seen: dict[str, str] = {}

    def work(name: str) -> None:
        with store_context(make(name)):
            gevent.sleep(0.01)  # switch to the other greenlet inside the block
            seen[name] = get_current_store().base_url  # type: ignore[attr-defined]

    greenlets = [gevent.spawn(work, name) for name in ("a", "b")]
    gevent.joinall(greenlets, timeout=10, raise_error=True)
    assert seen == {"a": "https://a.example/", "b": "https://b.example/"}
    with pytest.raises(StoreContextError):
        get_current_store()
