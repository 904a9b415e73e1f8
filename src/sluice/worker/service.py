"""What every worker service is built on: the time it reads and sleeps on, start/stop, store
calls that wait out an unavailable store.

Services read time and sleep only through a :class:`Timing`, so tests drive them with a fake
one and never wait on the real clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Protocol

from sluice.errors import StoreUnavailable

UNAVAILABLE_WAIT_MIN = 0.1
UNAVAILABLE_WAIT_MAX = 5.0
"""Seconds between attempts of a store call while the store is unavailable (doubling)."""


class Timing(Protocol):
    """The clock (monotonic seconds) and the waits of a service."""

    def now(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...

    async def wait(self, event: asyncio.Event, timeout: float) -> None:
        """Until ``event`` is set or ``timeout`` seconds have passed."""


class RealTiming:
    """The monotonic clock and asyncio's sleeps."""

    now = staticmethod(time.monotonic)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    async def wait(self, event: asyncio.Event, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)


class Service:
    """A loop (:meth:`run`) on the running event loop, with start and stop. A loop that
    fails calls ``on_failure`` with its exception."""

    def __init__(self, on_failure: Callable[[BaseException], None] | None = None) -> None:
        self._task: asyncio.Task[None] | None = None
        self._on_failure = on_failure

    async def run(self) -> None:
        raise NotImplementedError

    def start(self) -> None:
        """Start the loop (once; a second start while it runs does nothing)."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self.run())
            self._task.add_done_callback(self._loop_ended)

    async def stop(self) -> None:
        """Cancel the loop and wait until it has ended."""
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    @property
    def active(self) -> bool:
        """The loop runs."""
        return self._task is not None and not self._task.done()

    def _loop_ended(self, task: asyncio.Task[None]) -> None:
        if task.cancelled() or task.exception() is None:
            return
        if self._on_failure is not None:
            self._on_failure(task.exception() or RuntimeError("service failed"))


class Periodic(Service):
    """Calls ``work`` every ``every`` seconds (after the first interval)."""

    def __init__(
        self,
        every: float,
        work: Callable[[], Awaitable[None]],
        timing: Timing,
        on_failure: Callable[[BaseException], None] | None = None,
    ) -> None:
        super().__init__(on_failure)
        self.every = every
        self._work = work
        self._timing = timing

    async def run(self) -> None:
        while True:
            await self._timing.sleep(self.every)
            await self._work()


class StoreCalls:
    """Runs store methods in the loop's thread pool, retrying while the store is unavailable
    (waiting 0.1 s, doubling to 5 s, and saying so)."""

    def __init__(self, timing: Timing, log: logging.Logger) -> None:
        self._timing = timing
        self._log = log

    async def __call__(self, method: Callable[..., Any], *args: Any) -> Any:
        delay = UNAVAILABLE_WAIT_MIN
        while True:
            try:
                return await asyncio.to_thread(method, *args)
            except StoreUnavailable as exc:
                self._log.warning("store unavailable, retrying in %.1fs: %s", delay, exc)
                await self._timing.sleep(delay)
                delay = min(delay * 2, UNAVAILABLE_WAIT_MAX)


def background(tasks: set[asyncio.Task[None]], work: Coroutine[Any, Any, None]) -> None:
    """Run ``work`` as a task kept in ``tasks`` until it ends."""
    task = asyncio.get_running_loop().create_task(work)
    tasks.add(task)
    task.add_done_callback(tasks.discard)
