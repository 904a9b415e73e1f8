"""Operator controls, the one path the CLI, the HTTP API and the dashboard share: pause and
resume queues and schedules, disable and enable rules, override and reset limits. Each call
is recorded in the store's audit log under ``who``."""

from __future__ import annotations

import dataclasses
from typing import Any

from sluice.sources.cron import next_fire
from sluice.store import Store
from sluice.store.controls import AuditEntry, LimitInfo

LOCAL = "local"
"""``who`` of the CLI, and of the API when it is open (loopback, no tokens)."""


def pause_queue(store: Store, queue: str, paused: bool, who: str = LOCAL) -> dict[str, Any]:
    """Pause (``paused``) or resume a queue; its state before and after."""
    was = store.set_queue_paused(queue, paused, who)
    return {"queue": queue, "was_paused": was, "paused": paused}


def disable_rule(store: Store, rule: str, disabled: bool, who: str = LOCAL) -> dict[str, Any]:
    """Disable or enable a rule; its state before and after."""
    was = store.set_rule_disabled(rule, disabled, who)
    return {"rule": rule, "was_disabled": was, "disabled": disabled}


def pause_schedule(store: Store, name: str, paused: bool, who: str = LOCAL) -> dict[str, Any]:
    """Pause or resume a schedule. Ticks that fell due while it was paused are skipped, not
    fired on resume: a pause is asked for to stop the work, and a burst of stale ticks at
    resume is the load the operator paused to avoid. It restarts at its first tick after now."""
    stored = {s.schedule.name: s.schedule for s in store.schedules()}.get(name)
    next_at = None if paused or stored is None else next_fire(stored, store.clock())
    was = store.set_schedule_paused(name, paused, who, next_at)  # UnknownSchedule if none
    return {"schedule": name, "was_paused": was, "paused": paused, "next_at": next_at}


def set_limits(
    store: Store, action: str, concurrency: Any, rate: Any, who: str = LOCAL
) -> dict[str, Any]:
    """Override an action's concurrency and/or rate (``rate`` in the code's syntax, "5/s");
    ``ConfigError`` (from :class:`~sluice.ActionLimit`'s checks) for a bad value."""
    return limit_view(store.set_limit_override(action, concurrency, rate, who))


def reset_limits(store: Store, action: str, who: str = LOCAL) -> dict[str, Any]:
    """Drop an action's override: the limits its code declares are in force again."""
    return limit_view(store.reset_limit_override(action, who))


def limit_view(info: LimitInfo) -> dict[str, Any]:
    """An action's limits as JSON: declared, override, and in force."""
    concurrency = info.override_concurrency or info.concurrency
    rate = info.override_rate or info.rate
    return {
        **dataclasses.asdict(info),
        "overridden": info.overridden,
        "in_force": {"concurrency": concurrency, "rate": rate, "effective": info.effective},
    }


def audit_view(entry: AuditEntry) -> dict[str, Any]:
    """An audit entry as JSON."""
    return dataclasses.asdict(entry)
