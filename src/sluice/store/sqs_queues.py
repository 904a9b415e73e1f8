"""Store verbs of the SQS API's queues: a queue's policy with the SQS attributes and tags kept
beside it, and dropping a queue with its dead-letter queue."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from sluice import codec
from sluice.model import QueuePolicy, validate_queue_name
from sluice.store import housekeeping
from sluice.store.rows import policy_row
from sluice.store.sqs_messages import SqsMessageVerbs
from sluice.store.sqs_moves import SqsMoveVerbs

if TYPE_CHECKING:
    from sluice.store.base import Store

__all__ = ["SqsQueue", "SqsQueueVerbs", "SqsVerbs"]

POLICY_TTL = 1.0
"""Seconds a copy of an SQS record is used (as ``Store.policy``'s copies of policies)."""
MAX_CACHED = 10_000
"""SQS records kept at most (the copies start again from none beyond)."""


@dataclass(frozen=True, slots=True)
class SqsQueue:
    """What the SQS API keeps of a queue beyond its policy (attribute values as strings)."""

    name: str
    attributes: dict[str, str]
    tags: dict[str, str]
    created_at: float
    updated_at: float


class SqsQueueVerbs:
    """Mixed into :class:`~sluice.store.base.Store`."""

    def sqs_put_queue(
        self, policy: QueuePolicy, attributes: Mapping[str, str], tags: Mapping[str, str]
    ) -> None:
        """Create or update the queue (and its DLQ) with its SQS attributes and tags, in one
        transaction; ``created_at`` stays that of the first call."""
        store = cast("Store", self)
        validate_queue_name(policy.name)
        row = {
            "name": policy.name,
            "attributes": codec.dumps(dict(attributes)).decode(),
            "tags": codec.dumps(dict(tags)).decode(),
            "now": store.clock(),
        }
        with store._driver.write() as db:
            for one in (policy, policy.dlq):
                store._sql(db, "put_queue", policy_row(one))
            store._sql(db, "sqs_queue_put", row)
        store._policies[policy.name] = policy
        store._policies[policy.dlq.name] = policy.dlq
        store._sqs_records.pop(policy.name, None)

    def sqs_edit_attributes(
        self,
        name: str,
        edit: Callable[[dict[str, str]], dict[str, str]],
        first: Mapping[str, str],
    ) -> None:
        """Replace the SQS attributes of queue ``name`` by ``edit(attributes)`` in one
        transaction that holds its record (locked on PostgreSQL), so that two edits at once
        never lose one; ``first``: the attributes of a queue that has no record yet (declared
        by sluice). An exception raised by ``edit`` changes nothing. ``UnknownQueue`` if there
        is no such queue."""
        store = cast("Store", self)
        store.policy(name)
        with store._driver.write() as db:
            rows = store._sql(db, "sqs_queue_lock", {"name": name})
            record = _sqs_queue(rows[0]) if rows else None
            attributes = edit(dict(record.attributes) if record else dict(first))
            row = {
                "name": name,
                "attributes": codec.dumps(attributes).decode(),
                "tags": codec.dumps(record.tags if record else {}).decode(),
                "now": store.clock(),
            }
            store._sql(db, "sqs_queue_put", row)
        store._sqs_records.pop(name, None)

    def declare_queue(self, policy: QueuePolicy) -> None:
        """Create or update the queue and its DLQ as :meth:`put_queue` does, except that a
        dead-letter target set through the SQS API (a RedrivePolicy), with its max receives,
        stays unless ``policy`` names a target: an app re-declaring its queues at start does
        not undo what SQS clients set."""
        store = cast("Store", self)
        validate_queue_name(policy.name)
        with store._driver.write() as db:
            store._sql(db, "put_queue", policy_row(policy, keep_target=True))
            store._sql(db, "put_queue", policy_row(policy.dlq))
        store._policies_read_at = None  # read back what the database kept

    def sqs_queue(self, name: str) -> tuple[QueuePolicy, SqsQueue | None]:
        """The queue's policy and SQS record (None for a queue declared by sluice), or
        ``UnknownQueue``: the one lookup of an SQS request. Both are copies re-read once
        ``POLICY_TTL`` old on the store's clock (a change by this process is seen at once,
        by another within that time), so most requests read no database here."""
        store = cast("Store", self)
        policy = store.policy(name)
        now = store.clock()
        cached = store._sqs_records.get(name)
        if cached is not None and cached[0] <= now < cached[0] + POLICY_TTL:
            return policy, cached[1]
        record = self.sqs_queues([name]).get(name)
        if len(store._sqs_records) > MAX_CACHED:
            store._sqs_records.clear()
        store._sqs_records[name] = (now, record)
        return policy, record

    def sqs_queues(self, names: Sequence[str]) -> dict[str, SqsQueue]:
        """The SQS records of these queues (queues declared by sluice itself have none)."""
        store = cast("Store", self)
        with store._driver.read() as db:
            rows = store._sql(db, "sqs_queue_get", {"names": list(names)})
        return {row[0]: _sqs_queue(row) for row in rows}

    def drop_queue(self, name: str) -> int:
        """Delete the queue, its DLQ, their messages and SQS record; return how many messages
        went. ``UnknownQueue`` if there is no such queue."""
        store = cast("Store", self)
        policy = store.policy(name)
        gone = housekeeping.purge(store, policy.dlq.name) + housekeeping.purge(store, name)
        with store._driver.write() as db:
            for queue in (name, policy.dlq.name):
                for query in ("groups_drop", "dedup_drop", "queue_drop"):
                    store._sql(db, query, {"name": queue})
            store._sql(db, "sqs_queue_forget", {"name": name})
        store._sqs_records.pop(name, None)
        store._policies.pop(name, None)
        store._policies.pop(policy.dlq.name, None)
        store._policies_read_at = None
        return gone


def _sqs_queue(row: Any) -> SqsQueue:
    name, attributes, tags, created_at, updated_at = row
    return SqsQueue(
        name, codec.loads(attributes), codec.loads(tags), float(created_at), float(updated_at)
    )


class SqsVerbs(SqsQueueVerbs, SqsMessageVerbs, SqsMoveVerbs):
    """Every store verb of the SQS API (one base of :class:`~sluice.store.base.Store`)."""
