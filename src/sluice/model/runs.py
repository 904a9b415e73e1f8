"""Runs: their specs, stage counters and state."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

RunStatus = Literal["discovering", "running", "succeeded", "failed", "cancelled"]
RUN_STATUSES: tuple[RunStatus, ...] = ("discovering", "running", "succeeded", "failed", "cancelled")
FINISHED: frozenset[str] = frozenset({"succeeded", "failed", "cancelled"})


@dataclass(frozen=True, slots=True)
class Target:
    """Where a run sends a message it enqueues by itself: an action and its queue."""

    action: str
    queue: str


@dataclass(frozen=True, slots=True)
class RunSpec:
    """A run to create. ``stages[0]`` is the action its producers enqueue (``None``: any
    actions); each later stage's action is enqueued once, with a summary of the stage before,
    when that stage is accounted for; ``on_complete`` once when the last one is."""

    id: str
    name: str
    stages: tuple[Target | None, ...] = (None,)
    on_complete: Target | None = None
    meta: Any = None


@dataclass(frozen=True, slots=True)
class StageState:
    """The counters of one stage of a run. ``failed`` counts failed attempts that were retried;
    ``done`` = ``succeeded + dead``."""

    index: int
    action: str | None
    total: int
    succeeded: int
    failed: int
    dead: int
    sealed: bool
    finished: bool
    started_at: float | None
    finished_at: float | None
    units: int = 0
    """Units of work (rows, say) its handlers reported with ``ctx.progress(rows=n)``."""

    @property
    def done(self) -> int:
        return self.succeeded + self.dead


@dataclass(frozen=True, slots=True)
class RunState:
    """A run's progress, read from the store: exact after any crash, because the counters
    change in the transactions that settle its messages.

    ``total`` grows while the run discovers work and while handlers fan out; ``rate`` is
    messages settled per second since the start, ``eta`` the seconds left at that rate (None
    while unknown: discovering, nothing done yet, or finished)."""

    id: str
    name: str
    status: RunStatus
    stage: int
    stages: tuple[StageState, ...]
    meta: Any
    checkpoint: Any
    started_at: float
    finished_at: float | None
    rate: float | None
    eta: float | None

    @property
    def total(self) -> int:
        return sum(s.total for s in self.stages)

    @property
    def succeeded(self) -> int:
        return sum(s.succeeded for s in self.stages)

    @property
    def failed(self) -> int:
        return sum(s.failed for s in self.stages)

    @property
    def dead(self) -> int:
        return sum(s.dead for s in self.stages)

    @property
    def units(self) -> int:
        """Units of work (rows, say) reported by its handlers: ``ctx.progress(rows=n)``."""
        return sum(s.units for s in self.stages)

    @property
    def done(self) -> int:
        return self.succeeded + self.dead

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (for ``--json``, the HTTP API and the progress stream)."""
        return {
            "id": self.id,
            "name": self.name,
            "status": self.status,
            "stage": self.stage,
            "total": self.total,
            "succeeded": self.succeeded,
            "failed": self.failed,
            "dead": self.dead,
            "done": self.done,
            "units": self.units,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "rate": self.rate,
            "eta": self.eta,
            "meta": self.meta,
            "checkpoint": self.checkpoint,
            "stages": [
                {
                    "index": s.index,
                    "action": s.action,
                    "total": s.total,
                    "succeeded": s.succeeded,
                    "failed": s.failed,
                    "dead": s.dead,
                    "units": s.units,
                    "sealed": s.sealed,
                    "finished": s.finished,
                    "started_at": s.started_at,
                    "finished_at": s.finished_at,
                }
                for s in self.stages
            ],
        }
