"""JSON shapes of stored schedules and events, shared by the CLI and the HTTP API."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sluice.store.events import ArchivedEvent
from sluice.store.schedules import StoredSchedule


def stamp(at: float | None) -> str:
    """An epoch time as ISO 8601 UTC to the second ("" for none)."""
    if at is None:
        return ""
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def schedule_json(s: StoredSchedule, paused: set[str]) -> dict[str, Any]:
    """A stored schedule: its definition, next fire time and last tick fired (epoch s), and
    whether it is paused (``paused``: the names of the paused schedules)."""
    return {
        "name": s.schedule.name,
        "cron": s.schedule.cron,
        "action": s.schedule.action,
        "queue": s.schedule.queue,
        "timezone": s.schedule.timezone,
        "misfire": s.schedule.misfire,
        "catch_up_limit": s.schedule.catch_up_limit,
        "next_at": s.next_at,
        "last_tick": s.last_tick,
        "paused": s.schedule.name in paused,
    }


def event_json(at: float, e: ArchivedEvent) -> dict[str, Any]:
    """An archived event with its time, source and detail type (from its envelope)."""
    return {
        "id": e.id,
        "at": at,
        "source": e.envelope.get("source"),
        "detail_type": e.envelope.get("detail-type"),
        "published_at": e.published_at,
        "envelope": e.envelope,
    }
