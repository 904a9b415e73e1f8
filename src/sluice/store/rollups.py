"""A bounded history of what workers already report, for the dashboard's charts.

Each housekeeping pass (every worker, every 30 s) samples, once per minute of the store's
clock, every queue's figures (depth, in flight, dead letters) and every action's summed totals
(the ``sluice_action_stats`` rows: successes, failures, dead letters and the duration buckets).
The first pass of a minute writes the minute's rows; later ones find them there (the key is
(kind, name, minute)), so the number of workers does not change the history's size. Samples
older than :data:`KEPT` are deleted by the same pass: at most a day and a minute of rows per
queue and action. Rates and percentiles are differences of these totals (``sluice.charts``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sluice import codec
from sluice.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Callable

    from sluice.model import ActionStats, QueueStats
    from sluice.store.driver import Driver, Params

KEPT = 86_400 + 60
"""Seconds of samples housekeeping keeps: a day, plus the minute a day's first rate needs."""
KINDS = ("queue", "action")


@dataclass(frozen=True, slots=True)
class Sample:
    """One minute's sample of a queue (``depth``, ``in_flight``, ``dead``: dead letters) or an
    action (``processed``, ``failed``, ``dead``: totals since workers started counting, and the
    cumulative duration ``buckets``)."""

    at: float
    depth: int = 0
    in_flight: int = 0
    dead: int = 0
    processed: int = 0
    failed: int = 0
    buckets: tuple[int, ...] = ()


class RollupVerbs:
    """The Store's chart history verbs (a mixin of :class:`~sluice.store.base.Store`)."""

    _rollup_minute: int | None = None
    if TYPE_CHECKING:
        _driver: Driver
        clock: Callable[[], float]

        def _sql(self, db: Any, name: str, params: Params = ()) -> list[Any]: ...
        def stats(self, queues: list[str] | None = None) -> list[QueueStats]: ...
        def action_stats(self) -> list[ActionStats]: ...

    def sample_rollups(self) -> int:
        """Record this minute's sample of every queue and action unless one is stored, and
        forget samples older than :data:`KEPT`; return how many rows were written."""
        now = self.clock()
        minute = int(now // 60)
        if minute == self._rollup_minute:
            return 0  # this process sampled this minute already: skip reading the figures
        self._rollup_minute = minute
        queues, actions = self.stats(), self.action_stats()
        rows = [
            _row(
                "queue",
                q.queue,
                minute,
                now,
                depth=q.depth,
                in_flight=q.in_flight,
                dead=q.dlq_depth,
            )
            for q in queues
        ]
        rows += [
            _row(
                "action",
                a.action,
                minute,
                now,
                dead=a.dead,
                processed=a.processed,
                failed=a.failed,
                buckets=codec.dumps(a.buckets).decode(),
            )
            for a in actions
        ]
        with self._driver.write() as db:
            written = sum(self._driver.count(db, "rollup_put", row) for row in rows)
            self._sql(db, "rollup_forget", {"before": int((now - KEPT) // 60)})
        return written

    def rollups(self, kind: str, since: float) -> dict[str, list[Sample]]:
        """The samples of every queue or action (``kind``) taken since ``since`` (epoch
        seconds), oldest first, by name."""
        if kind not in KINDS:
            raise ConfigError(f"unknown chart kind {kind!r}: use one of {', '.join(KINDS)}")
        with self._driver.read() as db:
            found = self._sql(db, "rollups_since", {"kind": kind, "after": int(since // 60)})
        series: dict[str, list[Sample]] = {}
        for name, at, depth, in_flight, dead, processed, failed, buckets in found:
            counts = (int(depth), int(in_flight), int(dead), int(processed), int(failed))
            shape = tuple(codec.loads(buckets)) if buckets else ()
            series.setdefault(str(name), []).append(Sample(float(at), *counts, shape))
        return series


def _row(kind: str, name: str, minute: int, at: float, **figures: Any) -> dict[str, Any]:
    zero = {"depth": 0, "in_flight": 0, "dead": 0, "processed": 0, "failed": 0, "buckets": None}
    return {"kind": kind, "name": name, "minute": minute, "at": at, **zero, **figures}
