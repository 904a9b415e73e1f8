"""The Store: the one durable engine behind sluice, and the contract every backend keeps.

Every call is batch-first (takes and returns lists) and runs in one transaction. Times are epoch
seconds from the store's ``clock`` (injectable, so tests never sleep). The semantics follow SQS:

- **Visibility.** A message is *visible* when ``visible_at <= now``. ``claim`` makes it invisible
  for its lease (the queue's ``visibility_timeout`` unless given), increments its receive count
  and hands out a :class:`Receipt` with a fresh random token. An expired lease makes the message
  visible again; the next claim records a ``lease expired`` attempt.
- **Fencing.** ``complete``, ``extend`` and ``release`` act only on messages whose current lease
  token equals the receipt's; every other receipt (re-claimed since, or already completed) changes
  nothing and is returned as *stale*.
- **Dead letters.** Each queue ``q`` has a DLQ ``q.dlq`` (a standard queue that keeps messages
  forever). A retry of a message that has been received ``max_receives`` times, or a visible
  message found by ``claim`` with that many receives (its last lease expired), moves to the DLQ
  with ``dead_reason`` (``max_receives``, ``expired`` by retention, or the reason given to
  ``Outcome.dead``), its last error and its attempt history. ``redrive`` moves DLQ messages back
  with a receive count of 0.
- **FIFO.** In a FIFO queue only the oldest live message of a group (its *head*) can be delivered,
  and only while it is visible: a head in flight or waiting for a retry blocks its group until it
  is acked or dead-lettered. Groups are independent.
- **Dedup.** A ``dedup_id`` already seen in the queue within its ``dedup_window`` returns the id of
  the first message and stores nothing (even if that message is gone).
- **Limits.** ``concurrency`` caps messages of an action in flight across all workers; ``rate`` is a
  token bucket shared by all workers. Both are applied inside ``claim``.
- **Schedules.** ``fire_due`` advances each due schedule's next fire time with a
  compare-and-set and enqueues its ticks' messages in the same transaction, only if the set
  took: any number of schedulers may race, each tick is fired once.
- **Atomicity.** A call that fails stores nothing of its batch.
"""

from __future__ import annotations

import dataclasses
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, NamedTuple

import orjson

from sluice import codec
from sluice.errors import MessageError, MessageTooLarge, UnknownQueue
from sluice.model import (
    DEFAULT_GROUP,
    DURATION_BUCKETS,
    ActionLimit,
    ActionStats,
    Enqueued,
    Message,
    NewMessage,
    Outcome,
    QueuePolicy,
    QueueStats,
    Receipt,
    RunSpec,
    RunState,
    Schedule,
    validate_queue_name,
)
from sluice.store import events as events_store
from sluice.store import runs
from sluice.store.events import ArchivedEvent, Route
from sluice.store.schedules import Fired, Plan, StoredSchedule, tick_messages

Clock = Callable[[], float]
INFINITY = float("inf")


class Row(NamedTuple):
    """A message ready for insertion: validated, encoded, with its times computed."""

    queue: str
    action: str
    body: str
    group: str | None
    dedup_id: str | None
    run_id: str | None
    enqueued_at: float
    visible_at: float
    dedup_expires_at: float | None
    run_stage: int | None = None

    def columns(self) -> tuple[Any, ...]:
        """The values of the message table's insert columns, in their order."""
        return (*self[:8], self.run_stage)


