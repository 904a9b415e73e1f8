"""The event bus inside the store: archive events and record routes, backend-neutral.

Routing is decided by the app (rules with content patterns); the store makes it durable: an
event, the messages its rules route it to, and the route records are written in one
transaction. A route record (event id, rule) exists once, so a replay enqueues only what was not
routed before (unless forced), and republishing an event id changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from sluice import codec
from sluice.model import NewMessage

if TYPE_CHECKING:
    from sluice.store.base import Store


class Route(NamedTuple):
    """A rule's decision: ``event_id`` goes to ``message`` because of ``rule``."""

    event_id: str
    rule: str
    message: NewMessage


@dataclass(frozen=True, slots=True)
class ArchivedEvent:
    """An archived event: its envelope and when it was published."""

    id: str
    envelope: dict[str, Any]
    published_at: float


def archive(
    store: Store, db: Any, events: Sequence[Mapping[str, Any]], at: Sequence[float], now: float
) -> list[bool]:
    """Insert events; per event, whether it was new (an id seen before is left alone)."""
    new = []
    for event, when in zip(events, at, strict=True):
        rows = store._sql(
            db,
            "event_insert",
            {
                "id": event["id"],
                "source": event["source"],
                "detail_type": event["detail-type"],
                "at": when,
                "envelope": codec.dumps(event).decode(),
                "now": now,
            },
        )
        new.append(bool(rows))
    return new


def route(
    store: Store, db: Any, routes: Sequence[Route], now: float, force: bool = False
) -> list[int | None]:
    """Record each route not recorded before (all of them with ``force``) and enqueue its
    message; per route, the new message id or None."""
    claimed = []
    for one in routes:
        rows = store._sql(
            db,
            "route_force" if force else "route_claim",
            {"event": one.event_id, "rule": one.rule, "now": now},
        )
        claimed.append(bool(rows))
    chosen = [one for one, ok in zip(routes, claimed, strict=True) if ok]
    if not chosen:
        return [None] * len(routes)
    rows = store._prepare([one.message for one in chosen], now)
    ids = iter(e.id for e in store._insert(db, rows, now))
    out: list[int | None] = []
    for one, ok in zip(routes, claimed, strict=True):
        if not ok:
            out.append(None)
            continue
        message_id = next(ids)
        store._sql(
            db, "route_set", {"event": one.event_id, "rule": one.rule, "message": message_id}
        )
        out.append(message_id)
    return out
