"""The SQLite backend: one file, WAL mode, any number of processes, writes under BEGIN IMMEDIATE."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

import orjson

from sluice.errors import SchemaMismatch, StoreError, StoreUnavailable
from sluice.model import (
    ActionLimit,
    Enqueued,
    Message,
    NewMessage,
    Outcome,
    QueuePolicy,
    QueueStats,
    Receipt,
    Schedule,
    is_dlq,
)
from sluice.store import runs, sql
from sluice.store.base import Clock, Row, Store
from sluice.store.logic import (
    ATTEMPTS_KEPT,
    CLAIM_SCAN,
    NEVER,
    Budgets,
    adapted,
    add_attempt,
    budgets,
    message_from_row,
    pick,
    plan_outcomes,
    policy_from_row,
    policy_row,
    queue_stats,
    split_dedup,
)
from sluice.store.schedules import (
    Fired,
    Plan,
    StoredSchedule,
    schedule_from_row,
    schedule_row,
    tick_messages,
)

BUSY_TIMEOUT = 30.0
"""Seconds SQLite waits for the write lock before we retry."""
LOCK_DEADLINE = 300.0
"""Seconds of retrying a write lock before giving up with StoreError."""
POLL = 0.02
"""Seconds between checks of the file's data_version while waiting for work."""


def _json(values: Sequence[Any]) -> str:
    return orjson.dumps(list(values)).decode()


def sqlite_path(url: str) -> str:
    """The file path of a ``sqlite:///path`` URL (``sqlite:////abs`` is absolute)."""
    prefix = "sqlite:///"
    if not url.startswith(prefix):
        raise StoreError(f"not a SQLite URL: {url!r} (expected sqlite:///path/to/file.db)")
    path = url[len(prefix) :].split("?", 1)[0]
    if not path:
        raise StoreError(f"SQLite URL {url!r} names no file")
    return path


class _Held:
    """A thread's connection, in its thread-local slot."""

    __slots__ = ("__weakref__", "conn")

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn


def _close(
    conn: sqlite3.Connection, connections: set[sqlite3.Connection], lock: threading.RLock
) -> None:
    with lock:
        connections.discard(conn)
    conn.close()


