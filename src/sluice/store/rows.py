"""The rows that cross the driver seam, typed, and their conversions to and from the model."""

from __future__ import annotations

import operator
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from sluice import codec
from sluice.model import (
    ActionLimit,
    Attempt,
    Message,
    QueuePolicy,
    QueueStats,
    Receipt,
    dlq_name,
    is_dlq,
)
from sluice.model.slots import positional

new_message = positional(Message)
new_receipt = positional(Receipt)


class Row(NamedTuple):
    """A message ready for insertion: validated, encoded, with its times computed."""

    queue: str
    action: str
    body: str
    group: str | None
    dedup_id: str | None
    run_id: str | None
    enqueued_at: float
    visible_at: float
    dedup_expires_at: float | None
    run_stage: int | None = None
    priority: int = 0
    headers: str | None = None
    """JSON trace-context headers, stored beside the row (``sluice_headers``), not in it."""

    def with_stage(self, stage: int) -> Row:
        """This row counting towards ``stage`` of its run (``_replace``, at a third the cost:
        a bulk load re-stages every row)."""
        return tuple.__new__(Row, self[:9] + (stage,) + self[10:])  # noqa: RUF005  (faster)


INSERT_COLUMNS = operator.itemgetter(*range(8), 9, 10)
"""A :class:`Row`'s values of the message table's insert columns, in their order (queue ..
visible_at, run_stage, priority): an itemgetter, so a bulk insert picks them in C."""


class LimitRow(NamedTuple):
    """A row of the ``limits`` queries."""

    action: str
    concurrency: int | None
    rate: float | None
    burst: float | None
    tokens: float | None
    refilled_at: float | None
    effective: float | None

    def limit(self) -> ActionLimit:
        return ActionLimit(
            self.action, self.concurrency, self.rate, self.burst, effective=self.effective
        )


class OutcomeRow(NamedTuple):
    """A row of ``outcome_rows``: what ``complete`` decides a retry or dead letter against."""

    id: int
    lease: Any
    receive_count: int
    queue: str
    attempts: Any
    run_id: str | None
    run_stage: int | None


class RunRef(NamedTuple):
    """Where a message counts: its run and stage (both None outside runs)."""

    run_id: str | None
    run_stage: int | None


class DeadCandidate(NamedTuple):
    """A row of ``expire_candidates``: a message past its queue's retention."""

    id: int
    attempts: Any
    receive_count: int
    run_id: str | None
    run_stage: int | None


class RedriveCandidate(NamedTuple):
    """A row of ``redrive_candidates``: a dead letter chosen to go back."""

    id: int
    source_queue: str
    group_id: str | None
    run_id: str | None
    run_stage: int | None


class PurgedCount(NamedTuple):
    """A row of ``purge_counted``: purged messages of one run stage (run None: outside runs)."""

    run_id: str | None
    run_stage: int | None
    messages: int


def load_attempts(raw: Any) -> list[dict[str, Any]]:
    """Attempts as stored: a JSON array (text on SQLite, decoded jsonb on PostgreSQL) or NULL."""
    if raw is None:
        return []
    if isinstance(raw, str | bytes):
        loaded: list[dict[str, Any]] = codec.loads(raw)
        return loaded
    return list(raw)


def message_from_row(row: Sequence[Any], *, claimed: bool = False) -> Message:
    """A :class:`Message` from a row of the message queries (``get``, ``peek``, claims): id,
    queue, action, body, group, dedup id, run, receives, enqueued, visible, then lease, last
    error, attempts, dead reason, source queue."""
    id_, queue, action, body, group, dedup, run, received, enq, vis, lease, err, att, dead, src = (
        row
    )
    receipt = new_receipt(id_, str(lease)) if claimed and lease is not None else None
    history = (
        ()
        if att is None
        else tuple(
            Attempt(float(a["at"]), int(a["receive"]), str(a["error"])) for a in load_attempts(att)
        )
    )
    return new_message(
        id_,
        queue,
        action,
        codec.load_stored(body),
        group,
        dedup,
        run,
        received,
        enq,
        vis,
        receipt,
        err,
        history,
        dead,
        src,
        None,
    )


def policy_row(policy: QueuePolicy, keep_target: bool = False) -> tuple[Any, ...]:
    """The sluice_queues row of a policy (put_queue parameters); ``keep_target`` keeps a
    dead-letter target the row has when the policy names none."""
    return (
        policy.name,
        policy.visibility_timeout,
        policy.max_receives,
        policy.fifo,
        policy.dedup_window,
        policy.retention,
        policy.max_message_bytes,
        policy.dead_letter_target,
        policy.keep_completed,
        keep_target,
        keep_target,
    )


def policy_from_row(row: Sequence[Any]) -> QueuePolicy:
    """A policy from a sluice_queues row."""
    (
        name,
        visibility_timeout,
        max_receives,
        fifo,
        dedup_window,
        retention,
        max_bytes,
        target,
        kept,
    ) = row
    return QueuePolicy(
        name=name,
        visibility_timeout=visibility_timeout,
        max_receives=max_receives,
        fifo=bool(fifo),
        dedup_window=dedup_window,
        retention=retention,
        max_message_bytes=max_bytes,
        dead_letter_target=target,
        keep_completed=kept,
    )


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
