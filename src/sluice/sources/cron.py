"""When a schedule fires: pure next-fire and misfire logic over epoch seconds, no I/O.

Cron ticks fall on whole seconds; an expression is read in its schedule's time zone (so
``0 2 * * *`` in ``Europe/Paris`` follows daylight saving time, as croniter resolves it).
"""

from __future__ import annotations

import math
from datetime import datetime
from zoneinfo import ZoneInfo

from croniter import croniter

from sluice.model import Schedule


def _iterator(schedule: Schedule, start: float) -> croniter:
    zone = ZoneInfo(schedule.timezone)
    return croniter(schedule.cron, datetime.fromtimestamp(start, zone), second_at_beginning=True)


def next_fire(schedule: Schedule, after: float) -> float:
    """The first tick of ``schedule`` strictly after ``after`` (epoch seconds)."""
    return float(_iterator(schedule, after).get_next(float))


def due_ticks(schedule: Schedule, next_at: float, now: float) -> list[float]:
    """The ticks to fire now, oldest first, for a schedule whose next fire time on record is
    ``next_at``: none before ``next_at``; else, of the ticks in ``[next_at, now]`` (the last
    one is on time, any earlier ones were missed while no scheduler ran), per ``misfire``:

    - ``skip``: only the latest. Missed ticks are dropped and the work runs once, now, for
      the latest tick; a scheduler that is merely late (busy machine) loses nothing.
    - ``catch_up``: every one, but at most the latest ``catch_up_limit`` of them.

    The next fire time to record afterwards is ``next_fire(schedule, now)``.
    """
    if next_at > now:
        return []
    keep = 1 if schedule.misfire == "skip" else schedule.catch_up_limit
    # Walk back from now: the cost is bounded by `keep`, not by the length of the downtime.
    backwards = _iterator(schedule, math.floor(now) + 1.0)
    ticks: list[float] = []
    while len(ticks) < keep:
        tick = float(backwards.get_prev(float))
        if tick < next_at:
            break
        ticks.append(tick)
    ticks.reverse()
    return ticks


def plan(schedule: Schedule, next_at: float, now: float) -> tuple[list[float], float]:
    """The ticks due now and the next fire time to record: what ``Store.fire_due`` asks."""
    return due_ticks(schedule, next_at, now), next_fire(schedule, now)
