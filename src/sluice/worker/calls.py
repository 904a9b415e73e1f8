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
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
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
    span: Any = None
    """Its consumer span while tracing (``observe/tracing.py``)."""


class SyncCalls:
    """The queue of dispatched sync calls and the runner loops that empty it.

    ``run`` executes one call's handler in a handler thread; ``notify`` is called (from that
    thread) when finished calls wait to be collected with :meth:`collect`, once per batch of
    them rather than once per call. Every structure the event loop and the handler threads
    share is touched under one lock.
    """

    def __init__(
        self,
        run: Callable[[Call], Any],
        notify: Callable[[], None],
        concurrency: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._run = run
        self._clock = clock
        self._notify = notify
        self._limit = concurrency
        self._threads = DaemonThreads("sluice-handler")
        self._lock = threading.Lock()  # guards everything below
        self._waiting: deque[Call] = deque()
        self._running: dict[int, Call] = {}
        self._finished: list[Call] = []
        self._runners = 0
        self._notified = False
        self._closed = False
        self._pace: dict[str, float] = {}  # action -> moving average of seconds per call

    # -- the event loop's side ------------------------------------------------------------------
    def submit(self, calls: list[Call]) -> None:
        """Queue calls and start as many runners as their expected duration asks for."""
        with self._lock:
            self._waiting.extend(calls)
            pace = self._pace
            expected = sum(pace.get(c.action.name, UNKNOWN_PACE) for c in self._waiting)
        self._start(max(1, math.ceil(expected / RUNNER_SHARE)))

    def watch(self, now: float) -> list[Call]:
        """Start runners for calls that wait too long; fail calls past their timeout and return
        them (their runners are written off: they stay stuck in the handler)."""
        with self._lock:
            slow = bool(self._waiting) and now - self._waiting[0].queued >= GROW_AFTER
            expired = [
                call
                for call in self._running.values()
                if call.started is not None and now - call.started > call.action.policy.timeout
            ]
            for call in expired:
                call.timed_out = True
                self._runners -= 1
                del self._running[id(call)]
        if slow or expired:
            self._start(self._limit)
        return expired

    def running(self) -> int:
        """Calls a runner has started and not finished (nor timed out)."""
        with self._lock:
            return len(self._running)

    def collect(self) -> list[Call]:
        """The calls finished since the last collect."""
        with self._lock:
            self._notified = False
            done, self._finished = self._finished, []
        return done

    def close(self) -> None:
        """Start no more calls (thread-safe); :meth:`unstarted` then hands back the queued."""
        with self._lock:
            self._closed = True

    def unstarted(self) -> list[Call]:
        """Take back the calls no runner has started."""
        with self._lock:
            taken = list(self._waiting)
            self._waiting.clear()
        return taken

    def shutdown(self) -> None:
        """Let idle handler threads end; stuck ones end with their handler (they are daemon
        threads, so they never keep the process alive)."""
        self._threads.shutdown()

    def _start(self, wanted: int) -> None:
        with self._lock:
            start = min(wanted, len(self._waiting), self._limit) - self._runners
            if start <= 0 or self._closed:
                return
            self._runners += start
        for _ in range(start):
            self._threads.submit(self._runner)

    # -- the handler threads' side --------------------------------------------------------------
    def _runner(self) -> None:
        while True:
            with self._lock:
                if self._closed or not self._waiting:
                    self._runners -= 1
                    return
                call = self._waiting.popleft()
                call.started = self._clock()
                self._running[id(call)] = call
            if not self._call(call):
                return  # timed out: the event loop gave this runner's place to another

    def _call(self, call: Call) -> bool:
        try:
            call.result = self._run(call)
        except BaseException as exc:  # the event loop maps it to an outcome
            call.error = exc
        assert call.started is not None
        took = self._clock() - call.started
        with self._lock:
            pace = self._pace.get(call.action.name)
            self._pace[call.action.name] = took if pace is None else 0.8 * pace + 0.2 * took
            if call.timed_out:
                return False
            call.done = True
            del self._running[id(call)]
            self._finished.append(call)
            notify, self._notified = not self._notified, True
        if notify:
            try:
                self._notify()
            except RuntimeError:  # the event loop is closed: the worker gave up on this call
                return False
        return True


class DaemonThreads:
    """Runs submitted functions on daemon threads, reusing idle ones. A ThreadPoolExecutor's
    threads are joined at interpreter exit, so one handler stuck past the shutdown grace
    would keep the process alive until it returns."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._tasks: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._idle = 0
        self._threads = 0

    def submit(self, task: Callable[[], None]) -> None:
        with self._lock:
            spawn = self._idle == 0
            if spawn:
                self._threads += 1
            else:
                self._idle -= 1  # that idle thread takes this task
            number = self._threads
        self._tasks.put(task)
        if spawn:
            name = f"{self._name}_{number}"
            threading.Thread(target=self._serve, name=name, daemon=True).start()

    def shutdown(self) -> None:
        """End every thread once it is idle."""
        with self._lock:
            threads, self._threads, self._idle = self._threads, 0, 0
        for _ in range(threads):
            self._tasks.put(None)

    def _serve(self) -> None:
        while (task := self._tasks.get()) is not None:
            task()
            with self._lock:
                self._idle += 1
