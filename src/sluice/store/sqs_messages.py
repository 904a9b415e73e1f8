"""Store verbs of the SQS API's messages: the message attributes sent with a message, stored
in the same transaction as the message and read back on receive."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from sluice import codec
from sluice.model import Enqueued, NewMessage, Outcome, Receipt
from sluice.store import completing, inserting

if TYPE_CHECKING:
    from sluice.store.base import Store

__all__ = ["SqsMessageVerbs"]

Attributes = Mapping[str, Any]


class SqsMessageVerbs:
    """Mixed into :class:`~sluice.store.base.Store`."""

    def sqs_enqueue(
        self, messages: Sequence[NewMessage], attributes: Sequence[tuple[Attributes, str] | None]
    ) -> list[Enqueued]:
        """Enqueue like ``enqueue``, keeping each new message's ``(attributes, md5)`` (None:
        none), all in one transaction."""
        store = cast("Store", self)
        now = store.clock()
        rows = store._prepare(messages, now)
        if not any(attributes) and inserting.plain(store, rows):
            return inserting.insert_plain(store, rows)  # PostgreSQL: one round trip
        with store._driver.write() as db:
            done = store._insert(db, rows, now)
            kept = [
                {"id": d.id, "attributes": codec.dumps(dict(a[0])).decode(), "md5": a[1]}
                for d, a in zip(done, attributes, strict=True)
                if a is not None and d.created
            ]
            store._driver.many(db, "sqs_attributes_put", kept)
        return done

    def sqs_attributes(self, ids: Sequence[int]) -> dict[int, tuple[dict[str, Any], str]]:
        """The SQS message attributes (and their MD5) of these messages that have any."""
        store = cast("Store", self)
        with store._driver.read() as db:
            rows = store._sql(db, "sqs_attributes_get", {"ids": list(ids)})
        return {int(row[0]): (codec.loads(row[1]), row[2]) for row in rows}

    def sqs_delete(self, receipts: Sequence[Receipt], queue: str | None = None) -> list[Receipt]:
        """Acknowledge (delete) the messages of fresh receipts with their SQS attributes;
        return the stale receipts, which changed nothing. One transaction on SQLite (one
        write lock); on PostgreSQL one statement that deletes both (the general path, and one
        more statement, only for messages of runs, stale receipts and kept queues).
        ``queue``: the receipts' queue, when known (the SQS API checks each handle's), so a
        queue keeping no records stays on the fast path beside one that keeps them."""
        store = cast("Store", self)
        outcomes = [Outcome.ack(r, queue=queue) for r in receipts]
        if store._driver.autocommit:
            kept = completing.keeping(store._kept, outcomes)
            rest = completing.ack_plain(store, outcomes, store.clock(), "sqs_ack_plain")
            stale = store.complete(rest)
            left = receipts if kept else [o.receipt for o in rest]
            if len(left) > len(stale):
                with store._driver.auto() as db:
                    _forget(store, db, left, stale)
            return stale
        with store._driver.write() as db:
            stale = completing.complete(store, outcomes, tx=db)
            _forget(store, db, receipts, stale)
        return stale


def _forget(store: Store, db: Any, receipts: Sequence[Receipt], stale: Sequence[Receipt]) -> None:
    """Delete the attributes of the messages that ``receipts`` deleted: those not answered
    stale (a receipt given twice is stale the second time only)."""
    applied = Counter(receipts)
    applied.subtract(stale)
    gone = [r.message_id for r, n in applied.items() if n > 0]
    if gone:
        store._sql(db, "sqs_attributes_forget", {"ids": gone})
