"""What a bucket-watched action does around its handler: skip objects already processed, and
once a message is settled copy its object to ``on_success`` / ``on_dead`` (with a
``<key>.reason`` object) and delete the original. S3 has no rename: the copy is conditional
on the message's etag (``CopySourceIfMatch``) and so is the delete (``If-Match``), so a
version overwritten since its message was made, even between the copy and the delete, is
left for its own message. Moves run in the settle hook, after the outcome is
committed; a worker killed between the commit and the move leaves the object in place, and
the dedup id keeps it from being enqueued again."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, BinaryIO, Literal

from sluice import codec
from sluice.errors import FileRefused
from sluice.sources.bucket.watch import BucketWatch, clean_etag
from sluice.sources.guarded import guard
from sluice.worker.actions import Action, Settled

Where = Literal["input", "stale", "done", "gone"]
log = logging.getLogger("sluice.bucket")


def _code(exc: Exception) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))


def _head_etag(watch: BucketWatch, key: str) -> str | None:
    from botocore.exceptions import ClientError

    try:
        return clean_etag(watch.client.head_object(Bucket=watch.bucket, Key=key)["ETag"])
    except ClientError as exc:
        if _code(exc) in ("404", "NoSuchKey", "NotFound"):
            return None
        raise


def where(watch: BucketWatch, body: Any) -> Where:
    """``input`` (the message's version is there), ``stale`` (overwritten since), ``done``
    (already copied to ``on_success``) or ``gone``; ``FileRefused`` for a body the watch
    does not take."""
    key, etag = watch.version_of(body)
    current = _head_etag(watch, key)
    if current is not None:
        return "input" if current == etag else "stale"
    if watch.on_success is not None and _head_etag(watch, watch.on_success + key) is not None:
        return "done"
    return "gone"


def open_object(watch: BucketWatch, body: Any) -> BinaryIO:
    """A binary stream of the object version a body names (read as it is consumed, never
    loaded whole). ``FileRefused`` if it was overwritten since; ``FileNotFoundError`` if
    it is gone."""
    from botocore.exceptions import ClientError

    key, etag = watch.version_of(body)
    try:
        found = watch.client.get_object(Bucket=watch.bucket, Key=key, IfMatch=etag)
    except ClientError as exc:
        if _code(exc) in ("PreconditionFailed", "412"):
            raise FileRefused(
                f"object {key!r} in {watch.url} was overwritten after its message was made "
                "(etag differs): its new version has a message of its own"
            ) from None
        if _code(exc) in ("404", "NoSuchKey"):
            raise FileNotFoundError(f"object {key!r} is gone from {watch.url}") from None
        raise
    stream: BinaryIO = found["Body"]
    return stream


def _to_handle(watch: BucketWatch, body: Any) -> bool:
    found = where(watch, body)
    if found == "gone":
        raise FileNotFoundError(f"object {body['key']!r} is gone from {watch.url}")
    return found == "input"


def wrap(watch: BucketWatch, action: Action) -> Action:
    """``action`` with a handler that skips what is already done (and fails what is gone)
    and a settle hook that moves it, for messages made by ``watch``."""
    return guard(action, lambda body: _to_handle(watch, body), lambda items: settle(watch, items))


MOVERS = 8
"""Objects of one settled batch moved at once (each move is two or three S3 requests)."""


def settle(watch: BucketWatch, items: Sequence[Settled]) -> None:
    """Copy the objects of settled messages (acked: to ``on_success``; dead-lettered: to
    ``on_dead`` with a ``.reason`` object) and delete the originals, up to :data:`MOVERS`
    at once; a version overwritten since is left in place; a refused body or an S3 error is
    logged, never raised."""
    targets = {"ack": watch.on_success, "dead": watch.on_dead}
    todo = [(item, target) for item in items if (target := targets.get(item.kind)) is not None]
    if len(todo) < 2:
        for item, target in todo:
            _settle_one(watch, item, target)
        return
    with ThreadPoolExecutor(min(MOVERS, len(todo)), thread_name_prefix="sluice-move") as pool:
        list(pool.map(lambda pair: _settle_one(watch, *pair), todo))


def _settle_one(watch: BucketWatch, item: Settled, target: str) -> None:
    try:
        key, etag = watch.version_of(item.message.body)
        if _move(watch, key, etag, target + key) and item.kind == "dead":
            reason = (
                f"message {item.message.id} dead-lettered after "
                f"{item.message.receive_count} receive(s): {item.error or 'no reason given'}\n"
            )
            watch.client.put_object(
                Bucket=watch.bucket, Key=target + key + ".reason", Body=reason.encode()
            )
    except Exception as exc:  # a failed move must not fail the (committed) settle
        entry = {"watch": watch.url, "message": item.message.id, "not_moved": str(exc)}
        log.warning("%s", codec.encode(entry))


def _move(watch: BucketWatch, key: str, etag: str, target: str) -> bool:
    """Copy ``key`` (if still at ``etag``) to ``target`` and delete it; False if it is gone
    or overwritten since."""
    from botocore.exceptions import ClientError

    source = {"Bucket": watch.bucket, "Key": key}
    try:
        watch.client.copy_object(
            Bucket=watch.bucket, Key=target, CopySource=source, CopySourceIfMatch=etag
        )
    except ClientError as exc:
        if _code(exc) in ("PreconditionFailed", "412", "NoSuchKey", "404"):
            return False
        raise
    _delete(watch, key, etag)
    return True


UNSUPPORTED = ("NotImplemented", "InvalidArgument", "InvalidRequest", "501")
"""Answers of servers without conditional deletes (older MinIO, Ceph)."""


def _delete(watch: BucketWatch, key: str, etag: str) -> bool:
    """Delete ``key`` only if it is still at ``etag`` (``If-Match`` on the delete, as AWS S3
    and moto take it); a version written since stays for its own message. On a server that
    refuses conditional deletes, check the etag first: that narrows the race, not closes it."""
    from botocore.exceptions import ClientError

    try:
        watch.client.delete_object(Bucket=watch.bucket, Key=key, IfMatch=etag)
        return True
    except ClientError as exc:
        if _code(exc) in ("PreconditionFailed", "412", "NoSuchKey", "404"):
            log.info("%s", codec.encode({"watch": watch.url, "key": key, "left": "overwritten"}))
            return False
        if _code(exc) not in UNSUPPORTED:
            raise
    if _head_etag(watch, key) != etag:
        return False
    watch.client.delete_object(Bucket=watch.bucket, Key=key)
    return True
