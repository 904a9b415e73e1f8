"""Message move tasks (DLQ redrive) through boto3 on both stores."""

from __future__ import annotations

import time
from typing import Any

import pytest


def _arn(sqs: Any, url: str) -> str:
    found = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    return str(found["Attributes"]["QueueArn"])


def _wait_status(sqs: Any, source: str, wanted: set[str]) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while True:
        [task] = sqs.list_message_move_tasks(SourceArn=source)["Results"]
        if task["Status"] in wanted or time.monotonic() > deadline:
            return dict(task)
        time.sleep(0.05)


def _dead_letter(sqs: Any, url: str, n: int) -> None:
    for i in range(n):
        sqs.send_message(QueueUrl=url, MessageBody=f"m{i}")
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    for m in got:
        sqs.change_message_visibility(
            QueueUrl=url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0
        )
    assert sqs.receive_message(QueueUrl=url).get("Messages") is None


def test_move_back_to_the_sources_without_destination(sqs: Any) -> None:
    dead = sqs.create_queue(QueueName="dlq1")["QueueUrl"]
    redrive = f'{{"deadLetterTargetArn": "{_arn(sqs, dead)}", "maxReceiveCount": 1}}'
    src = sqs.create_queue(QueueName="src1", Attributes={"RedrivePolicy": redrive})["QueueUrl"]
    _dead_letter(sqs, src, 3)
    handle = sqs.start_message_move_task(SourceArn=_arn(sqs, dead))["TaskHandle"]
    task = _wait_status(sqs, _arn(sqs, dead), {"COMPLETED"})
    assert (task["TaskHandle"], task["Status"]) == (handle, "COMPLETED")
    assert task["ApproximateNumberOfMessagesMoved"] == 3
    back = sqs.receive_message(QueueUrl=src, MaxNumberOfMessages=10)["Messages"]
    assert sorted(m["Body"] for m in back) == ["m0", "m1", "m2"]


def test_move_to_a_destination_at_a_rate_and_cancel(sqs: Any) -> None:
    dead = sqs.create_queue(QueueName="dlq2")["QueueUrl"]
    other = sqs.create_queue(QueueName="other2")["QueueUrl"]
    for i in range(5):
        sqs.send_message(QueueUrl=dead, MessageBody=f"d{i}")
    source = _arn(sqs, dead)
    handle = sqs.start_message_move_task(
        SourceArn=source, DestinationArn=_arn(sqs, other), MaxNumberOfMessagesPerSecond=1
    )["TaskHandle"]
    with pytest.raises(sqs.exceptions.ClientError):
        sqs.start_message_move_task(SourceArn=source)  # one task per source at a time
    moved = sqs.cancel_message_move_task(TaskHandle=handle)["ApproximateNumberOfMessagesMoved"]
    task = _wait_status(sqs, source, {"CANCELLED"})
    assert task["Status"] == "CANCELLED"
    assert moved <= task["ApproximateNumberOfMessagesMoved"] < 5
    with pytest.raises(sqs.exceptions.ResourceNotFoundException):
        sqs.cancel_message_move_task(TaskHandle=handle)
