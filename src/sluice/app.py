"""App: one sluice deployment: its declarations (:class:`~sluice.registry.Registry`), the
store they go into, and the verbs that produce work, start runs and publish events."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from sluice import codec, produce
from sluice.aio import AsyncVerbs
from sluice.blobs import REF, BlobStore
from sluice.errors import MessageError, MessageFailed
from sluice.model import ActionLimit, Enqueued, MessageStatus, NewMessage, RunState, seconds
from sluice.model.slots import positional
from sluice.observe import tracing
from sluice.registry import Registry
from sluice.runs import Run, RunRef, run_id_of, run_spec, start_run
from sluice.sources.events import EventBus, Rule
from sluice.store import Store, open_store, resolve_url
from sluice.store.base import Clock

_new_message = positional(NewMessage)


class App(Registry, AsyncVerbs):
    """One sluice deployment. ``url`` names the store (default ``$SLUICE_URL`` or
    ``sqlite:///sluice.db``); the store is opened and migrated on first use."""

    def __init__(
        self,
        url: str | None = None,
        *,
        clock: Clock | None = None,
        event_retention: float | timedelta = 30 * 86400.0,
        blob_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        super().__init__()
        self.url = resolve_url(url)
        self._clock = clock
        self.bus = EventBus(self)
        self.blobs = BlobStore(blob_dir) if blob_dir is not None else None
        """Claim checks: with a blob directory, a body above its queue's message limit is
        stored there and the message carries a reference workers resolve."""
        self.event_retention: float = seconds(event_retention, "event_retention") or 0.0
        """Seconds archived events are kept for replay (the scheduler service forgets older)."""

    @property
    def store(self) -> Store:
        """The store, opened and migrated on first access, with every declared queue."""
        if self._store is None:
            self.check_declarations()
            store = open_store(self.url, clock=self._clock)
            store.migrate()
            self.put_declarations(store)
            store.declare("rule", list(self.bus.rules))
            self._store = store
        return self._store

    def limit(
        self, action: str, *, concurrency: int | None = None, rate: str | float | None = None
    ) -> ActionLimit:
        """Set an action's global limits, enforced by the store across all workers."""
        limit = ActionLimit(action, concurrency=concurrency, rate=rate)  # type: ignore[arg-type]
        self.store.put_limit(limit)
        return limit

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
    ) -> NewMessage:
        """A message for ``action``, on the action's queue; ``UnknownAction`` if unregistered.
        With a blob directory, a body above the queue's limit becomes a claim check."""
        queue = self.action_named(action).policy.queue
        run_id = run_id_of(run)
        if self.blobs is not None:
            body = self._claim_checked(queue, body, run_id)
        # Every field in order (queue, body, action, group, dedup_id, delay, not_before,
        # run_id, run_stage, priority, headers): a bulk load builds one per item.
        headers = tracing.inject()
        return _new_message(
            queue, body, action, group, dedup_id, delay, None, run_id, None, priority, headers
        )

    def new_messages(
        self,
        action: str,
        bodies: Sequence[Any],
        *,
        run: RunRef | None = None,
        dedup_ids: Sequence[str] | None = None,
    ) -> list[NewMessage]:
        """:meth:`new_message` for many bodies of one action (with their ``dedup_ids``, if
        given), looking the action up and taking the trace context once. A
        :class:`~sluice.MessageError` tells the position of its body in ``item``."""
        queue = self.action_named(action).policy.queue
        run_id = run_id_of(run)
        if self.blobs is not None:
            bodies = self._claim_checked_all(queue, bodies, run_id)
        headers = tracing.inject()
        ids = [None] * len(bodies) if dedup_ids is None else dedup_ids
        return [
            _new_message(queue, body, action, None, dedup_id, 0.0, None, run_id, None, 0, headers)
            for body, dedup_id in zip(bodies, ids, strict=True)
        ]

    def _claim_checked_all(
        self, queue: str, bodies: Sequence[Any], run_id: str | None
    ) -> list[Any]:
        checked = []
        for index, body in enumerate(bodies):
            try:
                checked.append(self._claim_checked(queue, body, run_id))
            except MessageError as exc:
                exc.item = index
                raise
        return checked

    def _claim_checked(self, queue: str, body: Any, run_id: str | None) -> Any:
        """``body``, or a claim check to it in the blob directory if it is over the queue's
        limit."""
        assert self.blobs is not None
        raw = codec.encode_bytes(body)
        policy = self._queues.get(queue)
        limit = policy.max_message_bytes if policy else self.store.policy(queue).max_message_bytes
        if len(raw) > limit:
            return {REF: self.blobs.put(raw, run_id), "bytes": len(raw)}
        return body

    def start_run_with(self, message: NewMessage) -> tuple[Run | None, Enqueued]:
        """A new sealed run whose first message is ``message``, shaped by :meth:`define_run`
        for its action, created in one transaction (a failure leaves no run). A message whose
        dedup id is taken creates nothing: the answer is the existing message and its run
        (None if it was enqueued without one)."""
        spec = run_spec(self, message.action, **self.run_shapes.get(message.action, {}))
        if message.dedup_id is None:
            [done] = self.store.start_run(spec, [message], seal=True)
            return Run(spec.id, self.store), done
        run_id, done = self.store.start_keyed_run(spec, message)
        return (None if run_id is None else Run(run_id, self.store)), done

    @contextmanager
    def sending(self, action: str, body: Any, **options: Any) -> Iterator[tuple[Any, NewMessage]]:
        """The message of one enqueue (:meth:`new_message`'s arguments), built inside its
        producer span (None while tracing is off), so the message carries the span's
        context; the span ends when the block does."""
        with tracing.producer(action, self.action_named(action).policy.queue) as span:
            yield span, self.new_message(action, body, **options)

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
        connection: Any = None,
    ) -> int:
        """Enqueue one message for ``action`` and return its id (the existing id on a dedup
        hit). ``priority``: 0 (the default) is claimed first, larger numbers later. With
        ``connection`` (the caller's open connection to the store's database), it is written
        inside the caller's transaction: its commit publishes it, a rollback leaves nothing."""
        options = {"group": group, "dedup_id": dedup_id, "delay": delay, "priority": priority}
        with self.sending(action, body, run=run, **options) as (span, message):
            if connection is not None:
                done = self.store.enqueue_in(connection, [message])[0].id
            else:
                done = self.store.enqueue([message])[0].id
            tracing.enqueued(span, done)
        return done

    def enqueue_many(
        self,
        action: str,
        items: Iterable[Any],
        *,
        chunk_size: int = 1000,
        max_backlog: int | None = None,
        run: RunRef | None = None,
        connection: Any = None,
    ) -> int:
        """Enqueue one message per item (a body or a :class:`~sluice.Job`) in chunks of
        ``chunk_size``, one transaction each, never holding the whole input; with
        ``max_backlog``, wait while the queue holds more visible messages than that. Return
        how many messages were created. With ``connection``, every chunk is written inside
        the caller's transaction (see :meth:`enqueue`)."""
        with tracing.producer(action, self.action_named(action).policy.queue, 0) as span:
            count = produce.enqueue_many(
                self,
                action,
                items,
                chunk_size=chunk_size,
                max_backlog=max_backlog,
                run=run,
                connection=connection,
            )
            tracing.enqueued(span, count=count)
        return count

    def discover(
        self,
        action: str,
        fetch_after: Callable[[Any], Iterable[Any]],
        key: Callable[[Any], Any],
        run: RunRef,
        *,
        chunk_size: int = 1000,
        max_backlog: int | None = None,
    ) -> int:
        """A resumable discovery: enqueue a message per record of ``fetch_after(last_key)``
        (a keyset query ordered by ``key``), checkpointing the last key of every chunk in the
        run in the chunk's transaction, and seal the run at the end. Called again for the same
        run, it resumes after the checkpoint. Return how many messages were created."""
        return produce.discover(
            self, action, fetch_after, key, run, chunk_size=chunk_size, max_backlog=max_backlog
        )

    def start_run(
        self,
        name: str,
        *,
        on_complete: str | None = None,
        stages: Sequence[str] | None = None,
        meta: Any = None,
        id: str | None = None,
    ) -> Run:
        """Start a tracked run. Messages enqueued with ``run=`` count towards it; ``seal()`` it
        when discovery is done. ``stages`` (action names): when a stage is accounted for, the
        next stage's action is enqueued once with a summary; ``on_complete`` (an action) is
        enqueued once when the last stage is. With an ``id`` that exists, return that run."""
        return start_run(
            self.store, self, name, on_complete=on_complete, stages=stages, meta=meta, id=id
        )

    def run_state(self, run: RunRef) -> RunState:
        """A run's counters, status, rate and ETA (``UnknownRun`` if there is none)."""
        return self.store.run_state(run_id_of(run) or "")

    def runs(self, limit: int = 50) -> list[RunState]:
        """The most recently started runs, newest first."""
        return self.store.runs(limit)

    def cancel_run(self, run: RunRef) -> int:
        """Cancel a run: its remaining messages move to their DLQs with reason ``cancelled``
        (nothing vanishes) and it is marked ``cancelled``. Return how many messages moved."""
        return self.store.cancel_run(run_id_of(run) or "")

    def cancel(self, message_id: int) -> str:
        """Cancel one waiting, delayed or in-flight message (see :meth:`Store.cancel`); return
        what it was doing: ``waiting``, ``delayed`` or ``in_flight``."""
        return self.store.cancel(message_id)

    def status(self, message_id: int) -> MessageStatus:
        """What a message is doing (waiting, delayed, in flight) or how it finished
        (succeeded, dead, cancelled), with its times; finished ones are known while a dead
        letter stays, or for ``keep_completed`` seconds on a queue that keeps records.
        ``UnknownMessage`` if the id names neither."""
        return self.store.status(message_id)

    def result(self, message_id: int, timeout: float | None = 30.0) -> Any:
        """Wait until the message has finished and return its handler's return value (None
        if it returned none, or if it was not JSON within ``RESULT_LIMIT``: see
        ``status().result_note``). ``NotFinished`` after ``timeout`` seconds (None: wait
        forever), ``MessageFailed`` if it died or was cancelled, ``UnknownMessage`` at once for
        an id that never existed (or whose queue keeps no completion records)."""
        wait = math.inf if timeout is None else seconds(timeout, "timeout") or 0.0
        status = self.store.wait_finished(message_id, wait)
        if status.state != "succeeded":
            error = MessageFailed(
                f"message {message_id} did not succeed: it is {status.state}"
                + (f" ({status.dead_reason}: {status.last_error})" if status.last_error else "")
            )
            error.status = status
            raise error
        return status.result

    # -- the event bus -------------------------------------------------------------------------
    def rule(
        self,
        name: str,
        pattern: Mapping[str, Any],
        action: str,
        transform: Callable[[dict[str, Any]], Any] | None = None,
    ) -> Rule:
        """Route published events matching ``pattern`` (EventBridge content-pattern syntax,
        matched against the whole envelope) to ``action``; the body is ``transform(event)``, by
        default the event itself. An invalid pattern raises ``InvalidPattern`` naming its path."""
        rule = self.bus.rule(name, pattern, action, transform)
        if self._store is not None:
            self._store.declare("rule", [name])
        return rule

    def publish(
        self,
        source: str,
        detail_type: str,
        detail: dict[str, Any],
        *,
        resources: Iterable[str] = (),
        time: datetime | str | float | None = None,
        id: str | None = None,
    ) -> str:
        """Publish one event: archive it and enqueue a message for each matching rule, in one
        transaction. Return the event id (republishing an id changes nothing)."""
        event = self.bus.envelope(
            source, detail_type, detail, resources=resources, time=time, id=id
        )
        return self.bus.publish([event])[0]

    def publish_many(self, events: Iterable[Mapping[str, Any]]) -> list[str]:
        """Publish events given as dicts with ``source``, ``detail_type`` (or ``detail-type``),
        ``detail`` and optional ``resources``, ``time``, ``id``, in one transaction."""
        built = []
        for given in events:
            extra = {k: given[k] for k in ("resources", "time", "id") if k in given}
            detail_type = given.get("detail_type", given.get("detail-type"))
            built.append(
                self.bus.envelope(given.get("source"), detail_type, given.get("detail"), **extra)  # type: ignore[arg-type]
            )
        return self.bus.publish(built)

    def replay(
        self,
        since: datetime | str | float,
        until: datetime | str | float,
        rule: str | None = None,
        *,
        force: bool = False,
    ) -> int:
        """Route archived events of ``[since, until)`` again through the rules (or one rule);
        work routed before is not enqueued again unless ``force``. Return messages enqueued."""
        return self.bus.replay(since, until, rule, force)

    def work(
        self,
        queues: Sequence[str] | None = None,
        *,
        concurrency: int = 10,
        stop_when_idle: bool = False,
        grace: float = 30.0,
    ) -> None:
        """Run a worker in this thread until stopped (Ctrl-C / SIGTERM), or until no work is
        left when ``stop_when_idle``. On stop, running calls get ``grace`` seconds to finish;
        the messages of those that do not are given back at once."""
        from sluice.worker.runtime import Worker

        Worker(
            self,
            queues=queues,
            concurrency=concurrency,
            stop_when_idle=stop_when_idle,
            grace=grace,
        ).run()

    def close(self) -> None:
        """Close the store's connections."""
        if self._store is not None:
            self._store.close()
            self._store = None

    def __enter__(self) -> App:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
