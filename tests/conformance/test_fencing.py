"""Fenced leases: a stale receipt changes nothing and is reported back."""

from __future__ import annotations

from sluice.model import NewMessage, Outcome, Receipt
from sluice.store import Store
from tests.conformance.helpers import declare, put
from tests.conftest import FakeClock


def _expired_and_reclaimed(store: Store, clock: FakeClock) -> tuple[Receipt, Receipt]:
    declare(store, visibility_timeout=30)
    put(store, "q", "m")
    [a] = store.claim(["q"], 1)
    clock.advance(31)
    [b] = store.claim(["q"], 1)
    assert a.receipt is not None and b.receipt is not None
    assert a.receipt != b.receipt
    return a.receipt, b.receipt


def test_a_stale_ack_is_refused_and_the_owner_acks_once(store: Store, clock: FakeClock) -> None:
    a, b = _expired_and_reclaimed(store, clock)
    assert store.complete([Outcome.ack(a)]) == [a]
    assert len(store.get([a.message_id])) == 1
    assert store.complete([Outcome.ack(b)]) == []
    assert store.get([a.message_id]) == []
    assert store.complete([Outcome.ack(b)]) == [b]


def test_stale_retry_dead_extend_and_release_change_nothing(store: Store, clock: FakeClock) -> None:
    a, _b = _expired_and_reclaimed(store, clock)
    assert store.complete([Outcome.retry(a, "late", delay=0)]) == [a]
    assert store.complete([Outcome.dead(a, "late")]) == [a]
    assert store.extend([a], 1000) == [a]
    assert store.release([a]) == [a]
    [message] = store.get([a.message_id])
    assert message.queue == "q"
    assert message.receive_count == 2
    assert message.last_error is None
    clock.advance(31)  # B's lease ends as it was: A's extend did not move it
    assert [m.id for m in store.claim(["q"], 1)] == [a.message_id]


def test_children_of_a_stale_ack_are_not_enqueued(store: Store, clock: FakeClock) -> None:
    declare(store, "next")
    a, b = _expired_and_reclaimed(store, clock)
    child = (NewMessage("next", "child"),)
    assert store.complete([Outcome.ack(a, children=child)]) == [a]
    assert store.stats(["next"])[0].depth == 0
    assert store.complete([Outcome.ack(b, children=child)]) == []
    assert store.stats(["next"])[0].depth == 1


def test_a_forged_token_is_stale(store: Store) -> None:
    declare(store)
    [id_] = put(store, "q", "m")
    store.claim(["q"], 1)
    forged = Receipt(id_, "not-the-token")
    assert store.complete([Outcome.ack(forged)]) == [forged]
    assert len(store.get([id_])) == 1


def test_two_outcomes_for_one_message_in_a_batch_apply_once(store: Store) -> None:
    declare(store)
    put(store, "q", "m")
    [message] = store.claim(["q"], 1)
    assert message.receipt is not None
    stale = store.complete([Outcome.ack(message.receipt), Outcome.ack(message.receipt)])
    assert stale == [message.receipt]
