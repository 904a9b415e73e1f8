"""A caller's async psycopg connection seen as a sync one, for enqueue inside its transaction.

``enqueue_async(..., connection=aconn)`` runs the one sync enqueue path on the async API's
thread pool (as every async verb does) with a :class:`LoopBridge` in place of a sync
connection: each statement the engine runs is sent back to the caller's event loop and run on
the caller's ``AsyncConnection`` there, and the pool thread waits for its answer. So the SQL
and the insert algorithm are the sync ones, the async connection is only ever touched from
its own loop, and the caller's transaction holds the writes until the caller commits.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Coroutine, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from sluice.store.green import await_only

T = TypeVar("T")


class LoopBridge:
    """The sync face of a ``psycopg.AsyncConnection`` whose event loop is ``loop`` (which
    must be running, and not in this thread). Only what the driver's ``adopt`` and
    ``joined`` paths use."""

    def __init__(self, connection: Any, loop: asyncio.AbstractEventLoop) -> None:
        self.connection = connection
        self.loop = loop

    def run(self, work: Awaitable[T]) -> T:
        """Await ``work`` on the connection's loop; block this thread for its result."""

        async def wrapped() -> T:
            return await work

        return asyncio.run_coroutine_threadsafe(wrapped(), self.loop).result()

    @property
    def closed(self) -> bool:
        return bool(self.connection.closed)

    @property
    def autocommit(self) -> bool:
        return bool(self.connection.autocommit)

    @property
    def info(self) -> Any:
        return self.connection.info

    def cursor(self, **options: Any) -> BridgeCursor:
        return BridgeCursor(self, self.connection.cursor(**options))

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """The connection's ``transaction()`` block (a savepoint inside one)."""
        block = self.connection.transaction()
        self.run(block.__aenter__())
        try:
            yield
        except BaseException as exc:
            if not self.run(block.__aexit__(type(exc), exc, exc.__traceback__)):
                raise
        else:
            self.run(block.__aexit__(None, None, None))


class GreenBridge(LoopBridge):
    """The sync face of an ``AsyncConnection`` for store code run by
    :func:`~sluice.store.green.run_green` on the connection's own loop: each statement is
    awaited by that loop through :func:`~sluice.store.green.await_only`."""

    def __init__(self, connection: Any) -> None:
        super().__init__(connection, asyncio.get_running_loop())

    def run(self, work: Awaitable[T]) -> T:
        return await_only(work)


class BridgeCursor:
    """The sync face of an ``AsyncCursor``: execute, fetch, rowcount, COPY rows."""

    def __init__(self, bridge: LoopBridge, cursor: Any) -> None:
        self._bridge = bridge
        self._cursor = cursor

    def __enter__(self) -> BridgeCursor:
        return self

    def __exit__(self, *exc: object) -> None:
        self._bridge.run(self._cursor.close())

    def execute(self, query: Any, params: Any = None, **options: Any) -> BridgeCursor:
        self._bridge.run(self._cursor.execute(query, params, **options))
        return self

    def fetchone(self) -> Any:
        return self._bridge.run(self._cursor.fetchone())

    def fetchall(self) -> list[Any]:
        return list(self._bridge.run(self._cursor.fetchall()))

    def __iter__(self) -> Iterator[Any]:
        return iter(self.fetchall())

    @property
    def connection(self) -> LoopBridge:
        return self._bridge

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return int(self._cursor.rowcount)

    @contextmanager
    def copy(self, statement: Any) -> Iterator[_Rows]:
        """COPY: the rows written inside the block are sent in one go when it ends."""
        rows = _Rows()
        yield rows
        self._bridge.run(_copy(self._cursor, statement, rows.rows))


class _Rows:
    def __init__(self) -> None:
        self.rows: list[Sequence[Any]] = []

    def write_row(self, row: Sequence[Any]) -> None:
        self.rows.append(row)


def _copy(cursor: Any, statement: Any, rows: list[Sequence[Any]]) -> Coroutine[Any, Any, None]:
    async def send() -> None:
        async with cursor.copy(statement) as copy:
            for row in rows:
                await copy.write_row(row)

    return send()
