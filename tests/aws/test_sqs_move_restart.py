"""A message move task outlives its server: ``sluice serve`` is SIGKILLed in the middle of a
slow task, a new server adopts the task from the store and ends it, and every message is moved
exactly once."""

from __future__ import annotations

import signal
import subprocess
import time
from typing import Any

import boto3
from botocore.config import Config

from tests.aws.test_sqs_moves import _arn
from tests.web.test_serve import _free_port, _serve, _wait_healthy

MESSAGES = 8
RATE = 2


def _started(url: str) -> tuple[subprocess.Popen[str], Any]:
    port = _free_port()
    process = _serve(url, "--port", str(port), "--log-level", "warning")
    base = f"http://127.0.0.1:{port}"
    _wait_healthy(base, process)
    sqs = boto3.client(
        "sqs",
        endpoint_url=base,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1}),
    )
    return process, sqs


def _task(sqs: Any, source: str) -> dict[str, Any]:
    [task] = sqs.list_message_move_tasks(SourceArn=source)["Results"]
    return dict(task)


def _wait(sqs: Any, source: str, done: Any) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        task = _task(sqs, source)
        if done(task):
            return task
        assert time.monotonic() < deadline, task
        time.sleep(0.05)


def _drain(sqs: Any, queue: str) -> list[str]:
    bodies: list[str] = []
    while True:
        got = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, VisibilityTimeout=300)
        if not got.get("Messages"):
            return bodies
        bodies += [m["Body"] for m in got["Messages"]]


def test_a_new_server_ends_the_task_of_a_killed_one(url: str) -> None:
    first, sqs = _started(url)
    try:
        dead = sqs.create_queue(QueueName="dead")["QueueUrl"]
        to = sqs.create_queue(QueueName="to")["QueueUrl"]
        entries = [{"Id": str(i), "MessageBody": f"m{i}"} for i in range(MESSAGES)]
        assert not sqs.send_message_batch(QueueUrl=dead, Entries=entries).get("Failed")
        source = _arn(sqs, dead)
        sqs.start_message_move_task(
            SourceArn=source, DestinationArn=_arn(sqs, to), MaxNumberOfMessagesPerSecond=RATE
        )
        _wait(sqs, source, lambda t: t["ApproximateNumberOfMessagesMoved"] >= RATE)
    finally:
        first.send_signal(signal.SIGKILL)
        first.communicate(timeout=30)
    second, sqs = _started(url)
    try:
        left = _task(sqs, source)
        assert left["Status"] == "RUNNING" and left["ApproximateNumberOfMessagesMoved"] < MESSAGES
        task = _wait(sqs, source, lambda t: t["Status"] != "RUNNING")
        assert (task["Status"], task["ApproximateNumberOfMessagesMoved"]) == ("COMPLETED", MESSAGES)
        to = sqs.get_queue_url(QueueName="to")["QueueUrl"]
        dead = sqs.get_queue_url(QueueName="dead")["QueueUrl"]
        assert sorted(_drain(sqs, to)) == sorted(f"m{i}" for i in range(MESSAGES))
        assert _drain(sqs, dead) == []
    finally:
        second.send_signal(signal.SIGTERM)
        second.communicate(timeout=30)
