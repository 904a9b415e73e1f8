"""SQS queue operations: create, find, list, attributes, tags, purge and delete. Each runs in
one worker-thread hop (:func:`~sluice.aws.wire.threaded`) with one lookup of its queue."""

from __future__ import annotations

from typing import Any

from sluice import codec
from sluice.aws.errors import AwsError, invalid_parameter, missing_parameter, queue_does_not_exist
from sluice.aws.sqs import attributes
from sluice.aws.sqs.names import (
    Found,
    check_new_name,
    find,
    find_of,
    name_of_url,
    queue_arn,
    queue_url,
)
from sluice.aws.wire import Call, threaded
from sluice.model import QueuePolicy, is_dlq

MAX_LIST = 1000
MAX_TAGS = 50
PURGE_EVERY = 60.0
"""Seconds between two purges of one queue, as on SQS (PurgeQueueInProgress)."""
DEFAULT_SIZE = attributes.DEFAULTS["MaximumMessageSize"]


def _check_target(call: Call, policy: QueuePolicy) -> None:
    """A RedrivePolicy's target exists and is of the same kind (FIFO or standard)."""
    target = policy.dead_letter_target
    if target is None:
        return
    try:
        dead = find(call, target).policy
    except AwsError:
        raise invalid_parameter(
            f"Value for parameter RedrivePolicy is invalid. Reason: Dead letter target "
            f"{target!r} does not exist."
        ) from None
    if dead.fifo != policy.fifo:
        kind = "fifo" if policy.fifo else "standard"
        raise invalid_parameter(
            f"Value for parameter RedrivePolicy is invalid. Reason: the dead letter target of a "
            f"{kind} queue must be a {kind} queue too ({target!r} is not)."
        )


