"""Runs inside the store: counters, stage transitions and cancellation, backend-neutral.

Every function here runs inside a transaction the caller opened (``db`` is that backend's
connection or cursor) and issues the backend's named queries through ``store._sql``. A stage is
*accounted for* when it is sealed and ``succeeded + dead == total``; the transaction that makes it
so sets its ``fired`` flag under the stage row's lock, so the next stage (or ``on_complete``) is
enqueued exactly once however many workers settle its last messages at the same moment.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sluice import codec
from sluice.errors import RunError, RunSealed, UnknownRun
from sluice.model import FINISHED, Enqueued, NewMessage, RunSpec, RunState, StageState, Target

if TYPE_CHECKING:
    from sluice.store.base import Row, Store

Key = tuple[str, int]
"""(run id, stage index)"""


@dataclass(slots=True)
class Tally:
    """Changes to one stage's counters."""

    total: int = 0
    succeeded: int = 0
    failed: int = 0
    dead: int = 0
    units: int = 0


class Tallies(dict[Key, Tally]):
    """Counter changes per (run, stage), applied together by :func:`apply`."""

    def add(self, run: str | None, stage: int | None, **changes: int) -> None:
        if run is None:
            return
        tally = self.get((run, stage or 0))
        if tally is None:
            tally = self[(run, stage or 0)] = Tally()
        for name, value in changes.items():
            setattr(tally, name, getattr(tally, name) + value)


@dataclass(frozen=True, slots=True)
class _Run:
    id: str
    name: str
    status: str
    stage: int
    stages: tuple[Target | None, ...]
    on_complete: Target | None
    meta: Any
    checkpoint: Any
    started_at: float
    finished_at: float | None


def _target(value: Any) -> Target | None:
    return None if value is None else Target(value["action"], value["queue"])


def _dump(value: Any) -> str | None:
    return None if value is None else codec.dumps(value).decode()


def _load(text: str | None) -> Any:
    return None if text is None else codec.loads(text)


def _read_run(store: Store, db: Any, run_id: str, lock: bool = False) -> _Run | None:
    rows = store._sql(db, "run_lock" if lock else "run_get", {"run": run_id})
    if not rows:
        return None
    id_, name, status, stage, stages, on_complete, meta, checkpoint, started, finished = rows[0]
    return _Run(
        id_,
        name,
        status,
        stage,
        tuple(_target(s) for s in codec.loads(stages)),
        _target(_load(on_complete)),
        _load(meta),
        _load(checkpoint),
        started,
        finished,
    )


def _read_stages(store: Store, db: Any, run: _Run) -> tuple[StageState, ...]:
    actions = [None if t is None else t.action for t in run.stages]
    return tuple(
        StageState(
            index,
            actions[index] if index < len(actions) else None,
            int(total),
            int(succeeded),
            int(failed),
            int(dead),
            bool(sealed),
            bool(fired),
            started,
            finished,
            int(units),
        )
        for index, total, succeeded, failed, dead, sealed, fired, started, finished, units in (
            store._sql(db, "run_stage_rows", {"run": run.id})
        )
    )


class RunTaken(RunError):
    """A run with this id exists already."""


class _Duplicate(Exception):
    """Rolls back a keyed start whose first message was a dedup hit."""

    def __init__(self, done: Enqueued, newest: str | None) -> None:
        super().__init__(done.id)
        self.done, self.newest = done, newest


# -- life cycle ---------------------------------------------------------------------------------
def keyed_base(message: NewMessage) -> str:
    """The id of the first run started by a message with this queue and dedup id; later ones
    (after the dedup window) get ``-2``, ``-3``, ... appended."""
    digest = hashlib.sha256(f"{message.queue}\n{message.dedup_id}".encode()).hexdigest()
    return f"k{digest[:16]}"


def start_keyed(store: Store, spec: RunSpec, first: NewMessage) -> tuple[str | None, Enqueued]:
    """Start a sealed run whose first message is ``first`` (which has a dedup id) in one
    transaction; if the dedup id is taken, roll it all back and name the run of the message
    holding it (the newest run of that key once that message is gone)."""
    now = store.clock()
    base = keyed_base(first)
    [row] = store._prepare([first], now)
    for _ in range(3):  # PostgreSQL: a concurrent twin may take the free id first; look again
        try:
            with store._driver.write() as db:
                newest, free = _generations(store, db, base)
                create(store, db, dataclasses.replace(spec, id=free), now)
                [done] = store._insert(db, [row._replace(run_id=free)], now)
                if not done.created:
                    raise _Duplicate(done, newest)
                seal(store, db, free, now)
            return free, done
        except _Duplicate as duplicate:
            held = store.get([duplicate.done.id])
            return (held[0].run_id if held else duplicate.newest), duplicate.done
        except RunTaken:
            continue
    raise RunError(f"could not start a run for dedup id {first.dedup_id!r}: retry")


