"""The store demo: producers, two competing claimer processes, poison messages and the DLQ.

Until workers and runs land this shows the store alone: messages are enqueued in chunks (some
twice, with the same dedup id), two real processes claim and ack them in batches, and poison
messages fail until ``max_receives`` sends them to the dead-letter queue.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any

from sluice.model import NewMessage, Outcome, QueuePolicy, QueueStats
from sluice.store import open_store

QUEUE = "demo"
POISON_EVERY = 997
"""Every message whose number is a multiple of this always fails."""


@dataclass(frozen=True)
class Summary:
    """What one demo run measured (nothing here is computed from the parameters)."""

    enqueued: int
    deduplicated: int
    acked: int
    dead: int
    duplicates: int
    per_process: list[int]
    enqueue_seconds: float
    drain_seconds: float
    wall_seconds: float
    dead_sample: list[tuple[int, int, str, str]]
    redriven: int
    drained: QueueStats
    redriven_stats: QueueStats


def _worker(url: str, batch: int, go: Any, report: Any) -> None:
    """One claimer process: claim, ack (or fail the poison), report the ids it acked."""
    store = open_store(url)
    acked: list[int] = []
    go.wait()  # every claimer starts together, after its slow spawn
    last_work = time.time()
    idle_since: float | None = None
    while True:
        claimed = store.claim([QUEUE], batch)
        if not claimed:
            idle_since = idle_since or time.monotonic()
            if time.monotonic() - idle_since > 0.5:
                break
            store.wait_for_work([QUEUE], 0.1)
            continue
        idle_since = None
        outcomes = []
        for message in claimed:
            assert message.receipt is not None
            if message.body["n"] % POISON_EVERY == 0:
                error = f"poison row {message.body['n']}"
                outcomes.append(Outcome.retry(message.receipt, error, delay=0))
            else:
                outcomes.append(Outcome.ack(message.receipt))
                acked.append(message.id)
        store.complete(outcomes)
        last_work = time.time()  # wall clock: comparable across processes
    store.close()
    report.put((os.getpid(), acked, last_work))


def run(url: str, messages: int, processes: int = 2, batch: int = 100) -> Summary:
    """Run the demo on a fresh store at ``url`` and return what was measured."""
    store = open_store(url)
    store.migrate()
    store.put_queue(QueuePolicy(QUEUE, max_receives=3, visibility_timeout=60))
    store.purge(QUEUE)
    store.purge(QUEUE + ".dlq")
    started = time.perf_counter()
    created = repeats = 0
    tag = uuid.uuid4().hex[:12]  # this run's dedup ids: a rerun within the window is not masked
    for start in range(0, messages, 1000):
        numbers = range(start, min(start + 1000, messages))
        # every tenth message is sent twice: dedup keeps one
        chunk = [NewMessage(QUEUE, {"n": n}, dedup_id=f"{tag}-row-{n}") for n in numbers]
        chunk += [
            NewMessage(QUEUE, {"n": n}, dedup_id=f"{tag}-row-{n}") for n in numbers if n % 10 == 0
        ]
        results = store.enqueue(chunk)
        created += sum(r.created for r in results)
        repeats += sum(not r.created for r in results)
    enqueued_at = time.perf_counter()
    spawn = multiprocessing.get_context("spawn")
    report = spawn.Queue()
    go = spawn.Barrier(processes + 1)
    workers = [
        spawn.Process(target=_worker, args=(url, batch, go, report)) for _ in range(processes)
    ]
    for worker in workers:
        worker.start()
    try:
        go.wait(timeout=120)
    except threading.BrokenBarrierError:
        for worker in workers:
            worker.kill()
        raise RuntimeError("the claimer processes did not start within 120 s") from None
    claiming_at = time.time()
    reports = _collect(workers, report)
    # the drain ends with the last completion, not when the idle claimers gave up
    drained_at = max(last_work for _, _, last_work in reports)
    deliveries = Counter(i for _, acked, _ in reports for i in acked)
    dead = store.dlq_list(QUEUE, limit=5)
    [drained] = store.stats([QUEUE])
    redriven = store.redrive(QUEUE)
    [redriven_stats] = store.stats([QUEUE])
    store.close()
    finished = time.perf_counter()
    return Summary(
        enqueued=created,
        deduplicated=repeats,
        acked=len(deliveries),
        dead=drained.dlq_depth,
        duplicates=sum(count - 1 for count in deliveries.values()),
        per_process=[len(acked) for _, acked, _ in reports],
        enqueue_seconds=enqueued_at - started,
        drain_seconds=drained_at - claiming_at,
        wall_seconds=finished - started,
        dead_sample=[
            (m.id, m.receive_count, m.dead_reason or "", m.last_error or "") for m in dead
        ],
        redriven=redriven,
        drained=drained,
        redriven_stats=redriven_stats,
    )


def _collect(workers: list[Any], report: Any) -> list[tuple[int, list[int], float]]:
    """Every claimer's report; a claimer that died without one is an error, not a hang."""
    reports: list[tuple[int, list[int], float]] = []
    while len(reports) < len(workers):
        try:
            reports.append(report.get(timeout=1.0))
        except queue.Empty:
            dead = [w.exitcode for w in workers if w.exitcode not in (None, 0)]
            if dead:
                for worker in workers:
                    worker.kill()
                raise RuntimeError(f"a claimer process died (exit code {dead[0]})") from None
    for worker in workers:
        worker.join()
    return reports
