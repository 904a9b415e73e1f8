"""App: the registry and the wiring of one sluice deployment (store, queues, limits)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, overload

from sluice import codec, produce
from sluice.blobs import REF, BlobStore
from sluice.errors import ConfigError, UnknownAction
from sluice.model import (
    ActionLimit,
    ActionPolicy,
    Enqueued,
    Misfire,
    NewMessage,
    QueuePolicy,
    RunState,
    Schedule,
    seconds,
    validate_queue_name,
)
from sluice.runs import Run, RunRef, run_id_of, run_spec, start_run
from sluice.sources.alarms import Alarm, declare
from sluice.sources.cron import next_fire
from sluice.sources.events import EventBus, Rule
from sluice.sources.files import FileWatch
from sluice.store import Store, open_store, resolve_url
from sluice.store.base import Clock
from sluice.worker.actions import Action, Handler


class App:
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
        self.url = resolve_url(url)
        self._clock = clock
        self._store: Store | None = None
        self._queues: dict[str, QueuePolicy] = {}
        self.actions: dict[str, Action] = {}
        self.schedules: dict[str, Schedule] = {}
        self.bus = EventBus(self)
        self.blobs = BlobStore(blob_dir) if blob_dir is not None else None
        """Claim checks: with a blob directory, a body above its queue's message limit is
        stored there and the message carries a reference workers resolve."""
        self.run_shapes: dict[str, dict[str, Any]] = {}
        self.alarms: dict[str, Alarm] = {}
        self.event_retention: float = seconds(event_retention, "event_retention") or 0.0
        """Seconds archived events are kept for replay (the scheduler service forgets older)."""
        self.file_watches: dict[str, FileWatch] = {}

    @property
    def store(self) -> Store:
        """The store, opened and migrated on first access, with every declared queue."""
        if self._store is None:
            store = open_store(self.url, clock=self._clock)
            store.migrate()
            for policy in self._queues.values():
                store.put_queue(policy)
            for action in self.actions.values():
                store.put_limit(_limit_of(action))
            for schedule in self.schedules.values():
                store.put_schedule(schedule, next_fire(schedule, store.clock()))
            self._store = store
        return self._store

    def queue(
        self,
        name: str,
        *,
        visibility_timeout: float | timedelta = 30.0,
        max_receives: int | None = 5,
        fifo: bool = False,
        dedup_window: float | timedelta | None = 300.0,
        retention: float | timedelta | None = 4 * 86400.0,
        max_message_bytes: int = 256 * 1024,
    ) -> QueuePolicy:
        """Declare a queue (and its DLQ ``name.dlq``) with its policy; durations in seconds."""
        validate_queue_name(name)
        policy = QueuePolicy(
            name=name,
            visibility_timeout=visibility_timeout,  # type: ignore[arg-type]
            max_receives=max_receives,
            fifo=fifo,
            dedup_window=dedup_window,  # type: ignore[arg-type]
            retention=retention,  # type: ignore[arg-type]
            max_message_bytes=max_message_bytes,
        )
        self._queues[name] = policy
        if self._store is not None:
            self._store.put_queue(policy)
        return policy

    def limit(
        self, action: str, *, concurrency: int | None = None, rate: str | float | None = None
    ) -> ActionLimit:
        """Set an action's global limits, enforced by the store across all workers."""
        limit = ActionLimit(action, concurrency=concurrency, rate=rate)  # type: ignore[arg-type]
        self.store.put_limit(limit)
        return limit

    def action(
        self,
        name: str | None = None,
        *,
        queue: str = "default",
        batch_size: int = 1,
        batch_window: float = 0.0,
        batch_bytes: int | None = None,
        timeout: float = 300.0,
        concurrency: int | None = None,
        rate: str | float | None = None,
        retry_base: float = 1.0,
        retry_cap: float = 300.0,
    ) -> Callable[[Handler], Handler]:
        """Register a handler as an action (named after the function unless ``name`` is given).

        ``fn(body, ctx)`` when ``batch_size`` is 1, else ``fn(messages, ctx)``; sync or async.
        ``concurrency`` and ``rate`` ("50/s", "30/m") are global limits enforced by the store.
        """
        policy = ActionPolicy(
            queue=queue,
            batch_size=batch_size,
            batch_window=batch_window,
            batch_bytes=batch_bytes,
            timeout=timeout,
            concurrency=concurrency,
            rate=rate,  # type: ignore[arg-type]
            retry_base=retry_base,
            retry_cap=retry_cap,
        )

        def register(handler: Handler) -> Handler:
            action = Action(name or handler.__name__, handler, policy)
            if action.name in self.actions:
                raise ConfigError(f"action {action.name!r} is registered twice")
            if queue not in self._queues:
                self.queue(queue)
            self.actions[action.name] = action
            if self._store is not None:
                self._store.put_limit(_limit_of(action))
            return handler

        return register

    @overload
    def schedule(
        self,
        cron: str,
        action: str,
        *,
        body: Any = None,
        name: str | None = None,
        timezone: str = "UTC",
        misfire: Misfire = "skip",
        catch_up_limit: int = 10,
        queue: str | None = None,
    ) -> Schedule: ...

    @overload
    def schedule(
        self,
        cron: str,
        action: None = None,
        *,
        body: Any = None,
        name: str | None = None,
        timezone: str = "UTC",
        misfire: Misfire = "skip",
        catch_up_limit: int = 10,
        queue: str | None = None,
    ) -> Callable[[Handler], Handler]: ...

    def schedule(
        self,
        cron: str,
        action: str | None = None,
        *,
        body: Any = None,
        name: str | None = None,
        timezone: str = "UTC",
        misfire: Misfire = "skip",
        catch_up_limit: int = 10,
        queue: str | None = None,
    ) -> Schedule | Callable[[Handler], Handler]:
        """Enqueue ``body`` for ``action`` at each tick of ``cron`` (5 fields, or 6 with
        seconds first), read in ``timezone``. ``misfire``: ``skip`` or ``catch_up`` (see
        :class:`sluice.Schedule`). Stored when the store opens; ``sluice scheduler`` fires it.

        With ``action`` it returns the :class:`Schedule`; without, it decorates a function,
        placed above ``@app.action`` (or alone: the function becomes an action with defaults).
        The schedule is named after its action unless ``name`` is given.
        """

        def declare(action_name: str) -> Schedule:
            found = self.actions.get(action_name)
            schedule = Schedule(
                name=name or action_name, cron=cron, action=action_name, body=body,
                timezone=timezone, misfire=misfire, catch_up_limit=catch_up_limit,
                queue=queue or (found.policy.queue if found else "default"),
            )  # fmt: skip
            if schedule.name in self.schedules:
                raise ConfigError(f"schedule {schedule.name!r} is declared twice")
            self.schedules[schedule.name] = schedule
            if self._store is not None:
                self._store.put_schedule(schedule, next_fire(schedule, self._store.clock()))
            return schedule

        if action is not None:
            return declare(action)

        def decorate(handler: Handler) -> Handler:
            named = [a.name for a in self.actions.values() if a.handler is handler]
            if not named:
                self.action()(handler)
                named = [getattr(handler, "__name__", "")]
            declare(named[0])
            return handler

        return decorate

    def watch_files(
        self,
        root: str | os.PathLike[str],
        action: str,
        *,
        prefix: str = "input/",
        suffix: str = ".json",
        on_success: str | None = None,
        on_dead: str | None = None,
        settle: float = 1.0,
        chunk_size: int = 500,
    ) -> FileWatch:
        """Enqueue one message for ``action`` per new or changed file under ``root`` whose
        root-relative path starts with ``prefix`` and ends with ``suffix`` (``input/**.json``
        by default); other files never make a message. The body names the file (``path``,
        ``root``, ``size``, ``mtime``), not its content. ``sluice scheduler`` (or ``sluice
        worker --sources``) scans; any number may run: the dedup id (path + size + mtime)
        keeps each version of a file to one message, across restarts too, so the action's
        queue must keep dedup ids forever (``app.queue(name, dedup_window=None)``).

        ``on_success="processed/"`` moves a file there (same relative path) once its message
        is acked; ``on_dead="failed/"`` once it is dead-lettered, with ``<file>.reason``
        beside it. A redelivered message whose file is already in ``on_success`` is acked
        without calling the handler. Files modified in the last ``settle`` seconds wait for
        a later scan. Register the action first; batch options are the action's.

        Bodies are untrusted: a handler reads the file at ``ctx.file_path(message)``, the
        path confined to ``root`` (no symlinks) and checked to be the message's version; a
        body naming anything else is dead-lettered with ``FileRefused``.
        """
        found = self.actions.get(action)
        if found is None:
            known = ", ".join(sorted(self.actions)) or "none registered"
            raise UnknownAction(
                f"watch_files: unknown action {action!r} (register it first; known: {known})"
            )
        if action in self.file_watches:
            raise ConfigError(f"action {action!r} already has a file watch")
        queue = self._queues[found.policy.queue]
        if queue.dedup_window is not None:
            raise ConfigError(
                f"watch_files: queue {queue.name!r} forgets dedup ids after "
                f"{queue.dedup_window:g}s, so a restarted watcher would enqueue old files "
                f"again; declare it with app.queue({queue.name!r}, dedup_window=None)"
            )
        watch = FileWatch(
            root=root, action=action, prefix=prefix, suffix=suffix,  # type: ignore[arg-type]
            on_success=on_success, on_dead=on_dead, settle=settle, chunk_size=chunk_size,
        )  # fmt: skip
        from sluice.sources.filemoves import wrap

        self.actions[action] = wrap(watch, found)
        self.file_watches[action] = watch
        return watch

    def new_message(
        self,
        action: str,
        body: Any,
        *,
        group: str | None = None,
        dedup_id: str | None = None,
        delay: float = 0.0,
        run: RunRef | None = None,
    ) -> NewMessage:
        """A message for ``action``, on the action's queue; ``UnknownAction`` if unregistered.
        With a blob directory, a body above the queue's limit becomes a claim check."""
        found = self.actions.get(action)
        if found is None:
            known = ", ".join(sorted(self.actions)) or "none registered"
            raise UnknownAction(f"unknown action {action!r} (known: {known})")
        run_id = run_id_of(run)
        queue = found.policy.queue
        if self.blobs is not None:
            raw = codec.encode_bytes(body)
            policy = self._queues.get(queue)
            limit = (
                policy.max_message_bytes if policy else self.store.policy(queue).max_message_bytes
            )
            if len(raw) > limit:
                body = {REF: self.blobs.put(raw, run_id), "bytes": len(raw)}
        return NewMessage(
            queue, body, action=action, group=group, dedup_id=dedup_id, delay=delay,
            run_id=run_id,
        )  # fmt: skip

    def define_run(
        self, action: str, *, stages: Sequence[str] | None = None, on_complete: str | None = None
    ) -> None:
        """Make ``action`` start a run: a message submitted to it through the HTTP API
        becomes the first message of a new run with these ``stages`` and ``on_complete``."""
        if action not in self.actions:
            raise UnknownAction(f"define_run: unknown action {action!r}")
        self.run_shapes[action] = {"stages": stages, "on_complete": on_complete}

    def start_run_with(self, message: NewMessage) -> tuple[Run | None, Enqueued]:
        """A new sealed run whose first message is ``message``, shaped by :meth:`define_run`
        for its action, created in one transaction (a failure leaves no run). A message whose
        dedup id is taken creates nothing: the answer is the existing message and its run
        (None if it was enqueued without one)."""
        spec = run_spec(self, message.action, **self.run_shapes.get(message.action, {}))
        if message.dedup_id is None:
            [done] = self.store.start_run(spec, [message], seal=True)
            return Run(spec.id, self), done
        run_id, done = self.store.start_keyed_run(spec, message)
        return (None if run_id is None else Run(run_id, self)), done

    def enqueue(
        self,
        action: str,
        body: Any,
        *,
        group: str | None = None,
        dedup_id: str | None = None,
        delay: float = 0.0,
        run: RunRef | None = None,
    ) -> int:
        """Enqueue one message for ``action`` and return its id (the existing id on a dedup
        hit)."""
        message = self.new_message(
            action, body, group=group, dedup_id=dedup_id, delay=delay, run=run
        )
        return self.store.enqueue([message])[0].id

    def enqueue_many(
        self,
        action: str,
        items: Iterable[Any],
        *,
        chunk_size: int = 1000,
        max_backlog: int | None = None,
        run: RunRef | None = None,
    ) -> int:
        """Enqueue one message per item (a body or a :class:`~sluice.Job`) in chunks of
        ``chunk_size``, one transaction each, never holding the whole input; with
        ``max_backlog``, wait while the queue holds more visible messages than that. Return
        how many messages were created."""
        return produce.enqueue_many(
            self, action, items, chunk_size=chunk_size, max_backlog=max_backlog, run=run
        )

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
        return start_run(self, name, on_complete=on_complete, stages=stages, meta=meta, id=id)

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
        return self.bus.rule(name, pattern, action, transform)

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

    def alarm(
        self,
        name: str,
        *,
        queue: str,
        action: str | None = None,
        dlq_depth_above: int | None = 0,
        oldest_age_above: float | None = None,
        depth_above: int | None = None,
        failure_rate_above: float | None = None,
    ) -> Alarm:
        """Watch ``queue``: while its DLQ depth, oldest message age, depth, or the share of
        failed attempts of its actions over the last minute is above the threshold, the
        alarm fires. ``action`` is enqueued once when it starts firing and once
        when it clears (body: state, reasons, figures), and the event ``sluice.alarm`` is
        published each time. Evaluated by the scheduler service (``sluice scheduler``)."""
        return declare(
            self,
            Alarm(
                name,
                queue,
                action,
                dlq_depth_above,
                oldest_age_above,
                depth_above,
                failure_rate_above,
            ),
        )

    def work(
        self,
        queues: Sequence[str] | None = None,
        *,
        concurrency: int = 10,
        stop_when_idle: bool = False,
    ) -> None:
        """Run a worker in this thread until stopped (Ctrl-C / SIGTERM), or until no work is
        left when ``stop_when_idle``."""
        from sluice.worker.runtime import Worker

        Worker(self, queues=queues, concurrency=concurrency, stop_when_idle=stop_when_idle).run()

    @property
    def queues(self) -> Sequence[QueuePolicy]:
        """The queues this app declared."""
        return tuple(self._queues.values())

    def close(self) -> None:
        """Close the store's connections."""
        if self._store is not None:
            self._store.close()
            self._store = None

    def __enter__(self) -> App:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _limit_of(action: Action) -> ActionLimit:
    """The store limit of an action (no limits: a removal)."""
    return ActionLimit(action.name, concurrency=action.policy.concurrency, rate=action.policy.rate)
