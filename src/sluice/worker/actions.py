"""The registry entry of an action: its handler, policy and settle hook."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sluice.model import ActionPolicy, Message, OutcomeKind

Handler = Callable[..., Any]


@dataclass(frozen=True, slots=True)
class Settled:
    """A message whose outcome has been written: ``ack``, ``retry`` or ``dead`` (dead-lettered
    now: discarded, or failed on its last allowed receive), with the error if it failed."""

    message: Message
    kind: OutcomeKind
    error: str | None = None


SettleHook = Callable[[Sequence[Settled]], None]


@dataclass(frozen=True)
class Action:
    """A named handler and its execution policy. ``on_settled``, if set, is called by the
    worker (in a thread) with the messages whose outcomes it has written and whose receipts
    were fresh, after the write committed; its errors are logged, never retried."""

    name: str
    handler: Handler
    policy: ActionPolicy
    on_settled: SettleHook | None = None

    @functools.cached_property
    def is_async(self) -> bool:
        """The handler is a coroutine function (asked per call: inspect is slow, so cached)."""
        return inspect.iscoroutinefunction(self.handler)

    @property
    def takes_batches(self) -> bool:
        """Batch handlers (batch_size > 1) receive a list of messages, others one body."""
        return self.policy.batch_size > 1
