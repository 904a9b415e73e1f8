"""The worker: claims batches, runs handlers under an asyncio loop, completes outcomes.

One asyncio loop per worker process, composing services: the claimer (``claimer.py``) keeps up
to two rounds of work on hand (handler slots x the batch size, twice); the dispatcher
(``dispatcher.py``) starts calls as slots free up, sync handlers back to back on handler
threads (``calls.py``), async ones on the loop; the completer (``completer.py``) writes the
outcomes gathered while its previous write was under way in one store transaction; the
housekeeper (``housekeeping.py``) heartbeats leases, runs the store's maintenance and
reports counters. Store calls run in a thread pool.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import threading
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from sluice.worker.batches import Batches
from sluice.worker.claimer import Claimer
from sluice.worker.completer import Completer
from sluice.worker.context import OnceReservations
from sluice.worker.dispatcher import Dispatcher
from sluice.worker.housekeeping import Housekeeper, Leases
from sluice.worker.service import RealTiming, StoreCalls, Timing

if TYPE_CHECKING:
    from sluice.app import App


class Worker:
    """Runs the handlers of ``app``'s actions for messages of ``queues`` (default: the queues
    of every registered action). ``concurrency`` handler calls run at once in this process.
    On :meth:`stop`, running calls get ``grace`` seconds to finish; the messages of those that
    do not are given back at once (their handler threads are abandoned). A worker runs once."""

    def __init__(
        self,
        app: App,
        *,
        queues: Sequence[str] | None = None,
        concurrency: int = 10,
        stop_when_idle: bool = False,
        poll: float = 1.0,
        grace: float = 30.0,
        timing: Timing | None = None,
    ) -> None:
        self.app = app
        self.store = app.store
        self.queues = list(queues or sorted({a.policy.queue for a in app.actions.values()}))
        if not self.queues:
            raise ValueError("the worker has no queue to drain: register an action first")
        if grace < 0:
            raise ValueError(f"grace must be 0 seconds or more, got {grace!r}")
        self.concurrency = concurrency
        self.grace = grace
        self.log = logging.getLogger("sluice.worker")
        self.worker_id = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.timing: Timing = timing or RealTiming()
        self._stop = threading.Event()
        store_call = StoreCalls(self.timing, self.log)
        self._store_call = store_call
        self.leases = Leases()
        self.batches = Batches()
        self.completer = Completer(
            self.store,
            leases=self.leases,
            once=OnceReservations(),
            store_call=store_call,
            timing=self.timing,
            log=self.log,
            on_failure=self._service_failed,
        )
        self.counts = self.completer.counts
        self.dispatcher = Dispatcher(
            app,
            batches=self.batches,
            completer=self.completer,
            concurrency=concurrency,
            stopping=self._stop,
            timing=self.timing,
            log=self.log,
            on_failure=self._service_failed,
        )
        self.claimer = self._claimer(stop_when_idle, poll)
        self.housekeeper = self._housekeeper()
        self.housekeeper.clock_check.check()  # at start, then on each maintenance pass

    def _claimer(self, stop_when_idle: bool, poll: float) -> Claimer:
        return Claimer(
            self.app,
            self.queues,
            batches=self.batches,
            dispatcher=self.dispatcher,
            completer=self.completer,
            leases=self.leases,
            stopping=self._stop,
            stop_when_idle=stop_when_idle,
            poll=poll,
            store_call=self._store_call,
            timing=self.timing,
        )

    def _housekeeper(self) -> Housekeeper:
        return Housekeeper(
            self.store,
            leases=self.leases,
            lease=min(self.store.policy(q).visibility_timeout for q in self.queues),
            stats=self.completer.stats,
            worker_id=self.worker_id,
            store_call=self._store_call,
            timing=self.timing,
            log=self.log,
            on_failure=self._service_failed,
        )

    # -- control ----------------------------------------------------------------------------
    def run(self) -> None:
        """Run until :meth:`stop` (or SIGTERM / Ctrl-C in the main thread), or until idle."""
        asyncio.run(self._main())

    def stop(self) -> None:
        """Stop claiming and starting calls, finish running calls within the grace period,
        release the rest."""
        self._stop.set()
        self.dispatcher.close()

    def _service_failed(self, exc: BaseException) -> None:
        self.log.error("worker service failed, stopping", exc_info=exc)
        self.stop()

    # -- the loop ---------------------------------------------------------------------------
    async def _main(self) -> None:
        loop = asyncio.get_running_loop()
        loop.set_default_executor(ThreadPoolExecutor(4, "sluice-store"))
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, self.stop)
        self.completer.start()
        self.dispatcher.start()
        self.housekeeper.start()
        try:
            try:
                await self.claimer.run()  # here, not as a task: its errors end the run
            finally:
                await self._shutdown()
        finally:
            await self.housekeeper.stop()
            await self.dispatcher.stop()
            await self.completer.close()
            await self.housekeeper.report()
            self.dispatcher.sync.shutdown()

    async def _shutdown(self) -> None:
        """Give back what has not started; let running calls finish within the grace period;
        give back the leases of those that do not. Say what became of them."""
        self.stop()
        waiting = [m.receipt for m in self.batches.drain() + self.dispatcher.unstarted()]
        receipts = [receipt for receipt in waiting if receipt is not None]
        if receipts:
            await self._store_call(self.store.release, receipts)
            self.leases.drop(receipts)
        running = self.dispatcher.running
        if running:
            self.log.info(
                "stopping: waiting up to %gs (the grace period) for %d running calls; gave "
                "back %d messages not started",
                self.grace,
                running,
                len(receipts),
            )
        await self._grace()
        await self.completer.flush()
        unfinished = self.leases.receipts()
        if unfinished:
            await self._store_call(self.store.release, unfinished)
            self.leases.drop(unfinished)
        if running or receipts:
            ids = ", ".join(str(r.message_id) for r in unfinished)
            self.log.info(
                "stopped: %d of %d running calls finished within the grace period (%gs); gave "
                "back %d messages not started and %d messages of calls still running%s",
                running - self.dispatcher.running,
                running,
                self.grace,
                len(receipts),
                len(unfinished),
                f" (ids {ids})" if unfinished else "",
            )

    async def _grace(self) -> None:
        """Until no call runs, or the grace period is over."""
        deadline = self.timing.now() + self.grace
        wake = self.dispatcher.wake
        while self.dispatcher.running > 0 and (left := deadline - self.timing.now()) > 0:
            wake.clear()
            await self.timing.wait(wake, left)
