"""SQS queue operations: create, find, list, attributes, tags, purge and delete."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool

from sluice import codec
from sluice.aws.errors import AwsError, invalid_parameter, queue_does_not_exist
from sluice.aws.sqs import attributes
from sluice.aws.sqs.names import (
    check_new_name,
    name_of_url,
    policy_named,
    policy_of,
    queue_arn,
    queue_url,
)
from sluice.aws.wire import Call
from sluice.model import QueuePolicy, is_dlq
from sluice.store.sqs_queues import SqsQueue

MAX_LIST = 1000
DEFAULT_SIZE = attributes.DEFAULTS["MaximumMessageSize"]


async def _record(call: Call, name: str) -> SqsQueue | None:
    found = await run_in_threadpool(call.app.store.sqs_queues, [name])
    return found.get(name)


async def _check_target(call: Call, policy: QueuePolicy) -> None:
    target = policy.dead_letter_target
    if target is None:
        return
    try:
        await policy_named(call, target)
    except AwsError:
        raise invalid_parameter(
            f"Value for parameter RedrivePolicy is invalid. Reason: Dead letter target "
            f"{target!r} does not exist."
        ) from None


async def create_queue(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    name = check_new_name(params.get("QueueName"))
    given = attributes.check(params.get("Attributes"), name.endswith(".fifo"))
    tags = _tags(params.get("tags"))
    store = call.app.store
    try:
        policy: QueuePolicy | None = await policy_named(call, name)
    except AwsError:
        policy = None
    if policy is not None:
        record = await _record(call, name)
        old = record.attributes if record else _attributes_of(policy, None)
        clash = attributes.conflicts(old, given)
        if clash is not None:
            raise attributes.already_exists(name, clash)
        return {"QueueUrl": queue_url(call, name)}
    new = attributes.policy_for(name, given, None)
    await _check_target(call, new)
    await run_in_threadpool(store.sqs_put_queue, new, given, tags)
    return {"QueueUrl": queue_url(call, name)}


async def get_queue_url(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    name = params.get("QueueName")
    if not isinstance(name, str) or not name:
        raise invalid_parameter("QueueName is required")
    policy = await policy_named(call, name_of_url(name))
    return {"QueueUrl": queue_url(call, policy.name)}


async def list_queues(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    prefix = params.get("QueueNamePrefix") or ""
    limit = params.get("MaxResults")
    if limit is not None and (not isinstance(limit, int) or not 1 <= limit <= MAX_LIST):
        raise invalid_parameter(f"MaxResults must be an integer from 1 to {MAX_LIST}")
    after = params.get("NextToken") or ""
    names = [
        p.name
        for p in await run_in_threadpool(call.app.store.queues)
        if p.name.startswith(str(prefix)) and not is_dlq(p.name) and p.name > str(after)
    ]
    shown = names[: limit or MAX_LIST]
    answer: dict[str, Any] = {"QueueUrls": [queue_url(call, n) for n in shown]}
    if limit is not None and len(names) > len(shown):
        answer["NextToken"] = shown[-1]
    return answer


def _attributes_of(policy: QueuePolicy, record: SqsQueue | None) -> dict[str, str]:
    found = dict(attributes.DEFAULTS)
    found["VisibilityTimeout"] = str(int(policy.visibility_timeout))
    found["MaximumMessageSize"] = str(policy.max_message_bytes)
    if policy.retention is not None:
        found["MessageRetentionPeriod"] = str(int(policy.retention))
    if policy.fifo:
        found["FifoQueue"] = "true"
        found["ContentBasedDeduplication"] = "false"
    if record is not None:
        found["MaximumMessageSize"] = DEFAULT_SIZE
        found.update(record.attributes)
    found.pop("RedrivePolicy", None)
    return found


async def get_queue_attributes(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    policy = await policy_of(call, params)
    names = attributes.wanted(params.get("AttributeNames"))
    record = await _record(call, policy.name)
    [stats] = await run_in_threadpool(call.app.store.stats, [policy.name])
    found = _attributes_of(policy, record)
    created = str(int(record.created_at)) if record else "0"
    found |= {
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
        found["RedrivePolicy"] = codec.dumps(redrive).decode()
    shown = {n: found[n] for n in names if n in found}
    return {"Attributes": shown} if shown else {}


async def set_queue_attributes(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    policy = await policy_of(call, params)
    given = attributes.check(params.get("Attributes"), policy.fifo)
    record = await _record(call, policy.name)
    kept = dict(record.attributes) if record else {}
    if given.get("FifoQueue", kept.get("FifoQueue", "false")) != kept.get(
        "FifoQueue", "true" if policy.fifo else "false"
    ):
        raise AwsError(
            "InvalidAttributeValue", "InvalidAttributeValue", "FifoQueue cannot be changed"
        )
    new = attributes.policy_for(policy.name, given, policy)
    await _check_target(call, new)
    tags = record.tags if record else {}
    await run_in_threadpool(call.app.store.sqs_put_queue, new, kept | given, tags)
    return {}


async def delete_queue(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    policy = await policy_of(call, params)
    await run_in_threadpool(call.app.store.drop_queue, policy.name)
    return {}


async def purge_queue(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    policy = await policy_of(call, params)
    await run_in_threadpool(call.app.store.purge, policy.name)
    return {}


def _tags(raw: object) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and 0 < len(k) <= 128 and len(v) <= 256
        for k, v in raw.items()
    ):
        raise invalid_parameter("Tags must map keys (1-128 chars) to values (up to 256 chars)")
    if len(raw) > 50:
        raise invalid_parameter("Too many tags: a queue has at most 50")
    return dict(raw)


async def _tagged(call: Call, params: dict[str, Any]) -> tuple[QueuePolicy, SqsQueue | None]:
    policy = await policy_of(call, params)
    return policy, await _record(call, policy.name)


async def tag_queue(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    policy, record = await _tagged(call, params)
    tags = (record.tags if record else {}) | _tags(params.get("Tags"))
    kept = record.attributes if record else {}
    await run_in_threadpool(call.app.store.sqs_put_queue, policy, kept, _tags(tags))
    return {}


async def untag_queue(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    policy, record = await _tagged(call, params)
    keys = params.get("TagKeys")
    if not isinstance(keys, list):
        raise invalid_parameter("TagKeys must be a list of tag keys")
    tags = {k: v for k, v in (record.tags if record else {}).items() if k not in keys}
    kept = record.attributes if record else {}
    await run_in_threadpool(call.app.store.sqs_put_queue, policy, kept, tags)
    return {}


async def list_queue_tags(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    _, record = await _tagged(call, params)
    return {"Tags": record.tags} if record and record.tags else {}


__all__ = ["queue_does_not_exist"]


async def list_dead_letter_source_queues(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    policy = await policy_of(call, params)
    limit = params.get("MaxResults")
    if limit is not None and (not isinstance(limit, int) or not 1 <= limit <= MAX_LIST):
        raise invalid_parameter(f"MaxResults must be an integer from 1 to {MAX_LIST}")
    after = str(params.get("NextToken") or "")
    names = [
        p.name
        for p in await run_in_threadpool(call.app.store.queues)
        if p.dead_letter_target == policy.name and p.name > after
    ]
    shown = names[: limit or MAX_LIST]
    answer: dict[str, Any] = {"queueUrls": [queue_url(call, n) for n in shown]}
    if limit is not None and len(names) > len(shown):
        answer["NextToken"] = shown[-1]
    return answer
