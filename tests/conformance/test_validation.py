"""Bad input gets a clear error naming the problem, and nothing of the batch is stored."""

from __future__ import annotations

import pytest

from sluice import codec
from sluice.errors import (
    BodyNotSerializable,
    ConfigError,
    InvalidQueueName,
    MessageTooLarge,
    UnknownQueue,
)
from sluice.model import NewMessage, Outcome, QueuePolicy
from sluice.store import Store
from tests.conformance.helpers import declare, nested, overwrite_body


def test_an_oversized_body_names_size_and_limit_and_stores_nothing(store: Store) -> None:
    declare(store, max_message_bytes=1000)
    batch = [NewMessage("q", "small"), NewMessage("q", "x" * 2000)]
    with pytest.raises(MessageTooLarge) as caught:
        store.enqueue(batch)
    assert "2002 bytes" in str(caught.value) and "1000 bytes" in str(caught.value)
    assert (caught.value.size, caught.value.limit) == (2002, 1000)
    assert store.stats(["q"])[0].depth == 0


@pytest.mark.parametrize("body", [object(), {1, 2}, {"when": complex(1, 2)}])
def test_an_unserialisable_body_is_a_clear_error_and_stores_nothing(
    store: Store, body: object
) -> None:
    declare(store)
    with pytest.raises(BodyNotSerializable, match="JSON"):
        store.enqueue([NewMessage("q", "fine"), NewMessage("q", body)])
    assert store.stats(["q"])[0].depth == 0


@pytest.mark.parametrize(
    ("value", "named"),
    [
        (float("nan"), "nan at $.x[1]"),
        (float("inf"), "inf at $.x[1]"),
        (float("-inf"), "-inf at $.x[1]"),
    ],
)
def test_nan_and_infinity_are_refused_naming_the_value(
    store: Store, value: float, named: str
) -> None:
    # JSON has no NaN: orjson would store null and the handler would get None
    declare(store)
    with pytest.raises(BodyNotSerializable, match="NaN or Infinity") as caught:
        store.enqueue([NewMessage("q", {"x": None}), NewMessage("q", {"x": [1.5, value]})])
    assert named in str(caught.value) and "nothing was stored" in str(caught.value)
    assert store.stats(["q"])[0].depth == 0


@pytest.mark.parametrize("value", [2**64, -(2**63) - 1, 10**40])
def test_integers_json_cannot_keep_exactly_are_refused(store: Store, value: int) -> None:
    declare(store)
    with pytest.raises(BodyNotSerializable, match=f"the integer {value} at \\$.n") as caught:
        store.enqueue([NewMessage("q", 1), NewMessage("q", {"n": value})])
    assert "send it as a string" in str(caught.value)
    assert store.stats(["q"])[0].depth == 0


def test_integers_at_the_edges_of_the_range_read_back_exact(store: Store) -> None:
    declare(store)
    edges = [codec.MAX_INT, codec.MIN_INT, 2**63, 2**63 - 1, 2**53 + 1, -(2**53) - 1]
    [sent] = store.enqueue([NewMessage("q", {"n": edges})])
    [got] = store.get([sent.id])
    [claimed] = store.claim(["q"], 1)
    for body in (got.body, claimed.body):
        assert body == {"n": edges} and all(type(n) is int for n in body["n"])


def test_a_body_nested_deeper_than_the_limit_is_refused(store: Store) -> None:
    declare(store)
    store.enqueue([NewMessage("q", nested(codec.MAX_DEPTH))])  # at the limit: fine
    for levels in (codec.MAX_DEPTH + 1, 250, 5000):
        with pytest.raises(BodyNotSerializable, match="nested deeper than 128 levels"):
            store.enqueue([NewMessage("q", "fine"), NewMessage("q", {"deep": nested(levels)})])
    assert store.stats(["q"])[0].depth == 1
    [message] = store.claim(["q"], 1)
    assert message.body == nested(codec.MAX_DEPTH)


def test_a_stored_body_that_cannot_be_decoded_never_breaks_a_listing(store: Store) -> None:
    # rows written by another program or an older version: shown as unreadable, not raised
    declare(store, max_receives=1)
    ids = [r.id for r in store.enqueue([NewMessage("q", n) for n in range(3)])]
    store.complete([Outcome.dead(m.receipt, "boom") for m in store.claim(["q"], 3) if m.receipt])
    overwrite_body(store, ids[1], '{"truncated": ')
    listed = store.dlq_list("q")
    assert [m.id for m in listed] == ids
    assert (listed[0].body, listed[2].body) == (0, 2)
    unreadable = listed[1].body
    assert isinstance(unreadable, codec.UnreadableBody)
    assert unreadable.text == '{"truncated": ' and unreadable.error
    assert isinstance(store.get([ids[1]])[0].body, codec.UnreadableBody)


def test_an_unknown_queue_is_named(store: Store) -> None:
    declare(store)
    with pytest.raises(UnknownQueue, match="'nope'"):
        store.enqueue([NewMessage("q", 1), NewMessage("nope", 2)])
    assert store.stats(["q"])[0].depth == 0
    with pytest.raises(UnknownQueue, match="'nope'"):
        store.claim(["nope"], 1)


@pytest.mark.parametrize(
    "name",
    ["", "has space", "a/b", "quote'", 'dq"', "x" * 81, "q; DROP TABLE sluice_messages", "q.dlq"],
)
def test_invalid_queue_names_never_reach_sql(store: Store, name: str) -> None:
    with pytest.raises(InvalidQueueName):
        declare(store, name)
    assert store.queues() == []


def test_an_80_character_name_with_every_allowed_character_is_fine(store: Store) -> None:
    name = ("Az09-_." * 12)[:80]
    declare(store, name)
    assert [p.name for p in store.queues()] == [name, name + ".dlq"]


@pytest.mark.parametrize(
    "policy",
    [
        {"visibility_timeout": 0},
        {"max_receives": 0},
        {"retention": -1},
        {"max_message_bytes": 0},
        {"dedup_window": "soon"},
    ],
)
def test_invalid_policies_explain_the_fix(policy: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        QueuePolicy("q", **policy)  # type: ignore[arg-type]


def test_put_queue_updates_a_policy(store: Store) -> None:
    declare(store, max_receives=5)
    declare(store, max_receives=2, fifo=True)
    stored = {p.name: p for p in store.queues()}
    assert (stored["q"].max_receives, stored["q"].fifo) == (2, True)
    assert stored["q.dlq"].max_receives is None and stored["q.dlq"].retention is None
