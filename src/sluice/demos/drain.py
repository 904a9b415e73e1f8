"""The store demo: producers, two competing claimer processes, poison messages and the DLQ.

Until workers and runs land this shows the store alone: messages are enqueued in chunks (some
twice, with the same dedup id), two real processes claim and ack them in batches, and poison
messages fail until ``max_receives`` sends them to the dead-letter queue.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from sluice.model import NewMessage, Outcome, QueuePolicy
from sluice.store import open_store

QUEUE = "demo"
POISON_EVERY = 997
"""Every message whose number is a multiple of this always fails."""


@dataclass(frozen=True)
class Summary:
    enqueued: int
    deduplicated: int
    acked: int
    dead: int
    duplicates: int
    per_process: list[int]
    enqueue_seconds: float
    drain_seconds: float
    dead_sample: list[tuple[int, str, str]]
    redriven: int


def _worker(url: str, batch: int, report: Any) -> None:
    store = open_store(url)
    acked: list[int] = []
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
                outcomes.append(Outcome.retry(message.receipt, f"poison row {message.body['n']}"))
            else:
                outcomes.append(Outcome.ack(message.receipt))
                acked.append(message.id)
        store.complete(outcomes)
    store.close()
    report.put((os.getpid(), acked))


def run(url: str, messages: int, processes: int = 2, batch: int = 100) -> Summary:
    """Run the demo on a fresh store at ``url`` and return what was measured."""
    store = open_store(url)
    store.migrate()
    store.put_queue(QueuePolicy(QUEUE, max_receives=3, visibility_timeout=60))
    store.purge(QUEUE)
    store.purge(QUEUE + ".dlq")
    started = time.perf_counter()
    created = repeats = 0
    tag = f"{time.time():.0f}"  # this run's dedup ids: a rerun within the window is not masked
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
    workers = [spawn.Process(target=_worker, args=(url, batch, report)) for _ in range(processes)]
    for worker in workers:
        worker.start()
    results_by_pid = dict(report.get(timeout=600) for _ in workers)
    for worker in workers:
        worker.join()
    drained_at = time.perf_counter()
    deliveries = Counter(i for acked in results_by_pid.values() for i in acked)
    dead = store.dlq_list(QUEUE, limit=10_000)
    redriven = store.redrive(QUEUE)
    store.close()
    return Summary(
        enqueued=created,
        deduplicated=repeats,
        acked=len(deliveries),
        dead=len(dead),
        duplicates=sum(count - 1 for count in deliveries.values()),
        per_process=[len(acked) for acked in results_by_pid.values()],
        enqueue_seconds=enqueued_at - started,
        drain_seconds=drained_at - enqueued_at,
        dead_sample=[(m.id, m.dead_reason or "", m.last_error or "") for m in dead[:5]],
        redriven=redriven,
    )