class Store(ABC):
    """A durable message store. Backends: ``SqliteStore``, ``PostgresStore``."""

    url: str
    """The store's URL with any password redacted."""

    def __init__(self, url: str, clock: Clock | None = None) -> None:
        self.url = url
        self.clock: Clock = clock or time.time
        self._policies: dict[str, QueuePolicy] = {}

    # -- lifecycle -----------------------------------------------------------------------------
    @abstractmethod
    def migrate(self) -> None:
        """Create or upgrade the schema; raise ``SchemaMismatch`` if it is newer than ours."""

    @abstractmethod
    def schema_version(self) -> int:
        """The schema version stored in the database (0 before the first migration)."""

    @abstractmethod
    def close(self) -> None:
        """Release connections. The store must not be used afterwards."""

    # -- queues and limits ---------------------------------------------------------------------
    def put_queue(self, policy: QueuePolicy) -> None:
        """Create the queue and its DLQ, or update their policies."""
        validate_queue_name(policy.name)
        self._put_policies([policy, policy.dlq])
        self._remember(policy)

    @abstractmethod
    def _put_policies(self, policies: Sequence[QueuePolicy]) -> None:
        """Upsert these queue policies in one transaction."""

    @abstractmethod
    def queues(self) -> list[QueuePolicy]:
        """Every queue, DLQs included, sorted by name."""

    @abstractmethod
    def put_limit(self, limit: ActionLimit) -> None:
        """Set (or with no concurrency and no rate, remove) an action's global limits."""

    @abstractmethod
    def limits(self) -> list[ActionLimit]:
        """Every action limit, sorted by action, with its effective concurrency."""

    @abstractmethod
    def adapt(self, signals: Mapping[str, tuple[int, int]]) -> None:
        """Move the effective concurrency of actions by ``(backoffs, successes)`` seen since
        the last call (see ``logic.adapted``); actions without a concurrency limit are
        ignored."""

    # -- the message life cycle ---------------------------------------------------------------
    @abstractmethod
    def enqueue(
        self, messages: Sequence[NewMessage], checkpoint: tuple[str, Any] | None = None
    ) -> list[Enqueued]:
        """Store messages in one transaction; one result per input, in order. Dedup-aware.

        Messages of a run count towards its current stage (``RunSealed`` once it is sealed);
        ``checkpoint=(run_id, key)`` records a discovery's position in the same transaction."""

    @abstractmethod
    def claim(self, queues: Sequence[str], n: int, lease: float | None = None) -> list[Message]:
        """Lease up to ``n`` visible messages from ``queues``, within FIFO and global limits."""

    @abstractmethod
    def complete(self, outcomes: Sequence[Outcome], tx: Any = None) -> list[Receipt]:
        """Apply ack / retry / dead-letter outcomes in one transaction; return stale receipts.

        With ``tx`` (a connection from :meth:`begin`) the outcomes join that transaction and
        the caller commits it, so writes made there commit with the acks or not at all."""

    @abstractmethod
    def begin(self) -> AbstractContextManager[Any]:
        """A transaction on the store's database: yields the native connection (``sqlite3`` or
        ``psycopg``), commits on normal exit, rolls back on an exception. On SQLite it holds
        the write lock until it ends: keep it short."""

    @abstractmethod
    def once_seen(self, keys: Sequence[str]) -> set[str]:
        """Which of these effect keys the once-ledger already holds."""

    @abstractmethod
    def extend(self, receipts: Sequence[Receipt], lease: float) -> list[Receipt]:
        """Make the messages invisible for ``lease`` more seconds from now; return stale ones."""

    @abstractmethod
    def release(self, receipts: Sequence[Receipt]) -> list[Receipt]:
        """Give leased messages back, visible at once, not counting the receive; return stale."""

    @abstractmethod
    def wait_for_work(self, queues: Sequence[str], timeout: float) -> bool:
        """Block until new work may be in ``queues`` (True) or ``timeout`` passes (False)."""

    # -- inspection and operations ------------------------------------------------------------
    @abstractmethod
    def stats(self, queues: Sequence[str] | None = None) -> list[QueueStats]:
        """Figures of the given queues (default: every non-DLQ queue), sorted by name."""

    @abstractmethod
    def get(self, ids: Sequence[int]) -> list[Message]:
        """The messages with these ids that still exist (acked ones are gone), by id."""

    @abstractmethod
    def peek(self, queue: str, limit: int = 100, after_id: int = 0) -> list[Message]:
        """Messages of a queue by id, without claiming them (for listings)."""

    def dlq_list(self, queue: str, limit: int = 100, after_id: int = 0) -> list[Message]:
        """The dead letters of ``queue``, oldest first."""
        return self.peek(self.policy(queue).dlq.name, limit, after_id)

    @abstractmethod
    def redrive(
        self,
        queue: str,
        ids: Sequence[int] | None = None,
        error_contains: str | None = None,
    ) -> int:
        """Move dead letters of ``queue`` (all, these ids, or those whose last error contains
        the text) back to the queue they died in, with a fresh receive count; return how many.
        Retention restarts at the redrive, so an old message is not expired again at once."""

    @abstractmethod
    def purge(self, queue: str) -> int:
        """Delete every message of ``queue`` (use ``dlq_name(q)`` for a DLQ); return how many."""

    @abstractmethod
    def expire(self) -> int:
        """Housekeeping, run periodically: dead-letter messages past their queue's retention
        (reason ``expired``) and visible messages out of receives (``max_receives``; ``claim``
        also does this when it finds fewer messages than asked), forget dedup ids past their
        window, drop empty FIFO group rows; return how many messages were dead-lettered."""

    # -- runs (backend-neutral, over the primitives below) -------------------------------------
    def start_run(
        self, spec: RunSpec, first: Sequence[NewMessage] = (), seal: bool = False
    ) -> list[Enqueued]:
        """Create a run in the ``discovering`` state (its first stage open until sealed);
        with ``first``, enqueue those messages into it, and with ``seal`` seal it, all in one
        transaction, so a failure leaves no run behind. Return the results of ``first``."""
        now = self.clock()
        rows = self.prepare([dataclasses.replace(m, run_id=spec.id) for m in first], now)
        with self._transaction() as db:
            runs.create(self, db, spec, now)
            done = self._insert(db, rows, now) if rows else []
            if seal:
                runs.seal(self, db, spec.id, now)
        return done

    def start_keyed_run(self, spec: RunSpec, first: NewMessage) -> tuple[str | None, Enqueued]:
        """Like ``start_run(spec, [first], seal=True)`` for a ``first`` message with a dedup
        id, but if that id is taken nothing is created and the answer is the run of the
        message holding it, with that message's id. Return (run id, result of ``first``)."""
        return runs.start_keyed(self, spec, first)

    def seal_run(self, run_id: str) -> None:
        """Fix the total of the run's first stage (discovery is over); an empty or already
        settled stage moves the run on at once."""
        with self._transaction() as db:
            runs.seal(self, db, run_id, self.clock())

    def run_state(self, run_id: str) -> RunState:
        """The run's counters and status (``UnknownRun`` if there is none)."""
        with self._reading() as db:
            return runs.state(self, db, run_id, self.clock())

    def runs(self, limit: int = 50) -> list[RunState]:
        """The most recently started runs, newest first."""
        with self._reading() as db:
            ids = [row[0] for row in self._sql(db, "runs_list", {"n": limit})]
            now = self.clock()
            return [runs.state(self, db, run_id, now) for run_id in ids]

    def cancel_run(self, run_id: str) -> int:
        """Stop the run: its waiting and in-flight messages move to their DLQs with reason
        ``cancelled`` (in-flight handlers' acks then find a stale receipt), the run is marked
        ``cancelled`` and fires nothing more. Return how many messages moved."""
        with self._transaction() as db:
            return runs.cancel(self, db, run_id, self.clock())

    # -- the event bus (backend-neutral, over the primitives below) ------------------------
    def publish(
        self, events: Sequence[Mapping[str, Any]], at: Sequence[float], routes: Sequence[Route]
    ) -> list[bool]:
        """Archive ``events`` (EventBridge envelopes; ``at`` their times as epoch seconds)
        and apply the ``routes`` of the new ones, in one transaction. An event whose id is
        archived already is neither stored nor routed again. Return, per event, if it was new."""
        with self._transaction() as db:
            now = self.clock()
            new = events_store.archive(self, db, events, at, now)
            fresh = {e["id"] for e, ok in zip(events, new, strict=True) if ok}
            events_store.route(self, db, [r for r in routes if r.event_id in fresh], now)
        return new

    def route(self, routes: Sequence[Route], force: bool = False) -> list[int | None]:
        """Enqueue the messages of routes not taken before (every one with ``force``), in one
        transaction; per route, the new message id or None (routed before)."""
        with self._transaction() as db:
            return events_store.route(self, db, routes, self.clock(), force)

    def events(
        self,
        since: float,
        until: float,
        limit: int = 1000,
        after: tuple[float, str] | None = None,
    ) -> list[tuple[float, ArchivedEvent]]:
        """Archived events with ``since <= time < until`` in time order, ``limit`` at a time,
        after the ``(time, id)`` position ``after``; each with its time."""
        after_at, after_id = after if after is not None else (since, "")
        with self._reading() as db:
            rows = self._sql(
                db, "events_between",
                {"since": since, "until": until, "after_at": after_at, "after_id": after_id,
                 "n": limit},
            )  # fmt: skip
        return [
            (float(at), ArchivedEvent(id_, orjson.loads(envelope), float(published)))
            for id_, at, envelope, published in rows
        ]

    def forget_events(self, before: float) -> int:
        """Drop archived events published before ``before`` (and their route records)."""
        with self._transaction() as db:
            gone = len(self._sql(db, "events_forget", {"before": before}))
            self._sql(db, "routes_forget", {"before": before})
        return gone

    # -- alarms ---------------------------------------------------------------------------------
    def alarm_states(self) -> dict[str, bool]:
        """Whether each alarm that has been evaluated is firing."""
        with self._reading() as db:
            return {name: bool(firing) for name, firing in self._sql(db, "alarm_states", {})}

    def alarm_transition(
        self,
        name: str,
        firing: bool,
        messages: Sequence[NewMessage],
        event: tuple[Mapping[str, Any], float] | None = None,
        routes: Sequence[Route] = (),
    ) -> bool:
        """Move alarm ``name`` to firing (or clear) by compare-and-set; only the call that
        changes it enqueues ``messages`` and publishes ``event`` with its ``routes``, in the
        same transaction. Return whether this call changed the state."""
        with self._transaction() as db:
            now = self.clock()
            self._sql(db, "alarm_init", {"name": name, "now": now})
            if not self._sql(db, "alarm_set", {"name": name, "firing": firing, "now": now}):
                return False
            if messages:
                self._insert(db, self.prepare(messages, now), now, inside=True)
            if event is not None:
                events_store.archive(self, db, [event[0]], [event[1]], now)
                events_store.route(self, db, routes, now)
        return True

    # -- action statistics (for metrics) ---------------------------------------------------------
    def put_action_stats(self, worker: str, stats: Sequence[ActionStats]) -> None:
        """Store one worker's running totals per action (each worker writes only its rows)."""
        with self._transaction() as db:
            now = self.clock()
            for one in stats:
                self._sql(
                    db, "action_stats_put",
                    {"action": one.action, "worker": worker, "processed": one.processed,
                     "failed": one.failed, "dead": one.dead, "duration_sum": one.duration_sum,
                     "buckets": orjson.dumps(one.buckets).decode(), "now": now},
                )  # fmt: skip

    def action_stats(self) -> list[ActionStats]:
        """Totals per action over every worker that ever reported, by action name."""
        totals: dict[str, ActionStats] = {}
        with self._reading() as db:
            rows = self._sql(db, "action_stats_all", {})
        for action, processed, failed, dead, duration_sum, buckets in rows:
            one = ActionStats(action, int(processed), int(failed), int(dead),
                              float(duration_sum), list(orjson.loads(buckets)))  # fmt: skip
            if len(one.buckets) != len(DURATION_BUCKETS) + 1:
                continue  # written with other buckets by another version: not comparable
            totals.setdefault(action, ActionStats(action)).add(one)
        return [totals[name] for name in sorted(totals)]

    def backlog(self, queue: str, cap: int) -> int:
        """How many messages of ``queue`` are visible, counting no further than ``cap`` (cheap
        on any backlog: producers call it before each chunk)."""
        self.policy(queue)
        with self._reading() as db:
            rows = self._sql(db, "backlog", {"queue": queue, "now": self.clock(), "cap": cap})
        return int(rows[0][0])

    @abstractmethod
    def _transaction(self) -> AbstractContextManager[Any]:
        """A write transaction yielding what :meth:`_sql` takes."""

    @abstractmethod
    def _reading(self) -> AbstractContextManager[Any]:
        """A connection (or cursor) for consistent reads, yielding what :meth:`_sql` takes."""

    @abstractmethod
    def _sql(self, db: Any, name: str, params: Any) -> list[Any]:
        """Run the named query with ``params`` on ``db``; its rows ([] if it returns none)."""

    @abstractmethod
    def _insert(
        self, db: Any, rows: Sequence[Row], now: float, inside: bool = False
    ) -> list[Enqueued]:
        """Insert prepared rows in the open transaction ``db`` (dedup, FIFO groups, run
        totals; ``inside``: spawned by the store or a handler, allowed into sealed stages)."""

    # -- schedules -----------------------------------------------------------------------------
    def put_schedule(self, schedule: Schedule, next_at: float) -> None:
        """Store a schedule, or update it. Its stored next fire time stands unless the cron
        expression or time zone changed, when ``next_at`` replaces it. ``UnknownQueue`` if its
        queue is not declared; ``MessageTooLarge`` or ``BodyNotSerializable`` for its body."""
        self.prepare(tick_messages(schedule, [next_at]), self.clock())
        self._put_schedule(schedule, next_at)

    @abstractmethod
    def _put_schedule(self, schedule: Schedule, next_at: float) -> None:
        """Upsert one validated schedule."""

    @abstractmethod
    def schedules(self) -> list[StoredSchedule]:
        """Every stored schedule with its next fire time, by name."""

    @abstractmethod
    def delete_schedule(self, name: str) -> bool:
        """Remove a schedule; whether it existed."""

    @abstractmethod
    def fire_due(self, plan: Plan, now: float | None = None) -> list[Fired]:
        """Fire the schedules due at ``now`` (default: the clock) in one transaction: for each,
        ``plan(schedule, next_at, now)`` gives the ticks and the new next fire time; the ticks'
        messages are enqueued (dedup id ``sluice-schedule-NAME-EPOCH``) only if the update
        ``next_at = new WHERE next_at = old`` took. Returns the ticks this call fired."""

    # -- shared logic --------------------------------------------------------------------------
    def policy(self, queue: str) -> QueuePolicy:
        """The policy of ``queue``, or ``UnknownQueue``."""
        found = self._policies.get(queue)
        if found is None:
            self._policies = {p.name: p for p in self.queues()}
            found = self._policies.get(queue)
            if found is None:
                raise UnknownQueue(
                    f"unknown queue {queue!r}: declare it with app.queue({queue!r}) first"
                )
        return found

    def _remember(self, policy: QueuePolicy) -> None:
        self._policies[policy.name] = policy
        self._policies[policy.dlq.name] = policy.dlq

    def prepare(self, messages: Sequence[NewMessage], now: float) -> list[Row]:
        """Validate and encode messages before any transaction, so a bad one stores nothing."""
        rows = []
        policies: dict[str, QueuePolicy] = {}
        for index, message in enumerate(messages):
            policy = policies.get(message.queue)
            if policy is None:
                policy = policies[message.queue] = self.policy(message.queue)
            raw = codec.encode_bytes(message.body)
            if len(raw) > policy.max_message_bytes:
                raise MessageTooLarge(len(raw), policy.max_message_bytes, policy.name)
            if message.delay < 0:
                raise MessageError(f"message {index}: delay must be >= 0, got {message.delay}")
            visible_at = now + message.delay
            if message.not_before is not None:
                visible_at = max(visible_at, message.not_before)
            group = message.group
            if policy.fifo and group is None:
                group = DEFAULT_GROUP
            expires = None
            if message.dedup_id is not None:
                expires = INFINITY if policy.dedup_window is None else now + policy.dedup_window
            rows.append(
                Row(policy.name, message.action, raw.decode(), group, message.dedup_id,
                    message.run_id, now, visible_at, expires, message.run_stage)
            )  # fmt: skip
        return rows

    def fifo_groups(self, rows: Sequence[Row], indexes: Sequence[int]) -> list[tuple[str, str]]:
        """The distinct (queue, group) pairs of the FIFO rows among ``indexes``, sorted."""
        fifo = {name for name in {rows[i].queue for i in indexes} if self.policy(name).fifo}
        if not fifo:
            return []
        return sorted(
            {(rows[i].queue, rows[i].group or "") for i in indexes if rows[i].queue in fifo}
        )
