"""Scanning a bucket watch: one message per new or changed matching object.

Each message has ``dedup_id = "s3:<bucket>:<key>:<etag>"`` and the action's queue keeps dedup
ids forever, so restarts and any number of scanners never enqueue a version twice: the dedup
ids are the durable record of what was sent.

The store keeps each watch's scan state (:class:`~sluice.store.buckets.BucketScanState`),
shared by every scanner of the watch and surviving their restarts. A pass lists only keys
after the watermark (``StartAfter``), 1,000 keys a page; each chunk of ``chunk_size``
messages is enqueued and the watermark raised past it in one transaction, so a scanner
killed mid-listing resumes after the last chunk it committed, and a restarted scanner
lists nothing old. Objects written behind the watermark (a lower key, or an old key with
a new etag) are found by the full listing that one scanner (compare-and-set in the store)
runs every ``reconcile_every`` seconds, or sooner by a notification: latency for such
objects is bounded by ``reconcile_every`` when notifications are lost.
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
from sluice.store import redact

if TYPE_CHECKING:
    from sluice.produce import Producer

PASSED_EVERY = 30.0
"""Seconds (store clock) between records of a watch's last good pass, for ``/healthz``."""
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


def is_s3_error(exc: Exception) -> bool:
    """Whether ``exc`` is boto's (the bucket's fault, not sluice's)."""
    return type(exc).__module__.split(".")[0] in ("botocore", "boto3")


def backoff(failures: int) -> float:
    """Seconds to wait after ``failures`` failed listings in a row (1, 2, 4 ... 60)."""
    return float(min(MAX_BACKOFF, 0.5 * 2 ** min(failures, 16)))


def describe(watch: BucketWatch, exc: Exception) -> str:
    """A clear message naming the bucket, the endpoint and what to fix (never a secret:
    boto's messages name the access key id at most)."""
    code = getattr(exc, "response", {}).get("Error", {}).get("Code", "")
    hint = {
        "NoSuchBucket": "create the bucket or fix the s3:// url",
        "InvalidAccessKeyId": "check AWS_ACCESS_KEY_ID / the credential chain",
        "SignatureDoesNotMatch": "check AWS_SECRET_ACCESS_KEY / the credential chain",
        "AccessDenied": "grant s3:ListBucket and s3:GetObject to these credentials",
        "NoCredentialsError": "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE",
        "EndpointConnectionError": "check endpoint_url and that the server is up",
    }.get(code or type(exc).__name__, "check the endpoint_url, network and credentials")
    text = str(exc)
    if watch.endpoint_url:
        text = text.replace(watch.endpoint_url, redact(watch.endpoint_url))
    return f"cannot list {watch.where}: {code or type(exc).__name__}: {text} ({hint})"


def enqueue_seen(producer: Producer, watch: BucketWatch, seen: list[ObjectSeen]) -> int:
    """Enqueue one message per object version in ``seen`` in one transaction; return how
    many were created (the rest were dedup hits)."""
    messages = [
        producer.new_message(watch.action, one.body(), dedup_id=one.dedup_id) for one in seen
    ]
    return sum(r.created for r in producer.store.enqueue(messages)) if messages else 0


class BucketScanner:
    """Scans one :class:`BucketWatch`; a listing that fails is recorded in the store (for
    ``/healthz`` and ``/metrics``) and retried with exponential backoff (``failures``,
    ``last_error`` say so); it never stops other watches."""

    def __init__(self, producer: Producer, watch: BucketWatch) -> None:
        self.producer = producer
        self.store = producer.store
        self.watch = watch
        self.log = logging.getLogger("sluice.bucket")
        self.failures = 0
        self.last_error: str | None = None
        self._sent: dict[str, str] = {}
        """key -> etag this process has sent: saves dedup lookups, rebuilt by full passes."""
        self._next_try = 0.0

    @property
    def watermark(self) -> str:
        """The watch's stored watermark: every matching key up to it was listed and sent."""
        return self.store.bucket_scan(self.watch.id).watermark

    def _pages(self, start_after: str) -> Iterator[tuple[list[ObjectSeen], str]]:
        """Each listed page's matching objects and its last key."""
        pages = self.watch.client.get_paginator("list_objects_v2")
        kwargs: dict[str, Any] = {
            "Bucket": self.watch.bucket,
            "Prefix": self.watch.prefix,
            "PaginationConfig": {"PageSize": 1000},  # the most S3 gives: fewest requests
        }
        if start_after:
            kwargs["StartAfter"] = start_after
        for page in pages.paginate(**kwargs):
            contents = page.get("Contents", ())
            if contents:
                yield (
                    [self._seen(item) for item in contents if self.watch.matches(item["Key"])],
                    (contents[-1]["Key"]),
                )

    def _seen(self, item: dict[str, Any]) -> ObjectSeen:
        modified = item["LastModified"].timestamp()
        etag = clean_etag(item["ETag"])
        return ObjectSeen(self.watch.bucket, item["Key"], item["Size"], etag, modified)

    def scan(self, now: float | None = None, full: bool | None = None) -> BucketScanResult | None:
        """One pass: a full listing when due (``full=True`` forces one), else one after the
        watermark; None while backing off after a failure (``now``: monotonic seconds)."""
        now = time.monotonic() if now is None else now
        if now < self._next_try:
            return None
        state = self.store.bucket_scan(self.watch.id)
        if full is None:
            due = state.next_full <= self.store.clock()
            full = due and self.store.bucket_take_full(self.watch.id, self.watch.reconcile_every)
        try:
            result = self._pass(full, state.watermark)
        except Exception as exc:
            if not is_s3_error(exc):
                raise
            self.last_error = describe(self.watch, exc)
            self.failures = self.store.bucket_failed(self.watch.id, self.last_error, full)
            self._next_try = now + backoff(self.failures)
            raise BucketUnreachable(self.last_error) from None
        stale = state.passed_at is None or state.passed_at < self.store.clock() - PASSED_EVERY
        if state.failures or self.failures or stale:
            self.store.bucket_passed(self.watch.id)
        self.failures, self.last_error = 0, None
        return result

    def _pass(self, full: bool, watermark: str) -> BucketScanResult:
        found = enqueued = repeats = 0
        listed: dict[str, str] = {}
        for seen, last in self._pages("" if full else watermark):
            found += len(seen)
            listed.update((one.key, one.etag) for one in seen)
            todo = [one for one in seen if self._sent.get(one.key) != one.etag]
            size = self.watch.chunk_size
            for start in range(0, len(todo), size):  # all but the page's last chunk
                chunk = todo[start : start + size]
                upto = last if start + size >= len(todo) else chunk[-1].key
                created = self._send(chunk, upto)
                enqueued, repeats = enqueued + created, repeats + len(chunk) - created
            if not todo and last > watermark:
                self._send([], last)
            watermark = max(watermark, last)
        if full:
            self._sent = listed  # forget what has left the listing (moved, deleted)
        if enqueued:
            entry = {"watch": self.watch.url, "enqueued": enqueued, "full": full}
            self.log.info("%s", codec.encode(entry))
        return BucketScanResult(found, enqueued, repeats, full)

    def _send(self, todo: list[ObjectSeen], last: str) -> int:
        """Enqueue ``todo`` and raise the watermark to ``last`` in one transaction."""
        messages = [
            self.producer.new_message(self.watch.action, one.body(), dedup_id=one.dedup_id)
            for one in todo
        ]
        done = self.store.bucket_advance(self.watch.id, messages, last)
        self._sent.update((one.key, one.etag) for one in todo)
        return sum(one.created for one in done)
