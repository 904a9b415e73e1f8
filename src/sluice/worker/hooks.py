"""Settle hooks: ``Action.on_settled`` called with the fresh outcomes the worker has written."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable

from sluice.model import Message, Outcome, OutcomeKind, Receipt
from sluice.worker.actions import Action, Settled

Owners = dict[int, tuple[Action, Message]]
"""message id -> (its action, the message)"""


class SettleHooks:
    """Remembers which outcomes await a hook and runs the hooks (in a thread, errors logged)
    once their outcomes are written. ``became`` names what the store made of a fresh
    outcome (a retry on the last allowed receive is a dead letter)."""

    def __init__(
        self, became: Callable[[Outcome, Message | None], OutcomeKind], log: logging.Logger
    ) -> None:
        self._became = became
        self._log = log
        self._waiting: dict[Receipt, tuple[Action, Message]] = {}

    def expect(self, action: Action, batch: Iterable[Message]) -> None:
        """These messages' outcomes are on their way to the store: report them once written."""
        if action.on_settled is not None:
            self._waiting.update((m.receipt, (action, m)) for m in batch if m.receipt)

    def __bool__(self) -> bool:
        return bool(self._waiting)

    async def written(self, batch: list[Outcome], stale: list[Receipt]) -> None:
        """Run the hooks of the outcomes just written (the fresh ones)."""
        gone = set(stale)
        owners: Owners = {}
        for outcome in batch:
            owner = self._waiting.pop(outcome.receipt, None)
            if owner is not None and outcome.receipt not in gone:
                owners[outcome.receipt.message_id] = owner
        fresh = [o for o in batch if o.receipt.message_id in owners]
        await self.run(fresh, owners)

    async def run(self, outcomes: list[Outcome], owners: Owners) -> None:
        """Call each action's hook with its settled messages."""
        for name, (action, items) in self._settled(outcomes, owners).items():
            if action.on_settled is None or not items:
                continue
            try:
                await asyncio.to_thread(action.on_settled, items)
            except Exception:
                self._log.exception("the settle hook of action %r failed", name)

    def _settled(
        self, outcomes: list[Outcome], owners: Owners
    ) -> dict[str, tuple[Action, list[Settled]]]:
        by_action: dict[str, tuple[Action, list[Settled]]] = {}
        for outcome in outcomes:
            owner = owners.get(outcome.receipt.message_id)
            if owner is None:
                continue
            action, message = owner
            kind = self._became(outcome, message)
            by_action.setdefault(action.name, (action, []))[1].append(
                Settled(message, kind, outcome.error)
            )
        return by_action
