"""The worker's housekeeping: heartbeats for the leases it holds, the store's periodic
maintenance, and reports of its per-action counters."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from sluice.model import ActionStats, Receipt
from sluice.worker.service import Periodic, StoreCalls, Timing
from sluice.worker.skew import ClockSkewCheck

if TYPE_CHECKING:
    from sluice.store import Store

MAINTENANCE_EVERY = 30.0
"""Seconds between housekeeping passes (Store.housekeep) of each worker."""
STATS_EVERY = 2.0
"""Seconds between reports of a worker's per-action counters (for metrics)."""


class Leases:
    """The receipts of the messages this worker has claimed and not completed: the
    heartbeats extend them, shutdown gives them back."""

    def __init__(self) -> None:
        self._held: dict[int, Receipt] = {}

    def hold(self, receipt: Receipt) -> None:
        self._held[receipt.message_id] = receipt

    def drop(self, receipts: Iterable[Receipt]) -> None:
        """Forget these messages (completed, or given back)."""
        for receipt in receipts:
            self._held.pop(receipt.message_id, None)

    def lost(self, receipts: Iterable[Receipt]) -> None:
        """Forget receipts the store found stale, unless a newer one is held meanwhile."""
        for receipt in receipts:
            if self._held.get(receipt.message_id) == receipt:
                del self._held[receipt.message_id]

    def receipts(self) -> list[Receipt]:
        return list(self._held.values())

    def __bool__(self) -> bool:
        return bool(self._held)


class Housekeeper:
    """Three periodic jobs: extend the held leases every third of the lease, run
    ``Store.housekeep`` every ``MAINTENANCE_EVERY`` seconds, and report the counters every
    ``STATS_EVERY`` seconds when they changed."""

    def __init__(
        self,
        store: Store,
        *,
        leases: Leases,
        lease: float,
        stats: dict[str, ActionStats],
        worker_id: str,
        store_call: StoreCalls,
        timing: Timing,
        log: logging.Logger,
        on_failure: Callable[[BaseException], None] | None = None,
    ) -> None:
        self.store = store
        self.leases = leases
        self.lease = lease
        self.stats = stats
        self.worker_id = worker_id
        self.log = log
        self._store_call = store_call
        self.clock_check = ClockSkewCheck(store, log)
        """Warns once if this machine's clock is off the store's (checked on each maintain)."""
        self._reported: list[ActionStats] = []
        self.jobs = [
            Periodic(lease / 3, self.heartbeat, timing, on_failure),
            Periodic(MAINTENANCE_EVERY, self.maintain, timing, on_failure),
            Periodic(STATS_EVERY, self.report, timing, on_failure),
        ]

    def start(self) -> None:
        for job in self.jobs:
            job.start()

    async def stop(self) -> None:
        for job in self.jobs:
            await job.stop()

    async def heartbeat(self) -> None:
        receipts = self.leases.receipts()
        if receipts:
            # A stale receipt here (its message released or acked meanwhile) changes nothing.
            stale = await self._store_call(self.store.extend, receipts, self.lease)
            self.leases.lost(stale)

    async def maintain(self) -> None:
        """Housekeeping any worker may do (it is idempotent): retention, receives run out,
        dedup ids and FIFO groups past their time, table bloat; then the clock-skew check."""
        expired = await self._store_call(self.store.housekeep)
        if expired:
            self.log.info("dead-lettered %d expired or exhausted messages", expired)
        await self._store_call(self.clock_check.check)

    async def report(self) -> None:
        """Store the running totals per action if they moved since the last report."""
        snapshot = [
            dataclasses.replace(one, buckets=list(one.buckets)) for one in self.stats.values()
        ]
        if snapshot and snapshot != self._reported:
            await self._store_call(self.store.put_action_stats, self.worker_id, snapshot)
            self._reported = snapshot
