"""SQS message operations: send, receive (with long polling), delete, change visibility.

A body sent through SQS is stored as a JSON string, so a sluice action gets it as ``str``; a
body enqueued by sluice is received through SQS as its JSON text."""

from __future__ import annotations

import hashlib
import time
from typing import Any, NamedTuple

from starlette.concurrency import run_in_threadpool

from sluice.aws.errors import AwsError, invalid_parameter, receipt_handle_invalid
from sluice.aws.sqs import md5
from sluice.aws.sqs.names import Settings, policy_of, queue_arn, settings_of
from sluice.aws.wire import Call
from sluice.errors import MessageTooLarge
from sluice.model import Message, NewMessage, QueuePolicy, Receipt

ACTION_ATTRIBUTE = "sluice-action"
MAX_WAIT = 20
MAX_VISIBILITY = 43200


def _action(call: Call, policy: QueuePolicy, attributes: dict[str, dict[str, str]]) -> str:
    """The sluice action a message runs: ``sluice-action`` or the queue's only action."""
    named = attributes.get(ACTION_ATTRIBUTE, {}).get("StringValue")
    consumers = sorted(n for n, a in call.app.actions.items() if a.policy.queue == policy.name)
    if named is not None:
        if named not in consumers:
            raise invalid_parameter(
                f"message attribute {ACTION_ATTRIBUTE}={named[:80]!r} names no action of queue "
                f"{policy.name!r} (its actions: {', '.join(consumers) or 'none'})"
            )
        return named
    if len(consumers) > 1:
        raise invalid_parameter(
            f"queue {policy.name!r} has several actions ({', '.join(consumers)}): name one in "
            f"the message attribute {ACTION_ATTRIBUTE}"
        )
    return consumers[0] if consumers else ""


def prepare(call: Call, policy: QueuePolicy, settings: Settings, entry: dict[str, Any]) -> Prepared:
    """The message of one SendMessage (or batch entry) and the digests to answer with."""
    limit = settings.max_size or policy.max_message_bytes
    body = md5.check_body(entry.get("MessageBody"), limit)
    message_attributes = md5.parse_attributes(entry.get("MessageAttributes"))
    delay = entry.get("DelaySeconds", settings.delay)
    if not isinstance(delay, int) or not 0 <= delay <= 900:
        raise invalid_parameter("DelaySeconds must be an integer from 0 to 900")
    group = entry.get("MessageGroupId")
    dedup = entry.get("MessageDeduplicationId")
    if policy.fifo:
        if not isinstance(group, str) or not group:
            raise AwsError(
                "MissingParameter",
                "MissingParameter",
                "The request must contain the parameter MessageGroupId.",
            )
        if "DelaySeconds" in entry and delay:
            raise invalid_parameter("DelaySeconds is per queue for FIFO queues, not per message")
        if dedup is None and not settings.content_dedup:
            raise invalid_parameter(
                "The queue should either have ContentBasedDeduplication enabled or "
                "MessageDeduplicationId provided explicitly"
            )
        if dedup is None:
            dedup = hashlib.sha256(body.encode()).hexdigest()
    elif group is not None or dedup is not None:
        raise invalid_parameter(
            "MessageGroupId and MessageDeduplicationId are for FIFO queues (*.fifo) only"
        )
    message = NewMessage(
        queue=policy.name,
        body=body,
        action=_action(call, policy, message_attributes),
        group=group,
        dedup_id=dedup,
        delay=float(delay),
    )
    digests = {"MD5OfMessageBody": md5.md5_of_body(body)}
    kept = None
    if message_attributes:
        digests["MD5OfMessageAttributes"] = md5.md5_of_attributes(message_attributes)
        kept = (message_attributes, digests["MD5OfMessageAttributes"])
    return Prepared(message, digests, kept)


class Prepared(NamedTuple):
    """A message to send, the digests to answer with, its attributes and their MD5."""

    message: NewMessage
    digests: dict[str, str]
    attributes: tuple[dict[str, dict[str, str]], str] | None


def enqueue(call: Call, prepared: list[Prepared]) -> list[str]:
    """Store the messages with their attributes in one transaction; their MessageIds."""
    try:
        done = call.app.store.sqs_enqueue(
            [p.message for p in prepared], [p.attributes for p in prepared]
        )
    except MessageTooLarge as exc:
        raise invalid_parameter(f"One or more parameters are invalid. Reason: {exc}") from None
    return [str(d.id) for d in done]


