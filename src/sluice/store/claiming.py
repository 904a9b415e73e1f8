"""Claiming: lease visible messages under visibility, FIFO heads and global action limits."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sluice.model import Message, QueuePolicy
from sluice.store import runs
from sluice.store.inserting import open_target_groups
from sluice.store.limits import CLAIM_SCAN, Budgets, budgets, pick
from sluice.store.outcomes import ATTEMPTS_KEPT, NEVER
from sluice.store.rows import LimitRow, RunRef, message_from_row

if TYPE_CHECKING:
    from sluice.store.base import Store


def claim(
    store: Store, queues: Sequence[str], n: int, lease: float | None, per_group: int = 1
) -> list[Message]:
    """Lease up to ``n`` visible messages from ``queues``, within FIFO and global limits; up
    to ``per_group`` of one FIFO group, in order (see :func:`_with_followers`)."""
    if n <= 0 or not queues:
        return []
    paused = store.stopped("queue")
    policies = [store.policy(q) for q in queues if q not in paused]
    if not policies:
        return []
    driver = store._driver
    if driver.autocommit and not any(p.fifo for p in policies) and not store._limits_exist():
        # One statement per queue, each atomic: the fast claim skips limited actions itself.
        with driver.read() as db:
            rows = _claim_each(store, db, policies, n, store.clock(), lease, None)
    else:
        with driver.write() as db:
            budget, now = _budgets(store, db)
            rows = _claim_each(store, db, policies, n, now, lease, budget, per_group)
            if budget is not None and budget.tokens:
                tokens = [{"action": a, "tokens": t} for a, t in budget.tokens.items()]
                driver.many(db, "save_tokens", tokens, now=now)
    # Built after the commit: on SQLite the write lock is the fleet's, so it is held for the
    # statements only, not for decoding the bodies.
    return [message_from_row(row, claimed=True) for row in rows]


def _claim_each(
    store: Store,
    db: Any,
    policies: Sequence[QueuePolicy],
    n: int,
    now: float,
    lease: float | None,
    budget: Budgets | None,
    per_group: int = 1,
) -> list[Any]:
    """Claim from each queue in turn until ``n`` messages are claimed; their rows, each queue's
    in id order. The messages of one claim may share a fresh random lease token (PostgreSQL's
    do; SQLite draws one per row): a receipt is (message id, token), so it is still unique."""
    claimed: list[Any] = []
    token = os.urandom(16).hex()
    for policy in policies:
        want = n - len(claimed)
        if want <= 0:
            break
        params = {
            "queue": policy.name,
            "now": now,
            "until": now + (lease if lease is not None else policy.visibility_timeout),
            "max_receives": policy.max_receives or NEVER,
            "kept": ATTEMPTS_KEPT,
            "n": want,
            "token": token,
            "per_group": per_group,
        }
        if budget is None and not policy.fifo:
            rows = store._sql(db, "claim_next", params)
        else:
            rows = _claim_picked(store, db, policy, params, budget)
        rows.sort(key=lambda row: row[0])
        claimed.extend(rows)
        if len(rows) < want and policy.max_receives is not None and _sweep_now(store, policy, rows):
            exhaust(store, db, {**params, "scan": CLAIM_SCAN}, now)
    return claimed


def _sweep_now(store: Store, policy: QueuePolicy, rows: Sequence[Any]) -> bool:
    """Whether a short claim dead-letters the queue's visible messages that are out of
    receives now. A claim that found messages leaves the sweep to the queue's next short
    claim, so a waiting consumer gets them without the sweep's round trips (three on
    PostgreSQL); of two short claims in a row, one always sweeps."""
    if rows and policy.name not in store._exhaust_due:
        store._exhaust_due.add(policy.name)
        return False
    store._exhaust_due.discard(policy.name)
    return True


def _claim_picked(
    store: Store, db: Any, policy: QueuePolicy, params: dict[str, Any], budget: Budgets | None
) -> list[Any]:
    """Claim by choosing candidates first: FIFO heads, or within global limits."""
    query = "claim_candidates_fifo" if policy.fifo else "claim_candidates"
    want = params["n"]
    blocked = budget.blocked if budget is not None else []
    fetch = want if budget is None else want * 2 + 8
    candidates = store._sql(
        db, query, {**params, "scan": fetch + CLAIM_SCAN, "blocked": blocked, "n": fetch}
    )
    if budget is None and policy.fifo and params["per_group"] > 1:
        ids = _with_followers(store, db, params, candidates[:want])
    elif budget is None:
        ids = [candidate[0] for candidate in candidates[:want]]
    else:
        ids = pick(((c[0], c[1]) for c in candidates), want, budget)
    if not ids:
        return []
    return store._sql(db, "claim_ids", {**params, "ids": ids})


def _with_followers(
    store: Store, db: Any, params: dict[str, Any], heads: Sequence[Any]
) -> list[int]:
    """The ids of up to ``n`` messages: each head (of a group whose head is deliverable) with
    the messages that follow it in its group, up to ``per_group`` of a group and only while
    they are deliverable, so a group's messages leave in order and as one batch (SQS FIFO
    receives; the whole batch is then in flight, so the group stays blocked until it is done).
    A group with a message in flight among its first ``per_group`` gives none (its head was
    made visible again while the rest of its batch is held). Limited actions never come here:
    a claim under budgets takes heads only."""
    groups = [head[2] for head in heads]
    rows = store._sql(db, "claim_followers_fifo", {**params, "groups": groups})
    by_group: dict[str, list[Any]] = {}
    for row in rows:
        by_group.setdefault(row[2], []).append(row)
    ids: list[int] = []
    for head in heads:
        group = by_group.get(head[2], [])
        if any(row[4] for row in group):
            continue  # a message of the group's last batch is still in flight
        for row in group:
            if not row[3] or len(ids) >= params["n"]:
                break
            ids.append(int(row[0]))
    return ids


def _budgets(store: Store, db: Any) -> tuple[Budgets | None, float]:
    """The budgets of the limited actions (None: no limits) and the claim's time, read inside
    the transaction after the limits' lock (on SQLite, under the write lock): a claim that
    waited for the lock spends tokens at its own time, never before the claim it waited for."""
    if not store._sql(db, "limits"):
        return None, store.clock()
    # Locked (on PostgreSQL) so concurrent claimers spend the same slots and tokens in turn.
    rows = [LimitRow(*row) for row in store._sql(db, "limits_locked")]
    now = store.clock()
    limited = [row.action for row in rows if row.concurrency is not None]
    in_flight = dict(store._sql(db, "in_flight_by_action", (now, limited)))
    limits = ((row.limit(), row.tokens, row.refilled_at) for row in rows)
    return budgets(limits, in_flight, now), now


def exhaust(store: Store, db: Any, params: dict[str, Any], now: float) -> int:
    """Dead-letter visible messages out of receives and count them in their runs, atomically
    (a savepoint when a transaction is open already)."""
    if not store._sql(db, "exhausted_any", params)[0][0]:
        return 0  # mostly so: one read, where the transaction is three round trips on PostgreSQL
    with store._driver.nested(db):
        dead = [RunRef(*row) for row in store._sql(db, "dead_letter_exhausted", params)]
        runs.dead_lettered(store, db, dead, now)
        if dead:
            open_target_groups(store, db, [params["queue"]])
    return len(dead)
