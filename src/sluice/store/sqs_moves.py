"""Store verbs of the SQS API's message move tasks: a task's record and its steps, each step
taken by compare-and-set and moving up to the task's rate of messages of the source queue in
the same transaction, so a crash between steps loses or repeats nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple, cast

from sluice.store import housekeeping

if TYPE_CHECKING:
    from sluice.store.base import Store

__all__ = ["MoveStep", "MoveTask", "SqsMoveVerbs"]

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


class MoveStep(NamedTuple):
    """What a step left: the task's status and the seconds until its next step (None: it
    has ended)."""

    status: str
    wait: float | None


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

    def sqs_move_step(self, handle: str, every: float) -> MoveStep:
        """Take the step of task ``handle`` if it is active and due, and in the same
        transaction move up to its rate of messages (all without one), or end it if it is being
        cancelled. Its next step is due ``every`` seconds later; a step another process took
        first changes nothing and answers when the next one is due."""
        store = cast("Store", self)
        now = store.clock()
        due = {"handle": handle, "now": now, "next_at": now + every}
        with store._driver.write() as db:
            taken = store._sql(db, "sqs_move_take", due)
            if not taken:
                return _not_taken(store._sql(db, "sqs_move_due", {"handle": handle}), now)
            source, destination, rate, status = taken[0]
            moved = 0
            if status == "RUNNING":
                n = None if rate is None else int(rate)
                moved = housekeeping.move_in(store, db, source, None, None, destination, n, now)
            status = "RUNNING" if rate is not None and moved == int(rate) else "COMPLETED"
            step = {"handle": handle, "count": moved, "status": status}
            [(status,)] = store._sql(db, "sqs_move_step", step)
        return MoveStep(str(status), every if status == "RUNNING" else None)

    def sqs_move_active(self) -> list[str]:
        """The handles of the tasks still running or being cancelled."""
        store = cast("Store", self)
        with store._driver.read() as db:
            return [str(handle) for (handle,) in store._sql(db, "sqs_move_active")]

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


def _not_taken(rows: Any, now: float) -> MoveStep:
    if not rows:
        return MoveStep("GONE", None)
    status, next_at = rows[0]
    if status not in ACTIVE:
        return MoveStep(str(status), None)
    return MoveStep(str(status), max(float(next_at) - now, 0.0))


def _task(row: Any) -> MoveTask:
    handle, source, destination, rate, status, moved, to_move, started_at = row
    return MoveTask(
        handle, source, destination, rate, status, int(moved), int(to_move), float(started_at)
    )
