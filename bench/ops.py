"""Operator views benchmark (issue 16): what the chart samples add to housekeeping, and a DLQ
selection's count / redrive / purge beside the verbs that were there before.

Run by hand::

    python bench/ops.py [--backend sqlite|postgres|both] [--dead 10000] [--rounds 5]

Housekeeping: a store with 20 queues (100 messages each) and 20 actions with reported stats;
``old`` is the housekeeping pass without sampling (``housekeeping.housekeep``), ``sampling`` the
full ``Store.housekeep`` on a clock moved a minute before each pass (every pass samples: the
worst case), ``same minute`` a full pass in a minute this process sampled already (every other
pass of a worker at the default 30 s interval). Selections: ``--dead``
dead letters, half with a "timeout" error; ``count`` and the filtered ``redrive_dead`` /
``purge_dead`` of the timeouts, against ``redrive(error_contains=...)`` (the existing filtered
redrive) and ``purge`` of a DLQ holding only that half. Medians of ``--rounds``, in alternating
order; ratios are to the baseline of the same run. PostgreSQL uses a fresh database
``sluice_bench_ops``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.pgdb import fresh_database
from sluice.model import DURATION_BUCKETS, ActionStats, NewMessage, Outcome, QueuePolicy
from sluice.store import Store, housekeeping, open_store
from sluice.store.search import MessageFilter

PG = os.environ.get("SLUICE_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/sluice_bench_ops")


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def fresh(backend: str, tmp: str, clock: Clock) -> Store:
    if backend == "sqlite":
        url = f"sqlite:///{tmp}/ops-{time.monotonic_ns()}.db"
    else:
        url = fresh_database(PG)
    store = open_store(url, clock=clock)
    store.migrate()
    return store


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def housekeeping_bench(backend: str, rounds: int, tmp: str) -> dict[str, float]:
    clock = Clock()
    store = fresh(backend, tmp, clock)
    buckets = [1] * (len(DURATION_BUCKETS) + 1)
    for n in range(20):
        store.put_queue(QueuePolicy(f"q{n}"))
        store.enqueue([NewMessage(f"q{n}", i, action=f"a{n}") for i in range(100)])
    stats = [ActionStats(f"a{n}", 100, 1, 0, 1.0, buckets) for n in range(20)]
    store.put_action_stats("w1", stats)

    def sampling() -> None:
        clock.now += 60
        store.housekeep()

    runs: dict[str, list[float]] = {"old": [], "sampling": [], "same minute": []}
    for _ in range(rounds):
        runs["old"].append(timed(lambda: housekeeping.housekeep(store)))
        runs["sampling"].append(timed(sampling))
        runs["same minute"].append(timed(store.housekeep))
    store.close()
    return {k: statistics.median(v) for k, v in runs.items()}


def kill(store: Store, queue: str, dead: int) -> None:
    for start in range(0, dead, 1000):
        store.enqueue([NewMessage(queue, i, action="a") for i in range(start, start + 1000)])
        claimed = store.claim([queue], 1000)
        errors = ["timeout: partner" if m.id % 2 else "bad row" for m in claimed]
        store.complete(
            [Outcome.retry(m.receipt, e) for m, e in zip(claimed, errors, strict=True) if m.receipt]
        )


def selection_bench(backend: str, dead: int, rounds: int, tmp: str) -> dict[str, float]:
    clock = Clock()
    store = fresh(backend, tmp, clock)
    store.put_queue(QueuePolicy("sel", max_receives=1))
    store.put_queue(QueuePolicy("half", max_receives=1))
    timeouts = MessageFilter(error_contains="timeout")
    runs: dict[str, list[float]] = {
        k: [] for k in ("count", "redrive_dead", "redrive (old)", "purge_dead", "purge (old)")
    }
    for _ in range(rounds):
        kill(store, "sel", dead)
        runs["count"].append(timed(lambda: store.count_dead("sel", timeouts)))
        runs["redrive_dead"].append(timed(lambda: store.redrive_dead("sel", timeouts)))
        store.purge("sel")
        store.purge("sel.dlq")
        kill(store, "sel", dead)
        runs["redrive (old)"].append(timed(lambda: store.redrive("sel", None, "timeout")))
        store.purge("sel")
        store.purge("sel.dlq")
        kill(store, "sel", dead)
        runs["purge_dead"].append(timed(lambda: store.purge_dead("sel", timeouts)))
        store.purge("sel.dlq")
        kill(store, "half", dead // 2)
        runs["purge (old)"].append(timed(lambda: store.purge("half.dlq")))
    store.close()
    return {k: statistics.median(v) for k, v in runs.items()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    p.add_argument("--dead", type=int, default=10_000)
    p.add_argument("--rounds", type=int, default=5)
    args = p.parse_args()
    backends = ("sqlite", "postgres") if args.backend == "both" else (args.backend,)
    with tempfile.TemporaryDirectory() as tmp:
        for backend in backends:
            h = housekeeping_bench(backend, args.rounds, tmp)
            print(f"{backend} housekeeping pass (20 queues, 20 actions):")
            for k, v in h.items():
                print(f"  {k:13} {v * 1000:8.2f} ms  x{v / h['old']:.2f}")
            s = selection_bench(backend, args.dead, args.rounds, tmp)
            print(f"{backend} selection of {args.dead // 2:,} of {args.dead:,} dead letters:")
            for k, v in s.items():
                base = s["redrive (old)"] if "redrive" in k else s["purge (old)"]
                ratio = f"x{v / base:.2f}" if k != "count" else ""
                print(f"  {k:13} {v * 1000:8.2f} ms  {ratio}")


if __name__ == "__main__":
    main()
