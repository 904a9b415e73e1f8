"""Cancelling one message: waiting and delayed ones are removed, an in-flight one's ack and
retry are refused, each counts as dead in its run; unknown, finished and dead ones are errors."""

from __future__ import annotations

import pytest

from sluice.errors import MessageFinished, MessageIsDead, UnknownMessage
from sluice.model import NewMessage, Outcome, RunSpec
from sluice.store import Store
from tests.conformance.helpers import ack_all, declare, put
from tests.conftest import FakeClock


def test_waiting_and_delayed_messages_are_removed(store: Store, clock: FakeClock) -> None:
    declare(store, "q")
    [waiting] = put(store, "q", "w")
    [delayed] = put(store, "q", "d", delay=60)
    [kept] = put(store, "q", "k")
    assert store.cancel(waiting) == "waiting"
    assert store.cancel(delayed) == "delayed"
    assert store.get([waiting, delayed]) == []
    clock.advance(61)
    assert [m.id for m in store.claim(["q"], 10)] == [kept]


def test_an_in_flight_message_cannot_be_acked_or_retried(store: Store, clock: FakeClock) -> None:
    declare(store, "q", visibility_timeout=30)
    put(store, "q", "a", "b")
    first, second = store.claim(["q"], 2)
    assert first.receipt is not None and second.receipt is not None
    assert store.cancel(first.id) == "in_flight"
    assert store.cancel(second.id) == "in_flight"
    assert store.complete([Outcome.ack(first.receipt)]) == [first.receipt]
    assert store.complete([Outcome.retry(second.receipt, "boom", 0)]) == [second.receipt]
    clock.advance(31)  # past the lease: nothing comes back
    assert store.claim(["q"], 10) == []


def test_a_cancelled_message_counts_as_dead_in_its_run(store: Store) -> None:
    declare(store, "q")
    store.start_run(RunSpec("r", "job"))
    ids = [e.id for e in store.enqueue([NewMessage("q", n, "act", run_id="r") for n in range(3)])]
    store.seal_run("r")
    assert store.cancel(ids[0]) == "waiting"
    in_flight = store.claim(["q"], 1)
    assert store.cancel(in_flight[0].id) == "in_flight"
    ack_all(store, store.claim(["q"], 1))
    state = store.run_state("r")
    assert (state.total, state.succeeded, state.dead, state.status) == (3, 1, 2, "failed")


def test_unknown_finished_and_dead_messages_are_errors(store: Store) -> None:
    declare(store, "q")
    [done, dead] = put(store, "q", "done", "dead")
    claimed = {m.id: m.receipt for m in store.claim(["q"], 2)}
    assert claimed[done] is not None and claimed[dead] is not None
    assert store.complete([Outcome.ack(claimed[done]), Outcome.dead(claimed[dead], "bad")]) == []
    with pytest.raises(
        UnknownMessage, match=f"no waiting, delayed or in-flight message has id {done}"
    ):
        store.cancel(done)
    with pytest.raises(UnknownMessage, match="it never existed or it has finished"):
        store.cancel(987654)
    with pytest.raises(UnknownMessage):
        store.cancel(2**70)
    with pytest.raises(MessageIsDead, match=r"is a dead letter in q\.dlq"):
        store.cancel(dead)
    assert [m.queue for m in store.get([dead])] == ["q.dlq"]


def test_a_finished_message_with_a_record_says_how_it_finished(store: Store) -> None:
    declare(store, "kept", keep_completed=60)
    [done, gone] = put(store, "kept", "done", "gone")
    assert store.cancel(gone) == "waiting"
    ack_all(store, store.claim(["kept"], 1))
    with pytest.raises(MessageFinished, match=rf"message {done} has already finished \(succeeded"):
        store.cancel(done)
    with pytest.raises(MessageFinished, match=rf"message {gone} has already finished \(cancelled"):
        store.cancel(gone)
