"""Message move tasks on both stores: steps of the task's rate to a destination or back to each
message's source queue, one active task per source, cancelling, and one step per second however
many processes step the task."""

from __future__ import annotations

from sluice.model import NewMessage, Outcome, QueuePolicy
from sluice.store import Store
from sluice.store.sqs_moves import MoveStep
from tests.conftest import FakeClock


def test_steps_move_back_to_the_source_queue(store: Store, clock: FakeClock) -> None:
    store.put_queue(QueuePolicy("q", max_receives=1))
    store.enqueue([NewMessage("q", i) for i in range(3)])
    for message in store.claim(["q"], 3):
        assert message.receipt is not None
        store.complete([Outcome.retry(message.receipt, "boom")])
    task = store.sqs_move_start("h1", "q.dlq", None, 2)
    assert task is not None and task.to_move == 3
    assert store.sqs_move_start("h2", "q.dlq", None, None) is None  # one at a time
    assert store.sqs_move_active() == ["h1"]
    assert store.sqs_move_step("h1", 1.0) == MoveStep("RUNNING", 1.0)
    clock.advance(1.0)
    assert store.sqs_move_step("h1", 1.0) == MoveStep("COMPLETED", None)
    [done] = store.sqs_move_tasks("q.dlq", 10)
    assert (done.status, done.moved) == ("COMPLETED", 3)
    assert store.sqs_move_active() == []
    back = store.claim(["q"], 10)
    assert sorted(m.body for m in back) == [0, 1, 2]
    assert {m.receive_count for m in back} == {1}


def test_a_step_is_taken_once_per_interval(store: Store, clock: FakeClock) -> None:
    store.put_queue(QueuePolicy("from", max_receives=None))
    store.put_queue(QueuePolicy("to", max_receives=None))
    store.enqueue([NewMessage("from", i) for i in range(5)])
    assert store.sqs_move_start("h", "from", "to", 2) is not None
    assert store.sqs_move_step("h", 1.0) == MoveStep("RUNNING", 1.0)
    # a second process (or a restarted one) stepping the same task within the second moves
    # nothing and learns when the next step is due
    clock.advance(0.25)
    assert store.sqs_move_step("h", 1.0) == MoveStep("RUNNING", 0.75)
    [task] = store.sqs_move_tasks("from", 1)
    assert task.moved == 2
    clock.advance(0.75)
    assert store.sqs_move_step("h", 1.0) == MoveStep("RUNNING", 1.0)
    clock.advance(1.0)
    assert store.sqs_move_step("h", 1.0) == MoveStep("COMPLETED", None)
    assert store.sqs_move_step("h", 1.0) == MoveStep("COMPLETED", None)
    assert store.sqs_move_step("nope", 1.0) == MoveStep("GONE", None)
    assert sorted(m.body for m in store.claim(["to"], 10)) == [0, 1, 2, 3, 4]
    [task] = store.sqs_move_tasks("from", 1)
    assert task.moved == 5


def test_cancel_stops_a_task_and_destination_takes_any_message(
    store: Store, clock: FakeClock
) -> None:
    store.put_queue(QueuePolicy("from", max_receives=None))
    store.put_queue(QueuePolicy("to", max_receives=None))
    store.enqueue([NewMessage("from", i) for i in range(3)])
    assert store.sqs_move_start("h3", "from", "to", 1) is not None
    assert store.sqs_move_step("h3", 1.0).status == "RUNNING"
    cancelled = store.sqs_move_cancel("h3")
    assert cancelled is not None and cancelled.moved == 1
    assert store.sqs_move_cancel("h3") is None
    assert store.sqs_move_active() == ["h3"]  # until its next step ends it
    clock.advance(1.0)
    assert store.sqs_move_step("h3", 1.0) == MoveStep("CANCELLED", None)
    assert store.sqs_move_active() == []
    assert [m.body for m in store.claim(["to"], 10)] == [0]
    assert store.stats(["from"])[0].depth == 2
