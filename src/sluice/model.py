"""Plain data with no I/O: queue policies, limits, messages, receipts, outcomes, schedules."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadDateError, CroniterError, croniter

from sluice.errors import ConfigError, InvalidQueueName

Seconds = float | int | timedelta

QUEUE_NAME = re.compile(r"[A-Za-z0-9_.\-]{1,80}")
DLQ_SUFFIX = ".dlq"
DEFAULT_GROUP = "default"


def seconds(value: Seconds | None, what: str, *, allow_none: bool = False) -> float | None:
    """Normalise a duration given as seconds or ``timedelta`` to float seconds (>= 0)."""
    if value is None:
        if allow_none:
            return None
        raise ConfigError(f"{what} must be a number of seconds, not None")
    if isinstance(value, timedelta):
        value = value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{what} must be seconds as a number or timedelta, got {value!r}")
    if math.isnan(value) or value < 0:
        raise ConfigError(f"{what} must be >= 0 seconds, got {value!r}")
    return float(value)


def validate_queue_name(name: object) -> str:
    """Return ``name`` if it is a valid user queue name, else raise :class:`InvalidQueueName`."""
    if not isinstance(name, str) or not QUEUE_NAME.fullmatch(name):
        raise InvalidQueueName(
            f"invalid queue name {name!r}: use 1 to 80 letters, digits, '-', '_' or '.'"
        )
    if name.endswith(DLQ_SUFFIX):
        raise InvalidQueueName(
            f"invalid queue name {name!r}: the suffix {DLQ_SUFFIX!r} is reserved for dead-letter "
            "queues, which sluice creates for every queue"
        )
    return name


def dlq_name(queue: str) -> str:
    """The name of the dead-letter queue of ``queue``."""
    return queue + DLQ_SUFFIX


def is_dlq(queue: str) -> bool:
    return queue.endswith(DLQ_SUFFIX)


@dataclass(frozen=True, slots=True)
class QueuePolicy:
    """A queue and its policy (SQS's attributes, in seconds).

    ``max_receives=None`` never dead-letters (used by DLQs); ``retention=None`` keeps messages
    forever; ``dedup_window=None`` remembers dedup ids forever.
    """

    name: str
    visibility_timeout: float = 30.0
    max_receives: int | None = 5
    fifo: bool = False
    dedup_window: float | None = 300.0
    retention: float | None = 4 * 86400.0
    max_message_bytes: int = 256 * 1024

    def __post_init__(self) -> None:
        if not (isinstance(self.name, str) and is_dlq(self.name)):
            validate_queue_name(self.name)
        set_ = object.__setattr__
        set_(self, "visibility_timeout", seconds(self.visibility_timeout, "visibility_timeout"))
        if self.visibility_timeout <= 0:
            raise ConfigError("visibility_timeout must be > 0 seconds")
        if self.max_receives is not None and (
            isinstance(self.max_receives, bool)
            or not isinstance(self.max_receives, int)
            or self.max_receives < 1
        ):
            raise ConfigError(f"max_receives must be an integer >= 1, got {self.max_receives!r}")
        window = seconds(self.dedup_window, "dedup_window", allow_none=True)
        set_(self, "dedup_window", None if window is None or math.isinf(window) else window)
        keep = seconds(self.retention, "retention", allow_none=True)
        set_(self, "retention", None if keep is None or math.isinf(keep) else keep)
        if self.retention is not None and self.retention <= 0:
            raise ConfigError("retention must be > 0 seconds, or None to keep messages forever")
        if (
            isinstance(self.max_message_bytes, bool)
            or not isinstance(self.max_message_bytes, int)
            or self.max_message_bytes < 1
        ):
            raise ConfigError(
                f"max_message_bytes must be a positive integer, got {self.max_message_bytes!r}"
            )

    @property
    def dlq(self) -> QueuePolicy:
        """The policy of this queue's dead-letter queue: standard, keeps messages forever."""
        return QueuePolicy(
            name=dlq_name(self.name),
            visibility_timeout=self.visibility_timeout,
            max_receives=None,
            fifo=False,
            dedup_window=self.dedup_window,
            retention=None,
            max_message_bytes=self.max_message_bytes,
        )


RATE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*/\s*(s|sec|second|m|min|minute|h|hour)\s*")
_PER = {"s": 1.0, "sec": 1.0, "second": 1.0, "m": 60.0, "min": 60.0, "minute": 60.0}


def parse_rate(rate: str | float) -> float:
    """Parse ``"200/s"``, ``"30/m"`` or ``"100/h"`` (or a number per second) to messages/second."""
    if isinstance(rate, int | float) and not isinstance(rate, bool):
        per_second = float(rate)
    elif isinstance(rate, str) and (match := RATE.fullmatch(rate)):
        per_second = float(match.group(1)) / _PER.get(match.group(2), 3600.0)
    else:
        raise ConfigError(f"invalid rate {rate!r}: write it as 'N/s', 'N/m' or 'N/h'")
    if not per_second > 0 or math.isinf(per_second):
        raise ConfigError(f"invalid rate {rate!r}: it must be above zero")
    return per_second


@dataclass(frozen=True, slots=True)
class ActionLimit:
    """Global limits of one action, enforced by the store across all workers.

    ``concurrency``: messages of the action in flight at most. ``rate``: messages started per
    second, as a token bucket holding at most ``burst`` tokens (default: a tenth of a second's
    worth, at least one), shared by every worker. ``effective`` (read from the store) is the
    adaptive concurrency in force: halved when a handler raises ``Backoff``, regrown by one
    slot per full window of successes, never above ``concurrency``.
    """

    action: str
    concurrency: int | None = None
    rate: float | None = None
    burst: float | None = None
    effective: float | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.action, str) or not self.action:
            raise ConfigError(f"action name must be a non-empty string, got {self.action!r}")
        if self.concurrency is not None and (
            isinstance(self.concurrency, bool)
            or not isinstance(self.concurrency, int)
            or self.concurrency < 1
        ):
            raise ConfigError(f"concurrency must be an integer >= 1, got {self.concurrency!r}")
        if self.rate is not None:
            object.__setattr__(self, "rate", parse_rate(self.rate))
            if self.burst is None:
                object.__setattr__(self, "burst", max(1.0, self.rate / 10))
        if self.burst is not None and not self.burst >= 1:
            raise ConfigError(f"burst must be >= 1, got {self.burst!r}")


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

    @classmethod
    def ack(
        cls, receipt: Receipt, children: tuple[NewMessage, ...] = (), once: tuple[str, ...] = ()
    ) -> Outcome:
        return cls(receipt, "ack", children=children, once=once)

    @classmethod
    def retry(cls, receipt: Receipt, error: str, delay: float = 0.0) -> Outcome:
        return cls(receipt, "retry", delay=delay, error=error)

    @classmethod
    def dead(cls, receipt: Receipt, reason: str) -> Outcome:
        return cls(receipt, "dead", error=reason)


