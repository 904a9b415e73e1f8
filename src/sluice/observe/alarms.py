"""Alarms on queue figures, evaluated by the scheduler service.

An alarm is *firing* while any of its thresholds is exceeded. Its action (if any) is enqueued
once when it starts firing and once when it clears, never once per check, and each transition
publishes the event ``sluice.alarm`` on the bus; the store's compare-and-set on the alarm's
state makes one evaluator do it however many schedulers run.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sluice.errors import ConfigError
from sluice.model import QueueStats, validate_queue_name
from sluice.observe.logs import Entries

if TYPE_CHECKING:
    from sluice.app import App

FAILURE_WINDOW = 60.0
"""Seconds of worker reports a failure-rate alarm looks back over."""
EVENT_SOURCE = "sluice"
EVENT_TYPE = "sluice.alarm"


@dataclass(frozen=True, slots=True)
class Alarm:
    """Fires while the queue's DLQ holds more than ``dlq_depth_above`` messages, its oldest
    visible message is older than ``oldest_age_above`` seconds, or more than ``depth_above``
    messages are visible (thresholds left None are not checked)."""

    name: str
    queue: str
    action: str | None = None
    dlq_depth_above: int | None = 0
    oldest_age_above: float | None = None
    depth_above: int | None = None
    failure_rate_above: float | None = None
    """Share of failed attempts (0..1) among the queue's actions' attempts over the last
    ``FAILURE_WINDOW`` seconds, as the workers report them."""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ConfigError(f"an alarm needs a non-empty name, got {self.name!r}")
        validate_queue_name(self.queue)
        thresholds = (self.dlq_depth_above, self.oldest_age_above, self.depth_above)
        if all(t is None for t in thresholds) and self.failure_rate_above is None:
            raise ConfigError(f"alarm {self.name!r} checks nothing: give it a threshold")
        rate = self.failure_rate_above
        if rate is not None and (
            isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate < 1
        ):
            raise ConfigError(
                f"alarm {self.name!r}: failure_rate_above must be a share in [0, 1), got {rate!r}"
            )
        for what, value in zip(
            ("dlq_depth_above", "oldest_age_above", "depth_above"), thresholds, strict=True
        ):
            if value is not None and (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or math.isnan(value)
                or value < 0
            ):
                raise ConfigError(f"alarm {self.name!r}: {what} must be >= 0, got {value!r}")

    def reasons(self, stats: QueueStats, failure_rate: float | None = None) -> list[str]:
        """What is over its threshold now (empty: the alarm is clear)."""
        found = []
        if (
            self.failure_rate_above is not None
            and failure_rate is not None
            and failure_rate > self.failure_rate_above
        ):
            found.append(f"failure rate {failure_rate:.0%} > {self.failure_rate_above:.0%}")
        if self.dlq_depth_above is not None and stats.dlq_depth > self.dlq_depth_above:
            found.append(f"DLQ depth {stats.dlq_depth} > {self.dlq_depth_above}")
        if (
            self.oldest_age_above is not None
            and stats.depth
            and stats.oldest_age > self.oldest_age_above
        ):
            found.append(f"oldest message {stats.oldest_age:.0f}s > {self.oldest_age_above:g}s")
        if self.depth_above is not None and stats.depth > self.depth_above:
            found.append(f"depth {stats.depth} > {self.depth_above}")
        return found


class FailureWindow:
    """Per-queue attempt totals seen by one evaluator, to turn running totals into a failure
    rate over the last ``window`` seconds."""

    def __init__(self, window: float = FAILURE_WINDOW) -> None:
        self.window = window
        self.seen: dict[str, deque[tuple[float, int, int]]] = {}

    def rate(self, queue: str, now: float, processed: int, failed: int) -> float | None:
        """The share of failed attempts since the oldest sample within the window (None
        without attempts in it)."""
        samples = self.seen.setdefault(queue, deque())
        samples.append((now, processed, failed))
        while len(samples) > 1 and samples[1][0] <= now - self.window:
            samples.popleft()
        _, processed_then, failed_then = samples[0]
        attempts = (processed - processed_then) + (failed - failed_then)
        return (failed - failed_then) / attempts if attempts > 0 else None


def _failure_rates(app: App, window: FailureWindow | None) -> dict[str, float | None]:
    """Failure rates per queue of the alarms that watch one."""
    queues = {a.queue for a in app.alarms.values() if a.failure_rate_above is not None}
    if not queues or window is None:
        return {}
    totals = {queue: [0, 0] for queue in queues}
    for stats in app.store.action_stats():
        action = app.actions.get(stats.action)
        if action is not None and action.policy.queue in totals:
            totals[action.policy.queue][0] += stats.processed
            # Attempts that failed: retried, or dead-lettered (at max_receives, or discarded).
            totals[action.policy.queue][1] += stats.failed + stats.dead
    now = app.store.clock()
    return {q: window.rate(q, now, p, f) for q, (p, f) in totals.items()}


def evaluate(app: App, window: FailureWindow | None = None) -> list[tuple[str, bool]]:
    """Check every alarm of ``app`` (failure rates over ``window``, kept by the caller
    between passes); return the transitions this call made."""
    if not app.alarms:
        return []
    store = app.store
    rates = _failure_rates(app, window)
    states = store.alarm_states()
    figures = {s.queue: s for s in store.stats(sorted({a.queue for a in app.alarms.values()}))}
    moved = []
    for alarm in app.alarms.values():
        stats = figures[alarm.queue]
        reasons = alarm.reasons(stats, rates.get(alarm.queue))
        firing = bool(reasons)
        if states.get(alarm.name, False) == firing:
            continue
        detail: dict[str, Any] = {
            "alarm": alarm.name,
            "state": "firing" if firing else "ok",
            "queue": alarm.queue,
            "reasons": reasons,
            "figures": {
                "depth": stats.depth,
                "in_flight": stats.in_flight,
                "oldest_age": stats.oldest_age,
                "dlq_depth": stats.dlq_depth,
            },
        }
        messages = [] if alarm.action is None else [app.new_message(alarm.action, detail)]
        event = app.bus.envelope(EVENT_SOURCE, EVENT_TYPE, detail)
        routes = app.bus.routes(event[0])
        if store.alarm_transition(alarm.name, firing, messages, event, routes):
            moved.append((alarm.name, firing))
    return moved


class AlarmChecks:
    """The periodic check of an app's alarms (run by the scheduler service on each pass):
    evaluates them over a failure window it keeps, and logs each transition it made."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.window = FailureWindow()
        self.log = logging.getLogger("sluice.alarms")

    def run(self) -> None:
        """Evaluate every alarm once; log the ones that started firing or cleared."""
        for name, firing in evaluate(self.app, self.window):
            entry = {"event": "alarm", "alarm": name, "state": "firing" if firing else "cleared"}
            self.log.log(logging.WARNING if firing else logging.INFO, "%s", Entries([entry]))
