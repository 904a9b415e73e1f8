"""The database's clock, as seen from this process: local time plus a measured offset.

On PostgreSQL many machines share one store, and their clocks differ. Every time the store
computes (lease ends, visibility, delays, retention, token buckets, schedule ticks, alarm
windows) must come from one clock, so a store with no injected clock uses a
:class:`ServerClock`: ``time.time()`` plus the offset of the server's ``clock_timestamp()``,
measured at the first call and again every :data:`REFRESH_EVERY` seconds. Each measurement
opens a connection of its own for :data:`SAMPLES` round trips and keeps the one with the
smallest round trip (the offset is the server time minus the midpoint of the round trip; its
error is at most half the round trip).
A call costs two local clock reads: a claim stays one round trip.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sluice.store.green import on_green

REFRESH_EVERY = 30.0
"""Seconds (monotonic) between two measurements of the offset."""
RETRY_AFTER = 1.0
"""Seconds before a failed measurement is tried again (the last offset stays in force)."""
SAMPLES = 5
"""Round trips per measurement; the one with the smallest round trip is kept."""

Readings = Callable[[int], list[tuple[float, float, float]]]
"""Reads the server's clock n times: (local time sent, server time, local time received)."""


@dataclass(frozen=True)
class ClockOffset:
    """How far the store's clock is ahead of this process's ``time.time()``."""

    seconds: float
    """The database clock minus the local clock (negative: the local clock is ahead)."""
    error: float
    """The bound on the estimate's error: half the round trip of the sample it came from."""


def estimate(samples: list[tuple[float, float, float]]) -> ClockOffset:
    """The offset from ``(sent, server, received)`` samples (local times around the server
    time), taken from the sample with the smallest round trip."""
    sent, server, received = min(samples, key=lambda one: one[2] - one[0])
    return ClockOffset(server - (sent + received) / 2, max(0.0, received - sent) / 2)


class ServerClock:
    """A clock (a callable returning epoch seconds) that follows the database's time.

    ``readings(n)`` reads the server's clock ``n`` times, each as ``(local time sent, server
    time, local time received)``. Thread-safe: one thread measures while the others go on with
    the previous offset."""

    def __init__(self, readings: Readings) -> None:
        self._readings = readings
        self._lock = threading.Lock()
        self._offset = 0.0
        self._measured: ClockOffset | None = None
        self._due = float("-inf")

    def __call__(self) -> float:
        if time.monotonic() >= self._due:
            if self._measured is not None and on_green():
                self._refresh_aside()
            else:
                self._refresh()
        return time.time() + self._offset

    def offset(self) -> ClockOffset | None:
        """The last measured offset (measuring first if none is), or None if the server could
        not be reached yet."""
        if self._measured is None:
            self._refresh()
        return self._measured

    def _refresh(self) -> None:
        # The first measurement makes every caller wait for it; later ones are taken by
        # whichever thread comes first while the others keep the previous offset.
        if not self._lock.acquire(blocking=self._measured is None):
            return
        try:
            self._measure_if_due()  # another thread may have measured while this one waited
        finally:
            self._lock.release()

    def _refresh_aside(self) -> None:
        """Measure in a thread of its own: code on an event loop (``run_green``) must not
        wait for a connection and three round trips; it goes on with the previous offset."""
        if not self._lock.acquire(blocking=False):
            return  # a measurement is under way

        def measure() -> None:
            try:
                self._measure_if_due()
            finally:
                self._lock.release()

        threading.Thread(target=measure, name="sluice-clock", daemon=True).start()

    def _measure_if_due(self) -> None:
        """Measure unless a measurement is not due (the caller holds the lock)."""
        if time.monotonic() >= self._due:
            self._measure()

    def _measure(self) -> None:
        try:
            samples = self._readings(SAMPLES)
        except Exception:  # an unreachable server fails the store's own call, not its clock
            samples = []
        if not samples:
            self._due = time.monotonic() + RETRY_AFTER
            return
        self._measured = estimate(samples)
        self._offset = self._measured.seconds
        self._due = time.monotonic() + REFRESH_EVERY


__all__ = ["REFRESH_EVERY", "SAMPLES", "ClockOffset", "Readings", "ServerClock", "estimate"]
