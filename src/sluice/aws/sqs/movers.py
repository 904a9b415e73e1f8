"""The service that runs the SQS message move tasks of the store in a serving process: a task
steps once every ``every`` seconds (moving up to its rate each step, all at once without one)
until it is completed or cancelled. Its record and progress live in the store.

Every serving process steps every active task of the store: it adopts them when it starts and
every ``adopt_every`` seconds (so the tasks of a restarted or killed server go on), and the
store lets only one process take each step (a compare-and-set on the task's next step time),
so a task's rate holds however many servers there are."""

from __future__ import annotations

import asyncio
import logging

from sluice.store import Store
from sluice.store.sqs_moves import MoveTask
from sluice.worker.service import RealTiming, Service, StoreCalls, Timing

log = logging.getLogger("sluice.aws")
ADOPT_EVERY = 5.0
"""Seconds between two reads of the store's active tasks (a new task of this process wakes the
loop at once)."""


class MoveTasks(Service):
    """Steps the active move tasks of the store; :meth:`add` hands it a task started here.
    Reads time only through ``timing``; ``stepped`` is set after each pass (tests wait on
    it)."""

    def __init__(
        self,
        store: Store,
        timing: Timing | None = None,
        every: float = 1.0,
        adopt_every: float = ADOPT_EVERY,
    ) -> None:
        super().__init__(lambda exc: log.error("message move tasks stopped: %s", exc))
        self._store = store
        self._timing: Timing = timing or RealTiming()
        self._calls = StoreCalls(self._timing, log)
        self.every = every
        self.adopt_every = adopt_every
        self._due: dict[str, float] = {}
        self._wake = asyncio.Event()
        self.stepped = asyncio.Event()

    def add(self, task: MoveTask) -> None:
        """Step ``task`` now and then every ``every`` seconds until it ends."""
        self._due[task.handle] = self._timing.now()
        self._wake.set()
        self.start()

    @property
    def running(self) -> list[str]:
        """The handles of the tasks still to step."""
        return sorted(self._due)

    async def run(self) -> None:
        adopt_at = self._timing.now()
        while True:
            self._wake.clear()
            if adopt_at <= self._timing.now():
                await self._adopt()
                adopt_at = self._timing.now() + self.adopt_every
            for handle, at in list(self._due.items()):
                if at <= self._timing.now():
                    await self._step(handle)
            self.stepped.set()
            next_at = min([adopt_at, *self._due.values()])
            await self._timing.wait(self._wake, max(next_at - self._timing.now(), 0.0))

    async def _adopt(self) -> None:
        try:
            active = await self._calls(self._store.sqs_move_active)
        except Exception:
            log.exception("reading the active message move tasks failed")
            return
        for handle in active:
            self._due.setdefault(handle, self._timing.now())

    async def _step(self, handle: str) -> None:
        try:
            step = await self._calls(self._store.sqs_move_step, handle, self.every)
        except Exception:
            # dropped here; the next adoption brings it back while the store says it is active
            log.exception("message move task %s failed a step", handle)
            self._due.pop(handle, None)
            return
        if step.wait is None:
            self._due.pop(handle, None)
        else:
            self._due[handle] = self._timing.now() + step.wait
