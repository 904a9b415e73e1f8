"""Streaming producers: enqueue_many in chunks, backpressure, resumable discovery."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from sluice import App, ConfigError, Job, Outcome, RunSealed, UnknownAction


@pytest.fixture
def app(url: str) -> Iterator[App]:
    app = App(url)
    app.queue("work", dedup_window=None)

    @app.action(queue="work")
    def item(body: Any, ctx: Any) -> None:  # pragma: no cover - never run here
        pass

    yield app
    app.close()


def test_enqueue_many_pulls_its_input_one_chunk_at_a_time(app: App) -> None:
    pulled = 0
    stored_when_pulled: list[int] = []

    def items() -> Iterator[int]:
        nonlocal pulled
        for n in range(2500):
            if n % 1000 == 0:
                stored_when_pulled.append(app.store.stats(["work"])[0].depth)
            pulled += 1
            yield n

    assert app.enqueue_many("item", items(), chunk_size=1000) == 2500
    # the first item of each chunk is pulled only after the chunk before it is stored
    assert stored_when_pulled == [0, 1000, 2000]
    assert app.store.stats(["work"])[0].depth == 2500


def test_enqueue_many_takes_jobs_and_counts_dedup_hits_out(app: App) -> None:
    created = app.enqueue_many(
        "item", [Job({"n": 1}, dedup_id="a"), Job({"n": 2}, dedup_id="a", delay=30), {"n": 3}]
    )
    assert created == 2
    stats = app.store.stats(["work"])[0]
    assert (stats.depth, stats.delayed) == (2, 0)


def test_enqueue_many_rejects_bad_arguments_before_storing(app: App) -> None:
    with pytest.raises(UnknownAction):
        app.enqueue_many("nope", [1])
    with pytest.raises(ConfigError, match="chunk_size"):
        app.enqueue_many("item", [1], chunk_size=0)
    with pytest.raises(ConfigError, match="max_backlog"):
        app.enqueue_many("item", [1], max_backlog=0)
    assert app.store.stats(["work"])[0].depth == 0


def test_max_backlog_pauses_the_producer_until_workers_drain(app: App) -> None:
    app.enqueue_many("item", range(300))
    peak = 0
    done = threading.Event()

    def drain() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, app.store.backlog("work", 10_000))
            batch = app.store.claim(["work"], 50)
            app.store.complete([Outcome.ack(m.receipt) for m in batch if m.receipt])
            time.sleep(0.05)

    consumer = threading.Thread(target=drain)
    consumer.start()
    try:
        app.enqueue_many("item", range(400), chunk_size=100, max_backlog=200)
    finally:
        done.set()
        consumer.join()
    # a chunk is added only while the backlog is at most 200: never above 200 + 100
    assert peak <= 300


def test_discover_resumes_after_its_checkpoint_and_seals(app: App) -> None:
    records = [{"id": n} for n in range(1, 2501)]
    calls: list[Any] = []

    def fetch_after(last: Any, crash_at: int | None) -> Iterator[dict[str, int]]:
        calls.append(last)
        for record in records:
            if last is None or record["id"] > last:
                if record["id"] == crash_at:
                    raise RuntimeError("producer died")
                yield record

    run = app.start_run("scan", id="scan-1")
    with pytest.raises(RuntimeError, match="producer died"):
        app.discover("item", lambda k: fetch_after(k, 1700), key=lambda r: r["id"], run=run)
    state = run.state()
    assert (state.status, state.total, state.checkpoint) == ("discovering", 1000, 1000)
    created = app.discover("item", lambda k: fetch_after(k, None), key=lambda r: r["id"], run=run)
    assert created == 1500
    assert calls == [None, 1000, 2500]  # pages until one comes back empty
    state = app.run_state("scan-1")
    assert (state.status, state.total) == ("running", 2500)
    bodies = sorted(m.body["id"] for m in app.store.peek("work", limit=5000))
    assert bodies == list(range(1, 2501))
    # sealed: discovering again finds nothing to do, and outsiders cannot add to it
    assert app.discover("item", lambda k: iter(records), key=lambda r: r["id"], run=run) == 0
    with pytest.raises(RunSealed):
        app.enqueue("item", 1, run=run)


def test_start_run_with_a_known_id_returns_that_run(app: App) -> None:
    first = app.start_run("x", id="fixed")
    app.enqueue("item", 1, run=first)
    again = app.start_run("x", id="fixed")
    assert again.id == "fixed" and again.state().total == 1
    with pytest.raises(UnknownAction):
        app.start_run("y", stages=["item", "missing"])
    with pytest.raises(ConfigError):
        app.start_run("")
