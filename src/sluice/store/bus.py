"""The event bus in the store: archive published events and enqueue what their routes ask,
list and forget archived events; mixed into :class:`~sluice.store.Store`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from sluice import codec
from sluice.store import events as events_store
from sluice.store.events import ArchivedEvent, Route

if TYPE_CHECKING:
    from sluice.store.base import Store


class BusVerbs:
    """The event-bus verbs of the store."""

    def publish(
        self, events: Sequence[Mapping[str, Any]], at: Sequence[float], routes: Sequence[Route]
    ) -> list[bool]:
        """Archive ``events`` (EventBridge envelopes; ``at`` their times as epoch seconds)
        and apply the ``routes`` of the new ones, in one transaction. An event whose id is
        archived already is neither stored nor routed again. Return, per event, if it was new."""
        store = cast("Store", self)
        with store._driver.write() as db:
            now = store.clock()
            new = events_store.archive(store, db, events, at, now)
            fresh = {e["id"] for e, ok in zip(events, new, strict=True) if ok}
            events_store.route(store, db, [r for r in routes if r.event_id in fresh], now)
        return new

    def route(self, routes: Sequence[Route], force: bool = False) -> list[int | None]:
        """Enqueue the messages of routes not taken before (every one with ``force``), in one
        transaction; per route, the new message id or None (routed before)."""
        store = cast("Store", self)
        with store._driver.write() as db:
            return events_store.route(store, db, routes, store.clock(), force)

    def events(
        self,
        since: float,
        until: float,
        limit: int = 1000,
        after: tuple[float, str] | None = None,
    ) -> list[tuple[float, ArchivedEvent]]:
        """Archived events with ``since <= time < until`` in time order, ``limit`` at a time,
        after the ``(time, id)`` position ``after``; each with its time."""
        store = cast("Store", self)
        after_at, after_id = after if after is not None else (since, "")
        window = {"since": since, "until": until, "after_at": after_at, "after_id": after_id}
        with store._driver.read() as db:
            rows = store._sql(db, "events_between", {**window, "n": limit})
        return [
            (float(at), ArchivedEvent(id_, codec.loads(envelope), float(published)))
            for id_, at, envelope, published in rows
        ]

    def forget_events(self, before: float) -> int:
        """Drop archived events published before ``before`` (and their route records)."""
        store = cast("Store", self)
        with store._driver.write() as db:
            gone = len(store._sql(db, "events_forget", {"before": before}))
            store._sql(db, "routes_forget", {"before": before})
        return gone
