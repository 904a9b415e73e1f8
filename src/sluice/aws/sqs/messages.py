"""SQS message operations: send, receive (with long polling), delete, change visibility.

A body sent through SQS is stored as a JSON string, so a sluice action gets it as ``str``; a
body enqueued by sluice is received through SQS as its JSON text."""

from __future__ import annotations

import hashlib
from typing import Any, NamedTuple

from sluice.aws.errors import AwsError, invalid_parameter, receipt_handle_invalid
from sluice.aws.identity import queue_tag, receipt_handle
from sluice.aws.sqs import md5
from sluice.aws.sqs.names import Found, find_of, queue_arn
from sluice.aws.wire import Call, in_thread
from sluice.errors import MessageTooLarge
from sluice.model import Message, NewMessage, QueuePolicy, Receipt

ACTION_ATTRIBUTE = "sluice-action"
MAX_WAIT = 20
MAX_VISIBILITY = 43200
WAIT_SLICE = 1.0
"""Seconds a long poll waits at most before claiming again, so a message whose visibility
timeout ends during the poll is picked up within that time (waits wake on new messages)."""
NO_DEDUP_ID = (
    "The queue should either have ContentBasedDeduplication enabled or "
    "MessageDeduplicationId provided explicitly"
)
TRACE = "AWSTraceHeader"
TRACE_KEY = "$" + TRACE
"""Where the trace header is kept among a message's stored attributes (no attribute name
starts with ``$``)."""


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


def prepare(call: Call, found: Found, entry: dict[str, Any]) -> Prepared:
    """The message of one SendMessage (or batch entry) and the digests to answer with."""
    policy, settings = found.policy, found.settings
    limit = settings.max_size or policy.max_message_bytes
    body = md5.check_body(entry.get("MessageBody"), limit)
    message_attributes = md5.parse_attributes(entry.get("MessageAttributes"))
    md5.check_size(body, message_attributes, limit)
    trace = md5.parse_trace(entry.get("MessageSystemAttributes"))
    delay = entry.get("DelaySeconds", settings.delay)
    if isinstance(delay, bool) or not isinstance(delay, int) or not 0 <= delay <= 900:
        raise invalid_parameter(
            f"Value {delay!r} for parameter DelaySeconds is invalid. Reason: DelaySeconds must "
            "be >= 0 and <= 900."
        )
    group, dedup = _fifo_ids(policy, settings.content_dedup, entry, body, delay)
    message = NewMessage(
        queue=policy.name,
        body=body,
        action=_action(call, policy, message_attributes),
        group=group,
        dedup_id=dedup,
        delay=float(delay),
    )
    digests = {"MD5OfMessageBody": md5.md5_of_body(body)}
    kept: dict[str, Any] = dict(message_attributes)
    if message_attributes:
        digests["MD5OfMessageAttributes"] = md5.md5_of_attributes(message_attributes)
    if trace is not None:
        digests["MD5OfMessageSystemAttributes"] = md5.md5_of_attributes({TRACE: trace})
        kept[TRACE_KEY] = trace
    stored = (kept, digests.get("MD5OfMessageAttributes", "")) if kept else None
    return Prepared(message, digests, stored)


def _fifo_ids(
    policy: QueuePolicy, content_dedup: bool, entry: dict[str, Any], body: str, delay: int
) -> tuple[str | None, str | None]:
    """A FIFO message's group and deduplication ids (refusing them on a standard queue)."""
    group = entry.get("MessageGroupId")
    dedup = entry.get("MessageDeduplicationId")
    if not policy.fifo:
        if dedup:  # refused, as SQS does; a group id is accepted (SQS's fair queues), ignored
            raise invalid_parameter(
                f"Value {str(dedup)[:128]} for parameter MessageDeduplicationId is invalid. "
                "Reason: The request includes a parameter that is not valid for this queue type."
            )
        return None, None
    if not isinstance(group, str) or not group:
        raise AwsError(
            "MissingParameter",
            "MissingParameter",
            "The request must contain the parameter MessageGroupId.",
        )
    if "DelaySeconds" in entry and delay:  # a FIFO queue delays per queue only (AWS's text)
        raise invalid_parameter(
            f"Value {delay} for parameter DelaySeconds is invalid. Reason: The request include "
            "parameter that is not valid for this queue type."
        )
    if dedup is None and not content_dedup:
        raise invalid_parameter(NO_DEDUP_ID)
    if dedup is None:
        dedup = hashlib.sha256(body.encode()).hexdigest()
    return group, str(dedup)


class Prepared(NamedTuple):
    """A message to send, the digests to answer with, its attributes and their MD5."""

    message: NewMessage
    digests: dict[str, str]
    attributes: tuple[dict[str, Any], str] | None


