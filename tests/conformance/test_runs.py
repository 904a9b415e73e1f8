"""Runs: counters move with outcomes, stages fire once, cancel, redrive, checkpoints."""

from __future__ import annotations

import threading

import pytest

from sluice.errors import MessageTooLarge, RunSealed, UnknownRun
from sluice.model import Message, NewMessage, Outcome, RunSpec, Target, dlq_name
from sluice.store import Store, open_store
from tests.conformance.helpers import declare
from tests.conftest import FakeClock


def _put(store: Store, run: str | None, *bodies: object, queue: str = "q", action: str = "a"):
    return [
        e.id
        for e in store.enqueue([NewMessage(queue, b, action=action, run_id=run) for b in bodies])
    ]


def _settle(store: Store, messages: list[Message], kind: str = "ack", **extra: object) -> None:
    outcomes = []
    for m in messages:
        assert m.receipt is not None
        if kind == "ack":
            outcomes.append(Outcome.ack(m.receipt, **extra))  # type: ignore[arg-type]
        elif kind == "retry":
            outcomes.append(Outcome.retry(m.receipt, "boom", delay=0))
        else:
            outcomes.append(Outcome.dead(m.receipt, "bad input"))
    assert store.complete(outcomes) == []


def _staged(store: Store) -> None:
    for name in ("q", "b", "c", "done"):
        declare(store, name)
    store.start_run(
        RunSpec(
            "r1",
            "etl",
            (Target("a", "q"), Target("b", "b"), Target("c", "c")),
            on_complete=Target("finish", "done"),
            meta={"user": 7},
        )
    )


def test_counters_follow_outcomes_and_the_run_finishes(store: Store, clock: FakeClock) -> None:
    declare(store, max_receives=5)
    store.start_run(RunSpec("r1", "purge"))
    state = store.run_state("r1")
    assert (state.status, state.total, state.done) == ("discovering", 0, 0)
    _put(store, "r1", 1, 2, 3)
    _put(store, None, "not in the run")
    assert store.run_state("r1").total == 3
    store.seal_run("r1")
    assert store.run_state("r1").status == "running"
    clock.advance(10)
    batch = [m for m in store.claim(["q"], 4) if m.run_id == "r1"]
    assert len(batch) == 3
    _settle(store, batch[:2])
    _settle(store, batch[2:], "retry")
    state = store.run_state("r1")
    assert (state.succeeded, state.failed, state.dead, state.status) == (2, 1, 0, "running")
    assert state.rate == pytest.approx(2 / 10)
    assert state.eta == pytest.approx(1 / state.rate)
    [again] = [m for m in store.claim(["q"], 2) if m.run_id == "r1"]
    _settle(store, [again])
    state = store.run_state("r1")
    assert (state.total, state.succeeded, state.status) == (3, 3, "succeeded")
    assert state.finished_at == clock.now and state.eta is None


def test_a_sealed_run_refuses_outside_messages_and_stores_nothing(store: Store) -> None:
    declare(store)
    store.start_run(RunSpec("r1", "x"))
    store.seal_run("r1")
    with pytest.raises(RunSealed, match="r1"):
        store.enqueue([NewMessage("q", 1, "a"), NewMessage("q", 2, "a", run_id="r1")])
    with pytest.raises(UnknownRun, match="nope"):
        store.enqueue([NewMessage("q", 1, "a"), NewMessage("q", 2, "a", run_id="nope")])
    assert store.stats(["q"])[0].depth == 0
    with pytest.raises(UnknownRun):
        store.run_state("nope")
    with pytest.raises(UnknownRun):
        store.seal_run("nope")


def test_an_empty_run_finishes_when_sealed_and_fires_on_complete(store: Store) -> None:
    declare(store)
    declare(store, "done")
    store.start_run(RunSpec("r1", "x", on_complete=Target("finish", "done")))
    store.seal_run("r1")
    assert store.run_state("r1").status == "succeeded"
    [message] = store.claim(["done"], 5)
    assert message.action == "finish" and message.body["run"] == "r1"


