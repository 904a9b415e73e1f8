"""Deduplication ids within and outside the window."""

from __future__ import annotations

from sluice.model import Enqueued, NewMessage
from sluice.store import Store
from tests.conformance.helpers import ack_all, declare
from tests.conftest import FakeClock


def _send(store: Store, queue: str, dedup_id: str, body: object = "m") -> Enqueued:
    [result] = store.enqueue([NewMessage(queue, body, dedup_id=dedup_id)])
    return result


def test_a_repeat_inside_the_window_returns_the_first_id_and_stores_nothing(
    store: Store, clock: FakeClock
) -> None:
    declare(store, dedup_window=300)
    first = _send(store, "q", "order-1", "first")
    clock.advance(299)
    again = _send(store, "q", "order-1", "second")
    assert first.created and not again.created
    assert again.id == first.id
    assert [m.body for m in store.claim(["q"], 10)] == ["first"]


def test_repeats_inside_one_batch_collapse_to_the_first(store: Store) -> None:
    declare(store)
    results = store.enqueue(
        [NewMessage("q", n, dedup_id="same" if n % 2 else None) for n in range(5)]
    )
    assert [r.created for r in results] == [True, True, True, False, True]
    assert results[3].id == results[1].id
    assert store.stats(["q"])[0].depth == 4


def test_dedup_holds_after_the_first_message_was_acked(store: Store) -> None:
    declare(store)
    first = _send(store, "q", "once")
    ack_all(store, store.claim(["q"], 1))
    again = _send(store, "q", "once")
    assert (again.id, again.created) == (first.id, False)
    assert store.stats(["q"])[0].depth == 0


def test_after_the_window_the_same_id_creates_a_new_message(store: Store, clock: FakeClock) -> None:
    declare(store, dedup_window=60)
    first = _send(store, "q", "tick")
    clock.advance(61)
    later = _send(store, "q", "tick")
    assert later.created and later.id != first.id
    store.expire()  # forgetting old ids does not disturb the new one
    assert _send(store, "q", "tick").id == later.id


def test_a_window_of_none_remembers_forever(store: Store, clock: FakeClock) -> None:
    declare(store, dedup_window=None)
    first = _send(store, "q", "forever")
    clock.advance(10 * 365 * 86400)
    store.expire()
    assert _send(store, "q", "forever") == Enqueued(first.id, False)


def test_dedup_ids_are_per_queue(store: Store) -> None:
    declare(store, "a")
    declare(store, "b")
    first = _send(store, "a", "shared")
    other = _send(store, "b", "shared")
    assert other.created and other.id != first.id
