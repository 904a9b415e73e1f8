"""Store verbs of the SQS API's message move tasks: a task's record and its steps, each step
moving up to ``n`` messages of the source queue in one transaction."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple, cast

from sluice.store import housekeeping

if TYPE_CHECKING:
    from sluice.store.base import Store

__all__ = ["MoveTask", "SqsMoveVerbs"]

ACTIVE = ("RUNNING", "CANCELLING")


class MoveTask(NamedTuple):
    """A move task: from ``source`` to ``destination`` (None: each message's source queue)."""

    handle: str
    source: str
    destination: str | None
    rate: int | None
    status: str
    moved: int
    to_move: int
    started_at: float


class SqsMoveVerbs:
    """Mixed into :class:`~sluice.store.base.Store`."""

    def sqs_move_start(
        self, handle: str, source: str, destination: str | None, rate: int | None
    ) -> MoveTask | None:
        """Record a running task; None (nothing recorded) if one is active on ``source``."""
        store = cast("Store", self)
        store.policy(source)
        [stats] = store.stats([source])
        row = {
            "handle": handle,
            "source": source,
            "destination": destination,
            "rate": rate,
            "to_move": stats.depth + stats.in_flight + stats.delayed,
            "now": store.clock(),
        }
        with store._driver.write() as db:
            tasks = store._sql(db, "sqs_move_list", {"source": source, "n": 1})
            if tasks and MoveTask(*tasks[0]).status in ACTIVE:
                return None
            store._sql(db, "sqs_move_put", row)
            return _task(store._sql(db, "sqs_move_get", {"handle": handle})[0])

    def sqs_move_step(self, task: MoveTask, n: int | None) -> str:
        """Move up to ``n`` messages (None: all) unless the task is being cancelled; the
        task's status afterwards (COMPLETED once the source has no more to move)."""
        store = cast("Store", self)
        with store._driver.read() as db:
            [row] = store._sql(db, "sqs_move_get", {"handle": task.handle})
        moved = 0
        if MoveTask(*row).status == "RUNNING":
            moved = housekeeping.move(store, task.source, dest=task.destination, n=n)
        status = "RUNNING" if n is not None and moved == n else "COMPLETED"
        step = {"handle": task.handle, "count": moved, "status": status}
        with store._driver.write() as db:
            found = store._sql(db, "sqs_move_step", step)
        return str(found[0][0]) if found else "CANCELLED"

    def sqs_move_tasks(self, source: str, n: int) -> list[MoveTask]:
        """The ``n`` most recent tasks of ``source``, newest first."""
        store = cast("Store", self)
        with store._driver.read() as db:
            return [_task(r) for r in store._sql(db, "sqs_move_list", {"source": source, "n": n})]

    def sqs_move_cancel(self, handle: str) -> MoveTask | None:
        """Ask a running task to stop (its next step does); None if it is not running."""
        store = cast("Store", self)
        with store._driver.write() as db:
            if not store._sql(db, "sqs_move_cancel", {"handle": handle}):
                return None
            return _task(store._sql(db, "sqs_move_get", {"handle": handle})[0])


def _task(row: Any) -> MoveTask:
    handle, source, destination, rate, status, moved, to_move, started_at = row
    return MoveTask(
        handle, source, destination, rate, status, int(moved), int(to_move), float(started_at)
    )
