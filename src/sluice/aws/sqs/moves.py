"""SQS message move tasks (DLQ redrive): StartMessageMoveTask, ListMessageMoveTasks,
CancelMessageMoveTask. A task runs in the serving process's
:class:`~sluice.aws.sqs.movers.MoveTasks` service; its record and progress live in the
store."""

from __future__ import annotations

import secrets
from typing import Any

from sluice.aws.errors import AwsError, invalid_parameter
from sluice.aws.sqs.movers import MoveTasks
from sluice.aws.sqs.names import name_of_arn, policy_named, queue_arn
from sluice.aws.wire import Call, in_thread
from sluice.store.sqs_moves import MoveTask

MAX_RATE = 500


async def start_message_move_task(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    source = name_of_arn(params.get("SourceArn"), "SourceArn")
    await policy_named(call, source)
    destination = params.get("DestinationArn")
    target = None if destination is None else name_of_arn(destination, "DestinationArn")
    if target is not None:
        await policy_named(call, target)
    rate = params.get("MaxNumberOfMessagesPerSecond")
    if rate is not None and (
        isinstance(rate, bool) or not isinstance(rate, int) or not 1 <= rate <= MAX_RATE
    ):
        raise invalid_parameter(f"MaxNumberOfMessagesPerSecond must be from 1 to {MAX_RATE}")
    handle = secrets.token_urlsafe(24)
    store = call.app.store
    task = await in_thread(store.sqs_move_start, handle, source, target, rate)
    if task is None:
        raise AwsError(
            "UnsupportedOperation",
            "AWS.SimpleQueueService.UnsupportedOperation",
            f"a message move task is already running on {source!r}",
        )
    movers = call.loops["sqs-moves"]
    assert isinstance(movers, MoveTasks)
    movers.add(task)
    return {"TaskHandle": handle}


def _view(call: Call, task: MoveTask) -> dict[str, Any]:
    view: dict[str, Any] = {
        "TaskHandle": task.handle,
        "Status": task.status,
        "SourceArn": queue_arn(call, task.source),
        "ApproximateNumberOfMessagesMoved": task.moved,
        "ApproximateNumberOfMessagesToMove": task.to_move,
        "StartedTimestamp": int(task.started_at * 1000),
    }
    if task.destination is not None:
        view["DestinationArn"] = queue_arn(call, task.destination)
    if task.rate is not None:
        view["MaxNumberOfMessagesPerSecond"] = task.rate
    return view


async def list_message_move_tasks(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    source = name_of_arn(params.get("SourceArn"), "SourceArn")
    await policy_named(call, source)
    n = params.get("MaxResults", 1)
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 10:
        raise invalid_parameter("MaxResults must be from 1 to 10")
    tasks = await in_thread(call.app.store.sqs_move_tasks, source, n)
    return {"Results": [_view(call, t) for t in tasks]}


async def cancel_message_move_task(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    handle = params.get("TaskHandle")
    if not isinstance(handle, str) or not handle:
        raise invalid_parameter("TaskHandle is required")
    task = await in_thread(call.app.store.sqs_move_cancel, handle)
    if task is None:
        raise AwsError(
            "ResourceNotFoundException",
            "ResourceNotFoundException",
            "no running message move task has this TaskHandle",
        )
    return {"ApproximateNumberOfMessagesMoved": task.moved}
