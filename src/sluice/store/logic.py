"""Backend-neutral decisions shared by the store backends: pure functions, no I/O."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from sluice import codec
from sluice.model import (
    ActionLimit,
    Attempt,
    Enqueued,
    Message,
    Outcome,
    QueuePolicy,
    QueueStats,
    Receipt,
    dlq_name,
    is_dlq,
)

CLAIM_SCAN = 1000
"""Visible messages a limited claim looks at beyond the ones it wants: messages of an unlimited
action queued behind more than this many of an action at its limit wait until those move."""
ATTEMPTS_KEPT = 10
"""How many failed attempts a message remembers (the most recent ones)."""

MESSAGE_COLUMNS = (
    "id, queue, action, body, group_id, dedup_id, run_id, receive_count, enqueued_at, "
    "visible_at, lease, last_error, attempts, dead_reason, source_queue"
)


def load_attempts(raw: Any) -> list[dict[str, Any]]:
    """Attempts as stored: a JSON array (text on SQLite, decoded jsonb on PostgreSQL) or NULL."""
    if raw is None:
        return []
    if isinstance(raw, str | bytes):
        loaded: list[dict[str, Any]] = orjson.loads(raw)
        return loaded
    return list(raw)


def add_attempt(raw: Any, at: float, receive: int, error: str) -> list[dict[str, Any]]:
    """The attempt history with one more failure, keeping the last :data:`ATTEMPTS_KEPT`."""
    attempts = load_attempts(raw)
    attempts.append({"at": at, "receive": receive, "error": error})
    return attempts[-ATTEMPTS_KEPT:]


def message_from_row(row: Sequence[Any], *, claimed: bool = False) -> Message:
    """A :class:`Message` from a row in :data:`MESSAGE_COLUMNS` order."""
    (id_, queue, action, body, group, dedup, run, receives, enqueued, visible, lease, error,
     attempts, dead, source) = row  # fmt: skip
    return Message(
        id_,
        queue,
        action,
        codec.load_stored(body),
        group,
        dedup,
        run,
        receives,
        enqueued,
        visible,
        Receipt(id_, str(lease)) if claimed and lease is not None else None,
        error,
        ()
        if attempts is None
        else tuple(
            Attempt(float(a["at"]), int(a["receive"]), str(a["error"]))
            for a in load_attempts(attempts)
        ),
        dead,
        source,
    )


@dataclass(slots=True)
class Budgets:
    """How many messages of each limited action one claim may still start."""

    left: dict[str, int] = field(default_factory=dict)
    tokens: dict[str, float] = field(default_factory=dict)
    """Tokens of rate-limited actions after refill, before this claim spends any."""

    @property
    def blocked(self) -> list[str]:
        return sorted(action for action, n in self.left.items() if n <= 0)

    def take(self, action: str) -> bool:
        """Spend one start of ``action``; False if its budget is exhausted."""
        n = self.left.get(action)
        if n is None:
            return True
        if n <= 0:
            return False
        self.left[action] = n - 1
        if action in self.tokens:
            self.tokens[action] -= 1
        return True


def budgets(
    limits: Iterable[tuple[ActionLimit, float | None, float | None]],
    in_flight: Mapping[str, int],
    now: float,
) -> Budgets:
    """Per-action budgets from limits with their stored (tokens, refilled_at) and in-flight
    counts. Tokens refill at ``rate`` per second up to ``burst``."""
    result = Budgets()
    for limit, tokens, refilled_at in limits:
        allowed = math.inf
        if limit.concurrency is not None:
            slots = limit.concurrency
            if limit.effective is not None:
                slots = min(slots, max(1, math.floor(limit.effective)))
            allowed = slots - in_flight.get(limit.action, 0)
        if limit.rate is not None:
            burst = limit.burst or 1.0
            level = burst if tokens is None else tokens
            if refilled_at is not None:
                level = min(burst, level + max(0.0, now - refilled_at) * limit.rate)
            result.tokens[limit.action] = level
            # Epoch floats resolve ~0.2 us: forgive that much drift so no token is lost to it.
            allowed = min(allowed, math.floor(level + 1e-3))
        result.left[limit.action] = int(max(0, allowed))
    return result


def pick(candidates: Iterable[tuple[int, str]], want: int, budget: Budgets) -> list[int]:
    """The ids of claim candidates ``(id, action)`` to deliver: at most ``want``, within the
    per-action budgets."""
    deliver: list[int] = []
    for id_, action in candidates:
        if len(deliver) >= want:
            break
        if budget.take(action):
            deliver.append(id_)
    return deliver


NEVER = 2**62
"""``max_receives`` bound for queues that never dead-letter."""


@dataclass(slots=True)
class Plan:
    """What ``complete`` writes: acks, retries, dead letters, and the stale receipts."""

    acks: list[int] = field(default_factory=list)
    retries: list[tuple[int, float, str, list[dict[str, Any]]]] = field(default_factory=list)
    """(id, visible_at, error, attempts)"""
    dead: list[tuple[int, str, str, list[dict[str, Any]]]] = field(default_factory=list)
    """(id, dead_reason, last_error, attempts)"""
    stale: list[Receipt] = field(default_factory=list)
    fresh_acks: list[int] = field(default_factory=list)
    """Indexes of outcomes that are fresh acks (their children get enqueued)."""


def plan_outcomes(
    outcomes: Sequence[Outcome],
    rows: Mapping[int, tuple[Any, int, str, Any]],
    policy_of: Any,
    now: float,
) -> Plan:
    """Decide each outcome against the stored ``rows`` (id -> (lease, receive_count, queue,
    attempts)). A receipt whose token is not the current lease, or a second outcome for the
    same message in one batch, is stale."""
    plan = Plan()
    done: set[int] = set()
    for index, outcome in enumerate(outcomes):
        receipt = outcome.receipt
        row = rows.get(receipt.message_id)
        if row is None or receipt.message_id in done or str(row[0]) != receipt.token:
            plan.stale.append(receipt)
            continue
        done.add(receipt.message_id)
        _lease, receives, queue, attempts = row
        if outcome.kind == "ack":
            plan.acks.append(receipt.message_id)
            plan.fresh_acks.append(index)
            continue
        error = outcome.error or ("discarded" if outcome.kind == "dead" else "failed")
        history = add_attempt(attempts, now, receives, error)
        policy: QueuePolicy = policy_of(queue)
        if outcome.kind == "dead":
            plan.dead.append((receipt.message_id, error, error, history))
        elif policy.max_receives is not None and receives >= policy.max_receives:
            plan.dead.append((receipt.message_id, "max_receives", error, history))
        else:
            plan.retries.append((receipt.message_id, now + outcome.delay, error, history))
    return plan


@dataclass(slots=True)
class DedupSplit:
    """Which rows of an enqueue batch are new, and which repeat a dedup id."""

    rows: Sequence[Any]
    first_of: dict[tuple[str, str], int] = field(default_factory=dict)
    """(queue, dedup_id) -> index of the first row in the batch that carries it"""

    @property
    def keys(self) -> list[tuple[str, str]]:
        return list(self.first_of)

    def new_rows(self, existing: Mapping[tuple[str, str], int]) -> list[int]:
        """Indexes of rows to insert: no dedup id, or the first of an id not already stored."""
        if not self.first_of:
            return list(range(len(self.rows)))
        new = []
        for index, row in enumerate(self.rows):
            key = None if row.dedup_id is None else (row.queue, row.dedup_id)
            if key is None or (self.first_of[key] == index and key not in existing):
                new.append(index)
        return new

    def results(
        self, new: Sequence[int], ids: Sequence[int], existing: Mapping[tuple[str, str], int]
    ) -> list[Enqueued]:
        """One result per row: the new ids in ``new`` order, else the id the dedup id names."""
        if len(new) == len(self.rows):
            return [Enqueued(id_, True) for id_ in ids]
        assigned = dict(zip(new, ids, strict=True))
        results = []
        for index, row in enumerate(self.rows):
            if index in assigned:
                results.append(Enqueued(assigned[index], True))
                continue
            key = (row.queue, row.dedup_id)
            found = existing.get(key)
            results.append(Enqueued(found if found is not None else assigned[self.first_of[key]],
                                    False))  # fmt: skip
        return results


def split_dedup(rows: Sequence[Any]) -> DedupSplit:
    """Index an enqueue batch by its dedup ids (rows need ``queue`` and ``dedup_id``)."""
    split = DedupSplit(rows)
    for index, row in enumerate(rows):
        if row.dedup_id is not None:
            split.first_of.setdefault((row.queue, row.dedup_id), index)
    return split


def adapted(effective: float | None, concurrency: int, backoffs: int, successes: int) -> float:
    """Additive-increase, multiplicative-decrease of an action's effective concurrency: halved
    per ``Backoff``, else grown by 1/effective per success (one slot per full window)."""
    level = float(concurrency) if effective is None else effective
    if backoffs:
        return max(1.0, level * 0.5**backoffs)
    for _ in range(successes):
        level += 1.0 / level
        if level >= concurrency:
            return float(concurrency)
    return level


def queue_stats(names: Sequence[str], figures: Mapping[str, Any], now: float) -> list[QueueStats]:
    """QueueStats of ``names`` from per-queue (visible, in flight, delayed, oldest enqueued_at)
    figures, DLQ depths included."""
    result = []
    for name in sorted(names):
        depth, in_flight, delayed, oldest = figures.get(name, (0, 0, 0, None))
        dlq = figures.get(dlq_name(name), (0, 0, 0, None)) if not is_dlq(name) else None
        result.append(
            QueueStats(
                queue=name,
                depth=depth,
                in_flight=in_flight,
                delayed=delayed,
                oldest_age=max(0.0, now - oldest) if oldest is not None else 0.0,
                dlq_depth=sum(dlq[:3]) if dlq else 0,
            )
        )
    return result


def policy_row(policy: QueuePolicy) -> tuple[Any, ...]:
    """The sluice_queues row of a policy (put_queue parameters)."""
    return (
        policy.name,
        policy.visibility_timeout,
        policy.max_receives,
        policy.fifo,
        policy.dedup_window,
        policy.retention,
        policy.max_message_bytes,
    )


def policy_from_row(row: Sequence[Any]) -> QueuePolicy:
    """A policy from a sluice_queues row."""
    return QueuePolicy(
        name=row[0],
        visibility_timeout=row[1],
        max_receives=row[2],
        fifo=bool(row[3]),
        dedup_window=row[4],
        retention=row[5],
        max_message_bytes=row[6],
    )
