"""Job status and results: a queue with ``keep_completed`` leaves a completion record of each
acked or cancelled message (with the handler's JSON result) until housekeeping drops it;
``status`` reports live, dead and finished messages; ``wait_finished`` wakes on completion."""

from __future__ import annotations

import threading

import pytest

from sluice.errors import ConfigError, NotFinished, UnknownMessage
from sluice.model import RESULT_LIMIT, NewMessage, Outcome, QueuePolicy, RunSpec
from sluice.store import Store
from tests.conformance.helpers import declare, put
from tests.conftest import FakeClock


def test_status_through_a_message_life_and_its_result(store: Store, clock: FakeClock) -> None:
    declare(store, "kept", keep_completed=60, visibility_timeout=30)
    declare(store, "plain")
    [waiting] = put(store, "kept", "w")
    [delayed] = put(store, "kept", "d", delay=10)
    [plain] = put(store, "plain", "p")
    assert store.status(waiting).state == "waiting"
    assert store.status(delayed).state == "delayed"
    claimed = {m.id: m for m in store.claim(["kept", "plain"], 10)}
    assert store.status(waiting).state == "in_flight"
    assert set(claimed) == {waiting, plain}
    clock.advance(5)
    outcomes = [
        Outcome.ack(claimed[waiting].receipt, result={"rows": [1, 2]}),  # type: ignore[arg-type]
        Outcome.ack(claimed[plain].receipt, result="dropped"),  # type: ignore[arg-type]
    ]
    assert store.complete(outcomes) == []
    done = store.status(waiting)
    assert (done.state, done.result, done.result_note, done.receive_count) == (
        "succeeded",
        {"rows": [1, 2]},
        None,
        1,
    )
    assert done.finished and done.finished_at == clock.now and done.expires_at == clock.now + 60
    assert done.to_dict()["result"] == {"rows": [1, 2]}
    with pytest.raises(UnknownMessage, match="keeps no completion records"):
        store.status(plain)  # its queue keeps none: gone as before
    clock.advance(61)
    assert store.housekeep() == 0
    with pytest.raises(UnknownMessage, match=f"no message has id {waiting}"):
        store.status(waiting)  # the record expired


def test_results_too_large_or_not_json_are_noted_not_kept(store: Store) -> None:
    declare(store, "kept", keep_completed=60)
    store.start_run(RunSpec("r", "job"))
    new = [NewMessage("kept", n, "act", run_id="r") for n in range(3)]
    ids = [e.id for e in store.enqueue(new)]
    claimed = store.claim(["kept"], 3)
    values = ["x" * RESULT_LIMIT, {1, 2}, None]
    outcomes = [Outcome.ack(m.receipt, result=v) for m, v in zip(claimed, values, strict=True)]  # type: ignore[arg-type]
    assert store.complete(outcomes) == []
    big, odd, none = (store.status(i) for i in ids)
    assert big.result is None and f"above the {RESULT_LIMIT}-byte limit" in str(big.result_note)
    assert odd.result is None and "not kept" in str(odd.result_note)
    assert (none.state, none.result, none.result_note) == ("succeeded", None, None)
    assert none.run_id == "r"
    assert store.run_state("r").succeeded == 3  # the run path writes records too


def test_dead_and_cancelled_messages(store: Store) -> None:
    declare(store, "kept", keep_completed=60, max_receives=1)
    [dead, cancelled, in_flight, retried] = put(store, "kept", "a", "b", "c", "d")
    assert store.cancel(cancelled) == "waiting"
    claimed = {m.id: m.receipt for m in store.claim(["kept"], 3)}
    assert store.cancel(in_flight) == "in_flight"
    outcomes = [Outcome.dead(claimed[dead], "bad input"), Outcome.retry(claimed[retried], "x")]  # type: ignore[arg-type]
    assert store.complete(outcomes) == []
    gone = store.status(dead)
    assert (gone.state, gone.queue, gone.dead_reason, gone.finished) == (
        "dead",
        "kept",
        "bad input",
        True,
    )
    assert store.status(retried).state == "dead"  # out of receives
    for id_ in (cancelled, in_flight):
        status = store.status(id_)
        assert (status.state, status.result) == ("cancelled", None)
    store.put_queue(QueuePolicy("other"))
    store.start_run(RunSpec("r", "job"))
    [of_run] = [e.id for e in store.enqueue([NewMessage("other", 1, "act", run_id="r")])]
    store.cancel_run("r")
    assert store.status(of_run).state == "cancelled"  # a cancelled run's dead letter


def test_bad_ids_and_bad_policies(store: Store) -> None:
    for bad in (987654321, 0, -1, 2**70):
        with pytest.raises(UnknownMessage, match="it never existed"):
            store.status(bad)
    with pytest.raises(UnknownMessage, match="positive integer"):
        store.status("7")  # type: ignore[arg-type]
    with pytest.raises(UnknownMessage, match="it never existed"):
        store.wait_finished(987654321, 5)  # at once, not after the timeout
    for bad_keep in (0, -5, float("inf")):
        with pytest.raises(ConfigError, match="keep_completed"):
            QueuePolicy("q", keep_completed=bad_keep)


def test_wait_finished_wakes_on_the_ack(store: Store) -> None:
    declare(store, "kept", keep_completed=60)
    [id_] = put(store, "kept", "job")
    with pytest.raises(NotFinished, match=f"message {id_} has not finished within 0s"):
        store.wait_finished(id_, 0)
    seen: list[object] = []
    waiter = threading.Thread(target=lambda: seen.append(store.wait_finished(id_, 60).result))
    waiter.start()
    [message] = store.claim(["kept"], 1)
    assert store.complete([Outcome.ack(message.receipt, result=[42])]) == []  # type: ignore[arg-type]
    waiter.join(60)
    assert seen == [[42]]


def test_acks_of_queues_keeping_no_records_beside_one_that_does(store: Store) -> None:
    declare(store, "kept", keep_completed=60)
    declare(store, "plain")
    ids = put(store, "plain", 1, 2)
    [kept] = put(store, "kept", 3)
    claimed = store.claim(["plain", "kept"], 3)
    outcomes = [Outcome.ack(m.receipt, result=m.body, queue=m.queue) for m in claimed]  # type: ignore[arg-type]
    assert store.complete(outcomes[:2]) == []  # the fast path: their queue is known to keep none
    assert store.complete(outcomes[2:]) == []
    assert store.get(ids) == [] and store.status(kept).result == 3
    for id_ in ids:
        with pytest.raises(UnknownMessage):
            store.status(id_)
