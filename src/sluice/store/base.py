"""The Store: the one durable engine behind sluice, over a backend's driver.

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

The algorithms live once, here and in the modules by job (``inserting``, ``claiming``,
``completing``, ``housekeeping``, ``runs``, ``events``, ``schedules``); what differs per database
is a :class:`~sluice.store.driver.Driver` (``sqlite.py``, ``postgres.py``).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, TypeVar

from sluice.errors import UnknownQueue
from sluice.model import (
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
    dlq_name,
    is_dlq,
    validate_queue_name,
)
from sluice.store import (
    claiming,
    completing,
    housekeeping,
    inserting,
    metrics,
    runs,
    schedules,
    schema,
    sql,
)
from sluice.store.alarms import AlarmVerbs
from sluice.store.buckets import BucketScanVerbs
from sluice.store.bus import BusVerbs
from sluice.store.cancelling import CancelVerbs
from sluice.store.clock import ClockOffset, ServerClock
from sluice.store.completed import CompletedVerbs
from sluice.store.controls import ControlVerbs
from sluice.store.driver import Driver, Params
from sluice.store.headers import HeaderVerbs
from sluice.store.joining import JoinedVerbs
from sluice.store.rollups import RollupVerbs
from sluice.store.rows import (
    LimitRow,
    Row,
    message_from_row,
    policy_from_row,
    policy_row,
    queue_stats,
)
from sluice.store.schedules import Fired, StoredSchedule, TickPlanner, tick_messages
from sluice.store.search import SearchVerbs
from sluice.store.selection import SelectionVerbs
from sluice.store.sqs_queues import SqsQueue, SqsVerbs

T = TypeVar("T")
Clock = Callable[[], float]
POLICY_TTL = 1.0
"""Seconds (on the store's clock) a store trusts its copy of the queue policies: a policy
changed by another process is in force here within this long."""
LIMITS_TTL = 1.0
"""Seconds (monotonic) a claimer trusts its knowledge of whether any action limit exists."""

__all__ = ["Clock", "Row", "Store"]


class Store(
    SqsVerbs,
    ControlVerbs,
    CancelVerbs,
    JoinedVerbs,
    SearchVerbs,
    SelectionVerbs,
    RollupVerbs,
    AlarmVerbs,
    CompletedVerbs,
    HeaderVerbs,
    BucketScanVerbs,
    BusVerbs,
):
    """A durable message store: the engine over one database's :class:`Driver`.

    Open one with :func:`sluice.store.open_store`; ``SqliteStore`` and ``PostgresStore`` are
    this class with their driver."""

    url: str
    """The store's URL with any password redacted."""

    def __init__(self, driver: Driver, clock: Clock | None = None) -> None:
        self._driver = driver
        self.url = driver.url
        self.clock: Clock = clock or time.time
        self._queries = sql.queries(driver.backend)
        self._policies: dict[str, QueuePolicy] = {}
        self._policies_read_at: float | None = None
        self._kept: dict[str, float] = {}  # queue -> keep_completed, of the policies above
        self._sqs_records: dict[str, tuple[float, SqsQueue | None]] = {}
        self._has_limits = False
        self._exhaust_due: set[str] = set()  # queues whose last short claim skipped the sweep
        self._limits_read_at = -LIMITS_TTL

    # -- the engine's own primitives (used by the modules by job) ------------------------------
    def _sql(self, db: Any, name: str, params: Params = ()) -> list[Any]:
        """Run the named query with ``params`` on ``db``; its rows ([] if it returns none)."""
        return self._driver.rows(db, name, params)

    def _prepare(self, messages: Sequence[NewMessage], now: float) -> list[Row]:
        return inserting.prepare(self, messages, now)

    def _insert(
        self, db: Any, rows: Sequence[Row], now: float, inside: bool = False
    ) -> list[Enqueued]:
        return inserting.insert(self, db, rows, now, inside)

    def _limits_exist(self) -> bool:
        """Whether any action limit is set, re-read at most every LIMITS_TTL seconds. Only
        picks the claim path: the fast claim statement skips limited actions by itself."""
        if time.monotonic() - self._limits_read_at > LIMITS_TTL:
            with self._driver.read() as db:
                self._has_limits = bool(self._sql(db, "any_limit"))
            self._limits_read_at = time.monotonic()
        return self._has_limits

    def clock_offset(self) -> ClockOffset | None:
        """How far the store's clock is ahead of this process's ``time.time()``: as last
        measured on PostgreSQL (the database's clock), zero on the local clock (SQLite), None
        for an injected clock or a server not reached yet."""
        if isinstance(self.clock, ServerClock):
            return self.clock.offset()
        return ClockOffset(0.0, 0.0) if self.clock is time.time else None

    # -- lifecycle -----------------------------------------------------------------------------
    def migrate(self) -> None:
        """Create or upgrade the schema; raise ``SchemaMismatch`` if it is newer than ours."""
        schema.migrate(self)

    def schema_version(self) -> int:
        """The schema version stored in the database (0 before the first migration)."""
        with self._driver.read() as db:
            found = self._sql(db, "schema_version")
        return int(found[0][0]) if found else 0

    def close(self) -> None:
        """Release connections. The store must not be used afterwards."""
        self._driver.close()

    # -- queues and limits ---------------------------------------------------------------------
    def put_queue(self, policy: QueuePolicy) -> None:
        """Create the queue and its DLQ, or update their policies."""
        validate_queue_name(policy.name)
        with self._driver.write() as db:
            for one in (policy, policy.dlq):
                self._sql(db, "put_queue", policy_row(one))
        self._policies[policy.name] = policy
        self._policies[policy.dlq.name] = policy.dlq
        self._kept.pop(policy.name, None)
        if policy.keep_completed:
            self._kept[policy.name] = policy.keep_completed

    def queues(self) -> list[QueuePolicy]:
        """Every queue, DLQs included, sorted by name."""
        with self._driver.read() as db:
            return [policy_from_row(row) for row in self._sql(db, "queues")]

    def policy(self, queue: str) -> QueuePolicy:
        """The policy of ``queue``, or ``UnknownQueue``. Policies are re-read from the database
        every :data:`POLICY_TTL` seconds, so changes by other processes take effect."""
        found = self._policy_map().get(queue)
        if found is None:
            self._policies_read_at = None  # declared since the last read, maybe: read again
            found = self._policy_map().get(queue)
            if found is None:
                raise UnknownQueue(
                    f"unknown queue {queue!r}: declare it with app.queue({queue!r}) first"
                )
        return found

    def _policy_in_tx(self, queue: str) -> QueuePolicy:
        """The cached policy, even stale: inside a transaction, no second pooled connection."""
        return self._policies.get(queue) or self.policy(queue)

    def _policy_map(self) -> dict[str, QueuePolicy]:
        """Every queue's policy by name, re-read once older than :data:`POLICY_TTL`."""
        now = self.clock()
        read_at = self._policies_read_at
        if read_at is None or not read_at <= now < read_at + POLICY_TTL:
            self._policies = {p.name: p for p in self.queues()}  # stale, or the clock went back
            self._policies_read_at = now
            self._kept = {
                n: p.keep_completed for n, p in self._policies.items() if p.keep_completed
            }
        return self._policies

    def put_limit(self, limit: ActionLimit) -> None:
        """Set (or with no concurrency and no rate, remove) an action's declared global limits
        (a live override set by an operator stays in force)."""
        self._limits_read_at = -LIMITS_TTL
        self._put_declared_limit(limit)

    def limits(self) -> list[ActionLimit]:
        """Every action limit, sorted by action, with its effective concurrency."""
        with self._driver.read() as db:
            return [LimitRow(*row).limit() for row in self._sql(db, "limits")]

    def adapt(self, signals: Mapping[str, tuple[int, int]]) -> None:
        """Move the effective concurrency of actions by ``(backoffs, successes)`` seen since
        the last call (see ``limits.adapted``); actions without a concurrency limit are
        ignored."""
        housekeeping.adapt(self, signals)

    # -- the message life cycle ---------------------------------------------------------------
    def enqueue(
        self, messages: Sequence[NewMessage], checkpoint: tuple[str, Any] | None = None
    ) -> list[Enqueued]:
        """Store messages in one transaction; one result per input, in order. Dedup-aware.

        Messages of a run count towards its current stage (``RunSealed`` once it is sealed);
        ``checkpoint=(run_id, key)`` records a discovery's position in the same transaction."""
        if not messages and checkpoint is None:
            return []
        now = self.clock()
        rows = self._prepare(messages, now)
        if checkpoint is None and inserting.plain(self, rows):
            return inserting.insert_plain(self, rows)
        with self._driver.write() as db:
            done = self._insert(db, rows, now)
            if checkpoint is not None:
                runs.save_checkpoint(self, db, *checkpoint)
            return done

    def claim(
        self, queues: Sequence[str], n: int, lease: float | None = None, per_group: int = 1
    ) -> list[Message]:
        """Lease up to ``n`` visible messages from ``queues``, within FIFO and global limits;
        up to ``per_group`` consecutive messages of one FIFO group (the SQS API's receives)."""
        return claiming.claim(self, queues, n, lease, per_group)

    def complete(self, outcomes: Sequence[Outcome], tx: Any = None) -> list[Receipt]:
        """Apply ack / retry / dead-letter outcomes in one transaction; return stale receipts.

        With ``tx`` (a connection from :meth:`begin`) the outcomes join that transaction and
        the caller commits it, so writes made there commit with the acks or not at all."""
        return completing.complete(self, outcomes, tx)

    def begin(self) -> AbstractContextManager[Any]:
        """A transaction on the store's database: yields the native connection (``sqlite3`` or
        ``psycopg``), commits on normal exit, rolls back on an exception. On SQLite it holds
        the write lock until it ends: keep it short."""
        return self._driver.begin()

    def unblocked(self, function: Callable[..., T], *args: Any) -> T:
        """``function(*args)`` (which calls this store) in this thread if its first write
        transaction can start at once; else :class:`~sluice.store.driver.WouldWait`, with
        nothing written. For an event loop, where a thread hop costs more than a short SQLite
        write but waiting must not block: on SQLite when the write lock is free, never on
        PostgreSQL (every call waits on the server)."""
        return self._driver.unblocked(function, *args)

    async def on_loop(self, function: Callable[..., T], *args: Any) -> T:
        """``function(*args)`` (which calls this store) on the running event loop's thread,
        never blocking the loop: a thread hop costs more than most store calls. On SQLite as
        :meth:`unblocked` (:class:`~sluice.store.driver.WouldWait`, nothing written, if the
        write lock is held); on PostgreSQL every wait on the server is awaited by the loop,
        on connections of the loop's own."""
        return await self._driver.on_loop(function, *args)

    def once_seen(self, keys: Sequence[str]) -> set[str]:
        """Which of these effect keys the once-ledger already holds."""
        with self._driver.read() as db:
            return {row[0] for row in self._sql(db, "once_seen", (list(keys),))}

    def extend(self, receipts: Sequence[Receipt], lease: float) -> list[Receipt]:
        """Make the messages invisible for ``lease`` more seconds from now; return stale ones."""
        return completing.fenced(self, "extend", receipts, self.clock() + lease)

    def release(self, receipts: Sequence[Receipt]) -> list[Receipt]:
        """Give leased messages back, visible at once, not counting the receive; return stale."""
        return completing.fenced(self, "release", receipts, self.clock(), notify=True)

    def wait_for_work(self, queues: Sequence[str], timeout: float) -> bool:
        """Block until new work may be in ``queues`` (True) or ``timeout`` passes (False).
        Paused queues are left out: their work is not for claiming."""
        return bool(self.woken_queues(queues, timeout))

    def woken_queues(self, queues: Sequence[str], timeout: float) -> list[str]:
        """As :meth:`wait_for_work`, but the queues new work may be in (those a wake-up named,
        or all of ``queues`` but the paused when that is not known); [] when ``timeout`` passed.
        A woken worker claims from these only: on PostgreSQL each queue is a round trip."""
        paused = self.stopped("queue")
        names = [q for q in queues if q not in paused]

        def ready(db: Any) -> bool:
            return bool(self._sql(db, "has_visible", (names, self.clock())))

        return self._driver.wait(names, timeout, ready)

    # -- inspection and operations ------------------------------------------------------------
    def stats(self, queues: Sequence[str] | None = None) -> list[QueueStats]:
        """Figures of the given queues (default: every non-DLQ queue), sorted by name."""
        if queues is None:
            names = [p.name for p in self.queues() if not is_dlq(p.name)]
        else:
            names = list(queues)
        for name in names:
            self.policy(name)
        now = self.clock()
        wanted = names + [dlq_name(n) for n in names if not is_dlq(n)]
        with self._driver.read() as db:
            rows = self._sql(db, "stats", {"now": now, "queues": wanted})
        return queue_stats(names, {row[0]: row[1:] for row in rows}, now)

    def get(self, ids: Sequence[int]) -> list[Message]:
        """The messages with these ids that still exist (acked ones are gone), by id."""
        with self._driver.read() as db:
            return [message_from_row(row) for row in self._sql(db, "get", (list(ids),))]

    def peek(self, queue: str, limit: int = 100, after_id: int = 0) -> list[Message]:
        """Messages of a queue by id, without claiming them (for listings)."""
        self.policy(queue)
        with self._driver.read() as db:
            rows = self._sql(db, "peek", (queue, after_id, limit))
        return [message_from_row(row) for row in rows]

    def dlq_list(self, queue: str, limit: int = 100, after_id: int = 0) -> list[Message]:
        """The dead letters of ``queue``, oldest first."""
        return self.peek(self.policy(queue).dlq.name, limit, after_id)

    def redrive(
        self,
        queue: str,
        ids: Sequence[int] | None = None,
        error_contains: str | None = None,
    ) -> int:
        """Move dead letters of ``queue`` (all, these ids, or those whose last error contains
        the text) back to the queue they died in, with a fresh receive count; return how many.
        Retention restarts at the redrive, so an old message is not expired again at once."""
        return housekeeping.redrive(self, queue, ids, error_contains)

    def purge(self, queue: str) -> int:
        """Delete every message of ``queue`` (use ``dlq_name(q)`` for a DLQ); return how many."""
        return housekeeping.purge(self, queue)

    def housekeep(self) -> int:
        """Housekeeping, run periodically: dead-letter messages past their queue's retention
        (reason ``expired``) and visible messages out of receives (``max_receives``; ``claim``
        also does this when it finds fewer messages than asked), forget dedup ids past their
        window, drop empty FIFO group rows, and let the database tidy up (PostgreSQL vacuums
        a bloated message table), and take this minute's chart sample (``sample_rollups``,
        which also forgets samples older than a day); return how many were dead-lettered."""
        expired = housekeeping.housekeep(self)
        self.sample_rollups()
        return expired

    def expire(self) -> int:
        """The old name of :meth:`housekeep`."""
        return self.housekeep()

    def backlog(self, queue: str, cap: int) -> int:
        """How many messages of ``queue`` are visible, counting no further than ``cap`` (cheap
        on any backlog: producers call it before each chunk)."""
        self.policy(queue)
        params = {"queue": queue, "now": self.clock(), "cap": cap}
        with self._driver.read() as db:
            return int(self._sql(db, "backlog", params)[0][0])

    # -- runs ----------------------------------------------------------------------------------
    def start_run(
        self, spec: RunSpec, first: Sequence[NewMessage] = (), seal: bool = False
    ) -> list[Enqueued]:
        """Create a run in the ``discovering`` state (its first stage open until sealed);
        with ``first``, enqueue those messages into it, and with ``seal`` seal it, all in one
        transaction, so a failure leaves no run behind. Return the results of ``first``."""
        now = self.clock()
        rows = self._prepare([dataclasses.replace(m, run_id=spec.id) for m in first], now)
        with self._driver.write() as db:
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
        with self._driver.write() as db:
            runs.seal(self, db, run_id, self.clock())

    def run_state(self, run_id: str) -> RunState:
        """The run's counters and status (``UnknownRun`` if there is none)."""
        with self._driver.read() as db:
            return runs.state(self, db, run_id, self.clock())

    def runs(self, limit: int = 50) -> list[RunState]:
        """The most recently started runs, newest first."""
        with self._driver.read() as db:
            ids = [row[0] for row in self._sql(db, "runs_list", {"n": limit})]
            now = self.clock()
            return [runs.state(self, db, run_id, now) for run_id in ids]

    def cancel_run(self, run_id: str) -> int:
        """Stop the run: its waiting and in-flight messages move to their DLQs with reason
        ``cancelled`` (in-flight handlers' acks then find a stale receipt), the run is marked
        ``cancelled`` and fires nothing more. Return how many messages moved."""
        with self._driver.write() as db:
            return runs.cancel(self, db, run_id, self.clock())

    # -- action statistics (for metrics) -------------------------------------------------------
    def put_action_stats(self, worker: str, stats: Sequence[ActionStats]) -> None:
        """Store one worker's running totals per action (each worker writes only its rows)."""
        metrics.put(self, worker, stats)

    def action_stats(self) -> list[ActionStats]:
        """Totals per action over every worker that ever reported, by action name."""
        return metrics.totals(self)

    # -- schedules -----------------------------------------------------------------------------
    def validate(self, messages: Sequence[NewMessage]) -> None:
        """Raise what :meth:`enqueue` would raise for these messages (unknown queue, too large,
        not JSON, bad delay) without storing anything."""
        self._prepare(messages, self.clock())

    def put_schedule(self, schedule: Schedule, next_at: float) -> None:
        """Store a schedule, or update it. Its stored next fire time stands unless the cron
        expression or time zone changed, when ``next_at`` replaces it. ``UnknownQueue`` if its
        queue is not declared; ``MessageTooLarge`` or ``BodyNotSerializable`` for its body."""
        self._prepare(tick_messages(schedule, [next_at]), self.clock())
        with self._driver.auto() as db:
            self._sql(db, "put_schedule", schedules.schedule_row(schedule, next_at))

    def schedules(self) -> list[StoredSchedule]:
        """Every stored schedule with its next fire time, by name."""
        with self._driver.read() as db:
            return [schedules.schedule_from_row(row) for row in self._sql(db, "schedules")]

    def delete_schedule(self, name: str) -> bool:
        """Remove a schedule; whether it existed."""
        with self._driver.auto() as db:
            return self._driver.count(db, "delete_schedule", (name,)) > 0

    def fire_due(self, plan: TickPlanner, now: float | None = None) -> list[Fired]:
        """Fire the schedules due at ``now`` (default: the clock) in one transaction: for each,
        ``plan(schedule, next_at, now)`` gives the ticks and the new next fire time; the ticks'
        messages are enqueued (dedup id ``sluice-schedule-NAME-EPOCH``) only if the update
        ``next_at = new WHERE next_at = old`` took. Returns the ticks this call fired."""
        return schedules.fire_due(self, plan, self.clock() if now is None else now)
