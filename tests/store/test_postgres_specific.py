"""PostgreSQL-only behaviour: LISTEN/NOTIFY wake-ups, a killed listener, concurrent migrations."""

from __future__ import annotations

import multiprocessing
import threading
import time

import psycopg
import pytest

from sluice.model import NewMessage, QueuePolicy
from sluice.store import open_store, sql
from sluice.store.postgres import PostgresStore
from tests.conftest import reset_pg


@pytest.fixture
def pg(pg_url: str) -> str:
    reset_pg(pg_url)
    return pg_url


def _enqueue_later(url: str, queue: str, after: float) -> threading.Thread:
    def send() -> None:
        time.sleep(after)  # the producer acts while the waiter is blocked
        producer = open_store(url)
        producer.enqueue([NewMessage(queue, "wake up")])
        producer.close()

    thread = threading.Thread(target=send)
    thread.start()
    return thread


def test_an_enqueue_wakes_a_waiting_listener_at_once(pg: str) -> None:
    store = open_store(pg)
    store.migrate()
    store.put_queue(QueuePolicy("q"))
    store.put_queue(QueuePolicy("other"))
    assert store.wait_for_work(["q"], 0.2) is False
    thread = _enqueue_later(pg, "q", 0.3)
    started = time.monotonic()
    assert store.wait_for_work(["q"], 10) is True
    waited = time.monotonic() - started
    thread.join()
    assert waited < 5  # woken by NOTIFY, long before the 10 s timeout
    assert len(store.claim(["q"], 1)) == 1
    store.close()


def test_a_notification_for_another_queue_does_not_wake(pg: str) -> None:
    store = open_store(pg)
    store.migrate()
    store.put_queue(QueuePolicy("q"))
    store.put_queue(QueuePolicy("other"))
    thread = _enqueue_later(pg, "other", 0.1)
    assert store.wait_for_work(["q"], 1.0) is False
    thread.join()
    store.close()


def test_a_terminated_listener_reconnects_and_reports_possible_work(pg: str) -> None:
    store = open_store(pg)
    assert isinstance(store, PostgresStore)
    store.migrate()
    store.put_queue(QueuePolicy("q"))
    assert store.wait_for_work(["q"], 0.1) is False
    listener = store._listener
    assert listener is not None
    with psycopg.connect(pg, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (listener.info.backend_pid,))
    assert store.wait_for_work(["q"], 2.0) is True  # sweep: work may have been missed
    thread = _enqueue_later(pg, "q", 0.3)
    assert store.wait_for_work(["q"], 10) is True  # listening again on a new connection
    thread.join()
    assert store._listener is not None and store._listener is not listener
    store.close()


def _migrate(url: str) -> None:
    store = open_store(url)
    store.migrate()
    store.close()


def test_concurrent_migrations_apply_once(pg: str) -> None:
    spawn = multiprocessing.get_context("spawn")
    processes = [spawn.Process(target=_migrate, args=(pg,)) for _ in range(3)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    store = open_store(pg)
    assert store.schema_version() == sql.latest_version("postgres")
    with psycopg.connect(pg) as conn:
        assert conn.execute("SELECT count(*) FROM sluice_schema").fetchone() == (1,)
    store.close()
