"""The scheduler service: runs an app's periodic tasks on each pass (fire due cron ticks, scan
file watches, check alarms, sweep the event archive); run any number of them."""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from sluice.errors import StoreUnavailable
from sluice.observe.alarms import AlarmChecks
from sluice.observe.logs import Entries
from sluice.sources.bucket import BucketScanner
from sluice.sources.bucket.scanner import BucketUnreachable
from sluice.sources.cron import plan
from sluice.sources.events import EventRetention
from sluice.sources.files import FileScanner
from sluice.store.base import Clock

if TYPE_CHECKING:
    from sluice.app import App

MAX_SLEEP = 1.0
"""Seconds a scheduler sleeps at most, so schedules stored by other processes are seen soon."""
RETRY_DELAY = 1.0
"""Seconds to wait after the store was unreachable."""


class Scheduler:
    """Runs an app's periodic tasks, a pass at a time, until stopped. Each pass fires the
    schedules in the store (all of them, whichever app stored them) that are due on ``clock``
    (default the store's): each tick is fired by one scheduler only, however many run, as the
    store's compare-and-set on the next fire time decides. It also scans ``app``'s file
    watches (dedup ids keep each file version to one message, however many scan), checks the
    app's alarms (:class:`~sluice.observe.alarms.AlarmChecks`) and sweeps the event archive
    (:class:`~sluice.sources.events.EventRetention`)."""

    def __init__(self, app: App, *, clock: Clock | None = None, max_sleep: float = MAX_SLEEP):
        self.app = app
        self.store = app.store
        self.clock: Clock = clock or self.store.clock
        self.max_sleep = max_sleep
        self.fired = 0
        """Ticks this scheduler has fired."""
        self.scanners = [FileScanner(app, watch) for watch in app.file_watches.values()]
        self.bucket_scanners = [BucketScanner(app, w) for w in app.bucket_watches.values()]
        self.files_enqueued = 0
        """Messages this scheduler's file scans have created."""
        self.passed = threading.Event()
        """Set after each pass of :meth:`run` (tests wait on it; clear it to wait again)."""
        self.log = logging.getLogger("sluice.scheduler")
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.alarms = AlarmChecks(app)
        self.retention = EventRetention(self.store, app.event_retention, self.clock)

    def tick(self) -> int:
        """The pass's time-driven tasks: sweep the event archive when due, check the alarms,
        fire every cron tick due now; return how many ticks this scheduler fired."""
        self.retention.run()
        self.alarms.run()
        fired = self.store.fire_due(plan, self.clock())
        if fired:
            self.log.info(
                "%s",
                Entries(
                    [
                        {
                            "event": "fired",
                            "schedule": one.schedule,
                            "tick": one.tick,
                            "message_id": one.message_id,
                        }
                        for one in fired
                    ]
                ),
            )
        self.fired += len(fired)
        return len(fired)

    def scan_files(self) -> int:
        """Scan every file watch once; return how many messages were created. A watch that
        fails (its root unmounted, say) is logged and does not stop the others."""
        created = 0
        for scanner in self.scanners:
            try:
                created += scanner.scan().enqueued
            except StoreUnavailable:
                raise
            except Exception:
                self.log.exception("scan of %s failed", scanner.watch.root)
        for bucket in self.bucket_scanners:
            try:
                result = bucket.scan()
                created += result.enqueued if result is not None else 0
            except StoreUnavailable:
                raise
            except BucketUnreachable as exc:
                self.log.warning("%s (retry %d, backing off)", exc, bucket.failures)
            except Exception:
                self.log.exception("scan of %s failed", bucket.watch.url)
        self.files_enqueued += created
        return created

    def next_due(self) -> float | None:
        """The earliest next fire time of the stored schedules (None without any)."""
        return min((stored.next_at for stored in self.store.schedules()), default=None)

    def run(self, stop: threading.Event | None = None) -> None:
        """Fire due ticks until ``stop`` (default: :meth:`stop` was called) is set, sleeping
        until the next fire time, at most ``max_sleep`` seconds at a time."""
        stop = stop or self._stop
        while not stop.is_set():
            try:
                self.tick()
                self.scan_files()
                due = self.next_due()
            except StoreUnavailable as exc:
                self.log.warning("store unavailable, retrying in %.1fs: %s", RETRY_DELAY, exc)
                stop.wait(RETRY_DELAY)
                continue
            except Exception:
                # E.g. a stored schedule whose queue is gone: nothing of the pass was stored.
                # Say so and keep going, rather than silently end a scheduler thread.
                self.log.exception("scheduler pass failed, retrying in %.1fs", RETRY_DELAY)
                stop.wait(RETRY_DELAY)
                continue
            self.passed.set()
            wait = self.max_sleep if due is None else due - self.clock()
            stop.wait(min(max(wait, 0.0), self.max_sleep))

    def start(self) -> Scheduler:
        """Run in a background thread until :meth:`stop`."""
        self._stop.clear()
        self._thread = threading.Thread(target=self.run, name="sluice-scheduler", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the loop and wait for the pass in progress to end."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
