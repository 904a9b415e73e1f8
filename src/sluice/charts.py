"""The dashboard's chart series, from the store's minute samples (``store/rollups.py``).

Queues chart their depth, in-flight and dead-letter counts as sampled, and their throughput as
the sum of their actions'; actions chart throughput (successes per second), failures (retries
and dead letters per step) and the p50 / p99 handler time, estimated from the difference of two
samples' duration buckets by linear interpolation inside the bucket (as Prometheus's
``histogram_quantile`` does). Totals only grow; a drop (a worker's rows gone) counts as zero.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import pairwise
from typing import Any

from sluice.errors import ConfigError
from sluice.model import DURATION_BUCKETS
from sluice.store.rollups import Sample

WINDOWS = {"hour": (3600.0, 60.0), "day": (86400.0, 900.0)}
"""Chart windows: (span, step) in seconds: an hour by the minute, a day by the quarter hour."""


def window(name: str | None) -> tuple[float, float]:
    """The (span, step) of a window name (default: the hour); ``ConfigError`` for another."""
    found = WINDOWS.get("hour" if name is None else name)
    if found is None:
        raise ConfigError(f"unknown chart window {name!r}: use one of {', '.join(WINDOWS)}")
    return found


def _stepped(samples: Sequence[Sample], step: float) -> list[Sample]:
    """The last sample of each ``step``-long slot, in time order."""
    last: dict[int, Sample] = {}
    for s in samples:
        last[int(s.at // step)] = s
    return [last[slot] for slot in sorted(last)]


def quantile(counts: Sequence[int], q: float) -> float | None:
    """The ``q`` quantile (0..1) of durations counted in ``DURATION_BUCKETS`` buckets (the
    last counts the rest, reported as its lower bound); None when nothing was counted."""
    total = sum(counts)
    if total <= 0:
        return None
    rank, seen = q * total, 0.0
    for index, count in enumerate(counts):
        if count and seen + count >= rank:
            if index >= len(DURATION_BUCKETS):
                return DURATION_BUCKETS[-1]
            lower = DURATION_BUCKETS[index - 1] if index else 0.0
            upper = DURATION_BUCKETS[index]
            return lower + (upper - lower) * (rank - seen) / count
        seen += count
    return DURATION_BUCKETS[-1]


def _gain(now: int, before: int) -> int:
    return max(0, now - before)


def action_points(samples: Sequence[Sample], step: float) -> list[dict[str, Any]]:
    """An action's points: per step, successes per second, failures, and p50 / p99 seconds."""
    picked = _stepped(samples, step)
    points = []
    for before, now in pairwise(picked):
        took = now.at - before.at
        calls = []
        if len(before.buckets) == len(now.buckets):  # else: another version's buckets
            calls = [_gain(a, b) for a, b in zip(now.buckets, before.buckets, strict=True)]
        points.append(
            {
                "at": now.at,
                "throughput": _gain(now.processed, before.processed) / took if took > 0 else 0.0,
                "failures": _gain(now.failed + now.dead, before.failed + before.dead),
                "p50": quantile(calls, 0.5),
                "p99": quantile(calls, 0.99),
            }
        )
    return points


def chart_view(
    queues: Mapping[str, Sequence[Sample]],
    actions: Mapping[str, Sequence[Sample]],
    queue_of: Mapping[str, str],
    name: str | None,
) -> dict[str, Any]:
    """The JSON of ``GET /v1/charts``: every queue's and action's points over the window
    ``name`` (``queue_of``: each action's queue, to add up a queue's throughput)."""
    _span, step = window(name)
    by_action = {a: action_points(s, step) for a, s in actions.items()}
    flow: dict[tuple[str, int], float] = {}
    for action, points in by_action.items():
        for p in points:
            key = (queue_of.get(action, ""), int(p["at"] // step))
            flow[key] = flow.get(key, 0.0) + p["throughput"]
    by_queue = {
        q: [
            {
                "at": s.at,
                "depth": s.depth,
                "in_flight": s.in_flight,
                "dead": s.dead,
                "throughput": flow.get((q, int(s.at // step))),
            }
            for s in _stepped(samples, step)
        ]
        for q, samples in queues.items()
    }
    return {"window": name or "hour", "step": step, "queues": by_queue, "actions": by_action}
