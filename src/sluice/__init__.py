"""sluice: a durable work queue with SQS semantics on SQLite or PostgreSQL."""

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
    MessageTooLarge,
    Retry,
    RunError,
    RunSealed,
    SchemaMismatch,
    SluiceError,
    StoreError,
    StoreUnavailable,
    UnknownAction,
    UnknownQueue,
    UnknownRun,
)
from sluice.model import (
    ActionLimit,
    ActionPolicy,
    Attempt,
    Enqueued,
    Job,
    Message,
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
from sluice.sources.events import Rule
from sluice.sources.files import FileWatch
from sluice.sources.scheduler import Scheduler
from sluice.store import Store, open_store
from sluice.store.search import MessageFilter, MessagePage
from sluice.worker.actions import Action, Settled
from sluice.worker.context import Context
from sluice.worker.runtime import Worker

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
    "MessageFilter",
    "MessagePage",
    "MessageTooLarge",
    "NewMessage",
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
    "UnknownQueue",
    "UnknownRun",
    "Worker",
    "__version__",
    "dlq_name",
    "open_store",
]
