"""Cron schedules and their validation."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sluice.errors import ConfigError
from sluice.model.queues import (
    validate_queue_name,
)

MISFIRE_POLICIES = ("skip", "catch_up")
CRON_ALIASES = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
Misfire = Literal["skip", "catch_up"]
SCHEDULE_NAME = re.compile(r"[A-Za-z0-9_.:\-]{1,120}")


@dataclass(frozen=True, slots=True)
class Schedule:
    """A cron schedule that enqueues a message for ``action`` on ``queue`` at each tick.

    ``cron`` has 5 fields (minute hour day month weekday) or 6 with a leading seconds field
    (``"*/10 * * * * *"``: every ten seconds), or a ``@hourly``-style alias; it is read in
    ``timezone`` (an IANA name). ``misfire`` decides what a scheduler does with ticks missed
    while none ran (see ``sluice.sources.cron.due_ticks``): ``skip`` fires only the latest of
    them, ``catch_up`` fires each, at most ``catch_up_limit`` (the latest ones).
    """

    name: str
    cron: str
    action: str
    body: Any = None
    timezone: str = "UTC"
    misfire: Misfire = "skip"
    catch_up_limit: int = 10
    queue: str = "default"

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not SCHEDULE_NAME.fullmatch(self.name):
            raise ConfigError(
                f"invalid schedule name {self.name!r}: use 1 to 120 letters, digits, "
                "'-', '_', '.' or ':'"
            )
        if not isinstance(self.action, str) or not self.action:
            raise ConfigError(
                f"schedule {self.name!r}: action must be a non-empty string, got {self.action!r}"
            )
        validate_queue_name(self.queue)
        if self.misfire not in MISFIRE_POLICIES:
            raise ConfigError(
                f"schedule {self.name!r}: misfire must be 'skip' or 'catch_up', "
                f"got {self.misfire!r}"
            )
        if (
            isinstance(self.catch_up_limit, bool)
            or not isinstance(self.catch_up_limit, int)
            or self.catch_up_limit < 1
        ):
            raise ConfigError(
                f"schedule {self.name!r}: catch_up_limit must be an integer >= 1, "
                f"got {self.catch_up_limit!r}"
            )
        zone = timezone_named(self.timezone, f"schedule {self.name!r}")
        check_cron(self.cron, zone, f"schedule {self.name!r}")


def timezone_named(name: object, what: str) -> ZoneInfo:
    """The IANA time zone ``name``, or a ``ConfigError`` naming it."""
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{what}: timezone must be an IANA name like 'UTC', got {name!r}")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"{what}: unknown timezone {name!r} (use an IANA name like 'UTC' or 'Europe/Paris')"
        ) from None


def check_cron(expression: object, zone: ZoneInfo, what: str) -> None:
    """Raise a ``ConfigError`` naming ``expression`` and its fault unless it is a 5-field cron
    expression, a 6-field one with leading seconds, or an alias, that fires at least once."""
    if not isinstance(expression, str) or not expression.strip():
        raise ConfigError(f"{what}: cron expression must be a non-empty string, got {expression!r}")
    fields = expression.split()
    aliased = len(fields) == 1 and fields[0].startswith("@")
    if not aliased and len(fields) not in (5, 6):
        raise ConfigError(
            f"{what}: invalid cron expression {expression!r}: it has {len(fields)} fields; "
            "write 5 (minute hour day month weekday) or 6 (second first)"
        )
    # Imported here: croniter (with dateutil) costs every process that never declares a
    # schedule some 35 ms of start-up.
    from croniter import CroniterBadDateError, CroniterError, croniter

    try:
        croniter(expression, datetime.fromtimestamp(0, zone), second_at_beginning=True).get_next(
            float
        )
    except CroniterError as exc:
        detail = (
            str(exc).replace(f"[{expression}] ", "").strip().removeprefix("is not acceptable, ")
        )
        if isinstance(exc, CroniterBadDateError):
            detail = "it never fires (no date matches)"
        elif aliased:
            detail = f"unknown alias; use one of {', '.join(CRON_ALIASES)}"
        elif detail == "is not acceptable":
            detail = "a field holds a value that is not a number, a name or a range"
        raise ConfigError(f"{what}: invalid cron expression {expression!r}: {detail}") from None
