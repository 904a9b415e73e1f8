"""A fake :class:`sluice.worker.service.Timing` for driving worker services in tests."""

from __future__ import annotations

import asyncio

from tests.conftest import FakeClock


class FakeTiming:
    """Time that moves only when a test calls :meth:`advance`: sleeps and waits end once it
    has passed their deadline (waits also when their event is set). Use on the loop only."""

    def __init__(self, start: float = 1000.0) -> None:
        self.clock = FakeClock(start)
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []

    def now(self) -> float:
        return self.clock()

    async def sleep(self, seconds: float) -> None:
        future = asyncio.get_running_loop().create_future()
        self._sleepers.append((self.now() + seconds, future))
        await future

    async def wait(self, event: asyncio.Event, timeout: float) -> None:
        if event.is_set():
            return
        waiter = asyncio.ensure_future(event.wait())
        sleeper = asyncio.ensure_future(self.sleep(timeout))
        await asyncio.wait({waiter, sleeper}, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        sleeper.cancel()

    @property
    def sleeping(self) -> list[float]:
        """The deadlines of the sleeps under way."""
        return sorted(at for at, future in self._sleepers if not future.done())

    async def advance(self, seconds: float) -> None:
        """Move the clock, end the sleeps it passed, and let their tasks run."""
        self.clock.advance(seconds)
        due = [future for at, future in self._sleepers if at <= self.now()]
        self._sleepers = [(at, f) for at, f in self._sleepers if at > self.now() and not f.done()]
        for future in due:
            if not future.done():
                future.set_result(None)
        await settle()


async def settle(rounds: int = 20) -> None:
    """Let the loop's ready tasks run (no time passes)."""
    for _ in range(rounds):
        await asyncio.sleep(0)


async def until(condition: object, what: str, timeout: float = 30.0) -> None:
    """Yield to the loop (and to threads) until ``condition()`` holds: for work done in store
    threads or handler threads, which the fake clock does not drive."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():  # type: ignore[operator]
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.005)