class SqliteStore(Store):
    """A store in one SQLite file, shared safely by threads and processes."""

    def __init__(self, url: str, clock: Clock | None = None) -> None:
        super().__init__(url, clock)
        self.path = sqlite_path(url)
        self._q = sql.queries("sqlite")
        self._local = threading.local()
        self._connections: set[sqlite3.Connection] = set()
        self._lock = threading.RLock()
        self._pid = os.getpid()

    # -- connections -----------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(
                self.path, isolation_level=None, timeout=BUSY_TIMEOUT, check_same_thread=False
            )
            conn.execute("PRAGMA journal_mode=WAL")
            # NORMAL is crash-safe for the application in WAL mode; only a power loss may
            # roll back the last transactions (never corrupt the file).
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT * 1000)}")
        except sqlite3.Error as exc:
            raise StoreUnavailable(self.url, exc) from exc
        with self._lock:
            self._connections.add(conn)
        return conn

    def _conn(self, slot: str = "conn") -> sqlite3.Connection:
        if os.getpid() != self._pid:  # forked: never share a parent's connection
            self._local = threading.local()
            self._connections = set()
            self._pid = os.getpid()
        held: _Held | None = getattr(self._local, slot, None)
        if held is None:
            held = _Held(self._connect())
            # The thread's locals die with the thread (a server's pool retires idle threads):
            # its connection is closed then, not kept open until close().
            weakref.finalize(held, _close, held.conn, self._connections, self._lock)
            setattr(self._local, slot, held)
        return held.conn

    @contextmanager
    def _write(self, conn: sqlite3.Connection | None = None) -> Iterator[sqlite3.Connection]:
        """One write transaction, waiting (never failing) while another process writes."""
        conn = conn or self._conn()
        deadline = time.monotonic() + LOCK_DEADLINE
        while True:
            try:
                conn.execute("BEGIN IMMEDIATE")
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise StoreUnavailable(self.url, exc) from exc
                if time.monotonic() > deadline:
                    raise StoreError(
                        f"store {self.url} stayed locked for {LOCK_DEADLINE}s"
                    ) from exc
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
        self._local = threading.local()

    # -- schema ------------------------------------------------------------------------------
    def migrate(self) -> None:
        latest = sql.latest_version("sqlite")
        with self._write() as db:
            db.execute(self._q["schema_create"])
            row = db.execute(self._q["schema_version"]).fetchone()
            if row is None:
                db.execute(self._q["schema_init"])
                version = 0
            else:
                version = row[0]
            if version > latest:
                raise SchemaMismatch(
                    f"store {self.url} has schema version {version}, newer than version "
                    f"{latest} that this sluice knows; upgrade sluice to use it"
                )
            for migration in sql.migrations("sqlite")[version:]:
                for statement in _statements(migration.sql):
                    db.execute(statement)
            db.execute(self._q["schema_set"], (latest,))

    def schema_version(self) -> int:
        row = self._conn().execute(self._q["schema_version"]).fetchone()
        return int(row[0]) if row else 0

    # -- queues and limits -------------------------------------------------------------------
    def _put_policies(self, policies: Sequence[QueuePolicy]) -> None:
        with self._write() as db:
            db.executemany(self._q["put_queue"], [policy_row(p) for p in policies])

    def queues(self) -> list[QueuePolicy]:
        rows = self._conn().execute(self._q["queues"]).fetchall()
        return [policy_from_row(row) for row in rows]

    def put_limit(self, limit: ActionLimit) -> None:
        with self._write() as db:
            if limit.concurrency is None and limit.rate is None:
                db.execute(self._q["delete_limit"], (limit.action,))
            else:
                db.execute(
                    self._q["put_limit"],
                    (limit.action, limit.concurrency, limit.rate, limit.burst, limit.burst,
                     self.clock()),
                )  # fmt: skip

    def limits(self) -> list[ActionLimit]:
        rows = self._conn().execute(self._q["limits"]).fetchall()
        return [ActionLimit(r[0], r[1], r[2], r[3], effective=r[6]) for r in rows]

    def adapt(self, signals: Mapping[str, tuple[int, int]]) -> None:
        if not signals:
            return
        with self._write() as db:
            rows = db.execute(self._q["adapt_read"]).fetchall()
            db.executemany(
                self._q["adapt_write"],
                [
                    (adapted(effective, concurrency, *signals[action]), action)
                    for action, concurrency, effective in rows
                    if action in signals
                ],
            )

    # -- enqueue -----------------------------------------------------------------------------
    def enqueue(
        self, messages: Sequence[NewMessage], checkpoint: tuple[str, Any] | None = None
    ) -> list[Enqueued]:
        if not messages and checkpoint is None:
            return []
        now = self.clock()
        rows = self.prepare(messages, now)
        with self._write() as db:
            done = self._insert(db, rows, now)
            if checkpoint is not None:
                runs.save_checkpoint(self, db, *checkpoint)
            return done

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return self._write()

    def _reading(self) -> AbstractContextManager[sqlite3.Connection]:
        return nullcontext(self._conn())

    def _sql(self, db: sqlite3.Connection, name: str, params: Any) -> list[Any]:
        return db.execute(self._q[name], params).fetchall()

    def _insert(
        self, db: sqlite3.Connection, rows: Sequence[Row], now: float, inside: bool = False
    ) -> list[Enqueued]:
        if any(row.run_id is not None for row in rows):
            rows = runs.assign_stages(self, db, rows)
        split = split_dedup(rows)
        existing: dict[tuple[str, str], int] = {}
        by_queue: dict[str, list[str]] = {}
        for queue, dedup_id in split.keys:
            by_queue.setdefault(queue, []).append(dedup_id)
        for queue, dedup_ids in by_queue.items():
            found = db.execute(self._q["dedup_lookup"], (queue, _json(dedup_ids), now))
            existing.update(((queue, dedup_id), message_id) for dedup_id, message_id in found)
        new = split.new_rows(existing)
        if not new:
            return split.results([], [], existing)
        db.executemany(
            self._q["insert_message"],
            [row.columns() for row in rows]
            if len(new) == len(rows)
            else [rows[i].columns() for i in new],
        )
        # AUTOINCREMENT ids are consecutive inside one write transaction.
        last = db.execute(self._q["last_id"]).fetchone()[0]
        ids = list(range(last - len(new) + 1, last + 1))
        db.executemany(
            self._q["dedup_upsert"],
            [
                (rows[i].queue, rows[i].dedup_id, id_, rows[i].dedup_expires_at)
                for i, id_ in zip(new, ids, strict=True)
                if rows[i].dedup_id is not None
            ],
        )
        groups = self.fifo_groups(rows, new)
        if groups:
            db.executemany(self._q["insert_group"], groups)
        runs.count_new(self, db, (rows[i] for i in new if rows[i].run_id is not None), now, inside)
        return split.results(new, ids, existing)

    # -- claim -------------------------------------------------------------------------------
    def claim(self, queues: Sequence[str], n: int, lease: float | None = None) -> list[Message]:
        if n <= 0 or not queues:
            return []
        policies = [self.policy(q) for q in queues]
        claimed: list[Message] = []
        with self._write() as db:
            now = self.clock()  # read under the write lock: claims see time move forward
            budget = self._budgets(db, now)
            for policy in policies:
                want = n - len(claimed)
                if want <= 0:
                    break
                params = {
                    "queue": policy.name,
                    "now": now,
                    "until": now + (lease if lease is not None else policy.visibility_timeout),
                    "max_receives": policy.max_receives or NEVER,
                    "kept": ATTEMPTS_KEPT,
                    "n": want,
                }
                if budget is None and not policy.fifo:
                    rows = db.execute(self._q["claim_next"], params).fetchall()
                else:
                    rows = self._claim_picked(db, policy, params, budget)
                rows.sort(key=lambda row: row[0])
                claimed.extend(message_from_row(row, claimed=True) for row in rows)
                if len(rows) < want and policy.max_receives is not None:
                    self._exhaust(db, {**params, "scan": CLAIM_SCAN}, now)
            if budget is not None:
                db.executemany(
                    self._q["save_tokens"],
                    [(tokens, now, action) for action, tokens in budget.tokens.items()],
                )
        return claimed

    def _exhaust(self, db: sqlite3.Connection, params: dict[str, Any], now: float) -> int:
        """Dead-letter visible messages out of receives; count them in their runs."""
        dead = db.execute(self._q["dead_letter_exhausted"], params).fetchall()
        tallies = runs.Tallies()
        for run_id, stage in dead:
            tallies.add(run_id, stage, dead=1)
        if tallies:
            runs.apply(self, db, tallies, now)
        return len(dead)

    def _claim_picked(
        self,
        db: sqlite3.Connection,
        policy: QueuePolicy,
        params: dict[str, Any],
        budget: Budgets | None,
    ) -> list[Any]:
        """Claim by choosing candidates first: FIFO heads, or within global limits."""
        query = "claim_candidates_fifo" if policy.fifo else "claim_candidates"
        want = params["n"]
        blocked = budget.blocked if budget is not None else []
        fetch = want if budget is None else want * 2 + 8
        candidates = db.execute(
            self._q[query],
            {**params, "scan": fetch + CLAIM_SCAN, "blocked": _json(blocked), "n": fetch},
        ).fetchall()
        ids = (
            [c[0] for c in candidates[:want]] if budget is None else pick(candidates, want, budget)
        )
        if not ids:
            return []
        return db.execute(self._q["claim_ids"], {**params, "ids": _json(ids)}).fetchall()

    def _budgets(self, db: sqlite3.Connection, now: float) -> Budgets | None:
        rows = db.execute(self._q["limits"]).fetchall()
        if not rows:
            return None
        limited = [r[0] for r in rows if r[1] is not None]
        in_flight = dict(db.execute(self._q["in_flight_by_action"], (now, _json(limited))))
        return budgets(
            ((ActionLimit(r[0], r[1], r[2], r[3], r[6]), r[4], r[5]) for r in rows), in_flight, now
        )

    # -- complete, extend, release ------------------------------------------------------------
    def begin(self) -> AbstractContextManager[sqlite3.Connection]:
        # A connection of its own, so the thread's usual one stays free for reads.
        return self._write(self._conn("tx"))

    def once_seen(self, keys: Sequence[str]) -> set[str]:
        rows = self._conn().execute(self._q["once_seen"], (_json(keys),))
        return {row[0] for row in rows}

    def complete(self, outcomes: Sequence[Outcome], tx: Any = None) -> list[Receipt]:
        if not outcomes:
            return []
        now = self.clock()
        children = [self.prepare(o.children, now) if o.children else [] for o in outcomes]
        acks = [o for o in outcomes if o.kind == "ack"]
        others = [o for o in outcomes if o.kind != "ack"]
        stale: list[Receipt] = []
        with nullcontext(tx) if tx is not None else self._write() as db:
            spawned: list[Row] = []
            once: list[tuple[str, int, float]] = []
            tallies = runs.Tallies()
            if acks:
                pairs = _json([(o.receipt.message_id, o.receipt.token) for o in acks])
                deleted = {r[0]: r[1:] for r in db.execute(self._q["ack_fenced"], (pairs,))}
                for index, outcome in enumerate(outcomes):
                    if outcome.kind != "ack":
                        continue
                    run = deleted.pop(outcome.receipt.message_id, None)
                    if run is not None:
                        tallies.add(*run, succeeded=1)
                        spawned.extend(runs.inherit(children[index], *run))
                        once.extend((key, outcome.receipt.message_id, now) for key in outcome.once)
                    else:
                        stale.append(outcome.receipt)
                db.executemany(self._q["once_record"], once)
            if others:
                ids = _json([o.receipt.message_id for o in others])
                found = db.execute(self._q["outcome_rows"], (ids,)).fetchall()
                rows = {r[0]: r[1:5] for r in found}
                plan = plan_outcomes(others, rows, self.policy, now)
                run_of = {r[0]: r[5:] for r in found}
                for id_, *_ in plan.retries:
                    tallies.add(*run_of[id_], failed=1)
                for id_, *_ in plan.dead:
                    tallies.add(*run_of[id_], dead=1)
                db.executemany(
                    self._q["retry"], [(at, err, _json(h), i) for i, at, err, h in plan.retries]
                )
                db.executemany(
                    self._q["dead_letter"],
                    [(reason, err, _json(h), now, i) for i, reason, err, h in plan.dead],
                )
                stale.extend(plan.stale)
            if spawned:  # before the parents' counts, so a stage cannot finish under them
                self._insert(db, spawned, now, inside=True)
            if tallies:
                runs.apply(self, db, tallies, now)
        return stale

    def extend(self, receipts: Sequence[Receipt], lease: float) -> list[Receipt]:
        return self._fenced("extend", receipts, self.clock() + lease)

    def release(self, receipts: Sequence[Receipt]) -> list[Receipt]:
        return self._fenced("release", receipts, self.clock())

    def _fenced(self, query: str, receipts: Sequence[Receipt], visible_at: float) -> list[Receipt]:
        if not receipts:
            return []
        pairs = _json([(r.message_id, r.token) for r in receipts])
        with self._write() as db:
            fresh = {row[0] for row in db.execute(self._q[query], (visible_at, pairs))}
        stale = []
        for receipt in receipts:
            if receipt.message_id in fresh:
                fresh.discard(receipt.message_id)
            else:
                stale.append(receipt)
        return stale

    def wait_for_work(self, queues: Sequence[str], timeout: float) -> bool:
        conn = self._conn("watch")
        names = _json(queues)
        deadline = time.monotonic() + timeout
        version = conn.execute("PRAGMA data_version").fetchone()[0]
        while True:
            if conn.execute(self._q["has_visible"], (names, self.clock())).fetchone():
                return True
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                time.sleep(min(POLL, left))
                current = conn.execute("PRAGMA data_version").fetchone()[0]
                if current != version:
                    version = current
                    break

    # -- schedules ---------------------------------------------------------------------------
    def _put_schedule(self, schedule: Schedule, next_at: float) -> None:
        with self._write() as db:
            db.execute(self._q["put_schedule"], schedule_row(schedule, next_at))

    def schedules(self) -> list[StoredSchedule]:
        return [schedule_from_row(row) for row in self._conn().execute(self._q["schedules"])]

    def delete_schedule(self, name: str) -> bool:
        with self._write() as db:
            return db.execute(self._q["delete_schedule"], (name,)).rowcount > 0

    def fire_due(self, plan: Plan, now: float | None = None) -> list[Fired]:
        now = self.clock() if now is None else now
        # Look without the write lock first: most passes find nothing due.
        due = [
            schedule_from_row(row)
            for row in self._conn().execute(self._q["schedules_due"], (now,)).fetchall()
        ]
        if not due:
            return []
        # Planned before the transaction: croniter is slow next to the lock it would hold.
        planned = [(s, at, *plan(s, at, now)) for s, at, _ in due]
        fired: list[Fired] = []
        with self._write() as db:
            for schedule, next_at, ticks, new_next_at in planned:
                swapped = db.execute(
                    self._q["schedule_advance"],
                    (new_next_at, ticks[-1] if ticks else None, schedule.name, next_at),
                ).rowcount
                if swapped != 1 or not ticks:
                    continue  # another scheduler fired it (or nothing fell due)
                rows = self.prepare(tick_messages(schedule, ticks), now)
                enqueued = self._insert(db, rows, now)
                fired.extend(
                    Fired(schedule.name, tick, result.id)
                    for tick, result in zip(ticks, enqueued, strict=True)
                )
        return fired

    # -- inspection and operations ------------------------------------------------------------
    def stats(self, queues: Sequence[str] | None = None) -> list[QueueStats]:
        names = (
            list(queues)
            if queues is not None
            else [p.name for p in self.queues() if not is_dlq(p.name)]
        )
        for name in names:
            self.policy(name)
        now = self.clock()
        figures = {row[0]: row[1:] for row in self._conn().execute(self._q["stats"], {"now": now})}
        return queue_stats(names, figures, now)

    def get(self, ids: Sequence[int]) -> list[Message]:
        rows = self._conn().execute(self._q["get"], (_json(ids),)).fetchall()
        return [message_from_row(row) for row in rows]

    def peek(self, queue: str, limit: int = 100, after_id: int = 0) -> list[Message]:
        self.policy(queue)
        rows = self._conn().execute(self._q["peek"], (queue, after_id, limit)).fetchall()
        return [message_from_row(row) for row in rows]

    def redrive(
        self,
        queue: str,
        ids: Sequence[int] | None = None,
        error_contains: str | None = None,
    ) -> int:
        dlq = self.policy(queue).dlq.name
        wanted = set(ids) if ids is not None else None
        now = self.clock()
        with self._write() as db:
            chosen = [
                (id_, source, group, run_id, stage)
                for id_, source, group, error, run_id, stage in db.execute(
                    self._q["redrive_candidates"], (dlq,)
                )
                if (wanted is None or id_ in wanted)
                and (error_contains is None or (error is not None and error_contains in error))
            ]
            db.executemany(
                self._q["redrive"], [{"now": now, "id": c[0], "dlq": dlq} for c in chosen]
            )
            runs.redriven(self, db, [(c[3], c[4]) for c in chosen], now)
            groups = {
                (source, group)
                for _, source, group, _, _ in chosen
                if group is not None and self.policy(source).fifo
            }
            db.executemany(self._q["insert_group"], sorted(groups))
        return len(chosen)

    def purge(self, queue: str) -> int:
        self.policy(queue)
        with self._write() as db:
            counted = (
                [] if is_dlq(queue) else db.execute(self._q["purge_runs"], (queue,)).fetchall()
            )
            purged = db.execute(self._q["purge"], (queue,)).rowcount
            runs.purged(self, db, counted, self.clock())
            return purged

    def expire(self) -> int:
        now = self.clock()
        expired = 0
        with self._write() as db:
            for policy in self.queues():
                if policy.max_receives is not None:
                    expired += self._exhaust(
                        db,
                        {"queue": policy.name, "now": now, "kept": ATTEMPTS_KEPT,
                         "max_receives": policy.max_receives, "scan": NEVER},
                        now,
                    )  # fmt: skip
                if policy.retention is None:
                    continue
                rows = db.execute(
                    self._q["expire_candidates"], (policy.name, now - policy.retention, now)
                ).fetchall()
                db.executemany(
                    self._q["dead_letter"],
                    [
                        ("expired", f"retention of {policy.retention:g}s passed",
                         _json(add_attempt(attempts, now, receives, "expired")), now, id_)
                        for id_, attempts, receives, _, _ in rows
                    ],
                )  # fmt: skip
                runs.dead_lettered(self, db, [(r[3], r[4]) for r in rows], now)
                expired += len(rows)
            db.execute(self._q["dedup_gc"], (now,))
            db.execute(self._q["groups_gc"])
        return expired


def _statements(script: str) -> Iterator[str]:
    """Split a SQL script into complete statements."""
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            statement = buffer.strip()
            buffer = ""
            if statement and not all(
                part.strip().startswith("--") or not part.strip() for part in statement.splitlines()
            ):
                yield statement
    if buffer.strip() and not all(
        part.strip().startswith("--") or not part.strip() for part in buffer.splitlines()
    ):
        raise StoreError(f"incomplete SQL statement in migration: {buffer.strip()[:80]}")
