"""Scanning a file watch: one message per new or changed matching file.

A :class:`FileScanner` walks ``root/prefix`` (``input/**.json`` for the defaults), skips files
still being written (modified within the last ``settle`` seconds) and enqueues the rest in
chunks, each with ``dedup_id = "file:<path>:<size>:<mtime_ns>"``. The action's queue keeps dedup
ids forever (``dedup_window=None``), so a restarted scanner, or several scanners on several
machines, never enqueue a file twice; a changed file (new size or mtime) is a new message.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sluice import codec
from sluice.errors import FileRefused
from sluice.sources.files.confine import lstat_below

if TYPE_CHECKING:
    from sluice.produce import Producer

from sluice.sources.files.watch import FileWatch


@dataclass(frozen=True, slots=True)
class FileSeen:
    """A matching file as one scan found it."""

    path: str
    size: int
    mtime_ns: int

    @property
    def dedup_id(self) -> str:
        return f"file:{self.path}:{self.size}:{self.mtime_ns}"

    def body(self, root: Path) -> dict[str, Any]:
        """The message body: where the file is and which version (not its content)."""
        return {
            "path": self.path,
            "root": str(root),
            "size": self.size,
            "mtime": self.mtime_ns / 1e9,
            "mtime_ns": self.mtime_ns,
        }


def walk(watch: FileWatch) -> Iterator[FileSeen]:
    """Every matching file under the watch's root, settled or not (directories that cannot
    hold a match, and the move targets, are not entered). Symlinks are never followed: a
    symlinked file makes no message and a symlinked directory is not entered."""
    start = watch.prefix[: watch.prefix.rfind("/") + 1]  # the prefix's directory part
    try:
        if start and lstat_below(watch.root, start) is None:
            return  # not there (yet)
    except FileRefused:
        return  # the prefix's directory is reached through a symlink
    stack = [start]
    while stack:
        relative = stack.pop()
        try:
            entries = list(os.scandir(watch.root / relative if relative else watch.root))
        except (FileNotFoundError, NotADirectoryError):
            continue  # not there (yet), or removed while we walked
        for entry in entries:
            path = relative + entry.name
            try:
                if entry.is_dir(follow_symlinks=False):
                    inner = path + "/"
                    reachable = inner.startswith(watch.prefix) or watch.prefix.startswith(inner)
                    if reachable and not inner.startswith(watch.excluded):
                        stack.append(inner)
                elif watch.matches(path) and entry.is_file(follow_symlinks=False):
                    stat = entry.stat(follow_symlinks=False)
                    yield FileSeen(path, stat.st_size, stat.st_mtime_ns)
            except FileNotFoundError:
                continue  # removed between the listing and the stat


@dataclass(frozen=True, slots=True)
class ScanResult:
    """One scan's figures: matching files found, messages created, files already enqueued
    (by this or another scanner: dedup hits), files still settling."""

    found: int
    enqueued: int
    repeats: int
    settling: int


class FileScanner:
    """Scans one :class:`FileWatch` and enqueues what is new. It remembers the versions it
    has enqueued so that a scan only sends the store what changed; a fresh scanner (a
    restart) sends every present file once and the store's dedup ids drop the repeats."""

    def __init__(self, producer: Producer, watch: FileWatch) -> None:
        self.producer = producer
        self.watch = watch
        self.log = logging.getLogger("sluice.files")
        self._sent: dict[str, tuple[int, int]] = {}

    def scan(self, now: float | None = None) -> ScanResult:
        """Walk once; enqueue the settled files not sent yet. ``now``: wall-clock seconds
        (file times are wall-clock), default ``time.time()``."""
        now = time.time() if now is None else now
        cutoff = int((now - self.watch.settle) * 1e9)
        sent: dict[str, tuple[int, int]] = {}
        todo: list[FileSeen] = []
        found = settling = 0
        for seen in walk(self.watch):
            found += 1
            if seen.mtime_ns > cutoff:
                settling += 1
                continue
            version = (seen.size, seen.mtime_ns)
            if self._sent.get(seen.path) == version:
                sent[seen.path] = version
            else:
                todo.append(seen)
        enqueued = repeats = 0
        try:
            for start in range(0, len(todo), self.watch.chunk_size):
                chunk = todo[start : start + self.watch.chunk_size]
                messages = [
                    self.producer.new_message(
                        self.watch.action, seen.body(self.watch.root), dedup_id=seen.dedup_id
                    )
                    for seen in chunk
                ]
                results = self.producer.store.enqueue(messages)
                created = sum(r.created for r in results)
                enqueued += created
                repeats += len(chunk) - created
                sent.update((seen.path, (seen.size, seen.mtime_ns)) for seen in chunk)
        finally:
            self._sent = sent  # files gone since are forgotten; unsent chunks are retried
        if todo:
            self.log.info(
                "%s",
                codec.encode(
                    {
                        "watch": str(self.watch.root / self.watch.prefix),
                        "action": self.watch.action,
                        "enqueued": enqueued,
                        "repeats": repeats,
                    }
                ),
            )
        return ScanResult(found, enqueued, repeats, settling)
