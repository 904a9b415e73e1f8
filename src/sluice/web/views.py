"""The JSON shapes the API answers with (the OpenAPI schemas in ``openapi.py`` match them)."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from sluice import codec
from sluice.model import Message, QueuePolicy, QueueStats, is_dlq

if TYPE_CHECKING:
    from sluice.store import Store


def message_view(message: Message, now: float) -> dict[str, Any]:
    """A stored message; ``dead`` when it sits in a DLQ, ``visible`` when it can be claimed.
    A body that cannot be shown (undecodable, or too deep: rows of older versions) is null,
    with ``body_error`` saying why, so one such message never breaks a listing."""
    body, body_error = codec.shown(message.body)
    return {
        "id": message.id,
        "queue": message.queue,
        "action": message.action,
        "body": body,
        "body_error": body_error,
        "group": message.group,
        "dedup_id": message.dedup_id,
        "run_id": message.run_id,
        "receive_count": message.receive_count,
        "enqueued_at": message.enqueued_at,
        "visible_at": message.visible_at,
        "visible": message.visible_at <= now,
        "dead": is_dlq(message.queue),
        "dead_reason": message.dead_reason,
        "source_queue": message.source_queue,
        "last_error": message.last_error,
        "attempts": [
            {"at": a.at, "receive": a.receive, "error": a.error} for a in message.attempts
        ],
    }


def status_view(store: Store, message_id: int) -> dict[str, Any]:
    """A message's status (``Store.status``: ``state``, ``finished_at``, ``result``, ...)
    and, while it is stored, the message itself (body, attempts, ...); ``UnknownMessage``
    for an id with neither."""
    status = store.status(message_id)
    found = store.get([message_id]) if status.expires_at is None else []
    shown = message_view(found[0], store.clock()) if found else {}
    return {**status.to_dict(), **shown}


def policy_view(policy: QueuePolicy) -> dict[str, Any]:
    return dataclasses.asdict(policy)


def stats_view(stats: QueueStats, policy: QueuePolicy) -> dict[str, Any]:
    return {**dataclasses.asdict(stats), "fifo": policy.fifo}
