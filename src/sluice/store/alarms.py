"""Alarm states in the store: read them, and move one by compare-and-set with what its
change enqueues and publishes, mixed into :class:`~sluice.store.Store`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from sluice.model import NewMessage
from sluice.store import events as events_store
from sluice.store.events import Route

if TYPE_CHECKING:
    from sluice.store.base import Store


class AlarmVerbs:
    """The alarm verbs of the store."""

    def alarm_states(self) -> dict[str, bool]:
        """Whether each alarm that has been evaluated is firing."""
        store = cast("Store", self)
        with store._driver.read() as db:
            return {name: bool(firing) for name, firing in store._sql(db, "alarm_states")}

    def alarm_transition(
        self,
        name: str,
        firing: bool,
        messages: Sequence[NewMessage],
        event: tuple[Mapping[str, Any], float] | None = None,
        routes: Sequence[Route] = (),
    ) -> bool:
        """Move alarm ``name`` to firing (or clear) by compare-and-set; only the call that
        changes it enqueues ``messages`` and publishes ``event`` with its ``routes``, in the
        same transaction. Return whether this call changed the state."""
        store = cast("Store", self)
        with store._driver.write() as db:
            now = store.clock()
            store._sql(db, "alarm_init", {"name": name, "now": now})
            if not store._sql(db, "alarm_set", {"name": name, "firing": firing, "now": now}):
                return False
            if messages:
                store._insert(db, store._prepare(messages, now), now, inside=True)
            if event is not None:
                events_store.archive(store, db, [event[0]], [event[1]], now)
                events_store.route(store, db, routes, now)
        return True
