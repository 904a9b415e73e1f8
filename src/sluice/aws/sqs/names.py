"""Queue URLs, ARNs and names of the SQS API, and finding a call's queue."""

from __future__ import annotations

import re
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from starlette.concurrency import run_in_threadpool

from sluice.aws.errors import AwsError, missing_parameter, queue_does_not_exist
from sluice.aws.wire import Call
from sluice.errors import UnknownQueue
from sluice.model import QUEUE_NAME, QueuePolicy

SQS_NAME = re.compile(r"[A-Za-z0-9_-]{1,80}")
FIFO_SUFFIX = ".fifo"


def queue_url(call: Call, name: str) -> str:
    """``http://<request host>/<account>/<name>``: reachable, since some SDKs send there."""
    return f"http://{call.host}/{call.account}/{name}"


def queue_arn(call: Call, name: str) -> str:
    return f"arn:aws:sqs:{call.region}:{call.account}:{name}"


def check_new_name(name: object) -> str:
    """An SQS queue name (``.fifo`` allowed as suffix), or InvalidParameterValue."""
    if isinstance(name, str):
        base = name.removesuffix(FIFO_SUFFIX)
        if len(name) <= 80 and SQS_NAME.fullmatch(base):
            return name
    raise AwsError(
        "InvalidParameterValue",
        "InvalidParameterValue",
        "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length "
        "(a FIFO queue name ends in .fifo)",
    )


def name_of_url(url: object) -> str:
    """The queue name of a queue URL (or of a bare name)."""
    if not isinstance(url, str) or not url:
        raise missing_parameter("QueueUrl")
    name = urlsplit(url).path.rstrip("/").rpartition("/")[2] if "/" in url else url
    if not QUEUE_NAME.fullmatch(name):
        raise queue_does_not_exist(name[:80])
    return name


def name_of_arn(arn: object, what: str) -> str:
    """The queue name of an SQS ARN, or InvalidParameterValue naming ``what``."""
    parts = arn.split(":") if isinstance(arn, str) else []
    if len(parts) != 6 or parts[:3] != ["arn", "aws", "sqs"] or not QUEUE_NAME.fullmatch(parts[5]):
        raise AwsError(
            "InvalidParameterValue",
            "InvalidParameterValue",
            f"{what} must be an SQS queue ARN (arn:aws:sqs:<region>:<account>:<name>), "
            f"got {str(arn)[:120]!r}",
        )
    return parts[5]


async def policy_of(call: Call, params: dict[str, Any]) -> QueuePolicy:
    """The policy of the queue named by ``params["QueueUrl"]``, or QueueDoesNotExist."""
    return await policy_named(call, name_of_url(params.get("QueueUrl")))


async def policy_named(call: Call, name: str) -> QueuePolicy:
    try:
        return await run_in_threadpool(call.app.store.policy, name)
    except UnknownQueue:
        raise queue_does_not_exist(name) from None


class Settings(NamedTuple):
    """A queue's SQS defaults that live beside its policy."""

    delay: int = 0
    wait: int = 0
    content_dedup: bool = False
    max_size: int | None = None
    """MaximumMessageSize of a queue created through SQS (None: the policy's limit)."""


async def settings_of(call: Call, policy: QueuePolicy) -> Settings:
    """The queue's DelaySeconds, ReceiveMessageWaitTimeSeconds and ContentBasedDeduplication
    (defaults for a queue declared by sluice)."""
    found = await run_in_threadpool(call.app.store.sqs_queues, [policy.name])
    record = found.get(policy.name)
    if record is None:
        return Settings()
    given = record.attributes
    return Settings(
        delay=int(given.get("DelaySeconds", "0")),
        wait=int(given.get("ReceiveMessageWaitTimeSeconds", "0")),
        content_dedup=given.get("ContentBasedDeduplication") == "true",
        max_size=int(given.get("MaximumMessageSize", "262144")),
    )
