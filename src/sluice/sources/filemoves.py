"""What a watched action does around its handler: skip files already processed, and move each
file once its message is settled (acked: to ``on_success``; dead-lettered: to ``on_dead`` with a
``.reason`` file).

Moves run in the worker's settle hook, after the outcome is committed: a rolled-back call
never moves its file. A worker killed between the commit and the move leaves the file where it
was; its message is settled and the dedup id keeps it from being enqueued again.
"""

from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

from sluice.model import Message, Partial
from sluice.sources.files import FileWatch
from sluice.worker.actions import Action, Settled

Where = Literal["input", "done", "gone", "other"]


def is_file_body(body: Any) -> bool:
    """Whether a message body is one a file watch made."""
    return isinstance(body, dict) and isinstance(body.get("path"), str) and "root" in body


def where(watch: FileWatch, body: Any) -> Where:
    """``input`` (still to process), ``done`` (moved to ``on_success`` already), ``gone``
    (neither), or ``other`` for a body no file watch made."""
    if not is_file_body(body):
        return "other"
    root = Path(body["root"])
    if (root / body["path"]).is_file():
        return "input"
    if watch.on_success is not None and (root / watch.on_success / body["path"]).is_file():
        return "done"
    return "gone"


def _gone(watch: FileWatch, body: Any) -> str:
    elsewhere = f" nor in {watch.on_success}" if watch.on_success else ""
    return f"file {body['path']!r} is gone: not under {body['root']!r}{elsewhere}"


def _split(watch: FileWatch, messages: list[Message]) -> tuple[list[Message], dict[int, str]]:
    """The messages to hand to the handler, and those to fail (their files are gone)."""
    todo: list[Message] = []
    failed: dict[int, str] = {}
    for message in messages:
        found = where(watch, message.body)
        if found == "gone":
            failed[message.id] = _gone(watch, message.body)
        elif found != "done":
            todo.append(message)
    return todo, failed


def _merge(result: Any, failed: dict[int, str]) -> Any:
    if not failed:
        return result
    if isinstance(result, Partial):
        return Partial({**failed, **result.failed})
    return Partial(failed)


def wrap(watch: FileWatch, action: Action) -> Action:
    """``action`` with a handler that skips files already done (and fails gone ones) and a
    settle hook that moves files, for messages made by ``watch``."""
    handler = action.handler
    wrapped: Any
    if action.takes_batches and action.is_async:

        async def wrapped(messages: list[Message], ctx: Any) -> Any:
            todo, failed = _split(watch, messages)
            return _merge(await handler(todo, ctx) if todo else None, failed)

    elif action.takes_batches:

        def wrapped(messages: list[Message], ctx: Any) -> Any:
            todo, failed = _split(watch, messages)
            return _merge(handler(todo, ctx) if todo else None, failed)

    elif action.is_async:

        async def wrapped(body: Any, ctx: Any) -> Any:
            found = where(watch, body)
            if found == "gone":
                raise FileNotFoundError(_gone(watch, body))
            return None if found == "done" else await handler(body, ctx)

    else:

        def wrapped(body: Any, ctx: Any) -> Any:
            found = where(watch, body)
            if found == "gone":
                raise FileNotFoundError(_gone(watch, body))
            return None if found == "done" else handler(body, ctx)

    wrapped.__name__ = getattr(handler, "__name__", action.name)
    wrapped.__doc__ = handler.__doc__
    return replace(action, handler=wrapped, on_settled=lambda items: settle(watch, items))


def settle(watch: FileWatch, items: Sequence[Settled]) -> None:
    """Move the files of settled messages: acked ones to ``on_success``, dead-lettered ones to
    ``on_dead`` with a ``.reason`` file. A file changed since its message was made is left for
    the message of its new version."""
    for item in items:
        body = item.message.body
        if not is_file_body(body):
            continue
        if item.kind == "ack" and watch.on_success is not None:
            _move(body, watch.on_success)
        elif item.kind == "dead" and watch.on_dead is not None:
            target = _move(body, watch.on_dead)
            if target is None:
                continue
            target.with_name(target.name + ".reason").write_text(
                f"message {item.message.id} dead-lettered after {item.message.receive_count} "
                f"receive(s): {item.error or 'no reason given'}\n",
                encoding="utf-8",
            )


def _move(body: dict[str, Any], directory: str) -> Path | None:
    """Move the body's file under ``directory`` and return where it went; None if it is gone
    or no longer the version the message names."""
    root, path = Path(body["root"]), str(body["path"])
    source, target = root / path, root / directory / path
    try:
        stat = source.stat()
    except FileNotFoundError:
        return None
    if "mtime_ns" in body and (stat.st_size, stat.st_mtime_ns) != (body["size"], body["mtime_ns"]):
        return None
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.replace(source, target)
    except FileNotFoundError:
        return None  # moved by another settle of the same file meanwhile
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        try:
            shutil.move(source, target)  # another file system: copy, then remove
        except FileNotFoundError:
            return None
    return target
