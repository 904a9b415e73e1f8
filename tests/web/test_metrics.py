"""``/metrics``: Prometheus text read from the store, parsed with prometheus_client."""

from __future__ import annotations

import os
import socket

import httpx
from prometheus_client.parser import text_string_to_metric_families

from sluice import App, Outcome
from sluice.model import ActionStats
from tests.web.conftest import LiveServer


def _samples(client: httpx.Client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    answer = client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(answer.text)
        for s in family.samples
    }


def test_metrics_read_the_store(reader: httpx.Client, web_app: App) -> None:
    for n in range(4):
        web_app.enqueue("echo", n)
    web_app.enqueue("echo", "later", delay=600)
    claimed = web_app.store.claim(["default"], 2)
    web_app.store.complete([Outcome.dead(claimed[0].receipt, "bad")])  # type: ignore[arg-type]
    run = web_app.start_run("nightly")
    web_app.enqueue("small", 1, run=run)
    samples = _samples(reader)

    def queue(metric: str, name: str) -> float:
        return samples[(f"sluice_queue_{metric}", (("queue", name),))]

    assert [queue(m, "default") for m in ("depth", "in_flight", "delayed", "dlq_depth")] == [
        2,
        1,
        1,
        1,
    ]
    assert queue("oldest_age_seconds", "default") >= 0
    assert queue("depth", "tiny") == 1
    limited = (("action", "limited"),)
    assert samples[("sluice_action_concurrency_limit", limited)] == 5
    assert samples[("sluice_action_effective_concurrency", limited)] == 5
    assert samples[("sluice_runs", (("status", "discovering"),))] == 1
    run_total = ("sluice_run_messages", (("count", "total"), ("name", "nightly"), ("run", run.id)))
    assert samples[run_total] == 1


def test_every_replica_reports_the_same_figures(reader: httpx.Client, web_app: App) -> None:
    from sluice.web import create_app
    from tests.web.conftest import READ, TOKENS, client_for, make_app

    web_app.enqueue("echo", 1)
    other = make_app(web_app.url)
    try:
        with LiveServer(create_app(other, TOKENS)) as replica, client_for(replica, READ) as c:
            mine, theirs = _samples(reader), _samples(c)
    finally:
        other.close()
    age = ("sluice_queue_oldest_age_seconds", (("queue", "default"),))
    assert 0 < theirs.pop(age) - mine.pop(age) < 5  # the clock moved between the scrapes
    for samples in (mine, theirs):  # each replica measures its own offset to the store's clock
        own = [key for key in samples if key[0].startswith("sluice_clock_offset")]
        assert len(own) == 2
        for key in own:
            del samples[key]
    assert mine == theirs


def test_action_counters_and_durations_come_from_the_workers_reports(
    reader: httpx.Client, web_app: App
) -> None:
    for n in range(5):
        web_app.enqueue("echo", n)
    web_app.work(stop_when_idle=True)  # reports its totals when it stops
    web_app.store.put_action_stats(  # a second worker's report is added to the first's
        "other-worker", [ActionStats("echo", processed=2, failed=1, dead=1)]
    )
    samples = _samples(reader)
    echo = (("action", "echo"),)
    assert samples[("sluice_action_processed_total", echo)] == 7
    assert samples[("sluice_action_failed_total", echo)] == 1
    assert samples[("sluice_action_dead_lettered_total", echo)] == 1
    assert samples[("sluice_action_duration_seconds_count", echo)] == 5
    assert (
        samples[("sluice_action_duration_seconds_bucket", (("action", "echo"), ("le", "+Inf")))]
        == 5
    )
    assert samples[("sluice_action_duration_seconds_sum", echo)] >= 0


def test_metrics_show_this_process_offset_to_the_store_clock(
    reader: httpx.Client, web_app: App
) -> None:
    samples = _samples(reader)
    process = (("host", socket.gethostname()), ("pid", str(os.getpid())))
    # the server runs in this process; its clock and the store's (or the database's) agree
    assert abs(samples[("sluice_clock_offset_seconds", process)]) < 0.5
    assert 0 <= samples[("sluice_clock_offset_error_seconds", process)] < 0.5
