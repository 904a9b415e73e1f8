"""Global action limits: claim budgets (concurrency slots and rate tokens) and adaptive
concurrency. Pure decisions, no I/O."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from sluice.model import ActionLimit

CLAIM_SCAN = 1000
"""Visible messages a limited claim looks at beyond the ones it wants: messages of an unlimited
action queued behind more than this many of an action at its limit wait until those move."""


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