async def send_message(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    policy = await policy_of(call, params)
    prepared = prepare(call, policy, await settings_of(call, policy), params)
    [message_id] = await run_in_threadpool(enqueue, call, [prepared])
    answer: dict[str, Any] = {"MessageId": message_id, **prepared.digests}
    if policy.fifo:
        answer["SequenceNumber"] = message_id.zfill(20)
    return answer


def _record(call: Call, message: Message, wanted: set[str], now: float) -> dict[str, Any]:
    body = md5.body_text(message)
    system = {
        "ApproximateReceiveCount": str(message.receive_count),
        "SentTimestamp": str(int(message.enqueued_at * 1000)),
        "ApproximateFirstReceiveTimestamp": str(int(now * 1000)),
        "SenderId": call.principal.name,
    }
    if message.group is not None and message.queue.endswith(".fifo"):
        system["MessageGroupId"] = message.group
        system["SequenceNumber"] = str(message.id).zfill(20)
        if message.dedup_id is not None:
            system["MessageDeduplicationId"] = message.dedup_id
    record: dict[str, Any] = {
        "MessageId": str(message.id),
        "ReceiptHandle": str(message.receipt),
        "MD5OfBody": md5.md5_of_body(body),
        "Body": body,
    }
    shown = {k: v for k, v in system.items() if "All" in wanted or k in wanted}
    if shown:
        record["Attributes"] = shown
    return record


def _int(params: dict[str, Any], name: str, default: int, low: int, high: int) -> int:
    value = params.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise invalid_parameter(
            f"Value {value!r} for parameter {name} is invalid. Reason: "
            f"must be an integer from {low} to {high}."
        )
    return value


async def receive_message(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    policy = await policy_of(call, params)
    n = _int(params, "MaxNumberOfMessages", 1, 1, 10)
    lease = params.get("VisibilityTimeout")
    if lease is not None:
        lease = float(_int(params, "VisibilityTimeout", 30, 0, MAX_VISIBILITY)) or 0.001
    settings = await settings_of(call, policy)
    wait = _int(params, "WaitTimeSeconds", settings.wait, 0, MAX_WAIT)
    wanted = {str(a) for a in (params.get("AttributeNames") or [])}
    wanted |= {str(a) for a in (params.get("MessageSystemAttributeNames") or [])}
    store = call.app.store
    deadline = time.monotonic() + wait
    while True:
        got = await run_in_threadpool(store.claim, [policy.name], n, lease, n)
        left = deadline - time.monotonic()
        if got or left <= 0:
            break
        await run_in_threadpool(store.wait_for_work, [policy.name], left)
    if not got:
        return {}
    now = store.clock()
    records = [_record(call, m, wanted, now) for m in got]
    names = [str(a) for a in (params.get("MessageAttributeNames") or [])]
    if names:
        found = await run_in_threadpool(store.sqs_attributes, [m.id for m in got])
        for record, message in zip(records, got, strict=True):
            _add_attributes(record, found.get(message.id, ({}, ""))[0], names)
    return {"Messages": records}


def _add_attributes(record: dict[str, Any], attributes: dict[str, Any], names: list[str]) -> None:
    """The message attributes asked for (``All``, ``.*``, a name or a ``prefix.*``) and the
    MD5 of those returned, which clients check."""
    every = "All" in names or ".*" in names
    prefixes = tuple(n[:-1] for n in names if n.endswith(".*"))
    shown = {
        k: v
        for k, v in attributes.items()
        if every or k in names or (bool(prefixes) and k.startswith(prefixes))
    }
    if shown:
        record["MessageAttributes"] = shown
        record["MD5OfMessageAttributes"] = md5.md5_of_attributes(shown)


def receipt_of(handle: object) -> Receipt:
    """The receipt a handle names, or ReceiptHandleIsInvalid."""
    if not isinstance(handle, str) or not handle:
        raise AwsError(
            "MissingParameter",
            "MissingParameter",
            "The request must contain the parameter ReceiptHandle.",
        )
    try:
        receipt = Receipt.parse(handle)
    except ValueError:
        receipt = None
    if receipt is None or receipt.message_id <= 0 or not receipt.token:
        raise receipt_handle_invalid(f"{handle[:60]!r} is not a receipt handle sluice issued")
    return receipt


def stale_error(call: Call, receipt: Receipt) -> AwsError | None:
    """Why a stale receipt changed nothing: None if its message is gone (a repeated delete
    succeeds, as on SQS), ReceiptHandleIsInvalid if the message is held under another."""
    if not call.app.store.get([receipt.message_id]):
        return None
    return receipt_handle_invalid(
        "the message was received again since (or the handle is forged): nothing changed"
    )


def delete(call: Call, receipts: list[Receipt]) -> list[AwsError | None]:
    stale = set(call.app.store.sqs_delete(receipts))
    return [stale_error(call, r) if r in stale else None for r in receipts]


def change_visibility(call: Call, receipts: list[Receipt], timeout: int) -> list[AwsError | None]:
    store = call.app.store
    # extend, not release, at 0 too: on SQS the receive still counts towards maxReceiveCount
    stale = set(store.extend(receipts, timeout))
    return [
        AwsError(
            "MessageNotInflight",
            "AWS.SimpleQueueService.MessageNotInflight",
            "The message is not in flight under this receipt handle.",
        )
        if r in stale
        else None
        for r in receipts
    ]


async def delete_message(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    await policy_of(call, params)
    receipt = receipt_of(params.get("ReceiptHandle"))
    [error] = await run_in_threadpool(delete, call, [receipt])
    if error is not None:
        raise error
    return {}


async def change_message_visibility(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    await policy_of(call, params)
    receipt = receipt_of(params.get("ReceiptHandle"))
    timeout = _int(params, "VisibilityTimeout", -1, 0, MAX_VISIBILITY)
    [error] = await run_in_threadpool(change_visibility, call, [receipt], timeout)
    if error is not None:
        raise error
    return {}


__all__ = ["queue_arn"]
