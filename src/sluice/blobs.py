"""Claim checks: bodies above a queue's message limit go to a blob directory, and the message
carries a reference that workers resolve before the handler sees the body.

Run ids, keys and groups come from messages and requests, so none may name anything outside
the blob directory: a group is a plain name (no ``/``, not ``.`` or ``..``), a key is exactly
``GROUP/HEX.json``, and a group folder that is a symlink is refused."""

from __future__ import annotations

import os
import re
import shutil
import stat
import uuid
from pathlib import Path
from typing import Any

from sluice.errors import MessageError

REF = "$sluice_blob"
"""The key of a body that stands for a blob: ``{"$sluice_blob": "<key>", "bytes": n}``."""
SHARED = "_"
"""The group of blobs enqueued outside any run."""
_GROUP = re.compile(r"[A-Za-z0-9_\-][A-Za-z0-9_.\-]{0,119}")
_KEY = re.compile(r"(?P<group>[A-Za-z0-9_\-][A-Za-z0-9_.\-]{0,119})/[0-9a-f]{32}\.json")
_NAMES = "letters, digits, '_', '-' and '.', not starting with '.', at most 120 characters"


class BlobNameRefused(MessageError):
    """A run id or blob key cannot name a place inside the blob directory."""


def _run_group(run_id: str) -> str:
    """The folder of a run's blobs: the run id itself, if it is a plain name."""
    if not isinstance(run_id, str) or run_id == SHARED or not _GROUP.fullmatch(run_id):
        raise BlobNameRefused(
            f"run id {run_id!r} cannot name a blob folder: a run that carries claim checks "
            f"needs an id of {_NAMES} (and not {SHARED!r}); nothing was stored or removed"
        )
    return run_id


class BlobStore:
    """Blobs as files under ``root``, grouped by run so a run's blobs go when it ends."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def _folder(self, group: str, *, create: bool) -> Path | None:
        """The group's folder (None if absent); ``BlobNameRefused`` if it is not a real
        directory (a symlink could point anywhere)."""
        folder = self.root / group
        if create:
            folder.mkdir(parents=True, exist_ok=True)
        try:
            mode = folder.lstat().st_mode
        except FileNotFoundError:
            return None
        if not stat.S_ISDIR(mode):
            raise BlobNameRefused(
                f"blob folder {str(folder)!r} is a symlink or not a directory: refused"
            )
        return folder

    def put(self, data: bytes, run_id: str | None = None) -> str:
        """Store ``data``; return its key. Written to a temporary name, then renamed, so a
        reader never sees half a blob. ``BlobNameRefused`` for a run id that is not a plain
        name (see the module docstring)."""
        group = SHARED if run_id is None else _run_group(run_id)
        folder = self._folder(group, create=True)
        assert folder is not None
        name = f"{uuid.uuid4().hex}.json"
        temporary = folder / f"{name}.part"
        with open(temporary, "xb") as out:  # exclusive: never through a planted symlink
            out.write(data)
        temporary.replace(folder / name)
        return f"{group}/{name}"

    def get(self, key: str) -> bytes:
        """The blob of ``key``; ``MessageError`` if it is gone or the key is not ours."""
        found = _KEY.fullmatch(key) if isinstance(key, str) else None
        if found is None:
            raise BlobNameRefused(f"blob key {key!r} is not a key of the blob directory")
        folder = self._folder(found["group"], create=False)
        path = self.root / key
        try:
            if folder is None or not stat.S_ISREG(path.lstat().st_mode):
                raise FileNotFoundError(key)
            return path.read_bytes()
        except FileNotFoundError:
            raise MessageError(f"blob {key!r} is gone from {self.root}") from None

    def forget_run(self, run_id: str) -> int:
        """Delete the blobs of a run; return how many there were. ``BlobNameRefused`` for a
        run id that cannot name a blob folder (nothing is removed)."""
        folder = self._folder(_run_group(run_id), create=False)
        if folder is None:
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
