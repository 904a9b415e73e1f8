"""``sluice scheduler module:app``: fire an app's cron schedules and scan its file watches
(run as many as you like)."""

from __future__ import annotations

import logging
import os
import signal
import threading
from types import FrameType

import click

from sluice.cli import cli


@cli.command()
@click.argument("target")
@click.option(
    "--log-format",
    type=click.Choice(["json", "text"]),
    default="json",
    show_default=True,
    help="One JSON line per tick fired, or plain text.",
)
def scheduler(target: str, log_format: str) -> None:
    """Fire the cron schedules of TARGET (module:app) and scan its file watches until SIGTERM
    or Ctrl-C. Any number of schedulers may run on any machines: each tick is fired, and each
    file version enqueued, exactly once."""
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    # First, so that a stop asked for while the app is still loading is a clean stop too.
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    from sluice.observe.logs import Entries, configure_logging
    from sluice.sources.scheduler import Scheduler
    from sluice.targets import load_app

    configure_logging(log_format)
    app = load_app(target)
    service = Scheduler(app)
    started = {
        "event": "started",
        "pid": os.getpid(),
        "schedules": len(app.schedules),
        "file_watches": len(service.scanners),
    }
    logging.getLogger("sluice.scheduler").info("%s", Entries([started]))
    try:
        service.run(stop)
    finally:
        app.close()
