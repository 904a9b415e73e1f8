"""Job status and results: the completion records of queues with ``keep_completed``, and the
``status`` / ``wait_finished`` verbs, mixed into :class:`~sluice.store.Store`.

An ack (or a cancel) on a queue with ``keep_completed=SECONDS`` writes a record of the message
(status, receives, times, the handler's return value when it is JSON of at most
:data:`~sluice.model.RESULT_LIMIT` bytes) in the transaction that deletes it; housekeeping drops
records past their ``expires_at``. A store none of whose queues keeps records acks exactly as
before: the check is one lookup in the cached policies. Result waiters sleep in the driver's
``wait`` (LISTEN/NOTIFY on PostgreSQL, the file's data version on SQLite); records and dead
letters of kept queues notify ``done:QUEUE``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, cast

from sluice import codec
from sluice.errors import BodyNotSerializable, NotFinished, UnknownMessage
from sluice.model import RESULT_LIMIT, MessageStatus, StatusState
from sluice.store.search import Found, MessageFilter

if TYPE_CHECKING:
    from sluice.store.base import Store

DONE = "done:"
"""Prefix of the wake-up payloads of result waiters (``done:QUEUE``); no queue name has ':'."""
WAIT_SLICE = 1.0
"""Longest single wait of ``wait_finished`` before it reads the status again (a wake-up
consumed by another waiter on the same listener costs at most this long)."""
MAX_ID = 2**63 - 1


class Finished(NamedTuple):
    """A message leaving the live table: the columns its completion record keeps."""

    id: int
    queue: str
    action: str
    run_id: str | None
    receive_count: int
    enqueued_at: float


def result_json(value: Any) -> tuple[str | None, str | None]:
    """(JSON text, None) of a handler's return value, or (None, why it is not kept)."""
    try:
        text = codec.encode(value)
    except BodyNotSerializable as exc:
        return None, f"the handler's result was not kept: {exc}"[:500]
    size = len(text.encode())
    if size > RESULT_LIMIT:
        return None, f"the handler's result of {size} bytes is above the {RESULT_LIMIT}-byte limit"
    return text, None


def record(
    store: Store,
    db: Any,
    finished: Sequence[Finished],
    status: StatusState,
    now: float,
    results: Mapping[int, Any] | None = None,
) -> None:
    """Write the completion records of those ``finished`` messages whose queue keeps them
    (with their results), and wake result waiters when ``db`` commits."""
    kept = store._kept
    rows: list[dict[str, Any]] = []
    queues: list[str] = []
    for f in finished:
        keep = kept.get(f.queue)
        if keep is None:
            continue
        text, note = result_json(results.get(f.id)) if results is not None else (None, None)
        queues.append(f.queue)
        rows.append(
            {
                "message_id": f.id,
                "queue": f.queue,
                "action": f.action,
                "status": status,
                "run_id": f.run_id,
                "receive_count": f.receive_count,
                "enqueued_at": f.enqueued_at,
                "finished_at": now,
                "expires_at": now + keep,
                "result": text,
                "result_note": note,
            }
        )
    if rows:
        store._driver.many(db, "completed_record", rows)
        wake(store, db, queues)


def wake(store: Store, db: Any, queues: Sequence[str]) -> None:
    """Wake the result waiters of messages of these queues (kept ones only) at commit."""
    kept = [DONE + q for q in sorted(set(queues)) if q in store._kept]
    if kept:
        store._driver.notify(db, kept)


def live_status(found: Found) -> MessageStatus:
    """The status of a message still in the message table."""
    m = found.message
    state: StatusState = found.state
    if state == "dead" and m.dead_reason == "cancelled":
        state = "cancelled"
    return MessageStatus(
        id=m.id,
        state=state,
        queue=m.source_queue if state in ("dead", "cancelled") and m.source_queue else m.queue,
        action=m.action,
        run_id=m.run_id,
        receive_count=m.receive_count,
        enqueued_at=m.enqueued_at,
        visible_at=m.visible_at,
        finished_at=m.visible_at if state in ("dead", "cancelled") else None,
        last_error=m.last_error,
        dead_reason=m.dead_reason,
    )


def record_status(row: Sequence[Any]) -> MessageStatus:
    """The status of a completion record (a ``completed_get`` row)."""
    id_, queue, action, status, run_id, receives, enqueued, finished, expires, text, note = row
    return MessageStatus(
        id=int(id_),
        state=status,
        queue=queue,
        action=action,
        run_id=run_id,
        receive_count=int(receives),
        enqueued_at=float(enqueued),
        finished_at=float(finished),
        expires_at=float(expires),
        result=None if text is None else codec.loads(text),
        result_note=note,
    )


def unknown(message_id: int) -> UnknownMessage:
    return UnknownMessage(
        f"no message has id {message_id}: it never existed, its queue keeps no completion "
        "records (declare it with keep_completed=SECONDS to read finished messages), or its "
        "record expired"
    )


class CompletedVerbs:
    """The ``status`` and ``wait_finished`` verbs of the store."""

    def status(self, message_id: int) -> MessageStatus:
        """What message ``message_id`` is doing, or how it finished (a completion record, or
        a dead letter). ``UnknownMessage`` if there is neither."""
        store = cast("Store", self)
        if isinstance(message_id, bool) or not isinstance(message_id, int):
            raise UnknownMessage(f"a message id is a positive integer, got {message_id!r}")
        if not 0 < message_id <= MAX_ID:
            raise unknown(message_id)
        page = store.search_messages(MessageFilter(ids=[message_id]), limit=1)
        if page.found:
            return live_status(page.found[0])
        with store._driver.read() as db:
            rows = store._sql(db, "completed_get", (message_id,))
        if rows:
            return record_status(rows[0])
        raise unknown(message_id)

    def wait_finished(self, message_id: int, timeout: float) -> MessageStatus:
        """Block until message ``message_id`` has finished (succeeded, dead or cancelled) and
        return its status; ``NotFinished`` after ``timeout`` seconds, ``UnknownMessage`` at
        once for an id with no message or record (and once it finishes without one)."""
        store = cast("Store", self)
        deadline = time.monotonic() + timeout
        status = store.status(message_id)
        while not status.finished:
            left = deadline - time.monotonic()
            if left <= 0:
                raise NotFinished(
                    f"message {message_id} has not finished within {timeout:g}s (it is "
                    f"{status.state.replace('_', ' ')}); wait longer or read app.status()"
                )

            def ready(db: Any) -> bool:
                return bool(store._sql(db, "completed_get", (message_id,)))

            store._driver.wait([DONE + status.queue], min(left, WAIT_SLICE), ready)
            status = store.status(message_id)
        return status
