"""Run an AWS-Lambda-shaped SQS handler unchanged as a sluice batch action.

The handler gets ``event = {"Records": [...]}`` with one SQS-like record per message (``body``
is the JSON text of the message body, ``messageId`` its id as a string) and a small context
object. It may return ``{"batchItemFailures": [{"itemIdentifier": id}, ...]}``: only those
messages are retried (SQS's ReportBatchItemFailures); raising fails the whole batch.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sluice import codec
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


def to_record(message: Message) -> dict[str, Any]:
    """An SQS event record for a message."""
    return {
        "messageId": str(message.id),
        "receiptHandle": str(message.receipt) if message.receipt else "",
        "body": codec.dumps(message.body).decode(),
        "attributes": {
            "ApproximateReceiveCount": str(message.receive_count),
            "SentTimestamp": str(int(message.enqueued_at * 1000)),
            "MessageGroupId": message.group or "",
            "MessageDeduplicationId": message.dedup_id or "",
        },
        "messageAttributes": {},
        "eventSource": "sluice:queue",
        "eventSourceARN": f"sluice:queue:{message.queue}",
    }


def lambda_sqs_handler(
    fn: LambdaHandler, timeout: float = 900.0
) -> Callable[[list[Message], Context], Partial | None]:
    """Wrap ``fn(event, context)`` as a batch handler: register the result with
    ``app.action(batch_size=10, ...)``."""

    def handler(messages: list[Message], ctx: Context) -> Partial | None:
        event = {"Records": [to_record(m) for m in messages]}
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
