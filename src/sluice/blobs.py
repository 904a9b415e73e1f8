"""Claim checks: bodies above a queue's message limit go to a blob directory, and the message
carries a reference that workers resolve before the handler sees the body."""

from __future__ import annotations

import os
import re
import shutil
import uuid
from pathlib import Path
from typing import Any

from sluice.errors import MessageError

REF = "$sluice_blob"
"""The key of a body that stands for a blob: ``{"$sluice_blob": "<key>", "bytes": n}``."""
_SAFE = re.compile(r"[A-Za-z0-9_.\-]{1,120}")


class BlobStore:
    """Blobs as files under ``root``, grouped by run so a run's blobs go when it ends."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def put(self, data: bytes, run_id: str | None = None) -> str:
        """Store ``data``; return its key. Written to a temporary name, then renamed, so a
        reader never sees half a blob."""
        group = run_id if run_id is not None and _SAFE.fullmatch(run_id) else "_"
        folder = self.root / group
        folder.mkdir(parents=True, exist_ok=True)
        key = f"{group}/{uuid.uuid4().hex}.json"
        temporary = self.root / f"{key}.part"
        temporary.write_bytes(data)
        temporary.replace(self.root / key)
        return key

    def get(self, key: str) -> bytes:
        """The blob of ``key``; ``MessageError`` if it is gone or the key is not ours."""
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise MessageError(f"blob key {key!r} points outside the blob directory")
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise MessageError(f"blob {key!r} is gone from {self.root}") from None

    def forget_run(self, run_id: str) -> int:
        """Delete the blobs of a run; return how many there were."""
        if not _SAFE.fullmatch(run_id):
            return 0
        folder = self.root / run_id
        if not folder.is_dir():
            return 0
        count = sum(1 for _ in folder.glob("*.json"))
        shutil.rmtree(folder, ignore_errors=True)
        return count

    def count(self) -> int:
        """How many blobs are stored (for demos and tests)."""
        return sum(1 for _ in self.root.glob("*/*.json")) if self.root.is_dir() else 0


def reference(body: Any) -> str | None:
    """The blob key a body stands for, or None for an ordinary body."""
    if isinstance(body, dict) and isinstance(body.get(REF), str) and set(body) <= {REF, "bytes"}:
        return str(body[REF])
    return None
