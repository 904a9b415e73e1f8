"""Queue attributes of the SQS API: validating them and mapping them onto a queue policy."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from sluice.aws.errors import AwsError, invalid_attribute_name, invalid_attribute_value
from sluice.model import QueuePolicy

RANGES: dict[str, tuple[int, int]] = {
    "DelaySeconds": (0, 900),
    "MaximumMessageSize": (1024, 1048576),
    "MessageRetentionPeriod": (60, 1209600),
    "ReceiveMessageWaitTimeSeconds": (0, 20),
    "VisibilityTimeout": (0, 43200),
    "KmsDataKeyReusePeriodSeconds": (60, 86400),
}
FLAGS = ("FifoQueue", "ContentBasedDeduplication", "SqsManagedSseEnabled")
KEPT = ("Policy", "KmsMasterKeyId", "DeduplicationScope", "FifoThroughputLimit")
"""Accepted and returned as given; they change nothing here."""
SETTABLE = frozenset(RANGES) | frozenset(FLAGS) | frozenset(KEPT)
DEFAULTS = {
    "DelaySeconds": "0",
    "MaximumMessageSize": "262144",
    "MessageRetentionPeriod": "345600",
    "ReceiveMessageWaitTimeSeconds": "0",
    "VisibilityTimeout": "30",
    "SqsManagedSseEnabled": "false",
}
COMPUTED = (
    "QueueArn",
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
    "CreatedTimestamp",
    "LastModifiedTimestamp",
)
READABLE = SETTABLE | frozenset(COMPUTED) | {"RedrivePolicy", "RedriveAllowPolicy"}


def check(raw: object, fifo_name: bool) -> dict[str, str]:
    """Validated attributes as strings (InvalidAttributeName / InvalidAttributeValue)."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise invalid_attribute_value("Attributes", "must be a map of name to string")
    given: dict[str, str] = {}
    for name, value in raw.items():
        if name in ("RedrivePolicy", "RedriveAllowPolicy"):
            raise invalid_attribute_value(name, "not supported by sluice's SQS API yet")
        if name not in SETTABLE:
            raise invalid_attribute_name(str(name)[:80])
        text = str(value).lower() if isinstance(value, bool) else str(value)
        if name in RANGES:
            low, high = RANGES[name]
            if not text.isdigit() or not low <= int(text) <= high:
                raise invalid_attribute_value(name, f"must be an integer from {low} to {high}")
        if name in FLAGS and text.lower() not in ("true", "false"):
            raise invalid_attribute_value(name, "must be true or false")
        given[name] = text.lower() if name in FLAGS else text
    if given.get("FifoQueue") == "true" and not fifo_name:
        raise invalid_attribute_value("FifoQueue", "the name of a FIFO queue must end in .fifo")
    if fifo_name and given.get("FifoQueue") != "true":
        raise invalid_attribute_value("FifoQueue", "a queue named *.fifo needs FifoQueue=true")
    if given.get("ContentBasedDeduplication") == "true" and not fifo_name:
        raise invalid_attribute_name("ContentBasedDeduplication")
    if given.get("VisibilityTimeout") == "0":
        raise invalid_attribute_value(
            "VisibilityTimeout", "sluice needs at least 1 second (0 is not supported)"
        )
    return given


def policy_for(name: str, attributes: Mapping[str, str], base: QueuePolicy | None) -> QueuePolicy:
    """The queue policy the attributes describe, over ``base`` (the current policy)."""
    policy = base or QueuePolicy(name, fifo=name.endswith(".fifo"), max_message_bytes=262144)
    changes: dict[str, Any] = {}
    if "VisibilityTimeout" in attributes:
        changes["visibility_timeout"] = float(attributes["VisibilityTimeout"])
    if "MessageRetentionPeriod" in attributes:
        changes["retention"] = float(attributes["MessageRetentionPeriod"])
    if "MaximumMessageSize" in attributes:
        changes["max_message_bytes"] = int(attributes["MaximumMessageSize"])
    return dataclasses.replace(policy, **changes)


def conflicts(old: Mapping[str, str], new: Mapping[str, str]) -> str | None:
    """The first attribute a re-create gives another value than the queue has, or None."""
    for name, value in new.items():
        if old.get(name, DEFAULTS.get(name)) != value:
            return name
    return None


def already_exists(name: str, attribute: str) -> AwsError:
    return AwsError(
        "QueueNameExists",
        "QueueAlreadyExists",
        f"A queue already exists with the same name {name!r} and a different value for "
        f"attribute {attribute}",
    )


def wanted(raw: object) -> list[str]:
    """The ``AttributeNames`` asked for (``All`` expands), or InvalidAttributeName."""
    names = raw if isinstance(raw, list) else []
    if "All" in names:
        return sorted(READABLE)
    for name in names:
        if name not in READABLE:
            raise invalid_attribute_name(str(name)[:80])
    return [str(n) for n in names]
