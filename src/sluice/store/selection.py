"""Dead letters chosen by a search filter: counted, redriven or purged as one selection.

The filter is the message search's (:class:`~sluice.store.search.MessageFilter`), so what an
operator sees on a filtered DLQ page is what a redrive or purge of the selection acts on. Each
action reads the selection and changes it in one transaction (rows locked on PostgreSQL), and
records itself in the audit log in that transaction: who, the filter, and how many.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from sluice.errors import ConfigError
from sluice.store import housekeeping
from sluice.store.controls import _audit
from sluice.store.rows import RedriveCandidate
from sluice.store.search import MessageFilter, params

if TYPE_CHECKING:
    from collections.abc import Callable

    from sluice.model import QueuePolicy
    from sluice.store.base import Store
    from sluice.store.driver import Driver, Params


def described(where: MessageFilter) -> dict[str, Any]:
    """The fields a filter sets, as JSON for the audit log."""
    found = {k: v for k, v in dataclasses.asdict(where).items() if v is not None}
    if "ids" in found:
        found["ids"] = list(found["ids"])
    return found


class SelectionVerbs:
    """The Store's verbs over a filtered set of dead letters (a mixin of ``Store``)."""

    if TYPE_CHECKING:
        _driver: Driver
        clock: Callable[[], float]

        def _sql(self, db: Any, name: str, params: Params = ()) -> list[Any]: ...
        def policy(self, queue: str) -> QueuePolicy: ...

    def _selection(self, queue: str, where: MessageFilter) -> tuple[str, dict[str, Any]]:
        """The DLQ of ``queue`` and the query parameters of ``where`` over it."""
        dlq = self.policy(queue).dlq.name
        if where.queue not in (None, queue):
            raise ConfigError(f"the filter names queue {where.queue!r}, not {queue!r}")
        if where.state not in (None, "dead"):
            raise ConfigError(f"a DLQ holds dead letters only; state {where.state!r} selects none")
        return dlq, {**params(where, self.clock(), 0, 0), "dlq": dlq}

    def count_dead(self, queue: str, where: MessageFilter) -> int:
        """How many dead letters of ``queue`` ``where`` selects (what a redrive or purge of
        the selection would act on, as of now)."""
        _dlq, chosen = self._selection(queue, where)
        with self._driver.read() as db:
            return int(self._sql(db, "dead_selected_count", chosen)[0][0])

    def redrive_dead(self, queue: str, where: MessageFilter, who: str = "local") -> int:
        """Move the dead letters of ``queue`` that ``where`` selects back where they died (those
        that know it), with a fresh receive count, in one transaction; return how many."""
        return self._act(queue, where, who, redrive=True)

    def purge_dead(self, queue: str, where: MessageFilter, who: str = "local") -> int:
        """Delete the dead letters of ``queue`` that ``where`` selects, in one transaction;
        return how many."""
        return self._act(queue, where, who, redrive=False)

    def _act(self, queue: str, where: MessageFilter, who: str, *, redrive: bool) -> int:
        store: Store = self  # type: ignore[assignment]
        dlq, chosen = self._selection(queue, where)
        with self._driver.write() as db:
            now = self.clock()
            if redrive:
                found = self._sql(db, "dead_selected", chosen)
                back = [r for r in map(RedriveCandidate._make, found) if r.source_queue is not None]
                done = housekeeping.move_chosen(store, db, dlq, back, None, now)
            else:  # one statement: dead letters are counted in their runs already
                done = self._driver.count(db, "dead_purge", chosen)
            what = "dlq.redrive" if redrive else "dlq.purge"
            _audit(store, db, who, what, queue, described(where), done, now)
        return done
