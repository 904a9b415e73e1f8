"""Message move tasks on both stores: steps of ``n`` messages to a destination or back to each
message's source queue, one active task per source, cancelling."""

from __future__ import annotations

from sluice.model import NewMessage, Outcome, QueuePolicy
from sluice.store import Store


def test_steps_move_back_to_the_source_queue(store: Store) -> None:
    store.put_queue(QueuePolicy("q", max_receives=1))
    store.enqueue([NewMessage("q", i) for i in range(3)])
    for message in store.claim(["q"], 3):
        assert message.receipt is not None
        store.complete([Outcome.retry(message.receipt, "boom")])
    task = store.sqs_move_start("h1", "q.dlq", None, 2)
    assert task is not None and task.to_move == 3
    assert store.sqs_move_start("h2", "q.dlq", None, None) is None  # one at a time
    assert store.sqs_move_step(task, 2) == "RUNNING"
    assert store.sqs_move_step(task, 2) == "COMPLETED"
    [done] = store.sqs_move_tasks("q.dlq", 10)
    assert (done.status, done.moved) == ("COMPLETED", 3)
    back = store.claim(["q"], 10)
    assert sorted(m.body for m in back) == [0, 1, 2]
    assert {m.receive_count for m in back} == {1}


def test_cancel_stops_a_task_and_destination_takes_any_message(store: Store) -> None:
    store.put_queue(QueuePolicy("from", max_receives=None))
    store.put_queue(QueuePolicy("to", max_receives=None))
    store.enqueue([NewMessage("from", i) for i in range(3)])
    task = store.sqs_move_start("h3", "from", "to", 1)
    assert task is not None
    assert store.sqs_move_step(task, 1) == "RUNNING"
    cancelled = store.sqs_move_cancel("h3")
    assert cancelled is not None and cancelled.moved == 1
    assert store.sqs_move_cancel("h3") is None
    assert store.sqs_move_step(task, 1) == "CANCELLED"
    assert [m.body for m in store.claim(["to"], 10)] == [0]
    assert store.stats(["from"])[0].depth == 2
