"""Queue URLs, ARNs and names of the SQS API, and finding a call's queue."""

from __future__ import annotations

import re
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from sluice.aws.errors import AwsError, missing_parameter, queue_does_not_exist
from sluice.aws.wire import Call, in_thread
from sluice.errors import UnknownQueue
from sluice.model import QUEUE_NAME, QueuePolicy
from sluice.store.sqs_queues import SqsQueue

SQS_NAME = re.compile(r"[A-Za-z0-9_-]{1,80}")
FIFO_SUFFIX = ".fifo"
DEFAULT_MAX_SIZE = "1048576"
"""MaximumMessageSize of a queue created through SQS without one: 1 MiB, AWS's default."""


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
        "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length",
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


class Found(NamedTuple):
    """A call's queue: its policy and its SQS record (None: declared by sluice)."""

    policy: QueuePolicy
    record: SqsQueue | None

    @property
    def settings(self) -> Settings:
        """The queue's DelaySeconds, ReceiveMessageWaitTimeSeconds, ContentBasedDeduplication
        and MaximumMessageSize (defaults for a queue declared by sluice)."""
        if self.record is None:
            return Settings()
        given = self.record.attributes
        return Settings(
            delay=int(given.get("DelaySeconds", "0")),
            wait=int(given.get("ReceiveMessageWaitTimeSeconds", "0")),
            content_dedup=given.get("ContentBasedDeduplication") == "true",
            max_size=int(given.get("MaximumMessageSize", DEFAULT_MAX_SIZE)),
        )


def find(call: Call, name: str) -> Found:
    """The queue named ``name`` (one store lookup, mostly answered from the store's copies),
    or QueueDoesNotExist. Runs in a worker thread."""
    try:
        return Found(*call.app.store.sqs_queue(name))
    except UnknownQueue:
        raise queue_does_not_exist(name) from None


def find_of(call: Call, params: dict[str, Any]) -> Found:
    """The queue named by ``params["QueueUrl"]`` (see :func:`find`)."""
    return find(call, name_of_url(params.get("QueueUrl")))


async def policy_of(call: Call, params: dict[str, Any]) -> QueuePolicy:
    """The policy of the queue named by ``params["QueueUrl"]``, or QueueDoesNotExist."""
    return (await in_thread(find_of, call, params)).policy


async def policy_named(call: Call, name: str) -> QueuePolicy:
    return (await in_thread(find, call, name)).policy


class Settings(NamedTuple):
    """A queue's SQS defaults that live beside its policy."""

    delay: int = 0
    wait: int = 0
    content_dedup: bool = False
    max_size: int | None = None
    """MaximumMessageSize of a queue created through SQS (None: the policy's limit)."""
