"""The public API is exactly sluice.__all__, and every public name is documented."""

from __future__ import annotations

import inspect

import sluice

EXPECTED = [
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


def test_all_is_the_expected_sorted_list() -> None:
    assert sluice.__all__ == EXPECTED
    assert sorted(sluice.__all__) == sluice.__all__


def test_every_public_name_exists_and_is_documented() -> None:
    for name in sluice.__all__:
        value = getattr(sluice, name)
        if inspect.isclass(value) or inspect.isfunction(value):
            assert inspect.getdoc(value), f"sluice.{name} has no docstring"
