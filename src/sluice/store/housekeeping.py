"""Operations on stored messages as a whole: housekeeping (retention, exhausted receives, dedup
and group rows, upkeep), redrive, purge, and adaptive concurrency."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from sluice.model import QueuePolicy, is_dlq
from sluice.store import runs
from sluice.store.claiming import exhaust
from sluice.store.completing import write_dead
from sluice.store.inserting import open_groups
from sluice.store.limits import adapted
from sluice.store.outcomes import ATTEMPTS_KEPT, NEVER, DeadLetter, add_attempt
from sluice.store.rows import DeadCandidate, PurgedCount, RedriveCandidate

if TYPE_CHECKING:
    from typing import Any

    from sluice.store.base import Store


def housekeep(store: Store) -> int:
    """Dead-letter messages past retention or out of receives, forget dedup ids past their
    window and completion records past ``keep_completed``, drop empty FIFO group rows and SQS
    attributes of gone messages, then the driver's
    upkeep; return how many messages were dead-lettered."""
    now = store.clock()
    expired = 0
    policies = store.queues()
    with store._driver.write() as db:
        for policy in policies:
            if policy.max_receives is not None:
                params = {
                    "queue": policy.name,
                    "now": now,
                    "kept": ATTEMPTS_KEPT,
                    "max_receives": policy.max_receives,
                    "scan": NEVER,
                }
                expired += exhaust(store, db, params, now)
            if policy.retention is not None:
                expired += _expire_retained(store, db, policy, policy.retention, now)
        store._sql(db, "dedup_gc", (now,))
        store._sql(db, "completed_gc", (now,))
        store._sql(db, "headers_gc")
        store._driver.lock_groups(db, exclusive=True)
        store._sql(db, "groups_gc")
        store._sql(db, "sqs_attributes_gc")
    store._driver.upkeep()
    return expired


def _expire_retained(
    store: Store, db: Any, policy: QueuePolicy, retention: float, now: float
) -> int:
    found = store._sql(db, "expire_candidates", (policy.name, now - retention, now))
    rows = [DeadCandidate(*row) for row in found]
    reason = f"retention of {retention:g}s passed"
    dead = [
        DeadLetter(
            r.id, "expired", reason, add_attempt(r.attempts, now, r.receive_count, "expired")
        )
        for r in rows
    ]
    if dead:
        write_dead(store, db, dead, now, [policy.name])
        runs.dead_lettered(store, db, [(r.run_id, r.run_stage) for r in rows], now)
    return len(rows)


def redrive(store: Store, queue: str, ids: Sequence[int] | None, error_contains: str | None) -> int:
    """Move chosen dead letters of ``queue`` back where they died; return how many."""
    return move(store, store.policy(queue).dlq.name, ids, error_contains)


def move(
    store: Store,
    dlq: str,
    ids: Sequence[int] | None = None,
    error_contains: str | None = None,
    dest: str | None = None,
    n: int | None = None,
) -> int:
    """Move chosen messages of queue ``dlq`` (the first ``n`` by id, None: all) to ``dest``,
    or each back to the queue it died in (then only those that know it), with a fresh
    receive count; return how many."""
    now = store.clock()
    with store._driver.write() as db:
        return move_in(store, db, dlq, ids, error_contains, dest, n, now)


def move_in(
    store: Store,
    db: Any,
    dlq: str,
    ids: Sequence[int] | None,
    error_contains: str | None,
    dest: str | None,
    n: int | None,
    now: float,
) -> int:
    """:func:`move` in ``db``'s transaction."""
    picked = None if ids is None else list(ids)
    wanted = {"dlq": dlq, "ids": picked, "contains": error_contains, "dest": dest, "n": n}
    chosen = [RedriveCandidate(*row) for row in store._sql(db, "redrive_candidates", wanted)]
    return move_chosen(store, db, dlq, chosen, dest, now)


def move_chosen(
    store: Store,
    db: Any,
    dlq: str,
    chosen: Sequence[RedriveCandidate],
    dest: str | None,
    now: float,
) -> int:
    """In ``db``'s transaction: move the chosen messages of ``dlq`` to ``dest`` (None: where
    each died), reopening their runs and FIFO groups; return how many."""
    if not chosen:
        return 0
    moved = {"now": now, "ids": [c.id for c in chosen], "dlq": dlq, "dest": dest}
    store._sql(db, "redrive", moved)
    runs.redriven(store, db, [(c.run_id, c.run_stage) for c in chosen], now)
    groups = {
        (c.source_queue, c.group_id)
        for c in chosen
        if c.group_id is not None and store._policy_in_tx(c.source_queue).fifo
    }
    open_groups(store, db, sorted(groups))
    store._driver.notify(db, sorted({c.source_queue for c in chosen}))
    return len(chosen)


def purge(store: Store, queue: str) -> int:
    """Delete every message of ``queue``; those of runs count as dead there."""
    store.policy(queue)
    driver = store._driver
    if is_dlq(queue):
        with driver.auto() as db:
            return driver.count(db, "purge", (queue,))
    with driver.write() as db:
        counted = [PurgedCount(*row) for row in store._sql(db, "purge_counted", (queue,))]
        of_runs = [(c.run_id, c.run_stage, c.messages) for c in counted if c.run_id is not None]
        runs.purged(store, db, of_runs, store.clock())
        return sum(int(c.messages) for c in counted)


def adapt(store: Store, signals: Mapping[str, tuple[int, int]]) -> None:
    """Move the effective concurrency of limited actions by ``(backoffs, successes)``."""
    if not signals:
        return
    with store._driver.write() as db:
        rows = store._sql(db, "adapt_read")
        store._driver.many(
            db,
            "adapt_write",
            [
                {"effective": adapted(effective, concurrency, *signals[action]), "action": action}
                for action, concurrency, effective in rows
                if action in signals
            ],
        )
