"""S3 event notifications (the ``Records[]`` JSON AWS S3 and MinIO's webhook target send)
turned into the messages a scan would make: same filter, same dedup ids, one transaction."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

from sluice.errors import MessageError
from sluice.sources.bucket.scanner import enqueue_seen
from sluice.sources.bucket.watch import BucketWatch, ObjectSeen, clean_etag

if TYPE_CHECKING:
    from sluice.produce import Producer


class NotificationInvalid(MessageError):
    """The body is not an S3 event notification this watch takes; nothing was stored."""


def _record(watch: BucketWatch, index: int, record: Any) -> ObjectSeen | None:
    where = f"Records[{index}]"
    if not isinstance(record, dict) or not isinstance(record.get("s3"), dict):
        raise NotificationInvalid(f"{where} must be an S3 event record with an 's3' object")
    event = record.get("eventName")
    if not isinstance(event, str):
        raise NotificationInvalid(f"{where}.eventName must be a string like 's3:ObjectCreated:Put'")
    if not event.removeprefix("s3:").startswith("ObjectCreated:"):
        return None  # deletions and other events make no message
    s3, obj = record["s3"], record["s3"].get("object")
    bucket = s3.get("bucket", {}).get("name") if isinstance(s3.get("bucket"), dict) else None
    if not isinstance(obj, dict) or not isinstance(obj.get("key"), str):
        raise NotificationInvalid(f"{where}.s3.object.key must be a string")
    if not isinstance(obj.get("eTag"), str) or not obj["eTag"]:
        raise NotificationInvalid(f"{where}.s3.object.eTag must be a non-empty string")
    size = obj.get("size", 0)
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise NotificationInvalid(f"{where}.s3.object.size must be an integer >= 0")
    if bucket != watch.bucket:
        raise NotificationInvalid(f"{where} is for bucket {bucket!r:.100}, not {watch.url}")
    key = unquote_plus(obj["key"])  # S3 URL-encodes keys in events, '+' for space
    if not watch.matches(key):
        return None
    return ObjectSeen(bucket, key, size, clean_etag(obj["eTag"]), _time(record.get("eventTime")))


def _time(value: Any) -> float:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


def parse(watch: BucketWatch, payload: Any) -> list[ObjectSeen]:
    """The object versions an event notification names that the watch takes;
    ``NotificationInvalid`` (nothing stored) for a body that is not one."""
    if not isinstance(payload, dict) or not isinstance(payload.get("Records"), list):
        raise NotificationInvalid(
            "body must be an S3 event notification: a JSON object with a 'Records' list"
        )
    found = (_record(watch, i, r) for i, r in enumerate(payload["Records"]))
    return [seen for seen in found if seen is not None]


def receive(producer: Producer, watch: BucketWatch, payload: Any) -> dict[str, int]:
    """Validate a whole notification, then enqueue its matching objects in one transaction."""
    seen = parse(watch, payload)
    created = enqueue_seen(producer, watch, seen)
    return {"matched": len(seen), "enqueued": created, "repeats": len(seen) - created}