@dataclass(frozen=True, slots=True)
class QueueStats:
    """A queue's figures at one instant. ``oldest_age`` is seconds since the oldest visible
    message was enqueued (0 when none is visible)."""

    queue: str
    depth: int
    in_flight: int
    delayed: int
    oldest_age: float
    dlq_depth: int


@dataclass(frozen=True, slots=True)
class ActionPolicy:
    """How an action's messages are batched, limited, timed and retried.

    ``batch_size`` messages at most per call (1: the handler gets one body), waiting at most
    ``batch_window`` seconds to fill a batch and capping it at ``batch_bytes`` of bodies.
    ``timeout``: a call running longer fails. Retries back off exponentially from
    ``retry_base`` seconds up to ``retry_cap``, with full jitter.
    """

    queue: str
    batch_size: int = 1
    batch_window: float = 0.0
    batch_bytes: int | None = None
    timeout: float = 300.0
    concurrency: int | None = None
    rate: float | None = None
    retry_base: float = 1.0
    retry_cap: float = 300.0

    def __post_init__(self) -> None:
        validate_queue_name(self.queue)
        if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, int):
            raise ConfigError(f"batch_size must be an integer >= 1, got {self.batch_size!r}")
        if self.batch_size < 1:
            raise ConfigError(f"batch_size must be an integer >= 1, got {self.batch_size!r}")
        set_ = object.__setattr__
        set_(self, "batch_window", seconds(self.batch_window, "batch_window"))
        set_(self, "timeout", seconds(self.timeout, "timeout"))
        if self.timeout <= 0:
            raise ConfigError("timeout must be > 0 seconds")
        set_(self, "retry_base", seconds(self.retry_base, "retry_base"))
        set_(self, "retry_cap", seconds(self.retry_cap, "retry_cap"))
        if self.batch_bytes is not None and self.batch_bytes < 1:
            raise ConfigError(f"batch_bytes must be positive, got {self.batch_bytes!r}")
        if self.rate is not None:
            set_(self, "rate", parse_rate(self.rate))


