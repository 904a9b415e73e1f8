"""Schedules in the store: rows, tick messages, and firing due schedules exactly once."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from sluice import codec
from sluice.model import NewMessage, Schedule

if TYPE_CHECKING:
    from sluice.store.base import Store

TickPlanner = Callable[[Schedule, float, float], tuple[list[float], float]]
"""``planner(schedule, next_at, now) -> (ticks to fire, next fire time to record)``."""


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
        schedule.name,
        schedule.cron,
        schedule.action,
        schedule.queue,
        codec.encode(schedule.body),
        schedule.timezone,
        schedule.misfire,
        schedule.catch_up_limit,
        next_at,
    )


def schedule_from_row(row: Sequence[Any]) -> StoredSchedule:
    """A stored schedule from a row of the ``schedules`` query."""
    name, cron, action, queue, body, timezone, misfire, limit, next_at, last_tick = row
    schedule = Schedule(name, cron, action, codec.decode(body), timezone, misfire, limit, queue)
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


def fire_due(store: Store, planner: TickPlanner, now: float) -> list[Fired]:
    """Fire the schedules due at ``now``; see ``Store.fire_due``."""
    driver = store._driver
    # Look outside a write transaction first: most passes find nothing due.
    with driver.read() as db:
        due = [schedule_from_row(row) for row in store._sql(db, "schedules_due", (now,))]
    if not due:
        return []
    # Planned before the transaction: croniter is slow next to the lock it would hold.
    planned = [(s, at, *planner(s, at, now)) for s, at, _ in due]
    fired: list[Fired] = []
    with driver.write() as db:
        # By name, as every scheduler goes: racing transactions wait on each other's row locks
        # in one order, never deadlock. A waiter's update then sees the new next_at and
        # changes nothing.
        for schedule, next_at, ticks, new_next_at in planned:
            last_tick = ticks[-1] if ticks else None
            params = (new_next_at, last_tick, schedule.name, next_at)
            if driver.count(db, "schedule_advance", params) != 1 or not ticks:
                continue  # another scheduler fired it (or nothing fell due)
            rows = store._prepare(tick_messages(schedule, ticks), now)
            enqueued = store._insert(db, rows, now)
            fired.extend(
                Fired(schedule.name, tick, result.id)
                for tick, result in zip(ticks, enqueued, strict=True)
            )
    return fired
