"""Where the file-ingestion story drops its files: a local directory (``watch_files``) or an
S3-compatible bucket (``watch_bucket``). The story's handler is the same for both: it reads
through ``ctx.open_object``."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Protocol

from sluice import App

DEMO_PREFIXES = ("input/", "processed/", "failed/", "outbox/", "order-")
"""The key prefixes the story writes in a bucket (and empties first): nothing else is touched."""


class Drop(Protocol):
    """The tree the writer drops files into and the watch watches."""

    where: str

    def reset(self) -> None: ...
    def write(self, path: str, content: bytes) -> None: ...
    def read(self, path: str) -> bytes | None: ...
    def count(self, prefix: str, suffix: str) -> int: ...
    def watch(self, app: App, action: str) -> None: ...
    def env(self) -> dict[str, str]: ...


class Directory:
    """A local directory, watched with ``app.watch_files``."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).absolute()
        self.where = f"{self.root}/"

    def reset(self) -> None:
        if self.root.exists():
            shutil.rmtree(self.root)
        self.root.mkdir(parents=True)

    def write(self, path: str, content: bytes) -> None:
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)

    def read(self, path: str) -> bytes | None:
        target = self.root / path
        return target.read_bytes() if target.is_file() else None

    def count(self, prefix: str, suffix: str) -> int:
        top = self.root / prefix
        return sum(1 for p in top.rglob(f"*{suffix}") if p.is_file()) if top.exists() else 0

    def watch(self, app: App, action: str) -> None:
        app.watch_files(self.root, action, on_success="processed/", on_dead="failed/", settle=1.0)

    def env(self) -> dict[str, str]:
        return {"SLUICE_FILES_ROOT": str(self.root)}


class Bucket:
    """An S3-compatible bucket, watched with ``app.watch_bucket`` (a full listing every
    ``reconcile_every`` seconds finds the files written behind the watermark)."""

    def __init__(self, url: str, endpoint_url: str | None, reconcile_every: float = 5.0) -> None:
        self.url, self.endpoint_url = url, endpoint_url
        self.reconcile_every = reconcile_every
        self.where = f"{url}/ at {endpoint_url or 'AWS'}"
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.client("s3", endpoint_url=self.endpoint_url)
        return self._client

    @property
    def name(self) -> str:
        return self.url.removeprefix("s3://").rstrip("/")

    def _keys(self, prefix: str) -> list[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.name, Prefix=prefix
        )
        return [o["Key"] for page in pages for o in page.get("Contents", ())]

    def reset(self) -> None:
        """Create the bucket if need be and delete the story's keys (only those)."""
        from botocore.exceptions import ClientError

        try:
            self.client.head_bucket(Bucket=self.name)
        except ClientError:
            self.client.create_bucket(Bucket=self.name)
        for prefix in DEMO_PREFIXES:
            keys = self._keys(prefix)
            for start in range(0, len(keys), 1000):
                chunk = [{"Key": k} for k in keys[start : start + 1000]]
                self.client.delete_objects(Bucket=self.name, Delete={"Objects": chunk})

    def write(self, path: str, content: bytes) -> None:
        self.client.put_object(Bucket=self.name, Key=path, Body=content)

    def read(self, path: str) -> bytes | None:
        from botocore.exceptions import ClientError

        try:
            data: bytes = self.client.get_object(Bucket=self.name, Key=path)["Body"].read()
        except ClientError:
            return None
        return data

    def count(self, prefix: str, suffix: str) -> int:
        return sum(1 for key in self._keys(prefix) if key.endswith(suffix))

    def watch(self, app: App, action: str) -> None:
        app.watch_bucket(
            self.url,
            action,
            endpoint_url=self.endpoint_url,
            on_success="processed/",
            on_dead="failed/",
            reconcile_every=self.reconcile_every,
        )

    def env(self) -> dict[str, str]:
        return {"SLUICE_FILES_BUCKET": self.url, "SLUICE_FILES_ENDPOINT": self.endpoint_url or ""}


def from_env(environ: dict[str, str] | Any) -> Drop:
    """The drop the story's processes watch, as :meth:`Drop.env` described it."""
    if environ.get("SLUICE_FILES_BUCKET"):
        return Bucket(environ["SLUICE_FILES_BUCKET"], environ.get("SLUICE_FILES_ENDPOINT") or None)
    return Directory(environ.get("SLUICE_FILES_ROOT", "files-demo"))