@dataclass(frozen=True, slots=True)
class Partial:
    """Returned by a batch handler: only the messages in ``failed`` (id -> reason) are retried;
    the rest of the batch is acked."""

    failed: dict[int, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Job:
    """One item for ``enqueue_many``: a body with the per-message options of ``enqueue``."""

    body: Any
    group: str | None = None
    dedup_id: str | None = None
    delay: float = 0.0


RunStatus = Literal["discovering", "running", "succeeded", "failed", "cancelled"]
RUN_STATUSES: tuple[RunStatus, ...] = ("discovering", "running", "succeeded", "failed", "cancelled")
FINISHED: frozenset[str] = frozenset({"succeeded", "failed", "cancelled"})


@dataclass(frozen=True, slots=True)
class Target:
    """Where a run sends a message it enqueues by itself: an action and its queue."""

    action: str
    queue: str


@dataclass(frozen=True, slots=True)
class RunSpec:
    """A run to create. ``stages[0]`` is the action its producers enqueue (``None``: any
    actions); each later stage's action is enqueued once, with a summary of the stage before,
    when that stage is accounted for; ``on_complete`` once when the last one is."""

    id: str
    name: str
    stages: tuple[Target | None, ...] = (None,)
    on_complete: Target | None = None
    meta: Any = None


@dataclass(frozen=True, slots=True)
class StageState:
    """The counters of one stage of a run. ``failed`` counts failed attempts that were retried;
    ``done`` = ``succeeded + dead``."""

    index: int
    action: str | None
    total: int
    succeeded: int
    failed: int
    dead: int
    sealed: bool
    finished: bool
    started_at: float | None
    finished_at: float | None

    @property
    def done(self) -> int:
        return self.succeeded + self.dead


@dataclass(frozen=True, slots=True)
class RunState:
    """A run's progress, read from the store: exact after any crash, because the counters
    change in the transactions that settle its messages.

    ``total`` grows while the run discovers work and while handlers fan out; ``rate`` is
    messages settled per second since the start, ``eta`` the seconds left at that rate (None
    while unknown: discovering, nothing done yet, or finished)."""

    id: str
    name: str
    status: RunStatus
    stage: int
    stages: tuple[StageState, ...]
    meta: Any
    checkpoint: Any
    started_at: float
    finished_at: float | None
    rate: float | None
    eta: float | None

    @property
    def total(self) -> int:
        return sum(s.total for s in self.stages)

    @property
    def succeeded(self) -> int:
        return sum(s.succeeded for s in self.stages)

    @property
    def failed(self) -> int:
        return sum(s.failed for s in self.stages)

    @property
    def dead(self) -> int:
        return sum(s.dead for s in self.stages)

    @property
    def done(self) -> int:
        return self.succeeded + self.dead

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (for ``--json``, the HTTP API and the progress stream)."""
        return {
            "id": self.id,
            "name": self.name,
            "status": self.status,
            "stage": self.stage,
            "total": self.total,
            "succeeded": self.succeeded,
            "failed": self.failed,
            "dead": self.dead,
            "done": self.done,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "rate": self.rate,
            "eta": self.eta,
            "meta": self.meta,
            "checkpoint": self.checkpoint,
            "stages": [
                {
                    "index": s.index,
                    "action": s.action,
                    "total": s.total,
                    "succeeded": s.succeeded,
                    "failed": s.failed,
                    "dead": s.dead,
                    "sealed": s.sealed,
                    "finished": s.finished,
                    "started_at": s.started_at,
                    "finished_at": s.finished_at,
                }
                for s in self.stages
            ],
        }


MISFIRE_POLICIES = ("skip", "catch_up")
CRON_ALIASES = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
Misfire = Literal["skip", "catch_up"]
SCHEDULE_NAME = re.compile(r"[A-Za-z0-9_.:\-]{1,120}")


@dataclass(frozen=True, slots=True)
class Schedule:
    """A cron schedule that enqueues a message for ``action`` on ``queue`` at each tick.

    ``cron`` has 5 fields (minute hour day month weekday) or 6 with a leading seconds field
    (``"*/10 * * * * *"``: every ten seconds), or a ``@hourly``-style alias; it is read in
    ``timezone`` (an IANA name). ``misfire`` decides what a scheduler does with ticks missed
    while none ran (see ``sluice.sources.cron.due_ticks``): ``skip`` fires only the latest of
    them, ``catch_up`` fires each, at most ``catch_up_limit`` (the latest ones).
    """

    name: str
    cron: str
    action: str
    body: Any = None
    timezone: str = "UTC"
    misfire: Misfire = "skip"
    catch_up_limit: int = 10
    queue: str = "default"

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not SCHEDULE_NAME.fullmatch(self.name):
            raise ConfigError(
                f"invalid schedule name {self.name!r}: use 1 to 120 letters, digits, "
                "'-', '_', '.' or ':'"
            )
        if not isinstance(self.action, str) or not self.action:
            raise ConfigError(
                f"schedule {self.name!r}: action must be a non-empty string, got {self.action!r}"
            )
        validate_queue_name(self.queue)
        if self.misfire not in MISFIRE_POLICIES:
            raise ConfigError(
                f"schedule {self.name!r}: misfire must be 'skip' or 'catch_up', "
                f"got {self.misfire!r}"
            )
        if (
            isinstance(self.catch_up_limit, bool)
            or not isinstance(self.catch_up_limit, int)
            or self.catch_up_limit < 1
        ):
            raise ConfigError(
                f"schedule {self.name!r}: catch_up_limit must be an integer >= 1, "
                f"got {self.catch_up_limit!r}"
            )
        zone = timezone_named(self.timezone, f"schedule {self.name!r}")
        check_cron(self.cron, zone, f"schedule {self.name!r}")


def timezone_named(name: object, what: str) -> ZoneInfo:
    """The IANA time zone ``name``, or a ``ConfigError`` naming it."""
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{what}: timezone must be an IANA name like 'UTC', got {name!r}")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"{what}: unknown timezone {name!r} (use an IANA name like 'UTC' or 'Europe/Paris')"
        ) from None


def check_cron(expression: object, zone: ZoneInfo, what: str) -> None:
    """Raise a ``ConfigError`` naming ``expression`` and its fault unless it is a 5-field cron
    expression, a 6-field one with leading seconds, or an alias, that fires at least once."""
    if not isinstance(expression, str) or not expression.strip():
        raise ConfigError(f"{what}: cron expression must be a non-empty string, got {expression!r}")
    fields = expression.split()
    aliased = len(fields) == 1 and fields[0].startswith("@")
    if not aliased and len(fields) not in (5, 6):
        raise ConfigError(
            f"{what}: invalid cron expression {expression!r}: it has {len(fields)} fields; "
            "write 5 (minute hour day month weekday) or 6 (second first)"
        )
    try:
        croniter(expression, datetime.fromtimestamp(0, zone), second_at_beginning=True).get_next(
            float
        )
    except CroniterError as exc:
        detail = (
            str(exc).replace(f"[{expression}] ", "").strip().removeprefix("is not acceptable, ")
        )
        if isinstance(exc, CroniterBadDateError):
            detail = "it never fires (no date matches)"
        elif aliased:
            detail = f"unknown alias; use one of {', '.join(CRON_ALIASES)}"
        elif detail == "is not acceptable":
            detail = "a field holds a value that is not a number, a name or a range"
        raise ConfigError(f"{what}: invalid cron expression {expression!r}: {detail}") from None


DURATION_BUCKETS: tuple[float, ...] = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    300.0,
)
"""Upper bounds (seconds) of the handler duration histogram; one more bucket holds the rest."""


@dataclass(slots=True)
class ActionStats:
    """Outcome counters and a call-duration histogram of one action (one worker's, or the sum
    over workers). ``buckets[i]`` counts calls no longer than ``DURATION_BUCKETS[i]`` and not
    in an earlier bucket; the last one counts the rest."""

    action: str
    processed: int = 0
    failed: int = 0
    dead: int = 0
    duration_sum: float = 0.0
    buckets: list[int] = field(default_factory=lambda: [0] * (len(DURATION_BUCKETS) + 1))

    def observe(self, seconds: float) -> None:
        """Record one call's duration."""
        self.duration_sum += seconds
        for index, bound in enumerate(DURATION_BUCKETS):
            if seconds <= bound:
                self.buckets[index] += 1
                return
        self.buckets[-1] += 1

    def add(self, other: ActionStats) -> None:
        self.processed += other.processed
        self.failed += other.failed
        self.dead += other.dead
        self.duration_sum += other.duration_sum
        self.buckets = [a + b for a, b in zip(self.buckets, other.buckets, strict=True)]
