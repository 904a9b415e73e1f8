"""Sync handler calls, run back to back by a few loops on the handler threads.

One executor hop per call costs more than a no-op handler itself (a thread wake-up, a future,
an asyncio task). Instead, dispatched calls wait in a queue that *runner loops* on the handler
threads empty one call after another. Runners start as the work needs them: fast handlers run
back to back in one thread; slow ones (or calls that wait, as when a handler hangs) get more
runners, up to the worker's concurrency. The event loop keeps the watch: it fails calls past
their timeout and gives the stuck runner's place to a new one.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from sluice.model import Message
from sluice.worker.actions import Action
from sluice.worker.context import Context

RUNNER_SHARE = 0.002
"""Seconds of expected handler time queued per runner before another runner starts."""
GROW_AFTER = 0.005
"""A call waiting this long for a runner starts more runners (a handler was slower than usual)."""
UNKNOWN_PACE = 1.0
"""Seconds per call assumed for an action not timed yet: full concurrency until measured."""


@dataclass(eq=False)
class Call:
    """One handler call: its action, its batch and what became of it."""

    action: Action
    batch: list[Message]
    ctx: Context
    queued: float = field(default_factory=time.monotonic)
    started: float | None = None
    result: Any = None
    error: BaseException | None = None
    done: bool = False
    timed_out: bool = False


class SyncCalls:
    """The queue of dispatched sync calls and the runner loops that empty it.

    ``run`` executes one call's handler in a handler thread; ``notify`` is called (from that
    thread) when finished calls wait to be collected with :meth:`collect`, once per batch of
    them rather than once per call.
    """

    def __init__(
        self, run: Callable[[Call], Any], notify: Callable[[], None], concurrency: int
    ) -> None:
        self._run = run
        self._notify = notify
        self._limit = concurrency
        self._executor = ThreadPoolExecutor(concurrency, "sluice-handler")
        self._waiting: deque[Call] = deque()
        self._running: dict[int, Call] = {}
        self._finished: deque[Call] = deque()
        self._runners = 0
        self._lock = threading.Lock()  # guards _runners and each call's done/timed_out switch
        self._notified = False
        self._closed = False
        self._pace: dict[str, float] = {}  # action -> moving average of seconds per call

    # -- the event loop's side ------------------------------------------------------------------
    def submit(self, calls: list[Call]) -> None:
        """Queue calls and start as many runners as their expected duration asks for."""
        self._waiting.extend(calls)
        expected = sum(self._pace.get(c.action.name, UNKNOWN_PACE) for c in self._waiting)
        self._start(max(1, math.ceil(expected / RUNNER_SHARE)))

    def watch(self, now: float) -> list[Call]:
        """Start runners for calls that wait too long; fail calls past their timeout and return
        them (their runners are written off: they stay stuck in the handler)."""
        if self._waiting and now - self._waiting[0].queued >= GROW_AFTER:
            self._start(len(self._waiting))
        expired = []
        for call in list(self._running.values()):
            if call.started is not None and now - call.started > call.action.policy.timeout:
                with self._lock:
                    if call.done or call.timed_out:
                        continue
                    call.timed_out = True
                    self._runners -= 1
                self._running.pop(id(call), None)
                expired.append(call)
        if expired:
            self._start(len(self._waiting))
        return expired

    def collect(self) -> list[Call]:
        """The calls finished since the last collect."""
        self._notified = False
        done = []
        while self._finished:
            done.append(self._finished.popleft())
        return done

    def close(self) -> None:
        """Start no more calls (thread-safe); :meth:`unstarted` then hands back the queued."""
        self._closed = True

    def unstarted(self) -> list[Call]:
        """Take back the calls no runner has started."""
        taken = []
        while self._waiting:
            try:
                taken.append(self._waiting.popleft())
            except IndexError:  # a runner took the last one (before it saw close())
                break
        return taken

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _start(self, wanted: int) -> None:
        with self._lock:
            start = min(wanted, len(self._waiting), self._limit) - self._runners
            if start <= 0 or self._closed:
                return
            self._runners += start
        for _ in range(start):
            self._executor.submit(self._runner)

    # -- the handler threads' side --------------------------------------------------------------
    def _runner(self) -> None:
        while True:
            try:
                if self._closed:
                    raise IndexError
                call = self._waiting.popleft()
            except IndexError:
                with self._lock:  # re-check under the lock: submit() may have queued meanwhile
                    if not self._waiting or self._closed:
                        self._runners -= 1
                        return
                continue
            if not self._call(call):
                return  # timed out: the event loop gave this runner's place to another

    def _call(self, call: Call) -> bool:
        call.started = started = time.monotonic()
        self._running[id(call)] = call
        try:
            call.result = self._run(call)
        except BaseException as exc:  # the event loop maps it to an outcome
            call.error = exc
        took = time.monotonic() - started
        pace = self._pace.get(call.action.name)
        self._pace[call.action.name] = took if pace is None else 0.8 * pace + 0.2 * took
        with self._lock:
            if call.timed_out:
                return False
            call.done = True
        self._running.pop(id(call), None)
        self._finished.append(call)
        if not self._notified:
            self._notified = True
            try:
                self._notify()
            except RuntimeError:  # the event loop is closed: the worker gave up on this call
                return False
        return True
