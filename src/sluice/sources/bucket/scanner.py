"""Scanning a bucket watch: one message per new or changed matching object.

Each message has ``dedup_id = "s3:<bucket>:<key>:<etag>"`` and the action's queue keeps dedup
ids forever, so restarts and any number of scanners never enqueue a version twice.

A pass lists only keys after the greatest key this scanner has sent (``StartAfter``), so a
bucket whose keys grow (dated names) costs one short listing per pass. Objects written behind
that watermark (a lower key, or an old key with a new etag) are found by the full listing that
runs every ``reconcile_every`` seconds, or sooner by a notification: the trade-off is that
latency for such objects is bounded by ``reconcile_every`` when notifications are lost.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sluice import codec
from sluice.errors import SluiceError
from sluice.sources.bucket.watch import BucketWatch, ObjectSeen, clean_etag

if TYPE_CHECKING:
    from sluice.produce import Producer

MAX_BACKOFF = 60.0
"""Seconds at most between retries of a bucket that cannot be listed."""


class BucketUnreachable(SluiceError):
    """A bucket could not be listed (missing, refused credentials, endpoint down)."""


@dataclass(frozen=True, slots=True)
class BucketScanResult:
    """One pass's figures: matching objects listed, messages created, dedup hits."""

    found: int
    enqueued: int
    repeats: int
    full: bool


def describe(watch: BucketWatch, exc: Exception) -> str:
    """A clear message naming the bucket, the endpoint and what to fix."""
    code = getattr(exc, "response", {}).get("Error", {}).get("Code", "")
    hint = {
        "NoSuchBucket": "create the bucket or fix the s3:// url",
        "InvalidAccessKeyId": "check AWS_ACCESS_KEY_ID / the credential chain",
        "SignatureDoesNotMatch": "check AWS_SECRET_ACCESS_KEY / the credential chain",
        "AccessDenied": "grant s3:ListBucket and s3:GetObject to these credentials",
    }.get(code, "check the endpoint_url, network and credentials")
    return f"cannot list {watch.where}: {code or type(exc).__name__}: {exc} ({hint})"


def enqueue_seen(producer: Producer, watch: BucketWatch, seen: list[ObjectSeen]) -> int:
    """Enqueue one message per object version in ``seen`` in one transaction; return how
    many were created (the rest were dedup hits)."""
    messages = [
        producer.new_message(watch.action, one.body(), dedup_id=one.dedup_id) for one in seen
    ]
    return sum(r.created for r in producer.store.enqueue(messages)) if messages else 0


class BucketScanner:
    """Scans one :class:`BucketWatch`; a listing that fails is retried with exponential
    backoff (``failures``, ``last_error`` say so) and never stops other watches."""

    def __init__(self, producer: Producer, watch: BucketWatch) -> None:
        self.producer = producer
        self.watch = watch
        self.log = logging.getLogger("sluice.bucket")
        self.watermark = ""
        """The greatest key sent by this scanner; incremental passes list after it."""
        self.failures = 0
        self.last_error: str | None = None
        self._sent: dict[str, str] = {}
        self._next_full = 0.0
        self._next_try = 0.0

    def _list(self, start_after: str) -> Iterator[ObjectSeen]:
        pages = self.watch.client.get_paginator("list_objects_v2")
        kwargs: dict[str, Any] = {"Bucket": self.watch.bucket, "Prefix": self.watch.prefix}
        if start_after:
            kwargs["StartAfter"] = start_after
        for page in pages.paginate(**kwargs):
            for item in page.get("Contents", ()):
                key = item["Key"]
                if self.watch.matches(key):
                    modified = item["LastModified"].timestamp()
                    etag = clean_etag(item["ETag"])
                    yield ObjectSeen(self.watch.bucket, key, item["Size"], etag, modified)

    def scan(self, now: float | None = None) -> BucketScanResult | None:
        """One pass (full when due, else after the watermark); None while backing off."""
        now = time.monotonic() if now is None else now
        if now < self._next_try:
            return None
        full = now >= self._next_full
        try:
            result = self._pass(full)
        except Exception as exc:
            if type(exc).__module__.split(".")[0] not in ("botocore", "boto3"):
                raise
            self.failures += 1
            self.last_error = describe(self.watch, exc)
            self._next_try = now + min(MAX_BACKOFF, 0.5 * 2**self.failures)
            raise BucketUnreachable(self.last_error) from None
        self.failures, self.last_error = 0, None
        if full:
            self._next_full = now + self.watch.reconcile_every
        return result

    def _pass(self, full: bool) -> BucketScanResult:
        found = enqueued = repeats = 0
        todo: list[ObjectSeen] = []
        for seen in self._list("" if full else self.watermark):
            found += 1
            if self._sent.get(seen.key) != seen.etag:
                todo.append(seen)
            if len(todo) >= self.watch.chunk_size:
                enqueued, repeats = self._send(todo, enqueued, repeats)
                todo = []
        enqueued, repeats = self._send(todo, enqueued, repeats)
        if enqueued:
            self.log.info(
                "%s", codec.encode({"watch": self.watch.url, "enqueued": enqueued, "full": full})
            )
        return BucketScanResult(found, enqueued, repeats, full)

    def _send(self, todo: list[ObjectSeen], enqueued: int, repeats: int) -> tuple[int, int]:
        if not todo:
            return enqueued, repeats
        created = enqueue_seen(self.producer, self.watch, todo)
        self._sent.update((seen.key, seen.etag) for seen in todo)
        self.watermark = max(self.watermark, max(seen.key for seen in todo))
        return enqueued + created, repeats + len(todo) - created