def _generations(store: Store, db: Any, base: str) -> tuple[str | None, str]:
    """The newest existing run id of a key (None if none) and the next free one."""
    newest = None
    for candidate in itertools.chain([base], (f"{base}-{n}" for n in itertools.count(2))):
        if not store._sql(db, "run_get", {"run": candidate}):
            return newest, candidate
        newest = candidate
    raise AssertionError("unreachable")  # pragma: no cover


def create(store: Store, db: Any, spec: RunSpec, now: float) -> None:
    """Insert the run (``discovering``) with its stages: the first open, the later ones sealed
    (their only producers are the stage transitions and their own handlers); ``RunTaken`` if
    a run has its id."""
    inserted = store._sql(
        db,
        "run_insert",
        {
            "run": spec.id,
            "name": spec.name,
            "status": "discovering",
            "stages": codec.dumps(
                [None if t is None else {"action": t.action, "queue": t.queue} for t in spec.stages]
            ).decode(),
            "on_complete": None
            if spec.on_complete is None
            else _dump({"action": spec.on_complete.action, "queue": spec.on_complete.queue}),
            "meta": _dump(spec.meta),
            "now": now,
        },
    )
    if not inserted:
        raise RunTaken(f"a run with id {spec.id!r} exists already")
    for index in range(len(spec.stages)):
        store._sql(
            db,
            "run_stage_insert",
            {
                "run": spec.id,
                "stage": index,
                "sealed": index > 0,
                "now": now if index == 0 else None,
            },
        )


def seal(store: Store, db: Any, run_id: str, now: float) -> None:
    """Close the first stage: its total is final. Finishing an empty stage happens here."""
    run = _read_run(store, db, run_id, lock=True)
    if run is None:
        raise UnknownRun(f"no run has id {run_id!r}")
    values = store._sql(db, "run_seal", {"run": run_id})
    if run.status == "discovering":
        store._sql(
            db,
            "run_update",
            {"run": run_id, "status": "running", "stage": run.stage, "finished": None},
        )
    advance(store, db, run_id, 0, values[0], now)


def save_checkpoint(store: Store, db: Any, run_id: str, key: Any) -> None:
    if not store._sql(db, "run_checkpoint", {"run": run_id, "checkpoint": _dump(key)}):
        raise UnknownRun(f"no run has id {run_id!r}")


def state(store: Store, db: Any, run_id: str, now: float) -> RunState:
    run = _read_run(store, db, run_id)
    if run is None:
        raise UnknownRun(f"no run has id {run_id!r}")
    stages = _read_stages(store, db, run)
    total = sum(s.total for s in stages)
    done = sum(s.done for s in stages)
    end = run.finished_at if run.finished_at is not None else now
    elapsed = end - run.started_at
    rate = done / elapsed if elapsed > 0 and done else None
    eta = None
    if rate and run.status == "running":
        eta = max(total - done, 0) / rate
    return RunState(
        run.id,
        run.name,
        run.status,  # type: ignore[arg-type]
        run.stage,
        stages,
        run.meta,
        run.checkpoint,
        run.started_at,
        run.finished_at,
        rate,
        eta,
    )


def cancel(store: Store, db: Any, run_id: str, now: float) -> int:
    """Dead-letter the run's remaining messages (reason ``cancelled``), mark it cancelled;
    return how many messages moved. A finished run is left as it is."""
    run = _read_run(store, db, run_id, lock=True)
    if run is None:
        raise UnknownRun(f"no run has id {run_id!r}")
    if run.status in FINISHED:
        return 0
    store._sql(
        db,
        "run_update",
        {"run": run_id, "status": "cancelled", "stage": run.stage, "finished": now},
    )
    moved = store._sql(db, "run_cancel_messages", {"run": run_id, "now": now})
    tallies = Tallies()
    for (stage,) in moved:
        tallies.add(run_id, stage, dead=1)
    apply(store, db, tallies, now)
    store._sql(db, "run_stages_close", {"run": run_id, "now": now})
    return len(moved)


def reopen(store: Store, db: Any, run_ids: Iterable[str]) -> None:
    """A finished run whose dead letters were redriven runs again until they settle."""
    for run_id in sorted(set(run_ids)):
        store._sql(db, "run_reopen", {"run": run_id})


# -- counting -----------------------------------------------------------------------------------
def assign_stages(store: Store, db: Any, rows: Sequence[Row]) -> list[Row]:
    """Give rows of a run without a stage the run's current stage (checking the run exists)."""
    current: dict[str, int] = {}
    out = []
    for row in rows:
        if row.run_id is not None and row.run_stage is None:
            stage = current.get(row.run_id)
            if stage is None:
                found = store._sql(db, "run_current_stage", {"run": row.run_id})
                if not found:
                    raise UnknownRun(f"no run has id {row.run_id!r}")
                stage = current[row.run_id] = int(found[0][0])
            row = row.with_stage(stage)
        out.append(row)
    return out


