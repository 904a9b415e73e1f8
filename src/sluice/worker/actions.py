"""The registry entry of an action: its handler and policy."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sluice.model import ActionPolicy

Handler = Callable[..., Any]


@dataclass(frozen=True)
class Action:
    """A named handler and its execution policy."""

    name: str
    handler: Handler
    policy: ActionPolicy

    @property
    def is_async(self) -> bool:
        return inspect.iscoroutinefunction(self.handler)

    @property
    def takes_batches(self) -> bool:
        """Batch handlers (batch_size > 1) receive a list of messages, others one body."""
        return self.policy.batch_size > 1
