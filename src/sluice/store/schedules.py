"""Backend-neutral pieces of the schedule verbs: rows, tick messages, fire records."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from sluice import codec
from sluice.model import NewMessage, Schedule

Plan = Callable[[Schedule, float, float], tuple[list[float], float]]
"""``plan(schedule, next_at, now) -> (ticks to fire, next fire time to record)``."""


class Fired(NamedTuple):
    """One tick fired: its schedule, its time, and the id of the message it enqueued."""

    schedule: str
    tick: float
    message_id: int


class StoredSchedule(NamedTuple):
    """A schedule as stored, with its next fire time and the last tick fired (if any)."""

    schedule: Schedule
    next_at: float
    last_tick: float | None


def schedule_row(schedule: Schedule, next_at: float) -> tuple[Any, ...]:
    """Parameters of the ``put_schedule`` query."""
    return (
        schedule.name, schedule.cron, schedule.action, schedule.queue, codec.encode(schedule.body),
        schedule.timezone, schedule.misfire, schedule.catch_up_limit, next_at,
    )  # fmt: skip


def schedule_from_row(row: Sequence[Any]) -> StoredSchedule:
    """A stored schedule from a row of the ``schedules`` query."""
    name, cron, action, queue, body, timezone, misfire, limit, next_at, last_tick = row
    schedule = Schedule(
        name, cron, action, codec.decode(body), timezone, misfire, limit, queue
    )  # fmt: skip
    return StoredSchedule(schedule, next_at, last_tick)


def tick_dedup_id(name: str, tick: float) -> str:
    """The dedup id of a tick's message: a second guard against firing a tick twice."""
    return f"sluice-schedule-{name}-{int(tick)}"


def tick_messages(schedule: Schedule, ticks: Sequence[float]) -> list[NewMessage]:
    """The messages of these ticks: the schedule's body for its action, one per tick."""
    return [
        NewMessage(
            schedule.queue,
            schedule.body,
            action=schedule.action,
            dedup_id=tick_dedup_id(schedule.name, tick),
        )
        for tick in ticks
    ]
