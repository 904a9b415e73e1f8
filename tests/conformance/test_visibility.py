"""Visibility, leases, extend and release."""

from __future__ import annotations

import threading
import time

from sluice.model import NewMessage, Outcome
from sluice.store import Store
from sluice.store.inserting import PLAIN_MAX  # the bound of PostgreSQL's one-statement path
from tests.conformance.helpers import ack_all, declare, put
from tests.conftest import FakeClock


def test_enqueue_returns_ids_in_order_and_claim_returns_bodies_intact(store: Store) -> None:
    declare(store)
    bodies = [{"name": "Zoë ✓", "nested": {"list": [1, 2.5, None, True]}}, 2**53 + 1, "x", []]
    ids = put(store, "q", *bodies)
    assert ids == sorted(ids) and len(set(ids)) == 4
    claimed = store.claim(["q"], 10)
    assert sorted((m.id, m.body) for m in claimed) == list(zip(ids, bodies, strict=True))
    assert all(m.receive_count == 1 and m.receipt is not None for m in claimed)


def test_claim_of_an_empty_queue_returns_nothing(store: Store) -> None:
    declare(store)
    assert store.claim(["q"], 10) == []


def test_claim_takes_at_most_n_across_several_queues(store: Store) -> None:
    declare(store, "a")
    declare(store, "b")
    put(store, "a", *range(3))
    put(store, "b", *range(3))
    first = store.claim(["a", "b"], 4)
    assert len(first) == 4
    rest = store.claim(["a", "b"], 10)
    assert len(rest) == 2
    assert {m.queue for m in first + rest} == {"a", "b"}


def test_a_claimed_message_is_invisible_until_its_lease_expires(
    store: Store, clock: FakeClock
) -> None:
    declare(store, visibility_timeout=30)
    [id_] = put(store, "q", "m")
    assert [m.id for m in store.claim(["q"], 1)] == [id_]
    clock.advance(29)
    assert store.claim(["q"], 1) == []
    clock.advance(2)
    again = store.claim(["q"], 1)
    assert [(m.id, m.receive_count) for m in again] == [(id_, 2)]
    assert [a.error for a in again[0].attempts] == ["lease expired"]


def test_claim_lease_overrides_the_visibility_timeout(store: Store, clock: FakeClock) -> None:
    declare(store, visibility_timeout=30)
    put(store, "q", "m")
    store.claim(["q"], 1, lease=5)
    clock.advance(6)
    assert len(store.claim(["q"], 1)) == 1


def test_extend_keeps_a_message_invisible_past_its_first_lease(
    store: Store, clock: FakeClock
) -> None:
    declare(store, visibility_timeout=30)
    put(store, "q", "m")
    [message] = store.claim(["q"], 1)
    clock.advance(25)
    assert message.receipt is not None
    assert store.extend([message.receipt], 30) == []
    clock.advance(25)
    assert store.claim(["q"], 1) == []
    clock.advance(10)
    assert len(store.claim(["q"], 1)) == 1


def test_release_makes_a_message_visible_at_once_without_counting_the_receive(
    store: Store,
) -> None:
    declare(store)
    put(store, "q", "m")
    [message] = store.claim(["q"], 1)
    assert message.receipt is not None
    assert store.release([message.receipt]) == []
    [again] = store.claim(["q"], 1)
    assert again.receive_count == 1


def test_ack_removes_the_message(store: Store) -> None:
    declare(store)
    [id_] = put(store, "q", "m")
    ack_all(store, store.claim(["q"], 1))
    assert store.get([id_]) == []
    assert store.stats(["q"])[0].depth == 0


def test_retry_with_delay_hides_the_message_for_the_delay(store: Store, clock: FakeClock) -> None:
    declare(store)
    put(store, "q", "m")
    [message] = store.claim(["q"], 1)
    assert message.receipt is not None
    assert store.complete([Outcome.retry(message.receipt, "busy", delay=60)]) == []
    clock.advance(59)
    assert store.claim(["q"], 1) == []
    clock.advance(2)
    [again] = store.claim(["q"], 1)
    assert again.receive_count == 2
    assert again.last_error == "busy"


def test_children_of_an_ack_are_enqueued_in_the_same_transaction(store: Store) -> None:
    declare(store)
    declare(store, "next")
    put(store, "q", "parent")
    [message] = store.claim(["q"], 1)
    assert message.receipt is not None
    child = NewMessage("next", {"from": message.id}, action="follow")
    assert store.complete([Outcome.ack(message.receipt, children=(child,))]) == []
    [spawned] = store.claim(["next"], 1)
    assert spawned.body == {"from": message.id}
    assert spawned.action == "follow"


def test_plain_batches_small_and_large_keep_input_order_across_queues(store: Store) -> None:
    declare(store, "a")
    declare(store, "b")
    for size in (5, PLAIN_MAX, PLAIN_MAX + 1):
        batch = [NewMessage("ab"[n % 2], n, "act", priority=n % 3) for n in range(size)]
        done = store.enqueue(batch)
        ids = [e.id for e in done]
        assert ids == sorted(ids) and len(set(ids)) == size and all(e.created for e in done)
        claimed = {m.id: m for m in store.claim(["a", "b"], 1000)}
        assert [(claimed[i].queue, claimed[i].body) for i in ids] == [
            (m.queue, m.body) for m in batch
        ]
        ack_all(store, list(claimed.values()))


def test_a_plain_enqueue_wakes_a_waiter_of_its_queue(store: Store) -> None:
    declare(store, "w")
    woke: list[float] = []
    waiter = threading.Thread(target=lambda: woke.append(store.wait_for_work(["w"], 30)))
    waiter.start()
    time.sleep(0.3)  # the waiter is listening
    sent = time.monotonic()
    store.enqueue([NewMessage("w", 1, "act")])
    waiter.join(30)
    assert woke == [True]
    assert time.monotonic() - sent < 10  # woken by the write, not the 30 s timeout


def test_a_waiter_learns_which_of_its_queues_were_woken(store: Store) -> None:
    for name in ("idle", "busy", "later"):
        declare(store, name)
    queues = ["idle", "busy", "later"]
    assert store.woken_queues(queues, 0.2) == []  # nothing came: the time ran out
    woken: list[list[str]] = []
    waiter = threading.Thread(target=lambda: woken.append(store.woken_queues(queues, 30)))
    waiter.start()
    time.sleep(0.3)  # the waiter is listening
    store.enqueue([NewMessage("busy", 1, "act")])
    waiter.join(30)
    assert woken == [["busy"]]  # a woken worker claims from it alone
    # Work already visible is found by the store's check, which names no queue: all of them.
    assert store.woken_queues(queues, 0.2) == queues
    store.set_queue_paused("idle", True, "local")
    assert store.woken_queues(queues, 0.2) == ["busy", "later"]  # a paused queue is left out
