"""The PostgreSQL store's async connections of one event loop, for store code run there by
:func:`~sluice.store.green.run_green` (no thread hop per call).

A small set per loop rather than psycopg_pool's ``AsyncConnectionPool``: that pool runs
background tasks on its loop and can only be closed there, while a store is closed from any
thread, often after its server's loop has ended. Connections here are opened on demand (at
most ``size``), reused while idle and healthy, and closed synchronously by :meth:`close`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any, LiteralString

import psycopg


class LoopConnections:
    """Autocommit ``AsyncConnection``\\ s of one event loop: at most ``size`` in use at once."""

    def __init__(
        self,
        dsn: str,
        size: int,
        timeout: float,
        settings: Sequence[LiteralString],
        on_error: Callable[[Exception], Exception],
    ) -> None:
        self._dsn = dsn
        self._timeout = timeout
        self._settings = settings
        self._on_error = on_error
        self._slots = asyncio.Semaphore(size)
        self._idle: list[psycopg.AsyncConnection[Any]] = []
        self._open: set[psycopg.AsyncConnection[Any]] = set()

    async def get(self) -> psycopg.AsyncConnection[Any]:
        """An idle connection, or a new one (waiting up to ``timeout`` for a free slot);
        a failure to connect is raised as ``on_error(exc)``."""
        try:
            await asyncio.wait_for(self._slots.acquire(), self._timeout)
        except TimeoutError as exc:
            raise self._on_error(exc) from exc
        try:
            while self._idle:
                conn = self._idle.pop()
                if not conn.closed:
                    return conn
                self._open.discard(conn)
            return await self._connect()
        except BaseException:
            self._slots.release()
            raise

    async def _connect(self) -> psycopg.AsyncConnection[Any]:
        try:
            conn = await psycopg.AsyncConnection.connect(
                self._dsn, autocommit=True, connect_timeout=int(self._timeout)
            )
            for setting in self._settings:
                await conn.execute(setting)
        except psycopg.Error as exc:
            raise self._on_error(exc) from exc
        self._open.add(conn)
        return conn

    def put(self, conn: psycopg.AsyncConnection[Any]) -> None:
        """Give ``conn`` back: kept if it is open and outside any transaction (a statement
        cancelled midway, say, leaves it busy), else closed."""
        idle = conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        if not conn.closed and idle:
            self._idle.append(conn)
        else:
            self._finish(conn)
        self._slots.release()

    def close(self) -> None:
        """Close every connection (from any thread: no await, the sockets are closed)."""
        for conn in list(self._open):
            self._finish(conn)
        self._idle.clear()

    def _finish(self, conn: psycopg.AsyncConnection[Any]) -> None:
        conn.pgconn.finish()
        self._open.discard(conn)


__all__ = ["LoopConnections"]
