"""sluice: a durable work queue with SQS semantics on SQLite or PostgreSQL."""

from sluice.app import App
from sluice.errors import (
    BodyNotSerializable,
    ConfigError,
    InvalidQueueName,
    MessageError,
    MessageTooLarge,
    SchemaMismatch,
    SluiceError,
    StoreError,
    StoreUnavailable,
    UnknownQueue,
)
from sluice.model import (
    ActionLimit,
    Attempt,
    Enqueued,
    Message,
    NewMessage,
    Outcome,
    QueuePolicy,
    QueueStats,
    Receipt,
    dlq_name,
)
from sluice.store import Store, open_store

__version__ = "0.1.0"

__all__ = [
    "ActionLimit",
    "App",
    "Attempt",
    "BodyNotSerializable",
    "ConfigError",
    "Enqueued",
    "InvalidQueueName",
    "Message",
    "MessageError",
    "MessageTooLarge",
    "NewMessage",
    "Outcome",
    "QueuePolicy",
    "QueueStats",
    "Receipt",
    "SchemaMismatch",
    "SluiceError",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "UnknownQueue",
    "__version__",
    "dlq_name",
    "open_store",
]
