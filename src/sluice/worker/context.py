"""The ``ctx`` a handler receives: its messages, chaining, exactly-once tools, a logger."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from sluice.errors import ConfigError, SluiceError
from sluice.model import Message, NewMessage
from sluice.runs import RunRef

if TYPE_CHECKING:
    from sluice.app import App


SQLITE_TX_WARN = 3.0
"""Seconds a handler may hold ``ctx.transaction`` on SQLite before the worker warns."""


class OnceReservations:
    """Effect keys claimed by this worker's calls whose acks are not written yet, so that two
    calls of one worker never both make an effect the ledger does not hold yet."""

    def __init__(self) -> None:
        self._keys: set[str] = set()
        self._lock = threading.Lock()

    def reserve(self, key: str) -> bool:
        with self._lock:
            if key in self._keys:
                return False
            self._keys.add(key)
            return True

    def release(self, keys: Iterable[str]) -> None:
        with self._lock:
            self._keys.difference_update(keys)


class _Rollback(Exception):
    """Thrown into a handler's transaction to roll it back."""


@dataclass
class Context:
    """What a handler can use besides its bodies. Messages it enqueues and effects it records
    with :meth:`once` are committed with the ack of its call: a failed call leaves neither."""

    app: App
    messages: list[Message]
    log: logging.Logger
    is_async: bool = False
    children: list[NewMessage] = field(default_factory=list)
    once_keys: list[str] = field(default_factory=list)
    units: int = 0
    reservations: OnceReservations = field(default_factory=OnceReservations)
    _tx_scope: AbstractContextManager[Any] | None = field(default=None, repr=False)
    _tx: Any = field(default=None, repr=False)
    _tx_since: float = field(default=0.0, repr=False)

    @property
    def message(self) -> Message:
        """The (first) message of this call."""
        return self.messages[0]

    @property
    def run(self) -> str | None:
        """The run the message belongs to, if any."""
        return self.message.run_id

    def file_path(self, message: Message | None = None) -> Path:
        """The file a watched action's message names (default: this call's first), confined
        to the watch's root: see :meth:`sluice.FileWatch.path_of`. Raises ``FileRefused``
        (the message is dead-lettered with the reason) for a path outside the root, through
        a symlink, or of a version that is no longer there."""
        message = self.message if message is None else message
        watch = self.app.file_watches.get(message.action)
        if watch is None:
            raise SluiceError(f"action {message.action!r} has no file watch (app.watch_files)")
        return watch.path_of(message.body)

    def open_object(self, message: Message | None = None) -> BinaryIO:
        """A binary stream of what a watched action's message names (default: this call's
        first), read as consumed, never loaded whole; close it when done. For a bucket watch
        the object version, for a file watch the file at :meth:`file_path`, so one handler
        serves both sources. ``FileRefused`` (dead-letters the message) for an object or file
        the watch does not take or one overwritten since the message was made;
        ``FileNotFoundError`` if it is gone."""
        from sluice.sources.bucket.disposal import open_object

        message = self.message if message is None else message
        watch = self.app.bucket_watches.get(message.action)
        if watch is not None:
            return open_object(watch, message.body)
        if message.action in self.app.file_watches:
            return self.file_path(message).open("rb")
        raise SluiceError(
            f"action {message.action!r} has no bucket or file watch "
            "(app.watch_bucket, app.watch_files)"
        )

    def now(self) -> float:
        """The store's time (epoch seconds; the database's on PostgreSQL): the time base of
        ``message.visible_at`` (the lease's end) and of every time sluice stores. Compare
        those with this, never with ``time.time()``, which differs from machine to machine."""
        return self.app.store.clock()

    @property
    def idempotency_key(self) -> str:
        """A key stable across redeliveries of this message, for systems that drop repeats."""
        return f"sluice-{self.message.queue}-{self.message.id}"

    @property
    def transaction(self) -> Any:
        """A connection to the store's database (``sqlite3`` or ``psycopg``) in a transaction
        that commits together with this call's ack, or not at all: writes made through it
        happen exactly once per message, crash or not. Sync handlers only.

        On SQLite the transaction holds the store's write lock from the first use of
        ``ctx.transaction`` until the ack is written, so every other worker's claims and acks
        wait meanwhile: do slow work (HTTP calls, parsing) before touching it. The worker logs
        a warning when a call holds it longer than ``SQLITE_TX_WARN`` seconds."""
        if self._tx is None:
            if self.is_async:
                raise SluiceError("ctx.transaction is available to sync handlers only")
            self._tx_scope = self.app.store.begin()
            self._tx = self._tx_scope.__enter__()
            self._tx_since = time.monotonic()
        return self._tx

    @property
    def in_transaction(self) -> bool:
        return self._tx is not None

    def end_transaction(self, commit: bool) -> None:
        """Commit or roll back the transaction opened by :attr:`transaction`, if any."""
        scope, self._tx_scope, self._tx = self._tx_scope, None, None
        if scope is None:
            return
        held = time.monotonic() - self._tx_since
        if held > SQLITE_TX_WARN and self.app.store.url.startswith("sqlite"):
            self.log.warning(
                "action %r held ctx.transaction for %.1fs (message %d): on SQLite that holds "
                "the store's write lock, so every other worker waited; do slow work before "
                "the first use of ctx.transaction",
                self.message.action,
                held,
                self.message.id,
            )
        if commit:
            scope.__exit__(None, None, None)
        else:
            error = _Rollback()
            scope.__exit__(_Rollback, error, None)

    def once(self, key: str) -> bool:
        """True if the effect named ``key`` has not been made yet (make it now); False if a
        delivery of this or any message already recorded it. The key is recorded with this
        call's ack, so a crash between the effect and the ack can still repeat the effect;
        only :attr:`transaction` and :attr:`idempotency_key` close that gap."""
        if key in self.once_keys or key in self.app.store.once_seen([key]):
            return False
        if not self.reservations.reserve(key):
            return False
        self.once_keys.append(key)
        return True

    def progress(self, *, rows: int) -> None:
        """Report ``rows`` units of work done by this call (rows loaded, say), counted in its
        run beside the messages (``RunState.units``) with the call's ack: a failed or retried
        call adds nothing, so a redelivery does not count its rows twice."""
        if isinstance(rows, bool) or not isinstance(rows, int) or rows < 0:
            raise ConfigError(f"rows must be a whole number >= 0, got {rows!r}")
        self.units += rows

    def enqueue(
        self,
        action: str,
        body: Any,
        *,
        group: str | None = None,
        dedup_id: str | None = None,
        delay: float = 0.0,
        run: RunRef | None = None,
        priority: int = 0,
    ) -> None:
        """Enqueue a follow-up message, committed together with this call's ack. With
        ``run=ctx.run`` it joins this message's run and stage (fan-out): the stage is not
        accounted for until the children are. While tracing, a producer span (a child of the
        handler's) marks the send; the message carries it to its own handler."""
        options = {"group": group, "dedup_id": dedup_id, "delay": delay, "priority": priority}
        with self.app.sending(action, body, run=run, **options) as (span, message):
            if span is not None:  # written with the ack, so its id is not known yet
                span.set_attribute("sluice.written_with_ack", True)
        self.children.append(message)
