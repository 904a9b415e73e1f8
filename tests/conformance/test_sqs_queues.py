"""The SQS API's queue records on both stores: attributes and tags beside the policy, one
creation time, and dropping a queue with its DLQ and messages."""

from __future__ import annotations

import pytest

from sluice.errors import UnknownMessage, UnknownQueue
from sluice.model import NewMessage, Outcome, QueuePolicy
from sluice.store import Store


def test_record_is_kept_beside_the_policy(store: Store) -> None:
    store.sqs_put_queue(QueuePolicy("q", visibility_timeout=7), {"DelaySeconds": "3"}, {"t": "1"})
    [record] = store.sqs_queues(["q", "other"]).values()
    assert (record.attributes, record.tags) == ({"DelaySeconds": "3"}, {"t": "1"})
    assert store.policy("q").visibility_timeout == 7
    assert store.policy("q.dlq").max_receives is None
    created = record.created_at
    store.sqs_put_queue(QueuePolicy("q"), {}, {})
    again = store.sqs_queues(["q"])["q"]
    assert (again.created_at, again.attributes, again.tags) == (created, {}, {})


def test_drop_queue_removes_queue_dlq_and_messages(store: Store) -> None:
    store.sqs_put_queue(QueuePolicy("gone"), {}, {})
    store.put_queue(QueuePolicy("kept"))
    store.enqueue([NewMessage("gone", "a"), NewMessage("gone", "b"), NewMessage("kept", "c")])
    assert store.drop_queue("gone") == 2
    names = {p.name for p in store.queues()}
    assert "gone" not in names and "gone.dlq" not in names and "kept" in names
    assert store.sqs_queues(["gone"]) == {}
    with pytest.raises(UnknownQueue):
        store.policy("gone")
    assert store.stats(["kept"])[0].depth == 1


def test_message_attributes_live_and_die_with_their_message(store: Store) -> None:
    store.put_queue(QueuePolicy("m"))
    attributes = {"k": {"DataType": "String", "StringValue": "v"}}
    first, second = store.sqs_enqueue(
        [NewMessage("m", "a"), NewMessage("m", "b")], [(attributes, "d1"), None]
    )
    assert store.sqs_attributes([first.id, second.id]) == {first.id: (attributes, "d1")}
    one, two = store.claim(["m"], 2)
    assert one.receipt is not None and two.receipt is not None
    assert store.sqs_delete([one.receipt]) == []
    assert store.sqs_delete([one.receipt]) == [one.receipt]  # stale: nothing changes
    assert store.sqs_attributes([first.id]) == {}
    [third] = store.sqs_enqueue([NewMessage("m", "c")], [(attributes, "d3")])
    [held] = store.claim(["m"], 1)
    assert held.receipt is not None
    store.complete([Outcome.ack(held.receipt)])  # acked by sluice: housekeeping tidies up
    store.housekeep()
    assert store.sqs_attributes([third.id]) == {}


def test_attributes_are_edited_in_one_transaction(store: Store) -> None:
    store.sqs_put_queue(QueuePolicy("q"), {"DelaySeconds": "3"}, {"t": "1"})
    store.sqs_edit_attributes("q", lambda a: a | {"Policy": "{}"}, {"unused": "x"})
    record = store.sqs_queues(["q"])["q"]
    assert (record.attributes, record.tags) == ({"DelaySeconds": "3", "Policy": "{}"}, {"t": "1"})

    def refuse(attributes: dict[str, str]) -> dict[str, str]:
        raise ValueError("no")

    with pytest.raises(ValueError):
        store.sqs_edit_attributes("q", refuse, {})
    assert store.sqs_queues(["q"])["q"].attributes == {"DelaySeconds": "3", "Policy": "{}"}
    # a queue declared by sluice has no record yet: the edit starts from ``first``
    store.put_queue(QueuePolicy("declared"))
    store.sqs_edit_attributes("declared", lambda a: a | {"Policy": "{}"}, {"Max": "9"})
    assert store.sqs_queues(["declared"])["declared"].attributes == {"Max": "9", "Policy": "{}"}
    with pytest.raises(UnknownQueue):
        store.sqs_edit_attributes("nope", lambda a: a, {})


def test_a_delete_takes_the_attributes_on_a_queue_that_keeps_completions(store: Store) -> None:
    store.put_queue(QueuePolicy("k", keep_completed=60))
    attributes = {"k": {"DataType": "String", "StringValue": "v"}}
    [sent] = store.sqs_enqueue([NewMessage("k", "a")], [(attributes, "d")])
    [held] = store.claim(["k"], 1)
    assert held.receipt is not None
    assert store.sqs_delete([held.receipt, held.receipt]) == [held.receipt]  # the 2nd: stale
    assert store.sqs_attributes([sent.id]) == {}
    assert store.stats(["k"])[0].depth == 0


def test_a_delete_naming_its_queue_records_only_where_the_queue_keeps(store: Store) -> None:
    store.put_queue(QueuePolicy("k", keep_completed=60))
    store.put_queue(QueuePolicy("p"))
    [kept, plain] = [e.id for e in store.enqueue([NewMessage("k", "a"), NewMessage("p", "b")])]
    held = {m.queue: m.receipt for m in store.claim(["k", "p"], 2)}
    assert held["k"] is not None and held["p"] is not None
    assert store.sqs_delete([held["p"]], "p") == []
    assert store.sqs_delete([held["k"]], "k") == []
    assert store.status(kept).state == "succeeded"
    with pytest.raises(UnknownMessage):
        store.status(plain)  # deleted, and its queue keeps no record
