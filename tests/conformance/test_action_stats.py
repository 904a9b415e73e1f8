"""Per-action statistics: each worker's report replaces its own row; readers sum the rows."""

from __future__ import annotations

from sluice.model import DURATION_BUCKETS, ActionStats
from sluice.store import Store


def test_reports_replace_a_workers_totals_and_readers_sum_workers(store: Store) -> None:
    first = ActionStats("send", processed=3, failed=1)
    first.observe(0.003)
    first.observe(400.0)
    store.put_action_stats("w1", [first, ActionStats("load", dead=2)])
    first.processed = 10  # running totals: the next report replaces the row
    store.put_action_stats("w1", [first])
    second = ActionStats("send", processed=5)
    second.observe(0.2)
    store.put_action_stats("w2", [second])
    totals = {s.action: s for s in store.action_stats()}
    assert (totals["send"].processed, totals["send"].failed) == (15, 1)
    assert totals["load"].dead == 2
    assert sum(totals["send"].buckets) == 3
    assert totals["send"].buckets[0] == 1 and totals["send"].buckets[-1] == 1
    assert totals["send"].buckets[DURATION_BUCKETS.index(0.25)] == 1
    assert totals["send"].duration_sum == 400.203
