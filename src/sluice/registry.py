"""Registry: what one sluice deployment declares (queues, actions, schedules, file watches,
alarms, run shapes), checked, and the one lookup of an action by name."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Any, overload

from sluice.errors import ConfigError, UnknownAction, UnknownQueue
from sluice.model import (
    ActionLimit,
    ActionPolicy,
    Misfire,
    QueuePolicy,
    Schedule,
    validate_queue_name,
)
from sluice.observe.alarms import Alarm
from sluice.sources.bucket.watch import BucketWatch
from sluice.sources.files.watch import FileWatch
from sluice.store import Store
from sluice.worker.actions import Action, Handler

DEFAULT_QUEUE = "default"
"""The queue of an action that names none; declared with the default policy if the app does
not declare it."""


class Registry:
    """The declarations of an app. While a store is open (``App.store``), each declaration is
    also written to it at once; before, they wait for the store to open and are checked then."""

    def __init__(self) -> None:
        self._store: Store | None = None
        self._queues: dict[str, QueuePolicy] = {}
        self.actions: dict[str, Action] = {}
        self.schedules: dict[str, Schedule] = {}
        self._queueless: set[str] = set()
        """Schedules whose queue waits for their action to be registered."""
        self.run_shapes: dict[str, dict[str, Any]] = {}
        self.alarms: dict[str, Alarm] = {}
        self.file_watches: dict[str, FileWatch] = {}
        self.bucket_watches: dict[str, BucketWatch] = {}

    def action_named(self, name: str, what: str = "", hint: str = "") -> Action:
        """The registered action ``name``; else ``UnknownAction`` naming it and the known
        ones (``what`` says who asked, e.g. ``"watch_files"``; ``hint`` how to fix it)."""
        found = self.actions.get(name)
        if found is None:
            known = ", ".join(sorted(self.actions)) or "none registered"
            asker = f"{what}: " if what else ""
            advice = f"{hint}; " if hint else ""
            raise UnknownAction(f"{asker}unknown action {name[:80]!r} ({advice}known: {known})")
        return found

    def check_declarations(self) -> None:
        """Raise what a store about to open must not get: an action on an undeclared queue,
        a schedule whose action was never registered."""
        _check_queues(self.actions.values(), self._queues)
        if self._queueless:
            raise _unknown_action(self.schedules[min(self._queueless)], self.actions)

    def put_declarations(self, store: Store) -> None:
        """Write every declaration into a store that just opened."""
        for policy in self._queues.values():
            store.declare_queue(policy)
        for action in self.actions.values():
            store.put_limit(_limit_of(action))
        for schedule in self.schedules.values():
            store.put_schedule(schedule, _next_fire(schedule, store.clock()))

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
        keep_completed: float | timedelta | None = None,
    ) -> QueuePolicy:
        """Declare a queue (and its DLQ ``name.dlq``) with its policy; durations in seconds.
        ``keep_completed``: how long an acked message's status and result stay readable."""
        validate_queue_name(name)
        policy = QueuePolicy(
            name=name,
            visibility_timeout=visibility_timeout,  # type: ignore[arg-type]
            max_receives=max_receives,
            fifo=fifo,
            dedup_window=dedup_window,  # type: ignore[arg-type]
            retention=retention,  # type: ignore[arg-type]
            max_message_bytes=max_message_bytes,
            keep_completed=keep_completed,  # type: ignore[arg-type]
        )
        self._queues[name] = policy
        if self._store is not None:
            self._store.declare_queue(policy)
        return policy

    def action(
        self,
        name: str | None = None,
        *,
        queue: str = DEFAULT_QUEUE,
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
        ``queue`` must be declared with :meth:`queue`, before or after the action (the
        ``default`` queue is declared with the default policy if it is not): an undeclared
        one raises ``UnknownQueue`` when the app first opens its store.
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
            if queue == DEFAULT_QUEUE and queue not in self._queues:
                self.queue(queue)
            if self._store is not None:  # in use already: no later moment to check
                _check_queues([action], self._queues)
            self.actions[action.name] = action
            for waiting in [self.schedules[n] for n in self._queueless]:
                if waiting.action == action.name:
                    self.schedules[waiting.name] = replace(waiting, queue=queue)
                    self._queueless.discard(waiting.name)
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
        The schedule is named after its action unless ``name`` is given. Without ``queue``
        it is its action's queue: an action not registered yet gives it when it registers
        (read ``app.schedules[name]``); one never registered is an ``UnknownAction`` naming
        it when the app opens its store (at the call if the store is open).
        """

        def declare(action_name: str) -> Schedule:
            found = self.actions.get(action_name)
            schedule = Schedule(
                name=name or action_name,
                cron=cron,
                action=action_name,
                body=body,
                timezone=timezone,
                misfire=misfire,
                catch_up_limit=catch_up_limit,
                queue=queue or (found.policy.queue if found else DEFAULT_QUEUE),
            )
            if schedule.name in self.schedules:
                raise ConfigError(f"schedule {schedule.name!r} is declared twice")
            if found is None and queue is None:  # its queue is its action's, once registered
                if self._store is not None:
                    raise _unknown_action(schedule, self.actions)
                self._queueless.add(schedule.name)
            self.schedules[schedule.name] = schedule
            if self._store is not None:
                self._store.put_schedule(schedule, _next_fire(schedule, self._store.clock()))
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
        found = self.action_named(action, "watch_files", "register it first")
        self._check_unwatched(action, "watch_files")
        self._check_forever(found.policy.queue, action, "watch_files")
        watch = FileWatch(
            root=root,  # type: ignore[arg-type]
            action=action,
            prefix=prefix,
            suffix=suffix,
            on_success=on_success,
            on_dead=on_dead,
            settle=settle,
            chunk_size=chunk_size,
        )
        from sluice.sources.files.disposal import wrap

        self.actions[action] = wrap(watch, found)
        self.file_watches[action] = watch
        return watch

    def watch_bucket(
        self,
        bucket: str,
        action: str,
        *,
        prefix: str = "input/",
        suffix: str = ".json",
        endpoint_url: str | None = None,
        on_success: str | None = None,
        on_dead: str | None = None,
        chunk_size: int = 500,
        reconcile_every: float = 300.0,
    ) -> BucketWatch:
        """Enqueue one message for ``action`` per new or changed object in ``bucket``
        (``"s3://NAME"``) whose key starts with ``prefix`` and ends with ``suffix``. The body
        names the object version (``bucket``, ``key``, ``size``, ``etag``,
        ``last_modified``); the dedup id (key + etag) keeps each version to one message
        however many scanners run, so the queue must keep dedup ids forever. Credentials come
        from boto3's standard chain; ``endpoint_url`` points at MinIO, Ceph, R2 and the like.

        ``on_success`` / ``on_dead``: key prefixes the object is copied to (and then deleted
        from its key) once its message is acked / dead-lettered, with ``<key>.reason`` beside
        a dead one. Handlers read the object with ``ctx.open_object(message)`` (a stream).
        ``POST /v1/sources/s3/{action}`` takes S3 event notifications for this watch;
        polling lists after the greatest key sent and in full every ``reconcile_every`` s.
        """
        found = self.action_named(action, "watch_bucket", "register it first")
        self._check_unwatched(action, "watch_bucket")
        self._check_forever(found.policy.queue, action, "watch_bucket")
        watch = BucketWatch(
            bucket=bucket,
            action=action,
            prefix=prefix,
            suffix=suffix,
            endpoint_url=endpoint_url,
            on_success=on_success,
            on_dead=on_dead,
            chunk_size=chunk_size,
            reconcile_every=reconcile_every,
        )
        from sluice.sources.bucket.disposal import wrap

        self.actions[action] = wrap(watch, found)
        self.bucket_watches[action] = watch
        return watch

    def _check_unwatched(self, action: str, what: str) -> None:
        """``ConfigError`` if ``action`` already has a file or bucket watch: its handler is
        wrapped by that watch's source, and one message can name only one kind of thing."""
        for kind, watches in (("file", self.file_watches), ("bucket", self.bucket_watches)):
            if action in watches:
                raise ConfigError(
                    f"{what}: action {action!r} already has a {kind} watch; register "
                    "another action for this one"
                )

    def _check_forever(self, name: str, action: str, what: str) -> None:
        """``ConfigError`` unless queue ``name`` is declared and keeps dedup ids forever."""
        queue = self._queues.get(name)
        if queue is None:
            raise ConfigError(
                f"{what}: queue {name!r} of action {action!r} is not "
                f"declared: declare it with app.queue({name!r}, dedup_window=None)"
            )
        if queue.dedup_window is not None:
            raise ConfigError(
                f"{what}: queue {queue.name!r} forgets dedup ids after "
                f"{queue.dedup_window:g}s, so a restarted watcher would enqueue old files "
                f"again; declare it with app.queue({queue.name!r}, dedup_window=None)"
            )

    def define_run(
        self, action: str, *, stages: Sequence[str] | None = None, on_complete: str | None = None
    ) -> None:
        """Make ``action`` start a run: a message submitted to it through the HTTP API
        becomes the first message of a new run with these ``stages`` and ``on_complete``."""
        self.action_named(action, "define_run")
        self.run_shapes[action] = {"stages": stages, "on_complete": on_complete}

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
        thresholds = (dlq_depth_above, oldest_age_above, depth_above, failure_rate_above)
        alarm = Alarm(name, queue, action, *thresholds)
        if name in self.alarms:
            raise ConfigError(f"alarm {name!r} is declared twice")
        if action is not None:
            self.action_named(action, f"alarm {name!r}")
        self.alarms[name] = alarm
        return alarm

    @property
    def queues(self) -> Sequence[QueuePolicy]:
        """The queues this app declared."""
        return tuple(self._queues.values())


def _limit_of(action: Action) -> ActionLimit:
    """The store limit of an action (no limits: a removal)."""
    return ActionLimit(action.name, concurrency=action.policy.concurrency, rate=action.policy.rate)


def _check_queues(actions: Iterable[Action], queues: Mapping[str, QueuePolicy]) -> None:
    """``UnknownQueue`` if an action is on a queue the app never declared: a typo must not
    become a queue of its own with the default policy."""
    for action in actions:
        queue = action.policy.queue
        if queue not in queues:
            raise UnknownQueue(
                f"action {action.name!r} is on queue {queue!r}, which this app never "
                f"declares: add app.queue({queue!r}, ...) (before or after the action)"
            )


def _unknown_action(schedule: Schedule, actions: Mapping[str, Action]) -> UnknownAction:
    known = ", ".join(sorted(actions)) or "none registered"
    return UnknownAction(
        f"schedule {schedule.name!r} names unknown action {schedule.action!r}: register it "
        f"with @app.action (before or after the schedule), or give the schedule a queue= "
        f"(known: {known})"
    )


def _next_fire(schedule: Schedule, after: float) -> float:
    # Imported here: the cron module pulls in croniter, which a worker without schedules
    # never needs (some 35 ms of start-up).
    from sluice.sources.cron import next_fire

    return next_fire(schedule, after)
