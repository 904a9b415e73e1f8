"""Small helpers for the conformance suite."""

from __future__ import annotations

from typing import Any

from sluice.model import Message, NewMessage, Outcome, QueuePolicy
from sluice.store import Store


def declare(store: Store, name: str = "q", **policy: Any) -> QueuePolicy:
    queue = QueuePolicy(name, **policy)
    store.put_queue(queue)
    return queue


def put(store: Store, queue: str, *bodies: Any, **fields: Any) -> list[int]:
    results = store.enqueue([NewMessage(queue, body, action="act", **fields) for body in bodies])
    return [r.id for r in results]


def ack_all(store: Store, messages: list[Message]) -> None:
    stale = store.complete([Outcome.ack(m.receipt) for m in messages if m.receipt])
    assert stale == []


def overwrite_body(store: Store, message_id: int, text: str) -> None:
    """Write ``text`` as a message's stored body with raw SQL, as another program (or an older
    sluice) could have left it."""
    mark = "?" if store.url.startswith("sqlite") else "%s"
    with store.begin() as db:
        db.execute(
            f"UPDATE sluice_messages SET body = {mark} WHERE id = {mark}", (text, message_id)
        )


def nested(levels: int) -> list[object]:
    """A body of ``levels`` nested arrays (``[]`` is 1 level)."""
    body: list[object] = []
    for _ in range(levels - 1):
        body = [body]
    return body
