"""Per-action processing totals that workers report, for metrics."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sluice import codec
from sluice.model import DURATION_BUCKETS, ActionStats

if TYPE_CHECKING:
    from sluice.store.base import Store


def put(store: Store, worker: str, stats: Sequence[ActionStats]) -> None:
    """Store one worker's running totals per action (each worker writes only its rows)."""
    with store._driver.write() as db:
        now = store.clock()
        for one in stats:
            totals = {"processed": one.processed, "failed": one.failed, "dead": one.dead}
            row = {"action": one.action, "worker": worker, **totals, "now": now}
            buckets = codec.dumps(one.buckets).decode()
            store._sql(
                db,
                "action_stats_put",
                {**row, "duration_sum": one.duration_sum, "buckets": buckets},
            )


def totals(store: Store) -> list[ActionStats]:
    """Totals per action over every worker that ever reported, by action name."""
    found: dict[str, ActionStats] = {}
    with store._driver.read() as db:
        rows = store._sql(db, "action_stats_all")
    for action, processed, failed, dead, duration_sum, buckets in rows:
        counts = (int(processed), int(failed), int(dead))
        one = ActionStats(action, *counts, float(duration_sum), list(codec.loads(buckets)))
        if len(one.buckets) != len(DURATION_BUCKETS) + 1:
            continue  # written with other buckets by another version: not comparable
        found.setdefault(action, ActionStats(action)).add(one)
    return [found[name] for name in sorted(found)]
