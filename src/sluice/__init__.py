"""sluice: a durable work queue with SQS semantics on SQLite or PostgreSQL."""

from sluice.app import App
from sluice.errors import (
    Backoff,
    BodyNotSerializable,
    ConfigError,
    Discard,
    HandlerSignal,
    InvalidPattern,
    InvalidQueueName,
    MessageError,
    MessageTooLarge,
    Retry,
    SchemaMismatch,
    SluiceError,
    StoreError,
    StoreUnavailable,
    UnknownAction,
    UnknownQueue,
)
from sluice.model import (
    ActionLimit,
    ActionPolicy,
    Attempt,
    Enqueued,
    Message,
    NewMessage,
    Outcome,
    Partial,
    QueuePolicy,
    QueueStats,
    Receipt,
    dlq_name,
)
from sluice.store import Store, open_store
from sluice.worker.context import Context
from sluice.worker.runtime import Worker

__version__ = "0.1.0"

__all__ = [
    "ActionLimit",
    "ActionPolicy",
    "App",
    "Attempt",
    "Backoff",
    "BodyNotSerializable",
    "ConfigError",
    "Context",
    "Discard",
    "Enqueued",
    "HandlerSignal",
    "InvalidPattern",
    "InvalidQueueName",
    "Message",
    "MessageError",
    "MessageTooLarge",
    "NewMessage",
    "Outcome",
    "Partial",
    "QueuePolicy",
    "QueueStats",
    "Receipt",
    "Retry",
    "SchemaMismatch",
    "SluiceError",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "UnknownAction",
    "UnknownQueue",
    "Worker",
    "__version__",
    "dlq_name",
    "open_store",
]
