"""``Store.unblocked`` and ``Store.on_loop``, on both stores. ``unblocked``: the function runs
here with its writes committed, or ``WouldWait`` is raised having written nothing (SQLite runs
it when its write lock is free; PostgreSQL, where every call waits on the server, never does).
``on_loop``: the function runs on the event loop's thread, and on PostgreSQL its waits on the
server are the loop's awaits."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from sluice import NewMessage
from sluice.model import QueuePolicy
from sluice.store.base import Store
from sluice.store.driver import WouldWait


def test_unblocked_runs_the_writes_or_writes_nothing(store: Store) -> None:
    store.put_queue(QueuePolicy("work"))
    calls: list[int] = []

    def enqueue() -> int:
        calls.append(1)
        [done] = store.enqueue([NewMessage("work", {"n": 1}, action="a")])
        return done.id

    try:
        message_id = store.unblocked(enqueue)
    except WouldWait:
        assert store._driver.backend == "postgres"
        assert calls == [] and store.stats(["work"])[0].depth == 0
    else:
        assert store._driver.backend == "sqlite"
        assert [m.id for m in store.get([message_id])] == [message_id]


def _queued(store: Store) -> int:
    return store.stats(["work"])[0].depth


def test_on_loop_commits_on_the_loops_thread(store: Store) -> None:
    """``on_loop`` runs the store calls in the loop's own thread: committed on PostgreSQL
    (through the loop's connections) and on SQLite with its lock free."""
    store.put_queue(QueuePolicy("work"))

    async def main() -> int:
        thread = threading.get_ident()

        def enqueue() -> int:
            assert threading.get_ident() == thread
            [done] = store.enqueue([NewMessage("work", {"n": 1}, action="a")])
            return done.id

        return await store.on_loop(enqueue)

    message_id = asyncio.run(main())
    assert [m.id for m in store.get([message_id])] == [message_id]
    [claimed] = asyncio.run(_on_loop(store, store.claim, ["work"], 5))
    assert claimed.id == message_id and claimed.receipt is not None


async def _on_loop(store: Store, function: Any, *args: Any) -> Any:
    return await store.on_loop(function, *args)


def test_on_loop_rolls_back_a_failed_call_and_keeps_serving(store: Store) -> None:
    """An exception inside the call rolls its transaction back (nothing half stored) and
    reaches the caller; the next call on the same loop works."""
    store.put_queue(QueuePolicy("work"))

    def half() -> None:
        rows = store._prepare([NewMessage("work", {"n": 1}, action="a")], 0.0)
        with store._driver.write() as db:
            store._insert(db, rows, 0.0)
            raise ValueError("after the insert")

    async def main() -> int:
        with pytest.raises(ValueError, match="after the insert"):
            await store.on_loop(half)
        assert _queued(store) == 0
        [done] = await store.on_loop(store.enqueue, [NewMessage("work", {"n": 2}, action="a")])
        return done.id

    message_id = asyncio.run(main())
    assert [m.body for m in store.get([message_id])] == [{"n": 2}]
