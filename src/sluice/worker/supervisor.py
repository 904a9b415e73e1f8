"""Run a worker in several processes and stop them together."""

from __future__ import annotations

import importlib
import multiprocessing
import os
import signal
import sys
from collections.abc import Sequence
from types import FrameType, ModuleType
from typing import TYPE_CHECKING

from sluice.errors import ConfigError
from sluice.observe.logs import configure_logging as configure_logging

if TYPE_CHECKING:
    from sluice.app import App


def load_app(target: str) -> App:
    """The ``App`` named by ``module:attribute`` (the current directory is importable)."""
    from sluice.app import App

    module_name, _, attribute = target.partition(":")
    if not module_name or not attribute:
        raise ConfigError(f"expected module:attribute (like myproject.jobs:app), got {target!r}")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    module = _import(module_name)
    if not hasattr(module, attribute):
        raise ConfigError(
            f"module {module_name!r} has no attribute {attribute!r} (in {module.__file__})"
        )
    app = getattr(module, attribute)
    if not isinstance(app, App):
        raise ConfigError(f"{target!r} is not a sluice.App (found {type(app).__name__})")
    return app


def _import(module_name: str) -> ModuleType:
    """The module, or a ConfigError telling a missing module from one that fails to import."""
    try:
        return importlib.import_module(module_name)
    except ImportError as exc:
        missing = exc.name if isinstance(exc, ModuleNotFoundError) else None
        if missing is None or not _is_prefix(missing, module_name):
            raise ConfigError(
                f"cannot import {module_name!r}: importing it failed with "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        raise ConfigError(
            f"cannot import {module_name!r}: module {missing!r} not found on sys.path (which "
            f"holds the current directory {os.getcwd()!r}); run from the project's directory "
            "or add its directory to PYTHONPATH"
        ) from exc


def _is_prefix(missing: str, module_name: str) -> bool:
    """Whether the missing module is ``module_name`` itself or one of its parent packages."""
    return module_name == missing or module_name.startswith(missing + ".")


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
