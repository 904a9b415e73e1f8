"""Action policies, global limits and rates, batch results, jobs, per-action figures."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from sluice.errors import ConfigError
from sluice.model.queues import (
    seconds,
    validate_queue_name,
)

RATE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*/\s*(s|sec|second|m|min|minute|h|hour)\s*")
_PER = {"s": 1.0, "sec": 1.0, "second": 1.0, "m": 60.0, "min": 60.0, "minute": 60.0}


def parse_rate(rate: str | float) -> float:
    """Parse ``"200/s"``, ``"30/m"`` or ``"100/h"`` (or a number per second) to messages/second."""
    if isinstance(rate, int | float) and not isinstance(rate, bool):
        per_second = float(rate)
    elif isinstance(rate, str) and (match := RATE.fullmatch(rate)):
        per_second = float(match.group(1)) / _PER.get(match.group(2), 3600.0)
    else:
        raise ConfigError(f"invalid rate {rate!r}: write it as 'N/s', 'N/m' or 'N/h'")
    if not per_second > 0 or math.isinf(per_second):
        raise ConfigError(f"invalid rate {rate!r}: it must be above zero")
    return per_second


@dataclass(frozen=True, slots=True)
class ActionLimit:
    """Global limits of one action, enforced by the store across all workers.

    ``concurrency``: messages of the action in flight at most. ``rate``: messages started per
    second, as a token bucket holding at most ``burst`` tokens (default: a tenth of a second's
    worth, at least one), shared by every worker. ``effective`` (read from the store) is the
    adaptive concurrency in force: halved when a handler raises ``Backoff``, regrown by one
    slot per full window of successes, never above ``concurrency``.
    """

    action: str
    concurrency: int | None = None
    rate: float | None = None
    burst: float | None = None
    effective: float | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.action, str) or not self.action:
            raise ConfigError(f"action name must be a non-empty string, got {self.action!r}")
        if self.concurrency is not None and (
            isinstance(self.concurrency, bool)
            or not isinstance(self.concurrency, int)
            or self.concurrency < 1
        ):
            raise ConfigError(f"concurrency must be an integer >= 1, got {self.concurrency!r}")
        if self.rate is not None:
            object.__setattr__(self, "rate", parse_rate(self.rate))
            if self.burst is None:
                object.__setattr__(self, "burst", max(1.0, self.rate / 10))
        if self.burst is not None and not self.burst >= 1:
            raise ConfigError(f"burst must be >= 1, got {self.burst!r}")


@dataclass(frozen=True, slots=True)
class ActionPolicy:
    """How an action's messages are batched, limited, timed and retried.

    ``batch_size`` messages at most per call (1: the handler gets one body), waiting at most
    ``batch_window`` seconds to fill a batch and capping it at ``batch_bytes`` of bodies.
    ``timeout``: a call running longer fails. Retries back off exponentially from
    ``retry_base`` seconds up to ``retry_cap``, with full jitter.
    """

    queue: str
    batch_size: int = 1
    batch_window: float = 0.0
    batch_bytes: int | None = None
    timeout: float = 300.0
    concurrency: int | None = None
    rate: float | None = None
    retry_base: float = 1.0
    retry_cap: float = 300.0

    def __post_init__(self) -> None:
        validate_queue_name(self.queue)
        if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, int):
            raise ConfigError(f"batch_size must be an integer >= 1, got {self.batch_size!r}")
        if self.batch_size < 1:
            raise ConfigError(f"batch_size must be an integer >= 1, got {self.batch_size!r}")
        set_ = object.__setattr__
        set_(self, "batch_window", seconds(self.batch_window, "batch_window"))
        set_(self, "timeout", seconds(self.timeout, "timeout"))
        if self.timeout <= 0:
            raise ConfigError("timeout must be > 0 seconds")
        set_(self, "retry_base", seconds(self.retry_base, "retry_base"))
        set_(self, "retry_cap", seconds(self.retry_cap, "retry_cap"))
        if self.batch_bytes is not None and self.batch_bytes < 1:
            raise ConfigError(f"batch_bytes must be positive, got {self.batch_bytes!r}")
        if self.rate is not None:
            set_(self, "rate", parse_rate(self.rate))


@dataclass(frozen=True, slots=True)
class Partial:
    """Returned by a batch handler: only the messages in ``failed`` (id -> reason) are retried;
    the rest of the batch is acked."""

    failed: dict[int, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Job:
    """One item for ``enqueue_many``: a body with the per-message options of ``enqueue``."""

    body: Any
    group: str | None = None
    dedup_id: str | None = None
    delay: float = 0.0
    priority: int = 0


DURATION_BUCKETS: tuple[float, ...] = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    300.0,
)
"""Upper bounds (seconds) of the handler duration histogram; one more bucket holds the rest."""


@dataclass(slots=True)
class ActionStats:
    """Outcome counters and a call-duration histogram of one action (one worker's, or the sum
    over workers). ``buckets[i]`` counts calls no longer than ``DURATION_BUCKETS[i]`` and not
    in an earlier bucket; the last one counts the rest."""

    action: str
    processed: int = 0
    failed: int = 0
    dead: int = 0
    duration_sum: float = 0.0
    buckets: list[int] = field(default_factory=lambda: [0] * (len(DURATION_BUCKETS) + 1))

    def observe(self, seconds: float) -> None:
        """Record one call's duration."""
        self.duration_sum += seconds
        for index, bound in enumerate(DURATION_BUCKETS):
            if seconds <= bound:
                self.buckets[index] += 1
                return
        self.buckets[-1] += 1

    def add(self, other: ActionStats) -> None:
        self.processed += other.processed
        self.failed += other.failed
        self.dead += other.dead
        self.duration_sum += other.duration_sum
        self.buckets = [a + b for a, b in zip(self.buckets, other.buckets, strict=True)]
