"""Queue statistics."""

from __future__ import annotations

from sluice.model import Outcome
from sluice.store import Store
from tests.conformance.helpers import declare, put
from tests.conftest import FakeClock


def test_stats_count_visible_in_flight_delayed_dead_and_oldest_age(
    store: Store, clock: FakeClock
) -> None:
    declare(store, max_receives=1)
    declare(store, "empty")
    put(store, "q", "a", "b", "c", "d")
    clock.advance(10)
    put(store, "q", "later", delay=60)
    claimed = store.claim(["q"], 2)
    failing = claimed[0].receipt
    assert failing is not None
    store.complete([Outcome.retry(failing, "boom")])
    clock.advance(5)
    by_name = {s.queue: s for s in store.stats()}
    assert set(by_name) == {"q", "empty"}
    q = by_name["q"]
    assert (q.depth, q.in_flight, q.delayed, q.dlq_depth) == (2, 1, 1, 1)
    assert q.oldest_age == 15
    empty = by_name["empty"]
    assert (empty.depth, empty.in_flight, empty.delayed, empty.oldest_age) == (0, 0, 0, 0.0)
