"""Claimed messages waiting for a handler slot, per action, cut into batches as they are due."""

from __future__ import annotations

from sluice import codec
from sluice.model import Message
from sluice.worker.actions import Action


class Batches:
    """Messages claimed and not started, per action. A batch is due when it is full (its
    ``batch_size`` or ``batch_bytes``) or its ``batch_window`` has passed since its first
    message arrived; times are the caller's clock."""

    def __init__(self) -> None:
        self._buffers: dict[str, list[Message]] = {}
        self._since: dict[str, float] = {}
        self._actions: dict[str, Action] = {}

    def add(self, action: Action, message: Message, now: float) -> None:
        buffer = self._buffers.setdefault(action.name, [])
        if not buffer:
            self._since[action.name] = now
        self._actions[action.name] = action
        buffer.append(message)

    def __len__(self) -> int:
        return sum(len(buffer) for buffer in self._buffers.values())

    def __bool__(self) -> bool:
        return any(self._buffers.values())

    def due(self, now: float, slots: int) -> list[tuple[Action, list[Message]]]:
        """Take up to ``slots`` due batches, in action order."""
        taken: list[tuple[Action, list[Message]]] = []
        for name, buffer in self._buffers.items():
            action = self._actions[name]
            while buffer and len(taken) < slots:
                batch = cut(action, buffer)
                window_over = now - self._since[name] >= action.policy.batch_window
                if len(batch) < action.policy.batch_size and not window_over:
                    break
                del buffer[: len(batch)]
                self._since[name] = now
                taken.append((action, batch))
        return taken

    def wait_time(self, now: float, longest: float) -> float:
        """Until the earliest partial batch's window closes, at most ``longest``."""
        wait = longest
        for name, buffer in self._buffers.items():
            policy = self._actions[name].policy
            if buffer and len(buffer) < policy.batch_size:
                wait = min(wait, max(0.0, self._since[name] + policy.batch_window - now))
        return wait

    def drain(self) -> list[Message]:
        """Take every waiting message (to give them back)."""
        messages = [m for buffer in self._buffers.values() for m in buffer]
        self._buffers.clear()
        return messages


def cut(action: Action, buffer: list[Message]) -> list[Message]:
    """The next batch: up to batch_size messages and batch_bytes of bodies (at least one)."""
    limit = action.policy.batch_bytes
    if limit is None:
        return buffer[: action.policy.batch_size]
    batch: list[Message] = []
    size = 0
    for message in buffer[: action.policy.batch_size]:
        body = len(codec.encode_known(message.body))
        if batch and size + body > limit:
            break
        batch.append(message)
        size += body
    return batch
