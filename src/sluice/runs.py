"""Runs at the app level: the handle users hold, and resolving stage actions to their queues."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sluice.errors import ConfigError, UnknownRun
from sluice.model import RunSpec, RunState, Target

if TYPE_CHECKING:
    from sluice.registry import Registry
    from sluice.store import Store


@dataclass(frozen=True)
class Run:
    """A handle on a run: pass it (or its ``id``) as ``run=`` when enqueueing."""

    id: str
    store: Store = field(repr=False, compare=False)

    def seal(self) -> None:
        """Discovery is over: the total of the first stage is final."""
        self.store.seal_run(self.id)

    def state(self) -> RunState:
        """The run's current counters and status, read from the store."""
        return self.store.run_state(self.id)

    def cancel(self) -> int:
        """Cancel the run (see :meth:`sluice.App.cancel_run`)."""
        return self.store.cancel_run(self.id)

    def __str__(self) -> str:
        return self.id


RunRef = Run | str
"""A run given by handle or by id."""


def run_id_of(run: RunRef | None) -> str | None:
    """The id of a run given by handle or id."""
    if run is None or isinstance(run, str):
        return run
    if isinstance(run, Run):
        return run.id
    raise ConfigError(f"run must be a sluice Run or a run id string, got {run!r}")


def start_run(
    store: Store,
    registry: Registry,
    name: str,
    *,
    on_complete: str | None = None,
    stages: Sequence[str] | None = None,
    meta: Any = None,
    id: str | None = None,
) -> Run:
    """Create a run (or, with an ``id`` that exists already, return a handle on it)."""
    if not isinstance(name, str) or not name:
        raise ConfigError(f"a run needs a non-empty name, got {name!r}")
    if id is not None:
        try:
            store.run_state(id)
            return Run(id, store)
        except UnknownRun:
            pass
    spec = run_spec(registry, name, on_complete=on_complete, stages=stages, meta=meta, id=id)
    store.start_run(spec)
    return Run(spec.id, store)


def run_spec(
    registry: Registry,
    name: str,
    *,
    on_complete: str | None = None,
    stages: Sequence[str] | None = None,
    meta: Any = None,
    id: str | None = None,
) -> RunSpec:
    """A validated spec of a new run, its actions resolved to their queues."""
    if not isinstance(name, str) or not name:
        raise ConfigError(f"a run needs a non-empty name, got {name!r}")
    if stages is not None and (isinstance(stages, str) or not stages):
        raise ConfigError(f"stages must be a non-empty list of action names, got {stages!r}")
    targets = tuple(_target(registry, action) for action in stages) if stages else (None,)
    return RunSpec(
        id or os.urandom(8).hex(),
        name,
        targets,
        on_complete=None if on_complete is None else _target(registry, on_complete),
        meta=meta,
    )


def _target(registry: Registry, action: str) -> Target:
    return Target(action, registry.action_named(action, "run").policy.queue)
