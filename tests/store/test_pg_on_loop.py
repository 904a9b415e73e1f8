"""``Store.on_loop`` on PostgreSQL: store code on the event loop's thread whose waits on the
server are the loop's awaits (``store/green.py``), on connections of the loop's own
(``store/loop_connections.py``). Both stores' shared promises are in
``tests/conformance/test_unblocked.py``."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from sluice import NewMessage
from sluice.errors import StoreUnavailable
from sluice.model import Outcome, QueuePolicy
from sluice.store import Store, open_store
from sluice.store.postgres import POOL_SIZE
from tests.conftest import FakeClock, reset_pg


@pytest.fixture
def store(pg_url: str) -> Iterator[Store]:
    reset_pg(pg_url)
    opened = open_store(pg_url, clock=FakeClock())
    opened.migrate()
    opened.put_queue(QueuePolicy("work"))
    yield opened
    opened.close()


async def _on_loop(store: Store, function: Any, *args: Any) -> Any:
    return await store.on_loop(function, *args)


def _queued(store: Store) -> int:
    return store.stats(["work"])[0].depth


def test_on_loop_never_blocks_the_loop_while_postgres_waits(store: Store) -> None:
    """On PostgreSQL a call waiting on the server (here for a row lock another connection
    holds) leaves the loop free: other coroutines run meanwhile, and the call ends when the
    lock is let go."""
    [done] = store.enqueue([NewMessage("work", {"n": 1}, action="a")])
    [held] = store.claim(["work"], 1)
    with psycopg.connect(store._driver._dsn) as other:  # type: ignore[attr-defined]
        other.execute("SELECT 1 FROM sluice_messages WHERE id = %s FOR UPDATE", (done.id,))

        async def main() -> tuple[list[Any], int]:
            ticks = 0

            async def tick() -> None:
                nonlocal ticks
                while True:
                    ticks += 1
                    await asyncio.sleep(0.01)

            ticker = asyncio.create_task(tick())
            ack = [Outcome.ack(held.receipt)]
            waiting = asyncio.create_task(_on_loop(store, store.complete, ack))
            await asyncio.sleep(0.3)
            assert not waiting.done(), "the delete did not wait for the row lock"
            seen = ticks
            other.commit()  # lets the row go
            stale = await waiting
            ticker.cancel()
            return stale, seen

        stale, seen = asyncio.run(main())
    assert seen >= 10, f"the loop ran {seen} ticks in 0.3 s while the call waited"
    assert stale == [] and store.get([done.id]) == []


def test_on_loop_cancelled_midway_leaves_no_transaction(store: Store) -> None:
    """A call cancelled while PostgreSQL makes it wait rolls back: nothing of it is stored,
    and the loop's connections serve the next call."""

    def enqueue_then_wait() -> None:
        rows = store._prepare([NewMessage("work", {"n": 1}, action="a")], 0.0)
        with store._driver.write() as db:
            store._insert(db, rows, 0.0)
            db.execute("SELECT pg_sleep(5)")

    async def main() -> int:
        call = asyncio.create_task(_on_loop(store, enqueue_then_wait))
        await asyncio.sleep(0.3)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        [done] = await store.on_loop(store.enqueue, [NewMessage("work", {"n": 2}, action="a")])
        return done.id

    message_id = asyncio.run(main())
    assert [m.body for m in store.get([message_id])] == [{"n": 2}]
    assert _queued(store) == 1


def test_on_loop_calls_share_the_loops_few_connections(store: Store) -> None:
    """Many concurrent calls on one loop use at most POOL_SIZE connections of its own, and
    closing the store closes them."""
    driver: Any = store._driver

    async def main() -> None:
        calls = [
            _on_loop(store, store.enqueue, [NewMessage("work", {"n": n}, action="a")])
            for n in range(POOL_SIZE * 5)
        ]
        await asyncio.gather(*calls)

    asyncio.run(main())
    [connections] = driver._loops.values()
    opened = list(connections._open)
    assert 1 <= len(opened) <= POOL_SIZE
    assert _queued(store) == POOL_SIZE * 5
    store.close()
    assert all(conn.closed for conn in opened)


def test_a_connection_the_server_dropped_fails_one_call_then_is_replaced(store: Store) -> None:
    """A loop connection whose backend is gone (a restart, a terminated session) fails the
    call that finds it with StoreUnavailable, naming the store; the next call connects anew."""
    driver: Any = store._driver

    def backend_pid() -> int:
        with driver.read() as db:
            return int(db.execute("SELECT pg_backend_pid()").fetchone()[0])

    async def main() -> tuple[int, int]:
        first = await store.on_loop(backend_pid)
        with psycopg.connect(driver._dsn, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (first,))
        with pytest.raises(StoreUnavailable, match="postgresql://"):
            await store.on_loop(backend_pid)
        return first, await store.on_loop(backend_pid)

    first, second = asyncio.run(main())
    assert second != first
