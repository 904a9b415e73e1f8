"""Streaming producers: ``enqueue_many`` and resumable ``discover``, in bounded memory.

Input is consumed one chunk at a time (one transaction each, COPY on PostgreSQL) and never held
whole; with ``max_backlog`` the producer waits while the queue holds more visible messages than
that, so a fast producer cannot flood the store.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from sluice import codec
from sluice.errors import ConfigError, MessageError
from sluice.model import Job, NewMessage
from sluice.runs import RunRef, run_id_of

if TYPE_CHECKING:
    from sluice.store import Store


class Producer(Protocol):
    """What producing needs of an app: its store and the message for an action's body."""

    @property
    def store(self) -> Store: ...

    def new_message(
        self,
        action: str,
        body: Any,
        *,
        group: str | None = None,
        dedup_id: str | None = None,
        delay: float = 0.0,
        run: RunRef | None = None,
        priority: int = 0,
    ) -> NewMessage: ...

    def new_messages(
        self,
        action: str,
        bodies: Sequence[Any],
        *,
        run: RunRef | None = None,
        dedup_ids: Sequence[str] | None = None,
    ) -> list[NewMessage]: ...


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


def wait_for_backlog(producer: Producer, queue: str, max_backlog: int | None) -> None:
    """Block while ``queue`` holds more than ``max_backlog`` visible messages."""
    if max_backlog is None:
        return
    while producer.store.backlog(queue, max_backlog + 1) > max_backlog:
        time.sleep(BACKLOG_POLL)


def enqueue_many(
    producer: Producer,
    action: str,
    items: Iterable[Any],
    *,
    chunk_size: int = 1000,
    max_backlog: int | None = None,
    run: RunRef | None = None,
    connection: Any = None,
) -> int:
    """Enqueue a message per item (a body or a :class:`~sluice.Job`); return how many were
    created (dedup hits are not). A bad item raises its :class:`~sluice.MessageError` with
    ``item`` (its position) and ``stored`` (messages earlier chunks created; they stay)."""
    _check(chunk_size, max_backlog)
    if connection is not None and max_backlog is not None:
        raise ConfigError(
            "enqueue_many: max_backlog waits for workers, which cannot see messages of an "
            "open transaction; pass connection= or max_backlog=, not both"
        )
    run_id = run_id_of(run)
    queue = producer.new_message(action, None).queue
    created = 0
    for number, chunk in enumerate(chunked(items, chunk_size)):
        messages: list[NewMessage] = []
        try:
            _build(producer, action, chunk, run_id, messages)
            wait_for_backlog(producer, queue, max_backlog)
            store = producer.store
            done = (
                store.enqueue_in(connection, messages)
                if connection is not None
                else store.enqueue(messages)
            )
            created += sum(e.created for e in done)
        except MessageError as exc:
            first = number * chunk_size
            at = first + _culprit(producer, messages, len(chunk), exc)
            exc.mid_stream(at, created, _outcome(first, created, _RESUME_MANY))
            raise
    return created


_RESUME_MANY = (
    "enqueue the input again from item {first} once it is fixed (or all of it if the items "
    "carry dedup ids: the stored ones are then skipped)"
)
_RESUME_DISCOVER = (
    "fix the record and call discover again for the same run: it resumes after its "
    "checkpoint, right after the stored records"
)


def _outcome(first: int, stored: int, resume: str) -> str:
    """What became of a stream whose chunk starting at item ``first`` failed."""
    if first == 0:
        return "nothing was stored"
    return (
        f"its chunk (from item {first}) was not stored, but earlier chunks had stored "
        f"{stored} messages, which stay: {resume.format(first=first)}"
    )


def _culprit(producer: Producer, messages: list[NewMessage], size: int, error: MessageError) -> int:
    """The position in its chunk of the item that failed: the one the error names (a batch
    of messages failed to build), the first one not built, or the first that fails the
    store's checks alone (looked for on the error path only)."""
    if error.item is not None:
        return error.item
    if len(messages) < size:
        return len(messages)
    for index, message in enumerate(messages):
        try:
            producer.store.validate([message])
        except MessageError:
            return index
    return 0


def _build(
    producer: Producer, action: str, chunk: list[Any], run_id: str | None, into: list[NewMessage]
) -> None:
    """Append the messages of a chunk to ``into``: built together unless a
    :class:`~sluice.Job` is among them."""
    if not any(isinstance(item, Job) for item in chunk):
        into.extend(producer.new_messages(action, chunk, run=run_id))
        return
    for item in chunk:
        into.append(_message(producer, action, item, run_id))