def test_stages_fire_once_each_with_a_summary_and_fan_in_children(store: Store) -> None:
    _staged(store)
    _put(store, "r1", "x", "y")
    store.seal_run("r1")
    _settle(store, store.claim(["q"], 10))
    [extract_summary] = store.claim(["b"], 10)
    assert extract_summary.action == "b" and extract_summary.run_id == "r1"
    assert extract_summary.body == {
        "run": "r1",
        "name": "etl",
        "stage": 0,
        "total": 2,
        "succeeded": 2,
        "dead": 0,
        "meta": {"user": 7},
    }
    assert store.run_state("r1").stage == 1
    # fan out: two children in the same run join stage 1, so it cannot finish without them
    children = tuple(NewMessage("b", i, action="b-part", run_id="r1") for i in range(2))
    _settle(store, [extract_summary], children=children)
    state = store.run_state("r1")
    assert [(s.total, s.succeeded, s.finished) for s in state.stages] == [
        (2, 2, True),
        (3, 1, False),
        (0, 0, False),
    ]
    assert store.claim(["c"], 10) == []
    parts = store.claim(["b"], 10)
    _settle(store, parts[:1])
    assert store.claim(["c"], 10) == []
    _settle(store, parts[1:])
    [load] = store.claim(["c"], 10)
    assert load.body["stage"] == 1 and load.body["total"] == 3
    _settle(store, [load])
    [finish] = store.claim(["done"], 10)
    assert finish.action == "finish" and finish.run_id is None
    assert finish.body["run"] == "r1"
    state = store.run_state("r1")
    assert (state.status, state.total, state.succeeded) == ("succeeded", 6, 6)
    assert store.claim(["b", "c", "done"], 10) == []


def test_dead_letters_count_and_fail_the_run(store: Store, clock: FakeClock) -> None:
    declare(store, max_receives=2, visibility_timeout=5)
    store.start_run(RunSpec("r1", "x"))
    _put(store, "r1", "discarded", "exhausted", "crashes", "fine")
    store.seal_run("r1")
    by_body = {m.body: m for m in store.claim(["q"], 4)}
    _settle(store, [by_body["discarded"]], "dead")
    _settle(store, [by_body["exhausted"]], "retry")
    _settle(store, [by_body["fine"]])
    clock.advance(6)  # the first lease of "crashes" expires
    again = {m.body: m for m in store.claim(["q"], 4)}
    assert set(again) == {"exhausted", "crashes"}
    _settle(store, [again["exhausted"]], "retry")  # second receive: dead-lettered
    clock.advance(6)  # "crashes" was leased twice and never settled
    assert store.claim(["q"], 4) == []  # a short claim dead-letters it
    state = store.run_state("r1")
    assert (state.succeeded, state.failed, state.dead, state.status) == (1, 1, 3, "failed")


def test_expire_counts_exhausted_and_expired_messages(store: Store, clock: FakeClock) -> None:
    declare(store, max_receives=1, visibility_timeout=5, retention=100)
    store.start_run(RunSpec("r1", "x"))
    _put(store, "r1", "leased")
    clock.advance(50)
    _put(store, "r1", "old")
    store.seal_run("r1")
    store.claim(["q"], 1)
    clock.advance(60)  # the lease is long gone; "leased" passed retention too
    assert store.expire() == 1
    clock.advance(50)
    assert store.expire() == 1
    state = store.run_state("r1")
    assert (state.dead, state.status) == (2, "failed")


def test_cancel_moves_remaining_messages_to_the_dlq(store: Store) -> None:
    declare(store)
    declare(store, "done")
    store.start_run(RunSpec("r1", "x", on_complete=Target("finish", "done")))
    _put(store, "r1", *range(5))
    [in_flight] = store.claim(["q"], 1)
    assert store.cancel_run("r1") == 5
    assert in_flight.receipt is not None
    assert store.complete([Outcome.ack(in_flight.receipt)]) == [in_flight.receipt]
    dead = store.dlq_list("q")
    assert len(dead) == 5 and {m.dead_reason for m in dead} == {"cancelled"}
    state = store.run_state("r1")
    assert (state.status, state.dead, state.total) == ("cancelled", 5, 5)
    assert store.claim(["done"], 1) == []
    assert store.cancel_run("r1") == 0
    with pytest.raises(RunSealed):
        _put(store, "r1", "late")


