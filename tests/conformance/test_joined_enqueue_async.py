"""Enqueue inside the caller's own *async* transaction (``enqueue_async(connection=)``):
psycopg's ``AsyncConnection`` and SQLAlchemy's ``AsyncConnection`` / ``AsyncSession`` on
PostgreSQL, through the one sync insert path; a clear error elsewhere."""

from __future__ import annotations

import asyncio

import psycopg
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from sluice import App, WrongConnection
from tests.conformance import test_joined_enqueue as joined
from tests.conftest import PG_URL

app = joined.app  # the same app fixture: queue "work", action "item" recording bodies
_waiting = joined._waiting


def _postgres_only(url: str) -> None:
    if url.startswith("sqlite"):
        pytest.skip("async connections join PostgreSQL transactions (see the error test)")


def test_psycopg_async_commit_rollback_and_error(app: App, url: str) -> None:
    _postgres_only(url)

    async def main() -> None:
        async with await psycopg.AsyncConnection.connect(url) as conn:
            await app.enqueue_async("item", "committed", connection=conn)
            assert _waiting(app) == 0  # not visible before the commit
            await conn.commit()
            await app.enqueue_async("item", "rolled back", dedup_id="k", connection=conn)
            await conn.rollback()
            with pytest.raises(ZeroDivisionError):
                async with conn.transaction():
                    await app.enqueue_async("item", "failed", connection=conn)
                    _ = 1 / 0
            async with conn.transaction():
                count = await app.enqueue_many_async("item", range(1000), connection=conn)
                assert count == 1000 and _waiting(app) == 1
        assert _waiting(app) == 1001
        again = await app.enqueue_async("item", "dedup id is free", dedup_id="k")
        assert [m.body for m in app.store.get([again])] == ["dedup id is free"]

    asyncio.run(main())
    app.store.purge("work")
    app.enqueue("item", "once")
    app.work(stop_when_idle=True)
    assert app.seen == ["once"]  # type: ignore[attr-defined]


def test_sqlalchemy_async_connection_and_session(app: App, url: str) -> None:
    _postgres_only(url)

    async def main() -> None:
        engine = create_async_engine(url.replace("postgresql:", "postgresql+psycopg:"))
        async with engine.begin() as conn:
            await app.enqueue_async("item", "core", connection=conn)
        async with AsyncSession(engine) as session:
            await app.enqueue_async("item", "orm rolled back", connection=session)
            await session.rollback()
        async with AsyncSession(engine) as session, session.begin():
            await app.enqueue_many_async("item", ["orm", "orm2"], connection=session)
        await engine.dispose()

    asyncio.run(main())
    assert _waiting(app) == 3


def test_async_connections_in_the_wrong_place_are_clear_errors(app: App, url: str) -> None:
    async def main() -> None:
        async with await psycopg.AsyncConnection.connect(PG_URL) as conn:
            with pytest.raises(WrongConnection, match=r"await app\.enqueue_async"):
                app.enqueue("item", 1, connection=conn)
            if url.startswith("sqlite"):
                with pytest.raises(WrongConnection, match=r"SQLite store .* sync app\.enqueue"):
                    await app.enqueue_async("item", 1, connection=conn)
            else:
                other = await psycopg.AsyncConnection.connect(url, dbname="template1")
                with pytest.raises(WrongConnection, match="template1"):
                    await app.enqueue_async("item", 1, connection=other)
                await other.close()
                with pytest.raises(WrongConnection, match="closed"):
                    await app.enqueue_async("item", 1, connection=other)

    asyncio.run(main())
    assert _waiting(app) == 0
