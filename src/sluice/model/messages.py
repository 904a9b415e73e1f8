"""Messages and what happens to them: receipts, new and claimed messages, outcomes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from sluice.model.slots import positional

MAX_PRIORITY = 32767
"""The largest message priority: PostgreSQL's ``smallint``, two bytes in the claim index."""


@dataclass(frozen=True, slots=True)
class Receipt:
    """Proof of one claim of one message (an SQS receipt handle): id plus a fresh lease token."""

    message_id: int
    token: str

    def __str__(self) -> str:
        return f"{self.message_id}:{self.token}"

    @classmethod
    def parse(cls, text: str) -> Receipt:
        message_id, _, token = text.partition(":")
        return cls(int(message_id), token)


@dataclass(frozen=True, slots=True)
class NewMessage:
    """A message to enqueue. ``delay`` (seconds) or ``not_before`` (epoch seconds) postpone it."""

    queue: str
    body: Any
    action: str = ""
    group: str | None = None
    dedup_id: str | None = None
    delay: float = 0.0
    not_before: float | None = None
    run_id: str | None = None
    run_stage: int | None = None
    """The stage of ``run_id`` it counts towards: by default the parent's stage for a handler's
    child in the same run, else the run's current stage."""
    priority: int = 0
    """0 (the default) is claimed first, larger numbers later: 0..32767 (``MAX_PRIORITY``)."""
    headers: Mapping[str, str] | None = None
    """Trace-context headers (``traceparent``) stored with the message (tracing only)."""


@dataclass(frozen=True, slots=True)
class Enqueued:
    """The id a new message got, or the id of the message its dedup id already named."""

    id: int
    created: bool


@dataclass(frozen=True, slots=True)
class Attempt:
    """One failed receive: when, which receive, and the error."""

    at: float
    receive: int
    error: str


@dataclass(frozen=True, slots=True)
class Message:
    """A stored message. ``receipt`` is set on messages returned by ``claim``. ``body`` is a
    :class:`sluice.codec.UnreadableBody` if the stored text is not JSON (written by another
    program), so that listings show it instead of failing."""

    id: int
    queue: str
    action: str
    body: Any
    group: str | None
    dedup_id: str | None
    run_id: str | None
    receive_count: int
    enqueued_at: float
    visible_at: float
    receipt: Receipt | None = None
    last_error: str | None = None
    attempts: tuple[Attempt, ...] = ()
    dead_reason: str | None = None
    source_queue: str | None = None
    headers: Mapping[str, str] | None = None
    """The trace-context headers it was enqueued with (read only while tracing)."""


OutcomeKind = Literal["ack", "retry", "dead"]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one claimed message; applied by ``Store.complete``.

    ``children`` are messages enqueued in the same transaction, only if the receipt is fresh;
    so are the ``once`` keys of an ack.
    """

    receipt: Receipt
    kind: OutcomeKind
    delay: float = 0.0
    error: str | None = None
    children: tuple[NewMessage, ...] = field(default=())
    once: tuple[str, ...] = field(default=())
    """Effect keys recorded in the once-ledger with a fresh ack (see ``Store.once_seen``)."""
    units: int = 0
    """Units of work (rows, say) the call reported, added to its run's stage with a fresh ack."""
    result: Any = field(default=None, compare=False)
    """The handler's return value, kept by an ack on a queue with ``keep_completed``."""
    queue: str | None = field(default=None, compare=False)
    """The message's queue if known (the worker's acks): an ack on a queue that keeps no
    completion records then stays on the fast path in a store where another queue does."""

    @classmethod
    def ack(
        cls,
        receipt: Receipt,
        children: tuple[NewMessage, ...] = (),
        once: tuple[str, ...] = (),
        units: int = 0,
        result: Any = None,
        queue: str | None = None,
    ) -> Outcome:
        # A worker builds one per message: the slots are set directly (see positional).
        return _new_outcome(receipt, "ack", 0.0, None, children, once, units, result, queue)

    @classmethod
    def retry(cls, receipt: Receipt, error: str, delay: float = 0.0) -> Outcome:
        return cls(receipt, "retry", delay=delay, error=error)

    @classmethod
    def dead(cls, receipt: Receipt, reason: str) -> Outcome:
        return cls(receipt, "dead", error=reason)


_new_outcome = positional(Outcome)