def _create_queue(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    name = check_new_name(params.get("QueueName"))
    given = attributes.check(params.get("Attributes"), name.endswith(".fifo"))
    tags = _tags(params.get("tags"), name)
    try:
        found: Found | None = find(call, name)
    except AwsError:
        found = None
    if found is not None:
        old = found.record.attributes if found.record else _attributes_of(found)
        clash = attributes.conflicts(old, given)
        if clash is not None:
            raise attributes.already_exists(name, clash)
        return {"QueueUrl": queue_url(call, name)}
    new = attributes.policy_for(name, given, None)
    _check_target(call, new)
    call.app.store.sqs_put_queue(new, given, tags)
    return {"QueueUrl": queue_url(call, name)}


def _get_queue_url(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    name = params.get("QueueName")
    if not isinstance(name, str) or not name:
        raise missing_parameter("QueueName")
    return {"QueueUrl": queue_url(call, find(call, name_of_url(name)).policy.name)}


def _limit(params: dict[str, Any]) -> int | None:
    limit = params.get("MaxResults")
    if limit is not None and (
        isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIST
    ):
        raise invalid_parameter(f"MaxResults must be an integer from 1 to {MAX_LIST}")
    return limit


def _page(call: Call, names: list[str], limit: int | None, key: str) -> dict[str, Any]:
    shown = names[: limit or MAX_LIST]
    answer: dict[str, Any] = {key: [queue_url(call, n) for n in shown]}
    if limit is not None and len(names) > len(shown):
        answer["NextToken"] = shown[-1]
    return answer


def _list_queues(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    prefix = str(params.get("QueueNamePrefix") or "")
    limit = _limit(params)
    after = str(params.get("NextToken") or "")
    names = [
        p.name
        for p in call.app.store.queues()
        if p.name.startswith(prefix) and not is_dlq(p.name) and p.name > after
    ]
    return _page(call, names, limit, "QueueUrls")


def _attributes_of(found: Found) -> dict[str, str]:
    policy, record = found
    shown = dict(attributes.DEFAULTS)
    shown["VisibilityTimeout"] = str(int(policy.visibility_timeout))
    shown["MaximumMessageSize"] = str(policy.max_message_bytes)
    if policy.retention is not None:
        shown["MessageRetentionPeriod"] = str(int(policy.retention))
    if policy.fifo:
        shown["FifoQueue"] = "true"
        shown["ContentBasedDeduplication"] = "false"
    if record is not None:
        shown["MaximumMessageSize"] = DEFAULT_SIZE
        shown.update(record.attributes)
    shown.pop("RedrivePolicy", None)
    return shown


def _get_queue_attributes(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    found = find_of(call, params)
    policy, record = found
    names = attributes.wanted(params.get("AttributeNames"))
    [stats] = call.app.store.stats([policy.name])
    shown = _attributes_of(found)
    created = str(int(record.created_at)) if record else "0"
    shown |= {
        "QueueArn": queue_arn(call, policy.name),
        "ApproximateNumberOfMessages": str(stats.depth),
        "ApproximateNumberOfMessagesNotVisible": str(stats.in_flight),
        "ApproximateNumberOfMessagesDelayed": str(stats.delayed),
        "CreatedTimestamp": created,
        "LastModifiedTimestamp": str(int(record.updated_at)) if record else created,
    }
    if policy.dead_letter_target is not None and policy.max_receives is not None:
        redrive = {
            "deadLetterTargetArn": queue_arn(call, policy.dead_letter_target),
            "maxReceiveCount": policy.max_receives,
        }
        shown["RedrivePolicy"] = codec.dumps(redrive).decode()
    picked = {n: shown[n] for n in names if n in shown}
    return {"Attributes": picked} if picked else {}


def _set_queue_attributes(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    found = find_of(call, params)
    policy, record = found
    raw = params.get("Attributes")
    if isinstance(raw, dict) and "FifoQueue" in raw:
        # SQS: a queue's type is set when it is created; SetQueueAttributes does not know it
        raise AwsError(
            "InvalidAttributeName",
            "InvalidAttributeName",
            "Unknown Attribute FifoQueue. (a queue's type is set by CreateQueue only)",
        )
    given = attributes.check(raw, policy.fifo, creating=False)
    kept = dict(record.attributes) if record else {}
    merged = {k: v for k, v in (kept | given).items() if v != "" or k == "RedrivePolicy"}
    new = attributes.policy_for(policy.name, given, policy)
    _check_target(call, new)
    call.app.store.sqs_put_queue(new, merged, record.tags if record else {})
    return {}


def _delete_queue(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    call.app.store.drop_queue(find_of(call, params).policy.name)
    return {}


def _purge_queue(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    name = find_of(call, params).policy.name
    now = call.app.store.clock()
    last = call.purged.get(name)
    if last is not None and last <= now < last + PURGE_EVERY:
        raise AwsError(
            "PurgeQueueInProgress",
            "AWS.SimpleQueueService.PurgeQueueInProgress",
            f"Only one PurgeQueue operation on {name} is allowed every 60 seconds.",
        )
    call.purged[name] = now
    call.app.store.purge(name)
    return {}


def _tags(raw: object, queue: str) -> dict[str, str]:
    """Validated tags (InvalidParameterValue naming the fault)."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise invalid_parameter("Tags must be a map of tag key to tag value")
    for key, value in raw.items():
        if not isinstance(key, str) or not 1 <= len(key) <= 128:
            raise invalid_parameter("Tag keys must be between 1 and 128 characters in length.")
        if not isinstance(value, str) or len(value) > 256:
            raise invalid_parameter("Tag values must be between 0 and 256 characters in length.")
    if len(raw) > MAX_TAGS:
        raise invalid_parameter(f"Too many tags added for queue {queue}.")
    return dict(raw)


def _tag_queue(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    policy, record = find_of(call, params)
    given = params.get("Tags")
    if not isinstance(given, dict) or not given:
        raise missing_parameter("Tags")
    tags = _tags((record.tags if record else {}) | _tags(given, policy.name), policy.name)
    kept = record.attributes if record else {}
    call.app.store.sqs_put_queue(policy, kept, tags)
    return {}


def _untag_queue(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    policy, record = find_of(call, params)
    keys = params.get("TagKeys")
    if not isinstance(keys, list) or not keys:
        raise invalid_parameter("Tag keys must be between 1 and 128 characters in length.")
    tags = {k: v for k, v in (record.tags if record else {}).items() if k not in keys}
    kept = record.attributes if record else {}
    call.app.store.sqs_put_queue(policy, kept, tags)
    return {}


def _list_queue_tags(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    record = find_of(call, params).record
    return {"Tags": record.tags} if record and record.tags else {}


def _list_dead_letter_source_queues(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    policy = find_of(call, params).policy
    limit = _limit(params)
    after = str(params.get("NextToken") or "")
    names = [
        p.name
        for p in call.app.store.queues()
        if p.dead_letter_target == policy.name and p.name > after
    ]
    return _page(call, names, limit, "queueUrls")


create_queue = threaded(_create_queue)
get_queue_url = threaded(_get_queue_url)
list_queues = threaded(_list_queues)
get_queue_attributes = threaded(_get_queue_attributes)
set_queue_attributes = threaded(_set_queue_attributes)
delete_queue = threaded(_delete_queue)
purge_queue = threaded(_purge_queue)
tag_queue = threaded(_tag_queue)
untag_queue = threaded(_untag_queue)
list_queue_tags = threaded(_list_queue_tags)
list_dead_letter_source_queues = threaded(_list_dead_letter_source_queues)

__all__ = ["queue_does_not_exist"]
