"""Enqueueing through the caller's own connection, inside the caller's transaction.

The caller's connection (or the DB-API connection under a SQLAlchemy ``Connection`` /
``Session``) is checked by the driver's ``adopt`` and then handed to ``driver.joined``: the
same insert path as every enqueue, run on that handle instead of a pooled one. Nothing
commits here: the caller's commit makes the messages visible and (PostgreSQL's NOTIFY being
transactional) wakes workers; a rollback leaves no message and no dedup id.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from sluice.errors import WrongConnection
from sluice.model import Enqueued, NewMessage

if TYPE_CHECKING:
    from sluice.store.base import Store


def is_async(connection: Any) -> bool:
    """Whether ``connection`` is an asyncio one (psycopg's, SQLAlchemy's, aiosqlite's)."""
    kind = type(connection)
    return kind.__module__.startswith(("sqlalchemy.ext.asyncio", "aiosqlite")) or (
        "Async" in kind.__name__
    )


async def async_native(connection: Any) -> Any:
    """The driver connection under an async ``connection``: a SQLAlchemy ``AsyncSession``'s
    or ``AsyncConnection``'s (in its transaction), or ``connection`` itself."""
    if type(connection).__module__.startswith("sqlalchemy.ext.asyncio"):
        if not hasattr(connection, "get_raw_connection"):  # an AsyncSession
            connection = await connection.connection()
        if connection.closed:
            raise WrongConnection("connection= is a closed SQLAlchemy AsyncConnection")
        return (await connection.get_raw_connection()).driver_connection
    return connection


def native(connection: Any) -> Any:
    """The DB-API connection under ``connection`` (SQLAlchemy ones unwrapped)."""
    module = type(connection).__module__
    if is_async(connection):
        raise WrongConnection(
            f"connection= got an async {type(connection).__name__}: the sync enqueue cannot "
            "use it; call `await app.enqueue_async(..., connection=conn)` (or "
            "enqueue_many_async) instead"
        )
    if module.startswith("sqlalchemy"):
        if hasattr(connection, "bind") and hasattr(connection, "connection"):
            connection = connection.connection()  # a Session: its Connection in this transaction
        if getattr(connection, "closed", False):
            raise WrongConnection("connection= is a closed SQLAlchemy Connection; pass an open one")
        return connection.connection.driver_connection
    return connection


class JoinedVerbs:
    """Store verbs that write inside a transaction the caller owns."""

    def enqueue_in(self, connection: Any, messages: Sequence[NewMessage]) -> list[Enqueued]:
        """Store messages through ``connection`` inside its open transaction; one result per
        input, in order. Validation runs first, so a bad message writes nothing."""
        store = cast("Store", self)  # a mixin of Store only
        tx = store._driver.adopt(native(connection))
        if not messages:
            return []
        now = store.clock()
        rows = store._prepare(messages, now)
        with store._driver.joined(tx) as db:
            return store._insert(db, rows, now)
