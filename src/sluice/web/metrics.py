"""``/metrics``: Prometheus figures read from the store on each scrape, so every API replica
reports the same numbers (nothing is counted in this process) but its own clock offset."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable

from prometheus_client import generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector, CollectorRegistry

from sluice.app import App
from sluice.model import DURATION_BUCKETS
from sluice.sources.bucket.status import watch_states

RECENT_RUNS = 50
"""How many of the newest runs the run gauges look at."""


class StoreCollector(Collector):
    """Queue, DLQ, limit and run gauges of one app's store."""

    def __init__(self, app: App) -> None:
        self.app = app

    def describe(self) -> Iterable[Metric]:
        return []  # the label values come from the store: nothing to declare up front

    def collect(self) -> Iterable[Metric]:
        store = self.app.store
        queue = ["queue"]
        depth = GaugeMetricFamily(
            "sluice_queue_depth", "Messages visible now, waiting to be claimed.", labels=queue
        )
        in_flight = GaugeMetricFamily(
            "sluice_queue_in_flight", "Messages leased by a worker.", labels=queue
        )
        delayed = GaugeMetricFamily(
            "sluice_queue_delayed",
            "Messages not yet visible (delay or retry backoff).",
            labels=queue,
        )
        oldest = GaugeMetricFamily(
            "sluice_queue_oldest_age_seconds",
            "Age of the oldest visible message (0 when none is visible).",
            labels=queue,
        )
        dlq = GaugeMetricFamily(
            "sluice_queue_dlq_depth", "Messages in the queue's dead-letter queue.", labels=queue
        )
        for stats in store.stats():
            labels = [stats.queue]
            depth.add_metric(labels, stats.depth)
            in_flight.add_metric(labels, stats.in_flight)
            delayed.add_metric(labels, stats.delayed)
            oldest.add_metric(labels, stats.oldest_age)
            dlq.add_metric(labels, stats.dlq_depth)
        yield from (depth, in_flight, delayed, oldest, dlq)

        action = ["action"]
        limit = GaugeMetricFamily(
            "sluice_action_concurrency_limit",
            "Configured global concurrency of an action.",
            labels=action,
        )
        effective = GaugeMetricFamily(
            "sluice_action_effective_concurrency",
            "Concurrency in force (adaptive: lowered by Backoff, regrown on success).",
            labels=action,
        )
        rate = GaugeMetricFamily(
            "sluice_action_rate_limit_per_second",
            "Configured global rate of an action (messages started per second).",
            labels=action,
        )
        for found in store.limits():
            if found.concurrency is not None:
                limit.add_metric([found.action], found.concurrency)
                effective.add_metric(
                    [found.action],
                    found.effective if found.effective is not None else found.concurrency,
                )
            if found.rate is not None:
                rate.add_metric([found.action], found.rate)
        yield from (limit, effective, rate)
        yield from _action_metrics(self.app)
        yield from _run_metrics(self.app)
        yield from _clock_metrics(self.app)
        yield from _bucket_metrics(self.app)


def _action_metrics(app: App) -> Iterable[Metric]:
    """Outcome counters and the call-duration histogram, summed over every worker's report
    (workers report every few seconds, so these trail the store's own figures a little)."""
    labels = ["action"]
    processed = CounterMetricFamily(
        "sluice_action_processed", "Messages acked after their handler succeeded.", labels=labels
    )
    failed = CounterMetricFamily(
        "sluice_action_failed", "Failed attempts (each retried or dead-lettered).", labels=labels
    )
    dead = CounterMetricFamily(
        "sluice_action_dead_lettered",
        "Messages a handler dead-lettered at once (Discard, unknown action).",
        labels=labels,
    )
    duration = HistogramMetricFamily(
        "sluice_action_duration_seconds", "Handler call durations.", labels=labels
    )
    for stats in app.store.action_stats():
        name = [stats.action]
        processed.add_metric(name, stats.processed)
        failed.add_metric(name, stats.failed)
        dead.add_metric(name, stats.dead)
        cumulative, running = [], 0
        for bound, count in zip((*DURATION_BUCKETS, float("inf")), stats.buckets, strict=True):
            running += count
            cumulative.append(("+Inf" if bound == float("inf") else f"{bound:g}", running))
        duration.add_metric(name, cumulative, sum_value=stats.duration_sum)
    yield from (processed, failed, dead, duration)


def _run_metrics(app: App) -> Iterable[Metric]:
    states = app.store.runs(RECENT_RUNS)
    by_status = GaugeMetricFamily(
        "sluice_runs",
        f"Runs by status among the {RECENT_RUNS} most recently started.",
        labels=["status"],
    )
    counts: dict[str, int] = {}
    for state in states:
        counts[state.status] = counts.get(state.status, 0) + 1
    for status, count in sorted(counts.items()):
        by_status.add_metric([status], count)
    messages = GaugeMetricFamily(
        "sluice_run_messages",
        "Messages of each unfinished run: total, succeeded, failed (retried attempts), dead.",
        labels=["run", "name", "count"],
    )
    for state in states:
        if state.finished:
            continue
        counts_of = {
            "total": state.total,
            "succeeded": state.succeeded,
            "failed": state.failed,
            "dead": state.dead,
        }
        for kind, value in counts_of.items():
            messages.add_metric([state.id, state.name, kind], value)
    yield by_status
    yield messages


def _clock_metrics(app: App) -> Iterable[Metric]:
    """This process's measured offset to the store's clock (the database's on PostgreSQL):
    each API replica reports its own, labelled with its host and pid."""
    offset = app.store.clock_offset()
    if offset is None:
        return  # an injected clock: nothing was measured
    labels = ["host", "pid"]
    process = [socket.gethostname(), str(os.getpid())]
    seconds = GaugeMetricFamily(
        "sluice_clock_offset_seconds",
        "The store's clock minus this process's local clock, as last measured.",
        labels=labels,
    )
    seconds.add_metric(process, offset.seconds)
    error = GaugeMetricFamily(
        "sluice_clock_offset_error_seconds",
        "The bound on that measurement's error (half its round trip).",
        labels=labels,
    )
    error.add_metric(process, offset.error)
    yield from (seconds, error)


def _bucket_metrics(app: App) -> Iterable[Metric]:
    """Each bucket watch's scan health, as its scanners (any process) recorded it."""
    states = watch_states(app, app.store)
    if not states:
        return
    labels = ["action", "bucket"]
    failures = GaugeMetricFamily(
        "sluice_bucket_scan_failures",
        "Listings of the watched bucket failed in a row (0: the last one worked).",
        labels=labels,
    )
    passed = GaugeMetricFamily(
        "sluice_bucket_scan_last_success_timestamp_seconds",
        "When a listing of the watched bucket last worked (recorded every 30 s at most).",
        labels=labels,
    )
    sent = CounterMetricFamily(
        "sluice_bucket_scan_enqueued", "Messages the watch's scans have created.", labels=labels
    )
    for watch, state in states:
        names = [watch.action, watch.url]
        failures.add_metric(names, state.failures)
        passed.add_metric(names, state.passed_at or 0.0)
        sent.add_metric(names, state.sent)
    yield from (failures, passed, sent)


def registry_for(app: App) -> CollectorRegistry:
    """A registry of this app's own (no process-global state)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCollector(app))
    return registry


def exposition(registry: CollectorRegistry) -> bytes:
    """The Prometheus text format of a scrape (blocking: reads the store)."""
    return generate_latest(registry)
