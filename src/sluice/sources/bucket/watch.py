"""A bucket watch: the bucket, prefix and suffix that select objects, where settled objects
go, and the S3 client (boto3, standard credential chain) it talks through."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from sluice.errors import ConfigError, FileRefused
from sluice.store import redact

RETRIES = {"max_attempts": 2, "mode": "standard"}
"""boto's own retries of one call; a scan that still fails is retried by the scanner, later."""


def parse_bucket(url: object) -> str:
    """The bucket name of ``s3://BUCKET`` (``ConfigError`` for anything else)."""
    if not isinstance(url, str) or not url.startswith("s3://"):
        raise ConfigError(f"bucket must be an s3://BUCKET url, got {url!r}")
    name = url[len("s3://") :].rstrip("/")
    if not name or "/" in name:
        raise ConfigError(f"bucket url {url!r} must name only a bucket: s3://BUCKET")
    return name


def _directory(value: object, what: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip("/") or value.startswith("/"):
        raise ConfigError(f"{what} must be a key prefix like 'processed/', got {value!r}")
    return value.rstrip("/") + "/"


@dataclass(frozen=True, slots=True)
class ObjectSeen:
    """One version of a matching object, as a listing or a notification named it."""

    bucket: str
    key: str
    size: int
    etag: str
    last_modified: float

    @property
    def dedup_id(self) -> str:
        return f"s3:{self.bucket}:{self.key}:{self.etag}"

    def body(self) -> dict[str, Any]:
        """The message body: which object and which version (not its content)."""
        return {
            "bucket": self.bucket,
            "key": self.key,
            "size": self.size,
            "etag": self.etag,
            "last_modified": self.last_modified,
        }


def clean_etag(etag: object) -> str:
    """An etag without the quotes S3 puts around it."""
    return str(etag).strip('"')


@dataclass(frozen=True)
class BucketWatch:
    """Watch ``bucket`` for objects whose key starts with ``prefix`` and ends with ``suffix``
    for ``action``. ``on_success`` / ``on_dead`` (key prefixes, or None to leave objects
    where they are): where an object is copied once its message is acked or dead-lettered
    (with a ``<key>.reason`` object beside it); the original is then deleted.
    ``endpoint_url``: an S3-compatible server (MinIO, Ceph, R2), None for AWS. A full
    listing runs every ``reconcile_every`` seconds; passes in between list only keys after
    the greatest one sent (``StartAfter``)."""

    bucket: str
    action: str
    prefix: str = "input/"
    suffix: str = ".json"
    endpoint_url: str | None = None
    on_success: str | None = None
    on_dead: str | None = None
    chunk_size: int = 500
    reconcile_every: float = 300.0
    _client: list[Any] = field(default_factory=list, repr=False, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "bucket", parse_bucket(self.bucket))
        if not isinstance(self.prefix, str) or self.prefix.startswith("/"):
            raise ConfigError(f"prefix must be a key prefix like 'input/', got {self.prefix!r}")
        if not isinstance(self.suffix, str):
            raise ConfigError(f"suffix must be a string like '.json', got {self.suffix!r}")
        for name in ("on_success", "on_dead"):
            set_(self, name, _directory(getattr(self, name), name))
        if self.on_success is not None and self.on_success == self.on_dead:
            raise ConfigError(f"on_success and on_dead must differ, both are {self.on_success!r}")
        if isinstance(self.chunk_size, bool) or not isinstance(self.chunk_size, int):
            raise ConfigError(f"chunk_size must be an integer >= 1, got {self.chunk_size!r}")
        if self.chunk_size < 1:
            raise ConfigError(f"chunk_size must be an integer >= 1, got {self.chunk_size!r}")
        if not isinstance(self.reconcile_every, int | float) or self.reconcile_every <= 0:
            raise ConfigError(f"reconcile_every must be seconds > 0, got {self.reconcile_every!r}")

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}"

    @property
    def id(self) -> str:
        """The watch's name in the store (its scan state): action, bucket, prefix, suffix."""
        return f"{self.action}:{self.url}/{self.prefix}*{self.suffix}"

    @property
    def where(self) -> str:
        """The bucket and endpoint, for error messages (any password in the url redacted)."""
        endpoint = redact(self.endpoint_url) if self.endpoint_url else None
        return f"bucket {self.url} at {endpoint or 'the AWS default endpoint'}"

    @property
    def client(self) -> Any:
        """The boto3 S3 client (made once; boto3 clients are thread-safe)."""
        with self._lock:
            if not self._client:
                try:
                    import boto3
                except ImportError:  # pragma: no cover - depends on the install
                    raise ConfigError(
                        "watch_bucket needs boto3: pip install 'sluice[s3]'"
                    ) from None
                from botocore.config import Config

                config = Config(connect_timeout=5, read_timeout=30, retries=RETRIES)
                client = boto3.client("s3", endpoint_url=self.endpoint_url, config=config)
                self._client.append(client)
            return self._client[0]

    @property
    def excluded(self) -> tuple[str, ...]:
        """Key prefixes never taken: where objects are copied to."""
        return tuple(d for d in (self.on_success, self.on_dead) if d is not None)

    def matches(self, key: str) -> bool:
        """Whether ``key`` is one this watch takes."""
        return (
            key.startswith(self.prefix)
            and key.endswith(self.suffix)
            and not key.startswith(self.excluded)
        )

    def version_of(self, body: Any) -> tuple[str, str]:
        """The ``(key, etag)`` a message body names, if it is an object this watch takes;
        ``FileRefused`` naming it otherwise (bodies are untrusted)."""
        if not isinstance(body, dict):
            raise FileRefused(f"object message body {body!r:.200} names no object")
        key, etag = body.get("key"), body.get("etag")
        if body.get("bucket") != self.bucket:
            raise FileRefused(
                f"object message names bucket {body.get('bucket')!r:.200}, not the watch's "
                f"{self.url}: refused"
            )
        if not isinstance(key, str) or not self.matches(key):
            raise FileRefused(
                f"object key {key!r:.200} is not one the watch on {self.url} takes "
                f"(prefix {self.prefix!r}, suffix {self.suffix!r}, not under a move target)"
            )
        if not isinstance(etag, str) or not etag:
            raise FileRefused(f"object message for {key!r} names no version (etag)")
        return key, etag
