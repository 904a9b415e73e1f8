"""Cancelling one message: the store verb, mixed into :class:`~sluice.store.Store`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal, cast

from sluice.errors import MessageFinished, MessageIsDead, SluiceError, UnknownMessage
from sluice.model import is_dlq
from sluice.store import completed, runs

if TYPE_CHECKING:
    from sluice.store.base import Store

MAX_ID = 2**63 - 1

CancelledState = Literal["waiting", "delayed", "in_flight"]
"""What a cancelled message was doing when it was cancelled."""


class CancelVerbs:
    """The ``cancel`` verb of the store."""

    def cancel(self, message_id: int) -> CancelledState:
        """Remove one waiting, delayed or in-flight message, counted as dead in its run (as a
        cancelled run's messages are); return what it was doing. An in-flight message's
        handler may finish, but its ack (or retry) is refused as stale, so it is neither
        acknowledged nor retried, and the children it enqueued are not stored.
        ``UnknownMessage`` if no message has the id, ``MessageFinished`` if its completion
        record says it finished (``MessageIsDead`` for a dead letter)."""
        store = cast("Store", self)
        if isinstance(message_id, bool) or not 0 < message_id <= MAX_ID:
            raise unknown_message(message_id)
        with store._driver.write() as db:
            now = store.clock()
            rows = store._sql(db, "cancel_message", {"id": message_id})
            if rows:
                queue, lease, visible_at, run_id, stage, action, receives, enqueued = rows[0]
                runs.dead_lettered(store, db, [(run_id, stage)], now)
                store._policy_map()
                gone = completed.Finished(message_id, queue, action, run_id, receives, enqueued)
                completed.record(store, db, [gone], "cancelled", now)
                if lease is not None and visible_at > now:
                    return "in_flight"
                return "delayed" if visible_at > now else "waiting"
        raise finished_error(store, message_id)


def finished_error(store: Store, message_id: int) -> SluiceError:
    """Why no live message ``message_id`` could be cancelled: it is a dead letter, its
    completion record says how it finished, or nothing is known of it."""
    found = store.get([message_id])
    if found and is_dlq(found[0].queue):
        return MessageIsDead(
            f"message {message_id} is a dead letter in {found[0].queue}: it has finished, "
            "so it cannot be cancelled (purge or redrive the dead-letter queue instead)"
        )
    try:
        status = store.status(message_id)
    except UnknownMessage:
        return unknown_message(message_id)
    if not status.finished or status.finished_at is None:  # it came back: a race, retry
        return unknown_message(message_id)
    at = datetime.fromtimestamp(status.finished_at, UTC).isoformat(timespec="seconds")
    return MessageFinished(
        f"message {message_id} has already finished ({status.state} at {at}, in queue "
        f"{status.queue}): there is nothing to cancel"
    )


def unknown_message(message_id: int) -> UnknownMessage:
    """The error for an id that names no live message."""
    return UnknownMessage(
        f"no waiting, delayed or in-flight message has id {message_id}: it never existed "
        "or it has finished (acknowledged messages are deleted)"
    )
