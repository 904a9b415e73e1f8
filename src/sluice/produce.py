"""Streaming producers: ``enqueue_many`` and resumable ``discover``, in bounded memory.

Input is consumed one chunk at a time (one transaction each, COPY on PostgreSQL) and never held
whole; with ``max_backlog`` the producer waits while the queue holds more visible messages than
that, so a fast producer cannot flood the store.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

import orjson

from sluice.errors import ConfigError
from sluice.model import Job, NewMessage
from sluice.runs import RunRef, run_id_of

if TYPE_CHECKING:
    from sluice.app import App

T = TypeVar("T")
BACKLOG_POLL = 0.2
"""Seconds between checks of the backlog while a producer waits for it to drain."""


def chunked(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Lists of up to ``size`` items, pulled from ``items`` lazily."""
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def _check(chunk_size: int, max_backlog: int | None) -> None:
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise ConfigError(f"chunk_size must be an integer >= 1, got {chunk_size!r}")
    if max_backlog is not None and (not isinstance(max_backlog, int) or max_backlog < 1):
        raise ConfigError(f"max_backlog must be an integer >= 1 or None, got {max_backlog!r}")


def wait_for_backlog(app: App, queue: str, max_backlog: int | None) -> None:
    """Block while ``queue`` holds more than ``max_backlog`` visible messages."""
    if max_backlog is None:
        return
    while app.store.backlog(queue, max_backlog + 1) > max_backlog:
        time.sleep(BACKLOG_POLL)


def enqueue_many(
    app: App,
    action: str,
    items: Iterable[Any],
    *,
    chunk_size: int = 1000,
    max_backlog: int | None = None,
    run: RunRef | None = None,
) -> int:
    """Enqueue a message per item (a body or a :class:`~sluice.Job`); return how many were
    created (dedup hits are not)."""
    _check(chunk_size, max_backlog)
    run_id = run_id_of(run)
    queue = app.new_message(action, None).queue
    created = 0
    for chunk in chunked(items, chunk_size):
        messages = [_message(app, action, item, run_id) for item in chunk]
        wait_for_backlog(app, queue, max_backlog)
        created += sum(e.created for e in app.store.enqueue(messages))
    return created


def _message(app: App, action: str, item: Any, run_id: str | None) -> NewMessage:
    if isinstance(item, Job):
        return app.new_message(
            action, item.body, group=item.group, dedup_id=item.dedup_id, delay=item.delay,
            run=run_id,
        )  # fmt: skip
    return app.new_message(action, item, run=run_id)


def discover(
    app: App,
    action: str,
    fetch_after: Callable[[Any], Iterable[Any]],
    key: Callable[[Any], Any],
    run: RunRef,
    *,
    chunk_size: int = 1000,
    max_backlog: int | None = None,
) -> int:
    """Enqueue a message per record of a keyset scan, resumably; seal the run at the end.

    ``fetch_after(last_key)`` yields records ordered by ``key(record)`` after ``last_key``
    (``None`` at first; after a restart the checkpoint, decoded from JSON, so tuples come back
    as lists). Each record is the body of its message, so fetch only what the handler needs.
    The last key of each chunk is checkpointed in the run in the chunk's own transaction, so a
    discovery killed at any point and called again resumes right after the last stored chunk;
    every message also carries the dedup id ``<run>:<key>``. Return how many were created."""
    _check(chunk_size, max_backlog)
    run_id = run_id_of(run)
    if run_id is None:
        raise ConfigError("discover needs a run: create one with app.start_run(name)")
    state = app.store.run_state(run_id)
    if state.status != "discovering":
        return 0  # sealed by an earlier discovery that finished: nothing is left to find
    queue = app.new_message(action, None).queue
    created = 0
    for chunk in chunked(fetch_after(state.checkpoint), chunk_size):
        keys = [key(record) for record in chunk]
        messages = [
            app.new_message(action, record, dedup_id=f"{run_id}:{_text(k)}", run=run_id)
            for record, k in zip(chunk, keys, strict=True)
        ]
        wait_for_backlog(app, queue, max_backlog)
        done = app.store.enqueue(messages, checkpoint=(run_id, keys[-1]))
        created += sum(e.created for e in done)
    app.store.seal_run(run_id)
    return created


def _text(key: Any) -> str:
    return key if isinstance(key, str) else orjson.dumps(key).decode()
