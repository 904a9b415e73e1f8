"""JSON shapes of stored schedules, rules and events, shared by the CLI and the HTTP API."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sluice.store.events import ArchivedEvent
from sluice.store.schedules import StoredSchedule

if TYPE_CHECKING:
    from sluice.sources.events import Rule


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


def rule_json(name: str, disabled: set[str], rule: Rule | None = None) -> dict[str, Any]:
    """A declared rule and whether it is disabled (``disabled``: the names of the disabled
    rules); its pattern and action when the caller has the app that declares it (the API
    server), null otherwise (the CLI reads only the store, which keeps the names)."""
    return {
        "name": name,
        "disabled": name in disabled,
        "action": None if rule is None else rule.action,
        "pattern": None if rule is None else dict(rule.pattern),
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
