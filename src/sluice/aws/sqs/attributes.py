"""Queue attributes of the SQS API: validating them and mapping them onto a queue policy."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from sluice import codec
from sluice.aws.errors import AwsError, invalid_attribute_name, invalid_attribute_value
from sluice.aws.sqs.names import name_of_arn
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
SETTABLE = frozenset(RANGES) | frozenset(FLAGS) | frozenset(KEPT) | {"RedrivePolicy"}
DEFAULTS = {
    "DelaySeconds": "0",
    "MaximumMessageSize": "1048576",
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
MIN_LEASE = 0.001
"""Seconds of the lease that stands for a visibility timeout of 0."""
READABLE = SETTABLE | frozenset(COMPUTED) | {"RedriveAllowPolicy"}


def stored_limit(size: int) -> int:
    """The store's limit for an SQS size: bodies are kept as JSON strings, whose escapes
    (``\\u0001`` for a control character) take up to 6 bytes a byte; the SQS limit itself
    is checked on the text."""
    return 6 * size + 2


def check(raw: object, fifo_name: bool, creating: bool = True) -> dict[str, str]:
    """Validated attributes as strings (InvalidAttributeName / InvalidAttributeValue) of a
    queue being created (``creating``) or changed."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise invalid_attribute_value("Attributes", "must be a map of name to string")
    given: dict[str, str] = {}
    for given_name, value in raw.items():
        name = str(given_name).strip()  # "VisibilityTimeout " is taken, as SQS does
        if name == "RedriveAllowPolicy":
            raise invalid_attribute_value(name, "not supported by sluice's SQS API yet")
        if name == "RedrivePolicy":
            given[name] = _redrive_text(value)
            continue
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
        raise AwsError(
            "InvalidParameterValue",
            "InvalidParameterValue",
            "Invalid value for the parameter FifoQueue: the name of a FIFO queue must end in .fifo",
        )
    if creating and fifo_name and given.get("FifoQueue") != "true":
        raise invalid_attribute_value("FifoQueue", "a queue named *.fifo needs FifoQueue=true")
    if given.get("ContentBasedDeduplication") == "true" and not fifo_name:
        raise invalid_attribute_name("ContentBasedDeduplication")
    return given


def _redrive_text(value: object) -> str:
    """A RedrivePolicy checked and normalised (``""`` removes it)."""
    if value == "" or value == "{}":
        return ""
    try:
        parsed = codec.loads(value) if isinstance(value, str | bytes) else value
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict) or set(parsed) - {"deadLetterTargetArn", "maxReceiveCount"}:
        raise invalid_attribute_value(
            "RedrivePolicy",
            'must be JSON like {"deadLetterTargetArn": "arn:aws:sqs:...", "maxReceiveCount": 5}',
        )
    count = parsed.get("maxReceiveCount")
    text = str(count) if isinstance(count, int | str) and not isinstance(count, bool) else ""
    if not text.isdigit() or not 1 <= int(text) <= 1000:
        raise invalid_attribute_value("RedrivePolicy", "maxReceiveCount must be from 1 to 1000")
    name_of_arn(parsed.get("deadLetterTargetArn"), "RedrivePolicy's deadLetterTargetArn")
    target = parsed["deadLetterTargetArn"]
    return codec.dumps({"deadLetterTargetArn": target, "maxReceiveCount": int(text)}).decode()


def redrive_target(attributes: Mapping[str, str]) -> str | None:
    """The dead-letter queue a given RedrivePolicy names (None: none given or removed)."""
    text = attributes.get("RedrivePolicy")
    return name_of_arn(codec.loads(text)["deadLetterTargetArn"], "") if text else None


def policy_for(name: str, attributes: Mapping[str, str], base: QueuePolicy | None) -> QueuePolicy:
    """The queue policy the attributes describe, over ``base`` (the current policy). A queue
    created through SQS dead-letters only with a RedrivePolicy, as on SQS."""
    policy = base or QueuePolicy(name, fifo=name.endswith(".fifo"), max_receives=None)
    changes: dict[str, Any] = {}
    if "RedrivePolicy" in attributes:
        text = attributes["RedrivePolicy"]
        changes["dead_letter_target"] = redrive_target(attributes)
        changes["max_receives"] = int(codec.loads(text)["maxReceiveCount"]) if text else None
    if "VisibilityTimeout" in attributes:
        # 0 (a message visible again at once) as the shortest lease the store takes
        changes["visibility_timeout"] = float(attributes["VisibilityTimeout"]) or MIN_LEASE
    if "MessageRetentionPeriod" in attributes:
        changes["retention"] = float(attributes["MessageRetentionPeriod"])
    if "MaximumMessageSize" in attributes or base is None:
        changes["max_message_bytes"] = stored_limit(
            int(attributes.get("MaximumMessageSize", DEFAULTS["MaximumMessageSize"]))
        )
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