def count_new(store: Store, db: Any, rows: Iterable[Row], now: float, inside: bool) -> None:
    """Add newly stored messages to their stages' totals. From outside a handler (``inside``
    False) a sealed or finished stage refuses them with :class:`RunSealed`."""
    tallies = Tallies()
    totals = Counter((row.run_id, row.run_stage or 0) for row in rows if row.run_id is not None)
    for key, total in totals.items():
        tallies[key] = Tally(total=total)
    if tallies:
        apply(store, db, tallies, now, refuse_sealed=not inside)


def apply(store: Store, db: Any, tallies: Tallies, now: float, refuse_sealed: bool = False) -> None:
    """Apply counter changes (in key order, so concurrent transactions never deadlock) and
    advance every stage they account for."""
    for key in sorted(tallies):
        tally = tallies[key]
        found = store._sql(
            db,
            "run_count",
            {
                "run": key[0],
                "stage": key[1],
                "total": tally.total,
                "succeeded": tally.succeeded,
                "failed": tally.failed,
                "dead": tally.dead,
                "units": tally.units,
                "now": now,
            },
        )
        if not found:
            if refuse_sealed:
                raise UnknownRun(f"run {key[0]!r} has no stage {key[1]}")
            continue
        _total, _succeeded, _dead, sealed, fired = found[0]
        if refuse_sealed and tally.total and (sealed or fired):
            raise RunSealed(
                f"run {key[0]!r} is sealed (stage {key[1]}): its total is fixed; only its own "
                "handlers can add to it, with ctx.enqueue(..., run=ctx.run)"
            )
        advance(store, db, key[0], key[1], found[0], now)


def advance(
    store: Store, db: Any, run_id: str, stage: int, values: Sequence[Any], now: float
) -> None:
    """If ``stage`` is accounted for: fire it once (enqueue the next stage's action with a
    summary, or ``on_complete`` after the last), and finish the run when every stage is."""
    total, succeeded, dead, sealed, fired = values
    if not sealed or succeeded + dead < total:
        return
    run = _read_run(store, db, run_id)
    if run is None or run.status == "cancelled":
        return
    last = len(run.stages) - 1
    if not fired:
        store._sql(db, "run_fire", {"run": run_id, "stage": stage, "now": now})
        summary = {
            "run": run_id,
            "name": run.name,
            "stage": stage,
            "total": int(total),
            "succeeded": int(succeeded),
            "dead": int(dead),
            "meta": run.meta,
        }
        if stage < last:
            target = run.stages[stage + 1]
            assert target is not None  # RunSpec: every stage after the first has an action
            store._sql(
                db,
                "run_update",
                {"run": run_id, "status": "running", "stage": stage + 1, "finished": None},
            )
            _enqueue(store, db, target, summary, now, run_id, stage + 1)
            return
        if run.on_complete is not None:
            _enqueue(store, db, run.on_complete, {**summary, "stage": None}, now, None, None)
    if run.status in FINISHED:
        return
    stages = _read_stages(store, db, run)
    if not all(s.sealed and s.finished and s.done >= s.total for s in stages):
        return
    failed = any(s.dead for s in stages)
    store._sql(
        db,
        "run_update",
        {
            "run": run_id,
            "status": "failed" if failed else "succeeded",
            "stage": run.stage,
            "finished": now,
        },
    )


def _enqueue(
    store: Store,
    db: Any,
    target: Target,
    body: Any,
    now: float,
    run_id: str | None,
    stage: int | None,
) -> None:
    rows = store._prepare(
        [NewMessage(target.queue, body, target.action, run_id=run_id, run_stage=stage)], now
    )
    store._insert(db, rows, now, inside=True)


def inherit(children: Sequence[Row], run_id: str | None, stage: int | None) -> list[Row]:
    """A handler's children in its own run count towards the handler's stage."""
    if run_id is None:
        return list(children)
    return [
        child._replace(run_stage=stage)
        if child.run_id == run_id and child.run_stage is None
        else child
        for child in children
    ]


def dead_lettered(
    store: Store, db: Any, pairs: Iterable[tuple[str | None, int | None]], now: float
) -> None:
    """Count dead-lettered messages (``(run id, stage)`` each) in their runs."""
    tallies = Tallies()
    for run_id, stage in pairs:
        tallies.add(run_id, stage, dead=1)
    if tallies:
        apply(store, db, tallies, now)


def redriven(
    store: Store, db: Any, pairs: Iterable[tuple[str | None, int | None]], now: float
) -> None:
    """Redriven dead letters are no longer dead: their runs wait for them again."""
    tallies = Tallies()
    for run_id, stage in pairs:
        tallies.add(run_id, stage, dead=-1)
    if tallies:
        reopen(store, db, (run_id for run_id, _ in tallies))
        apply(store, db, tallies, now)


def purged(
    store: Store, db: Any, counted: Iterable[tuple[str, int | None, int]], now: float
) -> None:
    """Messages purged from a live queue will never settle: count them as dead."""
    tallies = Tallies()
    for run_id, stage, n in counted:
        tallies.add(run_id, stage, dead=int(n))
    if tallies:
        apply(store, db, tallies, now)
