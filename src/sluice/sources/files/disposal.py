"""What a watched action does around its handler: skip files already processed, and move each
file once its message is settled (acked: to ``on_success``; dead-lettered: to ``on_dead`` with a
``.reason`` file).

Moves run in the worker's settle hook, after the outcome is committed: a rolled-back call
never moves its file. A worker killed between the commit and the move leaves the file where it
was; its message is settled and the dedup id keeps it from being enqueued again.
"""

from __future__ import annotations

import errno
import logging
import os
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from sluice import codec
from sluice.errors import FileRefused
from sluice.sources.files.confine import make_dirs, move_across, regular_file, replace_with_text
from sluice.sources.files.watch import FileWatch
from sluice.sources.guarded import guard
from sluice.worker.actions import Action, Settled

Where = Literal["input", "stale", "done", "gone", "other"]
log = logging.getLogger("sluice.files")


def is_file_body(body: Any) -> bool:
    """Whether a message body names a file (as a file watch's bodies do)."""
    return isinstance(body, dict) and "path" in body


def where(watch: FileWatch, body: Any) -> Where:
    """``input`` (still to process), ``stale`` (rewritten since the message was made: its new
    version has its own message), ``done`` (moved to ``on_success`` already), ``gone``
    (neither), or ``other`` for a body that names no file. ``FileRefused`` for a path outside
    what the watch takes, through a symlink, or a present file the body names no version of."""
    if not is_file_body(body):
        return "other"
    relative, current = watch.find(body)
    if current is not None:
        return "input" if current else "stale"
    if watch.on_success is not None and regular_file(watch.root, watch.on_success + relative):
        return "done"
    return "gone"


def _gone(watch: FileWatch, body: Any) -> str:
    elsewhere = f" nor in {watch.on_success}" if watch.on_success else ""
    return f"file {body['path']!r} is gone: not under {str(watch.root)!r}{elsewhere}"


def _to_handle(watch: FileWatch, body: Any) -> bool:
    """Whether the handler gets ``body``; ``FileRefused`` (dead-lettered at once) or
    ``FileNotFoundError`` (retried, then dead-lettered) for one it must not get."""
    found = where(watch, body)
    if found == "gone":
        raise FileNotFoundError(_gone(watch, body))
    return found in ("input", "other")


def wrap(watch: FileWatch, action: Action) -> Action:
    """``action`` with a handler that skips what is already done (and fails what is gone)
    and a settle hook that moves it, for messages made by ``watch``."""
    return guard(action, lambda body: _to_handle(watch, body), lambda items: settle(watch, items))


def settle(watch: FileWatch, items: Sequence[Settled]) -> None:
    """Move the files of settled messages: acked ones to ``on_success``, dead-lettered ones to
    ``on_dead`` with a ``.reason`` file. A file changed since its message was made is left for
    the message of its new version; a refused path (outside the watch, through a symlink, or
    with no version named) is never moved, and logged."""
    for item in items:
        body = item.message.body
        directory = {"ack": watch.on_success, "dead": watch.on_dead}.get(item.kind)
        if directory is None or not is_file_body(body):
            continue
        try:
            target = _move(watch, body, directory)
            if target is not None and item.kind == "dead":
                replace_with_text(
                    target.with_name(target.name + ".reason"),
                    f"message {item.message.id} dead-lettered after "
                    f"{item.message.receive_count} receive(s): {item.error or 'no reason given'}\n",
                )
        except FileRefused as exc:
            log.warning(
                "%s",
                codec.encode(
                    {"watch": str(watch.root), "message": item.message.id, "not_moved": exc.reason}
                ),
            )


def _move(watch: FileWatch, body: Any, directory: str) -> Path | None:
    """Move the body's file under ``directory`` and return where it went; None if it is gone
    or no longer the version the message names. ``FileRefused`` for a refused path."""
    relative, current = watch.find(body)
    if not current:
        return None
    source = watch.root / relative
    where_to = PurePosixPath(directory + relative)
    target = make_dirs(watch.root, str(where_to.parent)) / where_to.name
    try:
        os.replace(source, target)  # a symlink at the target is replaced, not followed
    except FileNotFoundError:
        return None  # moved by another settle of the same file meanwhile
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        try:
            move_across(source, target)  # another file system: copy, then remove
        except FileNotFoundError:
            return None
    return target
