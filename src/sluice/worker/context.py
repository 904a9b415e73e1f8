"""The ``ctx`` a handler receives: its messages, chaining, idempotency keys, a logger."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sluice.model import Message, NewMessage

if TYPE_CHECKING:
    from sluice.app import App


@dataclass
class Context:
    """What a handler can use besides its bodies. Messages it enqueues are committed with the
    ack of its batch: a handler that fails spawns nothing."""

    app: App
    messages: list[Message]
    log: logging.Logger
    children: list[NewMessage] = field(default_factory=list)

    @property
    def message(self) -> Message:
        """The (first) message of this call."""
        return self.messages[0]

    @property
    def run(self) -> str | None:
        """The run the message belongs to, if any."""
        return self.message.run_id

    @property
    def idempotency_key(self) -> str:
        """A key stable across redeliveries of this message, for systems that drop repeats."""
        return f"sluice-{self.message.queue}-{self.message.id}"

    def enqueue(
        self,
        action: str,
        body: Any,
        *,
        group: str | None = None,
        dedup_id: str | None = None,
        delay: float = 0.0,
        run: str | None = None,
    ) -> None:
        """Enqueue a follow-up message, committed together with this call's ack."""
        self.children.append(
            self.app.new_message(action, body, group=group, dedup_id=dedup_id, delay=delay, run=run)
        )
