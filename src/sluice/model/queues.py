"""Queue names, durations, queue policies and figures."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import timedelta

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
    dead_letter_target: str | None = None
    """The queue dead letters move to (any existing queue, as SQS's RedrivePolicy names one);
    None: this queue's own ``NAME.dlq``."""
    keep_completed: float | None = None
    """Seconds an acked (or cancelled) message leaves a completion record with its status,
    times and the handler's result (``Store.status``, ``App.result``); None: none is kept."""

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
        kept = seconds(self.keep_completed, "keep_completed", allow_none=True)
        if kept is not None and not 0 < kept < math.inf:
            raise ConfigError(
                f"keep_completed must be a finite number of seconds > 0, or None to keep no "
                f"completion records, got {self.keep_completed!r}"
            )
        set_(self, "keep_completed", kept)
        if (
            isinstance(self.max_message_bytes, bool)
            or not isinstance(self.max_message_bytes, int)
            or self.max_message_bytes < 1
        ):
            raise ConfigError(
                f"max_message_bytes must be a positive integer, got {self.max_message_bytes!r}"
            )
        target = self.dead_letter_target
        if target is not None and (not isinstance(target, str) or target == self.name):
            raise ConfigError(
                f"dead_letter_target must name another queue, got {target!r} (None: "
                f"{dlq_name(self.name)})"
            )

    @property
    def dead_letters(self) -> str:
        """The queue this queue's dead letters move to."""
        return self.dead_letter_target or dlq_name(self.name)

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
