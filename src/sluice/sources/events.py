"""The event bus: EventBridge-shaped events, content-pattern rules that route them to actions,
an archive, and replay.

``publish`` builds each event's envelope, matches every rule against it, and hands the store
the events with their routes: archiving, routing and enqueueing happen in one transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from sluice import codec
from sluice.errors import BodyNotSerializable, ConfigError, MessageError
from sluice.sources.patterns import Pattern, compile_pattern
from sluice.store.events import Route

if TYPE_CHECKING:
    from sluice.produce import Producer
    from sluice.store import Store
    from sluice.store.base import Clock
    from sluice.worker.actions import Action

    class Routing(Producer, Protocol):
        """What the bus needs of an app: its store, its messages, and its actions."""

        def action_named(self, name: str, what: str = "", hint: str = "") -> Action: ...


Transform = Callable[[dict[str, Any]], Any]
REPLAY_PAGE = 500
FORGET_EVERY = 60.0
"""Seconds between sweeps of the event archive for events past retention."""


@dataclass(frozen=True)
class Rule:
    """Routes events matching ``pattern`` to ``action``; ``transform(event)`` makes the body
    (default: the whole event)."""

    name: str
    pattern: Mapping[str, Any]
    action: str
    transform: Transform | None
    matcher: Pattern

    def body(self, event: dict[str, Any]) -> Any:
        return event if self.transform is None else self.transform(event)


def _time(value: datetime | str | float | None, now: float) -> tuple[str, float]:
    """An event time as (ISO 8601 UTC text, epoch seconds)."""
    if value is None:
        moment = datetime.fromtimestamp(now, UTC)
    elif isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        moment = datetime.fromtimestamp(float(value), UTC)
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise MessageError(f"event time {value!r} is not ISO 8601") from None
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    else:
        raise MessageError(f"event time must be a datetime, ISO 8601 text or epoch, got {value!r}")
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + "Z", moment.timestamp()


class EventBus:
    """The rules of one app and the publish / replay paths through its store."""

    def __init__(self, app: Routing) -> None:
        self.app = app
        self.rules: dict[str, Rule] = {}

    def rule(
        self,
        name: str,
        pattern: Mapping[str, Any],
        action: str,
        transform: Transform | None = None,
    ) -> Rule:
        if not isinstance(name, str) or not name:
            raise ConfigError(f"a rule needs a non-empty name, got {name!r}")
        if name in self.rules:
            raise ConfigError(f"rule {name!r} is declared twice")
        self.app.action_named(action, f"rule {name!r}")
        rule = Rule(name, pattern, action, transform, compile_pattern(pattern))
        self.rules[name] = rule
        return rule

    def envelope(
        self,
        source: str,
        detail_type: str,
        detail: Any,
        *,
        resources: Iterable[str] = (),
        time: datetime | str | float | None = None,
        id: str | None = None,
    ) -> tuple[dict[str, Any], float]:
        """A validated event envelope and its time in epoch seconds."""
        for what, value in (("source", source), ("detail_type", detail_type)):
            if not isinstance(value, str) or not value or len(value) > 256:
                raise MessageError(
                    f"event {what} must be text of 1 to 256 characters, got {value!r}"
                )
        if not isinstance(detail, dict):
            raise MessageError(f"event detail must be a JSON object, got {type(detail).__name__}")
        try:
            codec.encode_bytes(detail)
        except BodyNotSerializable as exc:
            raise BodyNotSerializable(f"event detail is not JSON: {exc}") from None
        text, at = _time(time, self.app.store.clock())
        event = {
            "version": "0",
            "id": id or str(uuid.uuid4()),
            "detail-type": detail_type,
            "source": source,
            "account": "sluice",
            "time": text,
            "region": "local",
            "resources": list(resources),
            "detail": detail,
        }
        return event, at

    def routes(self, event: dict[str, Any], only: str | None = None) -> list[Route]:
        """The routes of every enabled rule (or rule ``only``) that matches ``event``."""
        disabled = self.app.store.stopped("rule")
        return [
            Route(event["id"], rule.name, self.app.new_message(rule.action, rule.body(event)))
            for rule in self.rules.values()
            if (only is None or rule.name == only)
            and rule.name not in disabled
            and rule.matcher.matches(event)
        ]

    def publish(self, events: Iterable[tuple[dict[str, Any], float]]) -> list[str]:
        """Archive and route envelopes in one transaction; return their ids."""
        batch = list(events)
        routes = [route for event, _ in batch for route in self.routes(event)]
        self.app.store.publish([e for e, _ in batch], [at for _, at in batch], routes)
        return [event["id"] for event, _ in batch]

    def replay(
        self,
        since: datetime | str | float,
        until: datetime | str | float,
        rule: str | None = None,
        force: bool = False,
    ) -> int:
        """Route archived events with ``since <= time < until`` again through the current
        rules (or one rule); routes taken before are skipped unless ``force``. Return how many
        messages were enqueued."""
        if rule is not None and rule not in self.rules:
            raise ConfigError(f"unknown rule {rule!r} (rules: {', '.join(self.rules) or 'none'})")
        now = self.app.store.clock()
        start, end = _time(since, now)[1], _time(until, now)[1]
        enqueued = 0
        after: tuple[float, str] | None = None
        while True:
            page = self.app.store.events(start, end, REPLAY_PAGE, after)
            if not page:
                return enqueued
            routes = [r for _, event in page for r in self.routes(event.envelope, rule)]
            if routes:
                created = self.app.store.route(routes, force=force)
                enqueued += sum(1 for id_ in created if id_ is not None)
            after = (page[-1][0], page[-1][1].id)


class EventRetention:
    """The periodic sweep of the event archive (run by the scheduler service): about once
    every ``every`` seconds of ``clock``, events older than ``retention`` seconds are forgotten."""

    def __init__(
        self, store: Store, retention: float, clock: Clock, every: float = FORGET_EVERY
    ) -> None:
        self.store, self.retention, self.clock, self.every = store, retention, clock, every
        self._swept_at = float("-inf")

    def run(self) -> None:
        """Forget expired events if the last sweep is ``every`` seconds old."""
        now = self.clock()
        if now - self._swept_at >= self.every:
            self.store.forget_events(now - self.retention)
            self._swept_at = now
