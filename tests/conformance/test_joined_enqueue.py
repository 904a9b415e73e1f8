"""Enqueue inside the caller's own transaction (``connection=``), on both stores."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
import sqlalchemy
from sqlalchemy.orm import Session

from sluice import App, WrongConnection
from sluice.store.sqlite import sqlite_path


@pytest.fixture
def app(url: str) -> Iterator[App]:
    app = App(url)
    app.queue("work", dedup_window=None)
    app.seen = []  # type: ignore[attr-defined]

    @app.action(queue="work")
    def item(body: Any, ctx: Any) -> None:
        app.seen.append(body)  # type: ignore[attr-defined]

    app.store.migrate()
    yield app
    app.close()


def _connect(url: str) -> Any:
    """The caller's own raw connection to the store's database."""
    if url.startswith("sqlite"):
        return sqlite3.connect(sqlite_path(url))
    return psycopg.connect(url)


def _waiting(app: App) -> int:
    return app.store.backlog("work", 10_000)


def test_commit_publishes_and_a_worker_runs_it_once(app: App, url: str) -> None:
    with _connect(url) as conn:
        conn.execute("CREATE TEMP TABLE orders (id INTEGER PRIMARY KEY)")
        conn.execute("INSERT INTO orders VALUES (1)")
        app.enqueue("item", {"order": 1}, connection=conn)
        assert _waiting(app) == 0  # not visible before the commit
        conn.commit()
    assert _waiting(app) == 1
    app.work(stop_when_idle=True)
    assert app.seen == [{"order": 1}]  # type: ignore[attr-defined]


def test_rollback_leaves_nothing_not_even_the_dedup_id(app: App, url: str) -> None:
    conn = _connect(url)
    app.enqueue("item", "a", dedup_id="k", connection=conn)
    conn.rollback()
    conn.close()
    assert _waiting(app) == 0
    [done] = app.store.enqueue([app.new_message("item", "b", dedup_id="k")])
    assert done.created


def test_an_error_after_the_enqueue_rolls_it_back(app: App, url: str) -> None:
    with pytest.raises(ZeroDivisionError), _connect(url) as conn:
        app.enqueue_many("item", range(3), connection=conn)
        raise ZeroDivisionError
    assert _waiting(app) == 0


def test_a_thousand_enqueues_in_one_transaction(app: App, url: str) -> None:
    with _connect(url) as conn:
        ids = [app.enqueue("item", i, connection=conn) for i in range(1000)]
        conn.commit()
    assert ids == sorted(ids) and len(set(ids)) == 1000
    assert _waiting(app) == 1000


def test_sqlalchemy_connection_and_session(app: App, url: str) -> None:
    engine = sqlalchemy.create_engine(
        url.replace("sqlite:", "sqlite+pysqlite:").replace("postgresql:", "postgresql+psycopg:")
    )
    with engine.begin() as conn:
        app.enqueue("item", "core", connection=conn)
    with Session(engine) as session:
        app.enqueue("item", "orm", connection=session)
        session.rollback()
    with Session(engine) as session, session.begin():
        app.enqueue("item", "orm2", connection=session)
    engine.dispose()
    assert _waiting(app) == 2


def test_wrong_connections_are_clear_errors_and_store_nothing(
    app: App, url: str, tmp_path: Any
) -> None:
    other = sqlite3.connect(tmp_path / "other.db")
    closed = _connect(url)
    closed.close()
    for bad, words in ((object(), "takes a"), (closed, "closed")):
        with pytest.raises(WrongConnection, match=words):
            app.enqueue("item", 1, connection=bad)
    if url.startswith("sqlite"):
        with pytest.raises(WrongConnection, match=r"other\.db"):
            app.enqueue("item", 1, connection=other)
        auto = sqlite3.connect(sqlite_path(url), isolation_level=None)
    else:
        with pytest.raises(WrongConnection, match="template1"):
            app.enqueue("item", 1, connection=psycopg.connect(url, dbname="template1"))
        auto = psycopg.connect(url, autocommit=True)
    with pytest.raises(WrongConnection, match="autocommit"):
        app.enqueue("item", 1, connection=auto)
    assert _waiting(app) == 0


def test_postgres_wakes_workers_only_on_commit(app: App, url: str) -> None:
    if url.startswith("sqlite"):
        pytest.skip(
            "SQLite wakes waiters after its own commits; a caller's commit is found by polling"
        )
    listener = psycopg.connect(url, autocommit=True)
    listener.execute("LISTEN sluice_work")
    with _connect(url) as conn:
        app.enqueue("item", 1, connection=conn)
        conn.rollback()
        assert list(listener.notifies(timeout=0.5)) == []
        app.enqueue("item", 2, connection=conn)
        time.sleep(0.2)
        assert list(listener.notifies(timeout=0.3)) == []
        conn.commit()
    assert [n.payload for n in listener.notifies(timeout=5, stop_after=1)] == ["work"]
    listener.close()
