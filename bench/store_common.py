"""bench/store.py's constants, bodies and the two sluice loops it measures."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from sluice.model import NewMessage, Outcome
from sluice.store import Store

QUEUE = "bench"
RAW_TABLE = "raw_messages"
CHUNK = 1_000
"""Messages per enqueue call / raw insert transaction."""
BATCH = 100
"""Messages per claim."""
CLAIM_BATCHES = 200
"""Batches per claim-rate sample in the churn and backlog phases."""
FILL_CHUNK = 1_000_000
"""Rows per statement when bulk-filling a backlog."""
PAYLOAD = "x" * 40
LEASE = 600.0
"""Visibility timeout of the bench queues: long, so no lease expires during a measurement."""
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"
BENCH_DB = "sluice_bench"
DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


class PhaseTimeout(Exception):
    """A phase ran past --timeout."""


def body(i: int) -> dict[str, Any]:
    return {"i": i, "payload": PAYLOAD}


def bodies(start: int, count: int) -> list[dict[str, Any]]:
    return [body(i) for i in range(start, start + count)]


def chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def check(deadline: float) -> None:
    if time.monotonic() > deadline:
        raise PhaseTimeout("deadline passed inside a measurement loop")


# -- the two loops measured for sluice ----------------------------------------------------------
def sluice_enqueue(store: Store, queue: str, items: Sequence[dict[str, Any]]) -> None:
    for chunk in chunks(items, CHUNK):
        store.enqueue([NewMessage(queue, b, action="bench") for b in chunk])


def sluice_drain(store: Store, queue: str, deadline: float, limit: int | None = None) -> int:
    """Claim and ack batches until the queue is empty (or ``limit`` messages); return how many."""
    done = 0
    while limit is None or done < limit:
        check(deadline)
        want = BATCH if limit is None else min(BATCH, limit - done)
        messages = store.claim([queue], want)
        if not messages:
            break
        for m in messages:  # decode already happened in claim; touch it like a handler would
            _ = m.body["i"]
        stale = store.complete([Outcome.ack(m.receipt) for m in messages if m.receipt])
        if stale:
            raise RuntimeError(f"{len(stale)} receipts were stale in a single-consumer drain")
        done += len(messages)
    return done


def progress(text: str) -> None:
    print(f"  .. {text}", file=sys.stderr, flush=True)
