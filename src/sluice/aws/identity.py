"""The AWS account and region sluice answers as (in queue URLs, ARNs and event records)."""

from __future__ import annotations

import functools
import hashlib
import os

from sluice.model import Receipt

ACCOUNT_VAR = "SLUICE_AWS_ACCOUNT"
REGION_VAR = "SLUICE_AWS_REGION"
DEFAULT_ACCOUNT = "000000000000"


def account() -> str:
    """The 12-digit account id (``$SLUICE_AWS_ACCOUNT``, default all zeros)."""
    found = os.environ.get(ACCOUNT_VAR, DEFAULT_ACCOUNT).strip()
    return found if len(found) == 12 and found.isdigit() else DEFAULT_ACCOUNT


def region() -> str:
    """The region (``$SLUICE_AWS_REGION``, default us-east-1)."""
    return os.environ.get(REGION_VAR, "").strip() or "us-east-1"


def queue_arn(name: str) -> str:
    """``arn:aws:sqs:<region>:<account>:<name>``."""
    return f"arn:aws:sqs:{region()}:{account()}:{name}"


@functools.lru_cache(maxsize=4096)
def queue_tag(queue: str) -> str:
    """8 hex digits naming a queue in its receipt handles (cached: every handle issued or
    taken computes its queue's)."""
    return hashlib.sha256(queue.encode()).hexdigest()[:8]


def receipt_handle(receipt: Receipt, queue: str) -> str:
    """The SQS receipt handle of a receipt of ``queue``'s: the receipt and the queue's tag,
    so a handle used on another queue is refused."""
    return f"{receipt}:{queue_tag(queue)}"
