"""What ``complete`` does with retries and dead letters: the decision per outcome and the
attempt history. Pure decisions, no I/O."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sluice.model import Outcome, QueuePolicy, Receipt
from sluice.store.rows import OutcomeRow, load_attempts

ATTEMPTS_KEPT = 10
"""How many failed attempts a message remembers (the most recent ones)."""
NEVER = 2**62
"""``max_receives`` bound for queues that never dead-letter."""


def add_attempt(raw: Any, at: float, receive: int, error: str) -> list[dict[str, Any]]:
    """The attempt history with one more failure, keeping the last :data:`ATTEMPTS_KEPT`."""
    attempts = load_attempts(raw)
    attempts.append({"at": at, "receive": receive, "error": error})
    return attempts[-ATTEMPTS_KEPT:]


class Retry(NamedTuple):
    """A retry ``complete`` writes."""

    id: int
    visible_at: float
    error: str
    attempts: list[dict[str, Any]]


class DeadLetter(NamedTuple):
    """A move to the DLQ that ``complete`` or ``housekeep`` writes."""

    id: int
    reason: str
    error: str
    attempts: list[dict[str, Any]]


@dataclass(slots=True)
class OutcomePlan:
    """What ``complete`` writes for retry and dead outcomes, and the stale receipts."""

    retries: list[Retry] = field(default_factory=list)
    dead: list[DeadLetter] = field(default_factory=list)
    stale: list[Receipt] = field(default_factory=list)


def plan_outcomes(
    outcomes: Sequence[Outcome],
    rows: Mapping[int, tuple[Any, int, str, Any]],
    policy_of: Callable[[str], QueuePolicy],
    now: float,
) -> OutcomePlan:
    """Decide each outcome against the stored ``rows`` (id -> (lease, receive_count, queue,
    attempts)). A receipt whose token is not the current lease, or a second outcome for the
    same message in one batch, is stale; a fresh ack needs nothing written here."""
    plan = OutcomePlan()
    done: set[int] = set()
    for outcome in outcomes:
        receipt = outcome.receipt
        row = rows.get(receipt.message_id)
        if row is None or receipt.message_id in done or str(row[0]) != receipt.token:
            plan.stale.append(receipt)
            continue
        done.add(receipt.message_id)
        _lease, receives, queue, attempts = row
        if outcome.kind == "ack":
            continue
        error = outcome.error or ("discarded" if outcome.kind == "dead" else "failed")
        history = add_attempt(attempts, now, receives, error)
        policy = policy_of(queue)
        if outcome.kind == "dead":
            plan.dead.append(DeadLetter(receipt.message_id, error, error, history))
        elif policy.max_receives is not None and receives >= policy.max_receives:
            plan.dead.append(DeadLetter(receipt.message_id, "max_receives", error, history))
        else:
            plan.retries.append(Retry(receipt.message_id, now + outcome.delay, error, history))
    return plan


def outcome_rows(rows: Sequence[OutcomeRow]) -> dict[int, tuple[Any, int, str, Any]]:
    """The ``plan_outcomes`` view of ``outcome_rows`` results."""
    return {r.id: (r.lease, r.receive_count, r.queue, r.attempts) for r in rows}
