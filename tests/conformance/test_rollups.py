"""The charts' history: one sample per queue and action per minute whatever the number of
housekeeping passes or processes, read back by kind, and forgotten after a day."""

from __future__ import annotations

import pytest

from sluice.errors import ConfigError
from sluice.model import DURATION_BUCKETS, ActionStats
from sluice.store import Store
from tests.conformance.helpers import declare, put
from tests.conftest import FakeClock


def _report(store: Store, processed: int, fast: int, slow: int) -> None:
    buckets = [0] * (len(DURATION_BUCKETS) + 1)
    buckets[0], buckets[7] = fast, slow  # <= 5 ms, and 0.5 .. 1 s
    store.put_action_stats("w1", [ActionStats("act", processed, 2, 1, 0.0, buckets)])


def test_one_sample_a_minute_read_back_and_forgotten_after_a_day(
    store: Store, clock: FakeClock
) -> None:
    declare(store, "q")
    put(store, "q", 1, 2, 3)
    _report(store, 10, 9, 1)
    store.housekeep()
    store.housekeep()  # the same minute: nothing more
    store._rollup_minute = None  # as another process would: the minute's rows are there
    assert store.sample_rollups() == 0
    clock.advance(60)
    _report(store, 70, 60, 10)
    store.housekeep()
    [first, second] = store.rollups("action", 0)["act"]
    assert (first.processed, second.processed, second.failed, second.dead) == (10, 70, 2, 1)
    assert second.buckets[0] == 60 and len(second.buckets) == len(DURATION_BUCKETS) + 1
    [q1, q2] = store.rollups("queue", 0)["q"]
    assert (q1.depth, q2.depth, q2.in_flight, q2.dead) == (3, 3, 0, 0)
    assert list(store.rollups("queue", second.at)) == ["q"]
    clock.advance(2 * 86400)
    store.housekeep()
    assert [s.at for s in store.rollups("action", 0)["act"]] == [clock()]
    with pytest.raises(ConfigError, match="unknown chart kind 'run'"):
        store.rollups("run", 0)
