"""Message move tasks (DLQ redrive) through boto3 on both stores."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from sluice.aws.sqs.movers import MoveTasks
from sluice.model import NewMessage, QueuePolicy
from sluice.store import Store
from tests.conftest import FakeClock
from tests.worker.fakes import FakeTiming, until


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


def test_the_move_service_steps_each_task_once_a_second_of_its_clock(
    store: Store, clock: FakeClock
) -> None:
    store.put_queue(QueuePolicy("from", max_receives=None))
    store.put_queue(QueuePolicy("to", max_receives=None))
    store.enqueue([NewMessage("from", i) for i in range(5)])

    async def body() -> None:
        timing = FakeTiming()
        timing.clock = clock  # the store's clock: steps are due on it
        movers = MoveTasks(store, timing)
        task = store.sqs_move_start("h", "from", "to", 2)
        assert task is not None
        movers.add(task)
        moved = []
        for _ in range(3):
            await until(movers.stepped.is_set, "a pass")
            movers.stepped.clear()
            [now] = store.sqs_move_tasks("from", 1)
            moved.append((now.moved, now.status))
            await until(lambda: timing.sleeping, "the wait for the next step")
            await timing.advance(1.0)
        assert moved == [(2, "RUNNING"), (4, "RUNNING"), (5, "COMPLETED")]
        assert movers.running == []
        assert movers.active  # idle, waiting for the next task
        await movers.stop()
        assert not movers.active

    asyncio.run(body())


def test_two_services_adopt_a_stored_task_and_share_its_steps(
    store: Store, clock: FakeClock
) -> None:
    store.put_queue(QueuePolicy("from", max_receives=None))
    store.put_queue(QueuePolicy("to", max_receives=None))
    store.enqueue([NewMessage("from", i) for i in range(6)])
    # started by a server that is gone: nothing in memory steps it
    assert store.sqs_move_start("left", "from", "to", 2) is not None

    async def body() -> None:
        timing = FakeTiming()
        timing.clock = clock
        servers = [MoveTasks(store, timing, adopt_every=5.0) for _ in range(2)]
        for server in servers:
            server.start()
        moved = []
        for _ in range(3):
            for server in servers:
                await until(server.stepped.is_set, "a pass")
                server.stepped.clear()
            [now] = store.sqs_move_tasks("from", 1)
            moved.append(now.moved)
            if now.status == "RUNNING":
                assert all(server.running == ["left"] for server in servers)
            await until(lambda: len(timing.sleeping) == 2, "both waiting")
            await timing.advance(1.0)
        # both servers adopted it, and each second only one of them moved its 2 messages
        assert moved == [2, 4, 6]
        for server in servers:  # the one that lost the last step learns at its next try
            await until(server.stepped.is_set, "a pass")
        await until(lambda: all(s.running == [] for s in servers), "both done")
        for server in servers:
            await server.stop()

    asyncio.run(body())
