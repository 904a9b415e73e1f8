"""The service that runs the SQS message move tasks of a serving process: a task steps once
every ``every`` seconds (moving up to its rate each step, all at once without one) until it is
completed or cancelled. Its record and progress live in the store."""

from __future__ import annotations

import asyncio
import logging

from sluice.store import Store
from sluice.store.sqs_moves import MoveTask
from sluice.worker.service import RealTiming, Service, StoreCalls, Timing

log = logging.getLogger("sluice.aws")
IDLE_WAIT = 3600.0
"""Seconds the loop waits with no task running (a new task wakes it at once)."""


class MoveTasks(Service):
    """Steps the running move tasks; :meth:`add` hands it a task (and starts it if need be).
    Reads time only through ``timing``; ``stepped`` is set after each pass (tests wait on
    it)."""

    def __init__(self, store: Store, timing: Timing | None = None, every: float = 1.0) -> None:
        super().__init__(lambda exc: log.error("message move tasks stopped: %s", exc))
        self._store = store
        self._timing: Timing = timing or RealTiming()
        self._calls = StoreCalls(self._timing, log)
        self.every = every
        self._due: dict[str, tuple[float, MoveTask]] = {}
        self._wake = asyncio.Event()
        self.stepped = asyncio.Event()

    def add(self, task: MoveTask) -> None:
        """Step ``task`` now and then every ``every`` seconds until it ends."""
        self._due[task.handle] = (self._timing.now(), task)
        self._wake.set()
        self.start()

    @property
    def running(self) -> list[str]:
        """The handles of the tasks still to step."""
        return sorted(self._due)

    async def run(self) -> None:
        while True:
            self._wake.clear()
            for handle, (at, task) in list(self._due.items()):
                if at <= self._timing.now():
                    await self._step(handle, task)
            self.stepped.set()
            next_at = min((at for at, _ in self._due.values()), default=None)
            wait = IDLE_WAIT if next_at is None else max(next_at - self._timing.now(), 0.0)
            await self._timing.wait(self._wake, wait)

    async def _step(self, handle: str, task: MoveTask) -> None:
        try:
            status = await self._calls(self._store.sqs_move_step, task, task.rate)
        except Exception:
            log.exception("message move task %s from %s failed", task.handle, task.source)
            status = "FAILED"
        if status == "RUNNING":
            self._due[handle] = (self._timing.now() + self.every, task)
        else:
            self._due.pop(handle, None)
