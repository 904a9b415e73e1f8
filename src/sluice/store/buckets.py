"""Bucket scan state in the store, shared by every scanner of a watch: the watermark that
incremental listings start after (advanced in the transaction that enqueues what the listing
found), the next full listing (taken by compare-and-set, so one scanner of many does it) and
the last failure, which ``/healthz`` and ``/metrics`` report. Mixed into
:class:`~sluice.store.Store`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from sluice.model import Enqueued, NewMessage

if TYPE_CHECKING:
    from sluice.store.base import Store


@dataclass(frozen=True, slots=True)
class BucketScanState:
    """A bucket watch's stored scan state. ``watermark``: every matching key up to it has
    been listed and sent; ``sent``: messages created by its scans; ``failures``: listings
    failed in a row (``error`` the last, ``failing_since`` the first), 0 once one passes."""

    watch: str
    watermark: str = ""
    next_full: float = 0.0
    sent: int = 0
    failures: int = 0
    error: str | None = None
    failing_since: float | None = None
    passed_at: float | None = None


def _state(row: Sequence[Any]) -> BucketScanState:
    watch, watermark, next_full, sent, failures, error, since, passed = row
    return BucketScanState(
        watch, watermark, float(next_full), int(sent), int(failures), error, since, passed
    )


class BucketScanVerbs:
    """The bucket scan verbs of the store."""

    def bucket_scan(self, watch: str) -> BucketScanState:
        """The scan state of ``watch`` (a fresh one if it was never scanned)."""
        store = cast("Store", self)
        with store._driver.read() as db:
            found = store._sql(db, "bucket_scan_get", {"watch": watch})
        return _state(found[0]) if found else BucketScanState(watch)

    def bucket_scans(self) -> list[BucketScanState]:
        """The scan state of every bucket watch ever scanned, by watch."""
        store = cast("Store", self)
        with store._driver.read() as db:
            return [_state(row) for row in store._sql(db, "bucket_scans")]

    def bucket_take_full(self, watch: str, every: float) -> bool:
        """Whether this caller is to run ``watch``'s full listing now: true for one caller
        per ``every`` seconds, however many ask (compare-and-set on the next due time)."""
        store = cast("Store", self)
        with store._driver.write() as db:
            now = store.clock()
            store._sql(db, "bucket_scan_init", {"watch": watch})
            params = {"watch": watch, "now": now, "next": now + every}
            return bool(store._sql(db, "bucket_full_take", params))

    def bucket_advance(
        self, watch: str, messages: Sequence[NewMessage], watermark: str
    ) -> list[Enqueued]:
        """Enqueue ``messages`` and raise ``watch``'s watermark to ``watermark`` (never
        lower it) in one transaction; one result per message, dedup-aware."""
        store = cast("Store", self)
        now = store.clock()
        rows = store._prepare(messages, now)
        with store._driver.write() as db:
            done = store._insert(db, rows, now) if rows else []
            store._sql(db, "bucket_scan_init", {"watch": watch})
            created = sum(one.created for one in done)
            params = {"watch": watch, "watermark": watermark, "sent": created}
            store._sql(db, "bucket_advance", params)
        return done

    def bucket_passed(self, watch: str) -> None:
        """Record a listing of ``watch`` that worked: its failures are cleared."""
        store = cast("Store", self)
        with store._driver.write() as db:
            store._sql(db, "bucket_scan_init", {"watch": watch})
            store._sql(db, "bucket_passed", {"watch": watch, "now": store.clock()})

    def bucket_failed(self, watch: str, error: str, full: bool) -> int:
        """Record a listing of ``watch`` that failed with ``error`` (a full one is due again
        at once); return the failures in a row."""
        store = cast("Store", self)
        with store._driver.write() as db:
            store._sql(db, "bucket_scan_init", {"watch": watch})
            params = {"watch": watch, "error": error, "now": store.clock(), "full": full}
            return int(store._sql(db, "bucket_failed", params)[0][0])
