"""Bad input gets a clear error naming the problem, and nothing of the batch is stored."""

from __future__ import annotations

import pytest

from sluice.errors import (
    BodyNotSerializable,
    ConfigError,
    InvalidQueueName,
    MessageTooLarge,
    UnknownQueue,
)
from sluice.model import NewMessage, QueuePolicy
from sluice.store import Store
from tests.conformance.helpers import declare


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
