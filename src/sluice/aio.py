"""The async API: the sync verbs run on a bounded thread pool, so an event loop never
blocks on the store and there is one implementation of every verb. Concurrent
``enqueue_async`` calls share transactions (:mod:`sluice.aio_group`).

One hop per call costs a thread handoff (measured in ``bench/async_api.py``); the pool's
size bounds the store connections async callers hold at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, cast

from sluice.aio_group import group_commit
from sluice.aio_pool import hop
from sluice.store.bridge import LoopBridge
from sluice.store.joining import async_native, is_async

if TYPE_CHECKING:
    from sluice.app import App
    from sluice.model import RunState
    from sluice.runs import Run, RunRef


async def _bridged(options: dict[str, Any]) -> dict[str, Any]:
    """``options`` with an async ``connection`` replaced by its sync face on this loop."""
    connection = options.get("connection")
    if connection is None or not is_async(connection):
        return options
    driver = await async_native(connection)
    return {**options, "connection": LoopBridge(driver, asyncio.get_running_loop())}


class AsyncVerbs:
    """``await``-able twins of the App's producing verbs (same arguments, same errors)."""

    async def enqueue_async(self, action: str, body: Any, **options: Any) -> int:
        """:meth:`App.enqueue`, without blocking the event loop. ``connection=`` also takes
        a psycopg ``AsyncConnection`` or a SQLAlchemy ``AsyncConnection`` / ``AsyncSession``
        (PostgreSQL): the message is written in its open transaction."""
        if options.get("connection") is None:  # shares a transaction with concurrent calls
            return await group_commit(cast("App", self)).enqueue(action, body, options)
        return await hop(cast("App", self).enqueue, action, body, **await _bridged(options))

    async def enqueue_many_async(self, action: str, items: Iterable[Any], **options: Any) -> int:
        """:meth:`App.enqueue_many`, without blocking the event loop (the items are read
        on the pool's thread); ``connection=`` as for :meth:`enqueue_async`."""
        options = await _bridged(options)
        return await hop(cast("App", self).enqueue_many, action, items, **options)

    async def run_state_async(self, run: RunRef) -> RunState:
        """:meth:`App.run_state`, without blocking the event loop."""
        return await hop(cast("App", self).run_state, run)

    async def start_run_async(self, name: str, **options: Any) -> Run:
        """:meth:`App.start_run`, without blocking the event loop."""
        return await hop(cast("App", self).start_run, name, **options)

    async def publish_async(
        self, source: str, detail_type: str, detail: dict[str, Any], **options: Any
    ) -> str:
        """:meth:`App.publish`, without blocking the event loop."""
        return await hop(cast("App", self).publish, source, detail_type, detail, **options)