def test_redrive_reopens_a_failed_run_without_firing_twice(store: Store) -> None:
    declare(store)
    declare(store, "done")
    store.start_run(RunSpec("r1", "x", on_complete=Target("finish", "done")))
    _put(store, "r1", "ok", "bad")
    store.seal_run("r1")
    by_body = {m.body: m for m in store.claim(["q"], 2)}
    _settle(store, [by_body["ok"]])
    _settle(store, [by_body["bad"]], "dead")
    assert store.run_state("r1").status == "failed"
    assert len(store.claim(["done"], 5)) == 1
    assert store.redrive("q") == 1
    state = store.run_state("r1")
    assert (state.status, state.dead, state.finished_at) == ("running", 0, None)
    _settle(store, store.claim(["q"], 1))
    state = store.run_state("r1")
    assert (state.status, state.succeeded, state.dead) == ("succeeded", 2, 0)
    assert store.claim(["done"], 5) == []


def test_purging_a_live_queue_counts_its_run_messages_as_dead(store: Store) -> None:
    declare(store)
    store.start_run(RunSpec("r1", "x"))
    _put(store, "r1", 1, 2)
    _put(store, None, 3)
    store.seal_run("r1")
    assert store.purge("q") == 3
    state = store.run_state("r1")
    assert (state.dead, state.status) == (2, "failed")
    assert store.purge(dlq_name("q")) == 0


def test_a_checkpoint_is_stored_with_its_chunk(store: Store) -> None:
    declare(store)
    store.start_run(RunSpec("r1", "x"))
    store.enqueue([NewMessage("q", 1, "a", run_id="r1")], checkpoint=("r1", [5, "k"]))
    assert store.run_state("r1").checkpoint == [5, "k"]
    with pytest.raises(UnknownRun):
        store.enqueue([NewMessage("q", 2, "a")], checkpoint=("nope", 1))
    state = store.run_state("r1")
    assert (state.total, state.checkpoint) == (1, [5, "k"])
    assert store.stats(["q"])[0].depth == 1


def test_runs_lists_newest_first(store: Store, clock: FakeClock) -> None:
    for name in ("one", "two", "three"):
        store.start_run(RunSpec(name, name))
        clock.advance(1)
    assert [r.id for r in store.runs(2)] == ["three", "two"]


def test_backlog_counts_visible_messages_up_to_a_cap(store: Store) -> None:
    declare(store)
    _put(store, None, *range(7))
    _put(store, None, "later")
    store.claim(["q"], 2)
    assert store.backlog("q", 100) == 6
    assert store.backlog("q", 3) == 3


def test_concurrent_acks_of_a_stage_fire_the_next_stage_once(url: str) -> None:
    """Many threads with their own connections settle the last messages of a stage at once."""
    setup = open_store(url)
    setup.migrate()
    _staged(setup)
    n = 200
    _put(setup, "r1", *range(n))
    setup.seal_run("r1")
    claimed = setup.claim(["q"], n)
    assert len(claimed) == n
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def ack(part: list[Message]) -> None:
        store = open_store(url)
        try:
            barrier.wait()
            for m in part:
                assert m.receipt is not None
                store.complete([Outcome.ack(m.receipt)])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            store.close()

    threads = [threading.Thread(target=ack, args=(claimed[i::8],)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(setup.claim(["b"], 10)) == 1
    state = setup.run_state("r1")
    assert [(s.total, s.succeeded) for s in state.stages][:2] == [(n, n), (1, 0)]
    setup.close()


def test_a_run_with_its_first_messages_is_created_whole_or_not_at_all(store: Store) -> None:
    declare(store, max_message_bytes=100)
    [done] = store.start_run(RunSpec("r1", "x"), [NewMessage("q", 1, "a")], seal=True)
    state = store.run_state("r1")
    assert (state.status, state.total) == ("running", 1)
    assert store.get([done.id])[0].run_id == "r1"
    with pytest.raises(MessageTooLarge):
        store.start_run(RunSpec("r2", "x"), [NewMessage("q", "x" * 200, "a")], seal=True)
    with pytest.raises(UnknownRun):
        store.run_state("r2")
