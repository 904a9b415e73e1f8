"""Streaming producers: enqueue_many in chunks, backpressure, resumable discovery."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sluice import (
    App,
    BodyNotSerializable,
    ConfigError,
    Job,
    MessageTooLarge,
    Outcome,
    RunSealed,
    UnknownAction,
)


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


def _depth(app: App) -> int:
    return app.store.stats(["work"])[0].depth


def test_enqueue_many_error_names_the_item_and_how_many_earlier_chunks_stored(app: App) -> None:
    items = [Job({"n": n}, dedup_id=str(n)) for n in range(1500)]
    with pytest.raises(BodyNotSerializable) as caught:
        app.enqueue_many("item", [*items, Job(object(), dedup_id="1500"), Job({"n": 1501})])
    error = caught.value
    assert (error.item, error.stored) == (1500, 1000)
    text = str(error)
    assert text.startswith("item 1500: message body cannot be serialised to JSON")
    assert "nothing was stored" not in text
    assert "its chunk (from item 1000) was not stored" in text
    assert "earlier chunks had stored 1000 messages, which stay" in text
    assert _depth(app) == 1000
    # the documented resume: send everything again, fixed; the dedup ids skip what is stored
    fixed = [*items, Job({"n": 1500}, dedup_id="1500"), Job({"n": 1501}, dedup_id="1501")]
    assert app.enqueue_many("item", fixed) == 502
    assert _depth(app) == 1502


def test_enqueue_many_names_an_oversized_item_and_a_bad_item_of_the_first_chunk(app: App) -> None:
    app.queue("work", dedup_window=None, max_message_bytes=100)
    with pytest.raises(MessageTooLarge) as caught:
        app.enqueue_many("item", [*range(1200), "x" * 200], chunk_size=500)
    assert (caught.value.item, caught.value.stored, caught.value.size) == (1200, 1000, 202)
    assert "item 1200: message body is 202 bytes" in str(caught.value)
    assert "earlier chunks had stored 1000 messages" in str(caught.value)
    assert _depth(app) == 1000
    with pytest.raises(BodyNotSerializable) as first_chunk:
        app.enqueue_many("item", [1, 2, 3, 4, 5, {"x": float("nan")}])
    assert (first_chunk.value.item, first_chunk.value.stored) == (5, 0)
    assert str(first_chunk.value).startswith("item 5: ")
    assert str(first_chunk.value).endswith("nothing was stored")
    assert _depth(app) == 1000


def test_discover_pages_until_fetch_after_returns_an_empty_page(app: App) -> None:
    records = [{"id": n} for n in range(1, 2501)]
    calls: list[Any] = []

    def fetch_after(last: Any) -> list[dict[str, int]]:  # a keyset query with LIMIT 1000
        calls.append(last)
        return [r for r in records if r["id"] > (last or 0)][:1000]

    run = app.start_run("scan")
    assert app.discover("item", fetch_after, key=lambda r: r["id"], run=run) == 2500
    assert calls == [None, 1000, 2000, 2500]
    state = run.state()
    assert (state.status, state.total, state.checkpoint) == ("running", 2500, 2500)
    bodies = sorted(m.body["id"] for m in app.store.peek("work", limit=5000))
    assert bodies == list(range(1, 2501))


def test_discover_passes_keys_as_json_gives_them_back(app: App) -> None:
    records = [{"day": f"d{n // 10}", "n": n} for n in range(25)]
    seen: list[Any] = []

    def fetch_after(last: Any) -> list[dict[str, Any]]:
        seen.append(last)
        after = tuple(last) if last is not None else ("", -1)
        return [r for r in records if (r["day"], r["n"]) > after][:10]

    run = app.start_run("scan")
    created = app.discover("item", fetch_after, key=lambda r: (r["day"], r["n"]), run=run)
    assert created == 25
    assert seen == [None, ["d0", 9], ["d1", 19], ["d2", 24]]


def test_discover_refuses_a_fetch_after_that_ignores_its_argument(app: App) -> None:
    records = [{"id": n} for n in range(1, 11)]
    run = app.start_run("scan")
    with pytest.raises(ConfigError, match="must return only records after its argument"):
        app.discover("item", lambda last: records, key=lambda r: r["id"], run=run)
    assert run.state().total == 10 and run.state().status == "discovering"


def test_discover_error_names_the_record_and_resumes_after_the_stored_chunks(app: App) -> None:
    records: list[dict[str, Any]] = [{"id": n} for n in range(1, 2501)]
    records[1500]["bad"] = float("inf")

    def fetch_after(last: Any) -> list[dict[str, Any]]:
        return [r for r in records if r["id"] > (last or 0)][:1000]

    run = app.start_run("scan", id="scan-bad")
    with pytest.raises(BodyNotSerializable) as caught:
        app.discover("item", fetch_after, key=lambda r: r["id"], run=run)
    assert (caught.value.item, caught.value.stored) == (1500, 1000)
    assert "call discover again for the same run" in str(caught.value)
    state = run.state()
    assert (state.status, state.total, state.checkpoint) == ("discovering", 1000, 1000)
    del records[1500]["bad"]
    assert app.discover("item", fetch_after, key=lambda r: r["id"], run=run) == 1500
    assert (run.state().status, run.state().total) == ("running", 2500)


def test_with_a_blob_directory_a_chunk_names_its_bad_item_and_checks_its_big_ones(
    url: str, tmp_path: Path
) -> None:
    app = App(url, blob_dir=tmp_path / "blobs")
    app.queue("small", max_message_bytes=200, dedup_window=None)
    app.action("take", queue="small")(lambda body, ctx: None)
    bodies: list[Any] = [{"n": n} for n in range(7)]
    bodies[3] = {"rows": ["x" * 100] * 5}  # over the limit: a claim check
    with pytest.raises(BodyNotSerializable) as caught:
        app.enqueue_many("take", [*bodies, {"bad": object()}, {"n": 8}])
    assert (caught.value.item, caught.value.stored) == (7, 0)
    assert app.store.stats(["small"])[0].depth == 0 and app.blobs is not None
    blobs = app.blobs.count()
    assert app.enqueue_many("take", bodies) == 7
    assert app.blobs.count() == blobs + 1  # the big body's claim check
    run = app.start_run("scan", id="scan-blobs")
    assert app.discover("take", lambda last: [] if last else bodies[:3], key=str, run=run) == 3
    app.close()


def test_new_messages_builds_what_new_message_does_for_each_body(app: App) -> None:
    run = app.start_run("many", id="many")
    many = app.new_messages("item", [{"n": 1}, "two"], run=run, dedup_ids=["a", "b"])
    one = [
        app.new_message("item", b, run=run, dedup_id=d)
        for b, d in ((({"n": 1}), "a"), ("two", "b"))
    ]
    assert many == one
    assert app.new_messages("item", [1, 2])[1] == app.new_message("item", 2)
    with pytest.raises(ValueError):
        app.new_messages("item", [1, 2], dedup_ids=["only one"])
    with pytest.raises(UnknownAction):
        app.new_messages("nope", [1])
