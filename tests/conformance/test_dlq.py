"""Dead-letter queues: max receives, reasons, history, redrive, purge."""

from __future__ import annotations

from sluice.model import Outcome, dlq_name
from sluice.store import Store
from tests.conformance.helpers import declare, put
from tests.conftest import FakeClock


def _fail(store: Store, error: str) -> None:
    [message] = store.claim(["q"], 1)
    assert message.receipt is not None
    assert store.complete([Outcome.retry(message.receipt, error, delay=0)]) == []


def test_max_receives_dead_letters_with_last_error_and_history(store: Store) -> None:
    declare(store, max_receives=3)
    [id_] = put(store, "q", {"k": 1})
    for attempt in range(1, 4):
        _fail(store, f"error {attempt}")
    assert store.claim(["q"], 1) == []
    [dead] = store.dlq_list("q")
    assert (dead.id, dead.body, dead.queue, dead.source_queue) == (id_, {"k": 1}, "q.dlq", "q")
    assert dead.dead_reason == "max_receives"
    assert dead.last_error == "error 3"
    assert [(a.receive, a.error) for a in dead.attempts] == [
        (1, "error 1"),
        (2, "error 2"),
        (3, "error 3"),
    ]
    stats = store.stats(["q"])[0]
    assert (stats.depth, stats.dlq_depth) == (0, 1)


def test_expired_leases_count_towards_max_receives(store: Store, clock: FakeClock) -> None:
    declare(store, max_receives=2, visibility_timeout=10)
    put(store, "q", "crashy")
    for _ in range(2):
        assert len(store.claim(["q"], 1)) == 1
        clock.advance(11)
    assert store.claim(["q"], 1) == []
    [dead] = store.dlq_list("q")
    assert dead.dead_reason == "max_receives"
    assert dead.receive_count == 2
    assert [a.error for a in dead.attempts] == ["lease expired", "lease expired"]


def _exhausted(store: Store, clock: FakeClock) -> int:
    """A message out of receives and visible again (its one lease passed); its id."""
    declare(store, max_receives=1, visibility_timeout=10)
    [crashy] = put(store, "q", "crashy")
    store.claim(["q"], 1)
    clock.advance(11)
    return crashy


def test_expire_dead_letters_exhausted_messages_even_while_others_are_claimable(
    store: Store, clock: FakeClock
) -> None:
    crashy = _exhausted(store, clock)
    put(store, "q", *range(5))
    assert len(store.claim(["q"], 5)) == 5
    assert store.expire() == 1
    assert [m.id for m in store.dlq_list("q")] == [crashy]


def test_of_two_short_claims_in_a_row_one_dead_letters_the_exhausted(
    store: Store, clock: FakeClock
) -> None:
    crashy = _exhausted(store, clock)
    put(store, "q", "a")
    # The claim that finds a message hands it over first and leaves the sweep to the next.
    assert [m.body for m in store.claim(["q"], 10)] == ["a"]
    assert store.dlq_list("q") == []
    put(store, "q", "b")
    assert [m.body for m in store.claim(["q"], 10)] == ["b"]
    assert [m.id for m in store.dlq_list("q")] == [crashy]


def test_outcome_dead_dead_letters_at_once_with_its_reason(store: Store) -> None:
    declare(store, max_receives=5)
    put(store, "q", "poison")
    [message] = store.claim(["q"], 1)
    assert message.receipt is not None
    store.complete([Outcome.dead(message.receipt, "invalid JSON")])
    [dead] = store.dlq_list("q")
    assert (dead.dead_reason, dead.last_error, dead.receive_count) == (
        "invalid JSON",
        "invalid JSON",
        1,
    )


def test_redrive_all_returns_messages_with_a_fresh_receive_count(store: Store) -> None:
    declare(store, max_receives=1)
    ids = put(store, "q", "a", "b")
    for _ in ids:
        _fail(store, "boom")
    assert len(store.dlq_list("q")) == 2
    assert store.redrive("q") == 2
    assert store.dlq_list("q") == []
    back = store.get(ids)
    assert [(m.queue, m.receive_count, m.dead_reason) for m in back] == [("q", 0, None)] * 2
    claimed = store.claim(["q"], 10)
    assert sorted(m.id for m in claimed) == ids
    assert {m.receive_count for m in claimed} == {1}


def test_redrive_by_id_and_by_error_text(store: Store) -> None:
    declare(store, max_receives=1)
    ids = put(store, "q", "a", "b", "c")
    for error in ("timeout talking to api", "invalid row", "timeout again"):
        _fail(store, error)
    by_error = {m.last_error: m.id for m in store.dlq_list("q")}
    assert store.redrive("q", error_contains="timeout") == 2
    assert [m.id for m in store.dlq_list("q")] == [by_error["invalid row"]]
    assert store.redrive("q", ids=[999_999]) == 0
    assert store.redrive("q", ids=[by_error["invalid row"]]) == 1
    assert store.dlq_list("q") == []
    assert store.stats(["q"])[0].depth == len(ids)


def test_a_dlq_is_a_queue_that_can_be_claimed_and_purged(store: Store) -> None:
    declare(store, max_receives=1)
    put(store, "q", "a", "b", "c")
    for _ in range(3):
        _fail(store, "boom")
    [one] = store.claim([dlq_name("q")], 1)
    assert one.queue == "q.dlq"
    assert store.purge(dlq_name("q")) == 3
    assert store.dlq_list("q") == []
    assert store.stats(["q"])[0].dlq_depth == 0
