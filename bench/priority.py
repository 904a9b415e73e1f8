"""Drain benchmark: the claim+ack drain of bench/store.py before and after priorities and
completion records.

Run by hand::

    python bench/priority.py --before /path/to/old/checkout/src [--backend sqlite|postgres|both]
                             [--messages 20000] [--rounds 5] [--variants plain,kept,kept_other]

Each trial is a fresh process with ``PYTHONPATH`` set to one checkout's ``src``, a fresh SQLite file
or a freshly created PostgreSQL database ``sluice_bench_prio`` (not ``sluice_bench``, which other
benchmarks on a shared machine drop and create), ``--messages`` enqueued, then drained with
``claim(100)`` + ``complete(acks)``. Three variants run in alternating order each round (the
machine is noisy): ``before`` (the old checkout, no priorities), ``plain`` (this checkout, every
message at the default priority), ``random`` (this checkout, each message a priority of 0..9 at
random: the worst case, each claim's batch spread over the whole table) and ``chunks`` (each chunk
of 1,000 one priority of 0..9, as a bulk load at a lower priority is enqueued). The
figures are the medians of the drain's CPU time per message in this process (the steadier figure)
and of its wall-clock rate, with the ratio of each to ``before`` of the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.pgdb import fresh_database

PG = os.environ.get("SLUICE_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/sluice_bench_prio")
HERE = Path(__file__).resolve().parent.parent / "src"
PRIORITY: dict[str, Callable[[random.Random, int], dict[str, int]]] = {
    "plain": lambda _rng, _level: {},
    "random": lambda rng, _level: {"priority": rng.randrange(10)},
    "chunks": lambda _rng, level: {"priority": level},
    "two_levels": lambda rng, _level: {"priority": rng.choice((0, 5))},
    "urgent": lambda rng, _level: {"priority": 0 if rng.random() < 0.1 else 5},
}
"""How each variant sets a message's priority: none, any of 0..9 at random, one per chunk,
interactive and background work interleaved (0 or 5 at random), or a tenth urgent (0) among
background work (5)."""
KEPT = {"kept": {"keep_completed": 3600.0}, "kept_other": {}}
"""The completion-record variants (issue 15, job results): ``kept`` drains a queue with
``keep_completed`` (each ack writes a record with a small result); ``kept_other`` drains a
queue without it in a store where another queue has it (the acks take the transactional path)."""


def trial(backend: str, messages: int, mode: str) -> dict[str, float]:
    """One fresh store, filled and drained; runs inside the child process."""
    from sluice.model import NewMessage, Outcome, QueuePolicy
    from sluice.store import open_store

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db" if backend == "sqlite" else fresh_database(PG)
        store = open_store(url)
        store.migrate()
        store.put_queue(QueuePolicy("bench", **KEPT.get(mode, {})))
        if mode == "kept_other":
            store.put_queue(QueuePolicy("other", keep_completed=3600.0))
        rng = random.Random(7)
        for start in range(0, messages, 1000):
            level = rng.randrange(10)  # mode "chunks": one priority per chunk of 1,000
            extra = [PRIORITY.get(mode, PRIORITY["plain"])(rng, level) for _ in range(1000)]
            store.enqueue(
                [
                    NewMessage("bench", {"i": start + k}, action="bench", **extra[k])
                    for k in range(1000)
                ]
            )
        cpu, wall, done = time.process_time(), time.perf_counter(), 0
        while batch := store.claim(["bench"], 100):
            acks = [Outcome.ack(m.receipt, **ack_extra(mode, m)) for m in batch if m.receipt]
            assert not store.complete(acks)
            done += len(batch)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        store.close()
    assert done == messages
    return {"cpu_us": cpu / done * 1e6, "rate": done / wall}


def ack_extra(mode: str, message: Any) -> dict[str, Any]:
    """What the worker's acks carry besides the receipt (the result, the queue), only in
    the variants whose checkout has them."""
    if mode == "kept":
        return {"result": {"ok": True, "rows": 12}, "queue": message.queue}
    return {"queue": message.queue} if mode == "kept_other" else {}


def run(src: str, backend: str, messages: int, mode: str) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": src}
    args = [sys.executable, __file__, "--child", backend, str(messages), mode]
    done = subprocess.run(args, env=env, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"{mode} trial failed:\n{done.stderr[-3000:]}")
    out = done.stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def compare(before: str, backend: str, messages: int, rounds: int, modes: list[str]) -> str:
    here = str(HERE)
    variants = {"before": (before, "plain"), **{mode: (here, mode) for mode in modes}}
    results: dict[str, list[dict[str, float]]] = {name: [] for name in variants}
    names = list(variants)
    for r in range(rounds):
        order = names if r % 2 == 0 else names[::-1]
        for name in order:
            src, mode = variants[name]
            results[name].append(run(src, backend, messages, mode))
    base_cpu = statistics.median(x["cpu_us"] for x in results["before"])
    base_rate = statistics.median(x["rate"] for x in results["before"])
    lines = [
        f"{backend}, {messages:,} messages, {rounds} rounds (medians)",
        "| variant | CPU µs/msg | ratio | drain msg/s | ratio |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name in names:
        cpu = statistics.median(x["cpu_us"] for x in results[name])
        rate = statistics.median(x["rate"] for x in results[name])
        lines.append(
            f"| {name} | {cpu:.1f} | {cpu / base_cpu:.3f} | {rate:,.0f} | {rate / base_rate:.3f} |"
        )
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        print(json.dumps(trial(sys.argv[2], int(sys.argv[3]), sys.argv[4])))
        return
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--before", required=True, help="src/ of the checkout to compare against")
    p.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    p.add_argument("--messages", type=int, default=20000)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument(
        "--variants",
        default="plain,random,chunks",
        help="of this checkout, after 'before': plain, random, chunks, kept, kept_other",
    )
    args = p.parse_args()
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    modes = args.variants.split(",")
    for backend in backends:
        print(compare(args.before, backend, args.messages, args.rounds, modes), flush=True)


if __name__ == "__main__":
    main()
