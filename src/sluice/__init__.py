"""sluice: a durable work queue with SQS semantics on SQLite or PostgreSQL."""

from typing import TYPE_CHECKING

from sluice.app import App
from sluice.errors import (
    Backoff,
    BodyNotSerializable,
    ConfigError,
    Discard,
    FileRefused,
    HandlerSignal,
    InvalidPattern,
    InvalidQueueName,
    MessageError,
    MessageFailed,
    MessageFinished,
    MessageIsDead,
    MessageTooLarge,
    NotFinished,
    Retry,
    RunError,
    RunSealed,
    SchemaMismatch,
    SluiceError,
    StoreError,
    StoreUnavailable,
    UnknownAction,
    UnknownMessage,
    UnknownQueue,
    UnknownRule,
    UnknownRun,
    UnknownSchedule,
    WrongConnection,
)
from sluice.lazy import lazy_names
from sluice.model import (
    ActionLimit,
    ActionPolicy,
    Attempt,
    Enqueued,
    Job,
    Message,
    MessageStatus,
    NewMessage,
    Outcome,
    Partial,
    QueuePolicy,
    QueueStats,
    Receipt,
    RunState,
    Schedule,
    StageState,
    dlq_name,
)
from sluice.observe.alarms import Alarm
from sluice.runs import Run
from sluice.sources.bucket import BucketWatch
from sluice.sources.events import Rule
from sluice.sources.files import FileWatch
from sluice.store import Store, open_store
from sluice.store.search import MessageFilter, MessagePage
from sluice.worker.actions import Action, Settled
from sluice.worker.context import Context
from sluice.worker.runtime import Worker

if TYPE_CHECKING:
    from sluice.sources.scheduler import Scheduler

# Imported on first use: the scheduler service pulls in croniter, which a worker never needs.
__getattr__ = lazy_names(__name__, {"Scheduler": "sluice.sources.scheduler"})

__version__ = "0.1.0"

__all__ = [
    "Action",
    "ActionLimit",
    "ActionPolicy",
    "Alarm",
    "App",
    "Attempt",
    "Backoff",
    "BodyNotSerializable",
    "BucketWatch",
    "ConfigError",
    "Context",
    "Discard",
    "Enqueued",
    "FileRefused",
    "FileWatch",
    "HandlerSignal",
    "InvalidPattern",
    "InvalidQueueName",
    "Job",
    "Message",
    "MessageError",
    "MessageFailed",
    "MessageFilter",
    "MessageFinished",
    "MessageIsDead",
    "MessagePage",
    "MessageStatus",
    "MessageTooLarge",
    "NewMessage",
    "NotFinished",
    "Outcome",
    "Partial",
    "QueuePolicy",
    "QueueStats",
    "Receipt",
    "Retry",
    "Rule",
    "Run",
    "RunError",
    "RunSealed",
    "RunState",
    "Schedule",
    "Scheduler",
    "SchemaMismatch",
    "Settled",
    "SluiceError",
    "StageState",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "UnknownAction",
    "UnknownMessage",
    "UnknownQueue",
    "UnknownRule",
    "UnknownRun",
    "UnknownSchedule",
    "Worker",
    "WrongConnection",
    "__version__",
    "dlq_name",
    "open_store",
]
