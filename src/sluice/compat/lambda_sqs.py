"""Run an AWS-Lambda-shaped SQS handler unchanged as a sluice batch action.

The handler gets ``event = {"Records": [...]}`` with one SQS record per message, the fields
Lambda passes (``body`` is the text sent through the SQS API, or the JSON text of a body
enqueued by sluice; ``messageId`` the id as a string), and a small context
object. It may return ``{"batchItemFailures": [{"itemIdentifier": id}, ...]}``: only those
messages are retried (SQS's ReportBatchItemFailures); raising fails the whole batch.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sluice.aws.identity import account, queue_arn, receipt_handle, region
from sluice.aws.sqs.md5 import body_text, md5_of_body
from sluice.model import Message, Partial
from sluice.worker.context import Context

LambdaHandler = Callable[[dict[str, Any], Any], Any]


@dataclass(frozen=True)
class LambdaContext:
    """The parts of Lambda's context object that handlers commonly read."""

    function_name: str
    aws_request_id: str
    deadline: float

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


def to_record(
    message: Message, attributes: Mapping[str, Mapping[str, str]] | None = None
) -> dict[str, Any]:
    """The SQS event record Lambda would pass for a message: ``body`` is the text sent
    through SQS (a body enqueued by sluice: its JSON text), ``attributes`` the message's SQS
    message attributes if it has any."""
    body = body_text(message)
    now = int(time.time() * 1000)
    return {
        "messageId": str(message.id),
        "receiptHandle": receipt_handle(message.receipt, message.queue) if message.receipt else "",
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": str(message.receive_count),
            "SentTimestamp": str(int(message.enqueued_at * 1000)),
            "SenderId": account(),
            "ApproximateFirstReceiveTimestamp": str(now),
            "MessageGroupId": message.group or "",
            "MessageDeduplicationId": message.dedup_id or "",
        },
        "messageAttributes": {
            name: _lambda_attribute(value)
            for name, value in (attributes or {}).items()
            if not name.startswith("$")  # kept beside them: the AWSTraceHeader
        },
        "md5OfBody": md5_of_body(body),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn(message.queue),
        "awsRegion": region(),
    }


def _lambda_attribute(value: Mapping[str, str]) -> dict[str, Any]:
    """A message attribute as Lambda spells it (lower camel case, list fields empty)."""
    shaped: dict[str, Any] = {
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": value["DataType"],
    }
    if "BinaryValue" in value:
        shaped["binaryValue"] = value["BinaryValue"]
    else:
        shaped["stringValue"] = value["StringValue"]
    return shaped


def lambda_sqs_handler(
    fn: LambdaHandler, timeout: float = 900.0
) -> Callable[[list[Message], Context], Partial | None]:
    """Wrap ``fn(event, context)`` as a batch handler: register the result with
    ``app.action(batch_size=10, ...)``."""

    def handler(messages: list[Message], ctx: Context) -> Partial | None:
        found = ctx.app.store.sqs_attributes([m.id for m in messages])
        empty: tuple[dict[str, Any], str] = ({}, "")
        event = {"Records": [to_record(m, found.get(m.id, empty)[0]) for m in messages]}
        context = LambdaContext(
            function_name=getattr(fn, "__name__", "handler"),
            aws_request_id=ctx.idempotency_key,
            deadline=time.monotonic() + timeout,
        )
        result = fn(event, context)
        failures = (result or {}).get("batchItemFailures") if isinstance(result, dict) else None
        if not failures:
            return None
        by_id = {str(m.id): m.id for m in messages}
        failed = {
            by_id[str(item["itemIdentifier"])]: "reported in batchItemFailures"
            for item in failures
            if str(item.get("itemIdentifier")) in by_id
        }
        return Partial(failed=failed)

    handler.__name__ = getattr(fn, "__name__", "lambda_handler")
    handler.__doc__ = fn.__doc__
    return handler