def enqueue(call: Call, prepared: list[Prepared]) -> list[str]:
    """Store the messages with their attributes in one transaction; their MessageIds."""
    try:
        done = call.app.store.sqs_enqueue(
            [p.message for p in prepared], [p.attributes for p in prepared]
        )
    except MessageTooLarge as exc:
        raise invalid_parameter(f"One or more parameters are invalid. Reason: {exc}") from None
    return [str(d.id) for d in done]


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
    assert message.receipt is not None
    record: dict[str, Any] = {
        "MessageId": str(message.id),
        "ReceiptHandle": receipt_handle(message.receipt, message.queue),
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


def _receive_params(params: dict[str, Any], found: Found) -> tuple[int, float | None, int]:
    """MaxNumberOfMessages, the lease (None: the queue's) and WaitTimeSeconds of a receive."""
    n = _int(params, "MaxNumberOfMessages", 1, 1, 10)
    lease: float | None = None
    if params.get("VisibilityTimeout") is not None:
        lease = float(_int(params, "VisibilityTimeout", 30, 0, MAX_VISIBILITY)) or 0.001
    return n, lease, _int(params, "WaitTimeSeconds", found.settings.wait, 0, MAX_WAIT)


def _claim(
    call: Call, params: dict[str, Any], name: str, n: int, lease: float | None
) -> list[dict[str, Any]]:
    """Claim up to ``n`` messages of ``name`` and answer them as records (one worker-thread
    hop for both)."""
    return records_of(call, params, call.app.store.claim([name], n, lease, n))


class Receive(NamedTuple):
    """A ReceiveMessage's queue, its checked parameters and its first claim's records."""

    found: Found
    n: int
    lease: float | None
    wait: int
    records: list[dict[str, Any]]


def receive_params(call: Call, params: dict[str, Any]) -> Receive:
    """A ReceiveMessage checked, before its first claim (no records yet)."""
    found = find_of(call, params)
    n, lease, wait = _receive_params(params, found)
    return Receive(found, n, lease, wait, [])


def wait_and_claim(
    call: Call, params: dict[str, Any], name: str, n: int, lease: float | None, left: float
) -> list[dict[str, Any]]:
    """Wait for work (at most a slice of the poll), then claim: one hop for both."""
    call.app.store.wait_for_work([name], min(left, WAIT_SLICE))
    return _claim(call, params, name, n, lease)


def records_of(call: Call, params: dict[str, Any], got: list[Message]) -> list[dict[str, Any]]:
    """The SQS records of claimed messages, as ``params`` asks for them."""
    if not got:
        return []
    wanted = {str(a) for a in (params.get("AttributeNames") or [])}
    wanted |= {str(a) for a in (params.get("MessageSystemAttributeNames") or [])}
    now = call.app.store.clock()
    records = [_record(call, m, wanted, now) for m in got]
    names = [str(a) for a in (params.get("MessageAttributeNames") or [])]
    trace = "All" in wanted or TRACE in wanted
    if names or trace:
        found = call.app.store.sqs_attributes([m.id for m in got])
        for record, message in zip(records, got, strict=True):
            attributes = found.get(message.id, ({}, ""))[0]
            if trace and TRACE_KEY in attributes:
                record.setdefault("Attributes", {})[TRACE] = attributes[TRACE_KEY]["StringValue"]
            _add_attributes(record, attributes, names)
    return records


def _add_attributes(record: dict[str, Any], attributes: dict[str, Any], names: list[str]) -> None:
    """The message attributes asked for (``All``, ``.*``, a name or a ``prefix.*``) and the
    MD5 of those returned, which clients check."""
    every = "All" in names or ".*" in names
    prefixes = tuple(n[:-2] for n in names if n.endswith(".*"))
    shown = {
        k: v
        for k, v in attributes.items()
        if not k.startswith("$")
        and (every or k in names or (bool(prefixes) and k.startswith(prefixes)))
    }
    if shown:
        record["MessageAttributes"] = shown
        record["MD5OfMessageAttributes"] = md5.md5_of_attributes(shown)


def receipt_of(handle: object, queue: str) -> Receipt:
    """The receipt a handle of ``queue`` names, or ReceiptHandleIsInvalid."""
    if not isinstance(handle, str) or not handle:
        raise AwsError(
            "MissingParameter",
            "MissingParameter",
            "The request must contain the parameter ReceiptHandle.",
        )
    text, _, tag = handle.rpartition(":")
    try:
        receipt = Receipt.parse(text)
    except ValueError:
        receipt = None
    if receipt is None or receipt.message_id <= 0 or not receipt.token or ":" in receipt.token:
        raise receipt_handle_invalid(f"{handle[:60]!r} is not a receipt handle sluice issued")
    if tag != queue_tag(queue):
        raise receipt_handle_invalid(f"the handle was not issued by queue {queue!r}")
    return receipt


def stale_error(call: Call, receipt: Receipt) -> AwsError | None:
    """Why a stale receipt changed nothing: None if its message is gone (a repeated delete
    succeeds, as on SQS), ReceiptHandleIsInvalid if the message is held under another."""
    if not call.app.store.get([receipt.message_id]):
        return None
    return receipt_handle_invalid(
        "the message was received again since (or the handle is forged): nothing changed"
    )


def delete(call: Call, queue: str, receipts: list[Receipt]) -> list[AwsError | None]:
    stale = set(call.app.store.sqs_delete(receipts, queue))
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


def _change_one(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    found = find_of(call, params)
    receipt = receipt_of(params.get("ReceiptHandle"), found.policy.name)
    timeout = _int(params, "VisibilityTimeout", -1, 0, MAX_VISIBILITY)
    [error] = change_visibility(call, [receipt], timeout)
    if error is not None:
        raise error
    return {}


async def change_message_visibility(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    return await in_thread(_change_one, call, params)


__all__ = ["queue_arn"]
