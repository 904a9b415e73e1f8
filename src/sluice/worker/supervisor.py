"""Run a worker in several processes and stop them together."""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Sequence
from types import FrameType
from typing import TYPE_CHECKING

from sluice.observe.logs import configure_logging
from sluice.targets import load_app

if TYPE_CHECKING:
    pass


def run_worker(
    target: str,
    queues: Sequence[str] | None,
    concurrency: int,
    log_format: str = "json",
    *,
    sources: bool = False,
    grace: float = 30.0,
) -> None:
    """Load the app and run one worker in this process until SIGTERM / Ctrl-C; with
    ``sources``, a scheduler thread fires the app's cron schedules and scans its file
    watches meanwhile."""
    from sluice.sources.scheduler import Scheduler
    from sluice.worker.runtime import Worker

    configure_logging(log_format)
    app = load_app(target)
    scheduler = Scheduler(app).start() if sources else None
    try:
        Worker(app, queues=queues, concurrency=concurrency, grace=grace).run()
    finally:
        if scheduler is not None:
            scheduler.stop()
        app.close()


def supervise(
    target: str,
    queues: Sequence[str] | None,
    concurrency: int,
    processes: int,
    log_format: str = "json",
    *,
    sources: bool = False,
    grace: float = 30.0,
) -> int:
    """Run ``processes`` worker processes; SIGTERM / Ctrl-C stops them all gracefully.
    With ``sources`` the first one also runs the sources. Returns the worst exit
    code."""
    load_app(target)  # fail here, once, on a bad target
    spawn = multiprocessing.get_context("spawn")
    children = [
        spawn.Process(
            target=run_worker,
            args=(target, queues, concurrency, log_format),
            kwargs={"sources": sources and i == 0, "grace": grace},
            name=f"worker-{i}",
        )
        for i in range(processes)
    ]
    for child in children:
        child.start()

    def forward(signum: int, frame: FrameType | None) -> None:
        for child in children:
            if child.pid is not None and child.is_alive():
                os.kill(child.pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    for child in children:
        child.join()
    return max(abs(child.exitcode or 0) for child in children)
