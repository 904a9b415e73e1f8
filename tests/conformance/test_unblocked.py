"""``Store.unblocked``, on both stores: the function runs here with its writes committed, or
``WouldWait`` is raised having written nothing (SQLite runs it when its write lock is free;
PostgreSQL, where every call waits on the server, never does)."""

from __future__ import annotations

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
