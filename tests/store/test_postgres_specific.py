"""PostgreSQL-only behaviour: LISTEN/NOTIFY wake-ups, a killed listener, concurrent migrations,
connection pools, dedup races, forks."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import threading
import time
import warnings

import psycopg
import pytest

from sluice.model import NewMessage, QueuePolicy
from sluice.store import open_store, sql
from sluice.store.postgres import (
    CONNECT_TIMEOUT,
    POOL_SIZE,
    PostgresStore,
    array_literal,
    array_params,
)
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


def test_open_user_transactions_do_not_starve_the_store(pg: str) -> None:
    store = open_store(pg)
    assert isinstance(store, PostgresStore)
    store.migrate()
    store.put_queue(QueuePolicy("q"))
    with contextlib.ExitStack() as held:
        for _ in range(POOL_SIZE + 2):  # more handler transactions than the store's own pool
            held.enter_context(store.begin()).execute("SELECT 1")
        started = time.monotonic()
        store.enqueue([NewMessage("q", "still served")])
        assert [m.body for m in store.claim(["q"], 1)] == ["still served"]
        assert time.monotonic() - started < CONNECT_TIMEOUT  # no wait for a free connection
    store.close()


def test_producers_racing_on_the_same_dedup_ids_in_opposite_orders_never_deadlock(
    pg: str,
) -> None:
    store = open_store(pg)
    store.migrate()
    store.put_queue(QueuePolicy("q"))
    store.close()
    rounds, keys = 10, 2000
    start = threading.Barrier(2)
    errors: list[BaseException] = []
    results: list[list[int]] = []

    def produce(reverse: bool) -> None:
        producer = open_store(pg)
        try:
            for r in range(rounds):
                ids = [f"{r}-{k}" for k in range(keys)]
                start.wait()
                done = producer.enqueue(
                    [NewMessage("q", i, dedup_id=i) for i in (ids[::-1] if reverse else ids)]
                )
                results.append(sorted(e.id for e in done))
        except BaseException as exc:
            errors.append(exc)
            start.abort()
        finally:
            producer.close()

    threads = [threading.Thread(target=produce, args=(flag,)) for flag in (False, True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    by_round = {tuple(ids) for ids in results}
    assert len(by_round) == rounds  # both producers got the same ids in every round
    checker = open_store(pg)
    assert checker.stats(["q"])[0].depth == rounds * keys
    checker.close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_closing_the_store_leaves_the_parents_listener_alone(pg: str) -> None:
    store = open_store(pg)
    assert isinstance(store, PostgresStore)
    store.migrate()
    store.put_queue(QueuePolicy("q"))
    assert store.wait_for_work(["q"], 0.1) is False
    listener = store._listener
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads: child exits
        pid = os.fork()
    if pid == 0:
        try:
            store.close()
        finally:
            os._exit(0)
    assert os.waitpid(pid, 0)[1] == 0
    thread = _enqueue_later(pg, "q", 0.3)
    assert store.wait_for_work(["q"], 10) is True
    thread.join()
    assert store._listener is listener  # woken by NOTIFY on the same, unbroken connection
    store.close()


ARRAYS = [
    ("bigint[]", [1, -2, 2**62]),
    ("bigint[]", []),
    ("float8[]", [1.5, 1_700_000_000.123456, -0.0, 1e300, 2]),
    ("text[]", ["plain", 'q"uote', "back\\slash", "NULL", "null", "", " spaced ", "{,}", "é☃\n"]),
    ("text[]", [os.urandom(16).hex() for _ in range(50)]),
]


@pytest.mark.parametrize(("cast", "values"), ARRAYS)
def test_array_literals_reach_the_server_as_the_lists_they_stand_for(
    pg_url: str, cast: str, values: list[object]
) -> None:
    literal = array_literal(values)
    assert isinstance(literal, str)  # taken as text, not dumped by psycopg element by element
    with psycopg.connect(pg_url, autocommit=True) as conn:
        row = conn.execute(f"SELECT %s::{cast}", (literal,)).fetchone()
    assert row is not None and row[0] == values


@pytest.mark.parametrize("values", [[None, 1], [True, False], [float("inf")], ["a", 1], [b"x"]])
def test_lists_an_array_literal_cannot_stand_for_are_passed_unchanged(values: list[object]) -> None:
    assert array_literal(values) is values


def test_only_parameters_cast_to_an_array_become_literals() -> None:
    query = "SELECT * FROM unnest(%(ids)s::bigint[], %(tokens)s::text[]) WHERE x = %(now)s::float8"
    assert array_params(query) == {"ids", "tokens"}
    assert set().union(*map(array_params, sql.queries("postgres").values())) >= {
        "receipts_0",
        "receipts_1",
        "bodies",
    }
