"""How an app's bucket watches are doing, as the store records it (every scanner writes
there), for ``/healthz`` and ``/metrics``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sluice.sources.bucket.watch import BucketWatch
from sluice.store.buckets import BucketScanState

if TYPE_CHECKING:
    from sluice.registry import Registry
    from sluice.store import Store


def watch_states(registry: Registry, store: Store) -> list[tuple[BucketWatch, BucketScanState]]:
    """Each bucket watch of ``registry`` with its stored scan state (a fresh one if never
    scanned), by action."""
    if not registry.bucket_watches:
        return []
    stored = {state.watch: state for state in store.bucket_scans()}
    return [
        (watch, stored.get(watch.id, BucketScanState(watch.id)))
        for _, watch in sorted(registry.bucket_watches.items())
    ]


def failing(registry: Registry, store: Store, detailed: bool) -> list[dict[str, Any]]:
    """The watches whose last listing failed: action, bucket, failures in a row, since
    when, and (``detailed``, for a caller with a token) the error naming the endpoint."""
    found = []
    for watch, state in watch_states(registry, store):
        if state.failures:
            entry: dict[str, Any] = {
                "source": "s3",
                "action": watch.action,
                "failures": state.failures,
                "failing_since": state.failing_since,
            }
            if detailed:
                entry |= {"bucket": watch.url, "error": state.error}
            found.append(entry)
    return found