def _message(producer: Producer, action: str, item: Any, run_id: str | None) -> NewMessage:
    if isinstance(item, Job):
        return producer.new_message(
            action,
            item.body,
            group=item.group,
            dedup_id=item.dedup_id,
            delay=item.delay,
            run=run_id,
            priority=item.priority,
        )
    return producer.new_message(action, item, run=run_id)


def discover(
    producer: Producer,
    action: str,
    fetch_after: Callable[[Any], Iterable[Any]],
    key: Callable[[Any], Any],
    run: RunRef,
    *,
    chunk_size: int = 1000,
    max_backlog: int | None = None,
) -> int:
    """Enqueue a message per record of a keyset scan, resumably; seal the run at the end.

    ``fetch_after(last_key)`` returns a page of records ordered by ``key(record)`` after
    ``last_key`` (``None`` at first); it is called again with the last key of each page until
    it returns an empty one, so a query with ``LIMIT`` pages through the whole table. Keys are
    passed as JSON gives them back (tuples come as lists), the same after a restart, when the
    scan resumes from the checkpoint. Each record is the body of its message, so fetch only
    what the handler needs. The last key of each chunk is checkpointed in the run in the
    chunk's own transaction, so a discovery killed at any point and called again resumes right
    after the last stored chunk; every message also carries the dedup id ``<run>:<key>``.
    Return how many were created. A bad record raises its :class:`~sluice.MessageError` with
    ``item`` (its position in this call's scan) and ``stored``; the run stays unsealed."""
    _check(chunk_size, max_backlog)
    run_id = run_id_of(run)
    if run_id is None:
        raise ConfigError("discover needs a run: create one with app.start_run(name)")
    state = producer.store.run_state(run_id)
    if state.status != "discovering":
        return 0  # sealed by an earlier discovery that finished: nothing is left to find
    queue = producer.new_message(action, None).queue
    scan = _Scan(producer, action, run_id, key, max_backlog, queue)
    last, seen, starts = state.checkpoint, 0, [state.checkpoint]
    while True:
        page = 0
        for chunk in chunked(fetch_after(last), chunk_size):
            if page == 0:
                starts = _progressed(last, scan.normal(chunk[0]), starts)
            scan.store(chunk, seen)
            last, page, seen = scan.last, page + len(chunk), seen + len(chunk)
        if page == 0:
            break
    producer.store.seal_run(run_id)
    return scan.created


class _Scan:
    """The chunks of one discovery: enqueued with their checkpoint, errors told truthfully."""

    def __init__(
        self,
        producer: Producer,
        action: str,
        run_id: str,
        key: Callable[[Any], Any],
        max_backlog: int | None,
        queue: str,
    ) -> None:
        self.producer, self.action, self.run_id, self.key = producer, action, run_id, key
        self.max_backlog, self.queue = max_backlog, queue
        self.created = 0
        self.last: Any = None

    def normal(self, record: Any) -> Any:
        """The key of ``record`` as JSON gives it back (and as the checkpoint holds it)."""
        return codec.decode(codec.encode(self.key(record)))

    def store(self, chunk: list[Any], first: int) -> None:
        keys = [self.normal(record) for record in chunk]
        messages: list[NewMessage] = []
        try:
            ids = [f"{self.run_id}:{_text(k)}" for k in keys]
            messages = self.producer.new_messages(
                self.action, chunk, run=self.run_id, dedup_ids=ids
            )
            wait_for_backlog(self.producer, self.queue, self.max_backlog)
            done = self.producer.store.enqueue(messages, checkpoint=(self.run_id, keys[-1]))
        except MessageError as exc:
            at = first + _culprit(self.producer, messages, len(chunk), exc)
            exc.mid_stream(at, self.created, _outcome(first, self.created, _RESUME_DISCOVER))
            raise
        self.created += sum(e.created for e in done)
        self.last = keys[-1]


def _progressed(last: Any, first: Any, starts: list[Any]) -> list[Any]:
    """A page must start after the key it was asked for and elsewhere than the page before,
    or the scan would never end; return the keys the next page must not start at."""
    if first == last or first in starts:
        raise ConfigError(
            f"fetch_after({last!r}) returned a page starting at {first!r} again: it must return "
            "only records after its argument (a keyset query: WHERE key > last ORDER BY key)"
        )
    return [first]


def _text(key: Any) -> str:
    return key if isinstance(key, str) else codec.encode(key)
