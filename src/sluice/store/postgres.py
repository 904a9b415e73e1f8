"""The PostgreSQL backend: any number of processes on any machines, one server."""

from __future__ import annotations

import os
import secrets
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from typing import Any

import psycopg
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool, PoolTimeout

from sluice.errors import SchemaMismatch, StoreUnavailable
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
    dlq_name,
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

CONNECT_TIMEOUT = 5.0
"""Seconds to wait for a connection before the store is declared unavailable."""
POOL_SIZE = 4
"""Connections for the store's own calls (claims, acks, enqueues: short statements)."""
TX_POOL_SIZE = 32
"""Connections for user transactions (``begin``, ``ctx.transaction``), opened on demand: a pool
of their own, so handlers holding one for a whole call never starve the store's calls."""
VACUUM_DEAD_TUPLES = 50_000
"""Dead message tuples (beyond the live ones) that make expire() vacuum the table."""
LIMITS_TTL = 1.0
"""Seconds a claimer trusts its knowledge of whether any action limit exists."""


class PostgresStore(Store):
    """A store in a PostgreSQL database, shared by processes on any number of machines."""

    def __init__(self, url: str, clock: Clock | None = None) -> None:
        from sluice.store import redact

        super().__init__(redact(url), clock)
        self._dsn = url
        self._q = sql.queries("postgres")
        self._pool: ConnectionPool | None = None
        self._tx_pool: ConnectionPool | None = None
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._listener: psycopg.Connection[Any] | None = None
        self._has_limits = False
        self._limits_read_at = -LIMITS_TTL

    # -- connections -----------------------------------------------------------------------
    def _get_pool(self) -> ConnectionPool:
        if self._pool is not None and self._pid == os.getpid():
            return self._pool
        with self._lock:
            if self._pool is None or self._pid != os.getpid():
                # After a fork the parent's sockets must not be used: start afresh.
                self._pid = os.getpid()
                self._listener = None
                self._tx_pool = None
                self._pool = self._open_pool()
        return self._pool

    def _get_tx_pool(self) -> ConnectionPool:
        self._get_pool()  # connects once (fails fast if the server is down), resets after a fork
        with self._lock:
            if self._tx_pool is None:
                self._tx_pool = ConnectionPool(
                    self._dsn,
                    min_size=0,
                    max_size=TX_POOL_SIZE,
                    timeout=CONNECT_TIMEOUT,
                    max_idle=60.0,
                    kwargs={"connect_timeout": int(CONNECT_TIMEOUT), "autocommit": True},
                    name="sluice-tx",
                    open=True,
                )
            return self._tx_pool

    def _open_pool(self) -> ConnectionPool:
        # One direct attempt first: a dead server fails fast with its real cause instead of
        # the pool retrying in the background.
        try:
            psycopg.connect(self._dsn, connect_timeout=int(CONNECT_TIMEOUT)).close()
        except psycopg.Error as exc:
            raise StoreUnavailable(self.url, str(exc).strip() or type(exc).__name__) from exc
        pool = ConnectionPool(
            self._dsn,
            min_size=1,
            max_size=POOL_SIZE,
            open=False,
            timeout=CONNECT_TIMEOUT,
            # Autocommit: a single-statement call (the common claim, an ack batch) costs one
            # round trip; multi-statement calls open an explicit transaction in _tx.
            kwargs={"connect_timeout": int(CONNECT_TIMEOUT), "autocommit": True},
            configure=_configure,
            name="sluice",
        )
        try:
            pool.open(wait=True, timeout=CONNECT_TIMEOUT)
        except PoolTimeout as exc:
            pool.close()
            raise StoreUnavailable(self.url, exc) from exc
        return pool

    @contextmanager
    def _tx(self) -> Iterator[psycopg.Cursor[Any]]:
        """One transaction on a pooled connection; connection failures become StoreUnavailable."""
        try:
            with self._get_pool().connection() as conn, conn.transaction(), conn.cursor() as cur:
                yield cur
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise StoreUnavailable(self.url, exc) from exc

    @contextmanager
    def _auto(self) -> Iterator[psycopg.Cursor[Any]]:
        """A pooled connection in autocommit mode, for calls made of one atomic statement."""
        try:
            with self._get_pool().connection() as conn, conn.cursor() as cur:
                yield cur
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise StoreUnavailable(self.url, exc) from exc

    def _limits_exist(self) -> bool:
        """Whether any action limit is set, re-read at most every LIMITS_TTL seconds. Only
        picks the claim path: the fast claim statement skips limited actions by itself."""
        if time.monotonic() - self._limits_read_at > LIMITS_TTL:
            with self._auto() as cur:
                self._has_limits = cur.execute(self._q["any_limit"]).fetchone() is not None
            self._limits_read_at = time.monotonic()
        return self._has_limits

    def close(self) -> None:
        with self._lock:
            if self._pid == os.getpid():  # a forked child must not close its parent's sockets
                for pool in (self._pool, self._tx_pool):
                    if pool is not None:
                        pool.close()
                if self._listener is not None:
                    self._listener.close()
            self._pool = self._tx_pool = self._listener = None

    # -- schema ------------------------------------------------------------------------------
    def migrate(self) -> None:
        latest = sql.latest_version("postgres")
        with self._tx() as cur:
            cur.execute(self._q["schema_lock"])
            cur.execute(self._q["schema_create"])
            row = cur.execute(self._q["schema_version"]).fetchone()
            if row is None:
                cur.execute(self._q["schema_init"])
                version = 0
            else:
                version = row[0]
            if version > latest:
                raise SchemaMismatch(
                    f"store {self.url} has schema version {version}, newer than version "
                    f"{latest} that this sluice knows; upgrade sluice to use it"
                )
            for migration in sql.migrations("postgres")[version:]:
                cur.execute(migration.sql.encode())
            cur.execute(self._q["schema_set"], (latest,))

    def schema_version(self) -> int:
        with self._auto() as cur:
            row = cur.execute(self._q["schema_version"]).fetchone()
        return int(row[0]) if row else 0

    # -- queues and limits -------------------------------------------------------------------
    def _put_policies(self, policies: Sequence[QueuePolicy]) -> None:
        with self._tx() as cur:
            cur.executemany(self._q["put_queue"], [policy_row(p) for p in policies])

    def queues(self) -> list[QueuePolicy]:
        with self._auto() as cur:
            rows = cur.execute(self._q["queues"]).fetchall()
        return [policy_from_row(row) for row in rows]

    def put_limit(self, limit: ActionLimit) -> None:
        self._limits_read_at = -LIMITS_TTL
        with self._auto() as cur:
            if limit.concurrency is None and limit.rate is None:
                cur.execute(self._q["delete_limit"], (limit.action,))
            else:
                cur.execute(
                    self._q["put_limit"],
                    (limit.action, limit.concurrency, limit.rate, limit.burst, limit.burst,
                     self.clock()),
                )  # fmt: skip

    def limits(self) -> list[ActionLimit]:
        with self._auto() as cur:
            rows = cur.execute(self._q["limits"]).fetchall()
        return [ActionLimit(r[0], r[1], r[2], r[3], effective=r[6]) for r in rows]

    def adapt(self, signals: Mapping[str, tuple[int, int]]) -> None:
        if not signals:
            return
        with self._tx() as cur:
            rows = cur.execute(self._q["adapt_read"]).fetchall()
            cur.executemany(
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
        with self._tx() as cur:
            done = self._insert(cur, rows, now)
            if checkpoint is not None:
                runs.save_checkpoint(self, cur, *checkpoint)
            return done

    def _transaction(self) -> AbstractContextManager[psycopg.Cursor[Any]]:
        return self._tx()

    def _reading(self) -> AbstractContextManager[psycopg.Cursor[Any]]:
        return self._auto()

    def _sql(self, db: psycopg.Cursor[Any], name: str, params: Any) -> list[Any]:
        db.execute(self._q[name], params)
        return db.fetchall() if db.description is not None else []

    def _insert(
        self, cur: psycopg.Cursor[Any], rows: Sequence[Row], now: float, inside: bool = False
    ) -> list[Enqueued]:
        if any(row.run_id is not None for row in rows):
            rows = runs.assign_stages(self, cur, rows)
        split = split_dedup(rows)
        existing = self._dedup_lookup(cur, split.keys, now)
        new = split.new_rows(existing)
        if not new:
            return split.results([], [], existing)
        ids = self._reserve_ids(cur, len(new))
        keyed = [(rows[i], ids[k]) for k, i in enumerate(new) if rows[i].dedup_id is not None]
        if keyed:
            # Upsert in key order: producers racing on the same ids wait, never deadlock.
            keyed.sort(key=lambda pair: (pair[0].queue, pair[0].dedup_id or ""))
            won = {
                (q, d)
                for q, d in cur.execute(
                    self._q["dedup_claim"],
                    {
                        "queues": [r.queue for r, _ in keyed],
                        "dedup_ids": [r.dedup_id for r, _ in keyed],
                        "ids": [i for _, i in keyed],
                        "expires": [r.dedup_expires_at for r, _ in keyed],
                        "now": now,
                    },
                )
            }
            lost = [(r.queue, r.dedup_id) for r, _ in keyed if (r.queue, r.dedup_id) not in won]
            if lost:
                # A concurrent producer committed the same dedup id first (the upsert waited
                # for it): its message stands, and ours is not inserted.
                existing.update(self._dedup_lookup(cur, lost, now))  # type: ignore[arg-type]
                kept = [
                    (i, id_)
                    for i, id_ in zip(new, ids, strict=True)
                    if rows[i].dedup_id is None or (rows[i].queue, rows[i].dedup_id) in won
                ]
                new, ids = [i for i, _ in kept], [id_ for _, id_ in kept]  # fmt: skip
        with cur.copy(self._q["copy_messages"]) as copy:
            for id_, index in zip(ids, new, strict=True):
                copy.write_row((id_, *rows[index].columns()))
        groups = self.fifo_groups(rows, new)
        if groups:
            cur.execute(self._q["groups_shared_lock"])
            cur.execute(self._q["insert_groups"], ([q for q, _ in groups], [g for _, g in groups]))
        cur.execute(self._q["notify"], (sorted({rows[i].queue for i in new}),))
        runs.count_new(self, cur, (rows[i] for i in new if rows[i].run_id is not None), now, inside)
        return split.results(new, ids, existing)

    def _reserve_ids(self, cur: psycopg.Cursor[Any], n: int) -> list[int]:
        """``n`` new message ids, ascending (so FIFO order follows input order)."""
        row = cur.execute(self._q["reserve_ids"], (n,), binary=True).fetchone()
        assert row is not None
        return sorted(row[0])

    def _dedup_lookup(
        self, cur: psycopg.Cursor[Any], keys: Sequence[tuple[str, str]], now: float
    ) -> dict[tuple[str, str], int]:
        if not keys:
            return {}
        found = cur.execute(
            self._q["dedup_lookup"],
            {"queues": [q for q, _ in keys], "dedup_ids": [d for _, d in keys], "now": now},
        )
        return {(q, d): m for q, d, m in found}

    # -- claim -------------------------------------------------------------------------------
    def claim(self, queues: Sequence[str], n: int, lease: float | None = None) -> list[Message]:
        if n <= 0 or not queues:
            return []
        policies = [self.policy(q) for q in queues]
        now = self.clock()
        if not self._limits_exist() and not any(p.fifo for p in policies):
            with self._auto() as cur:
                return self._claim_each(cur, policies, n, now, lease, None)
        with self._tx() as cur:
            budget = self._budgets(cur, now)
            claimed = self._claim_each(cur, policies, n, now, lease, budget)
            if budget is not None and budget.tokens:
                cur.execute(
                    self._q["save_tokens"],
                    {
                        "actions": list(budget.tokens),
                        "tokens": list(budget.tokens.values()),
                        "now": now,
                    },
                )
        return claimed

    def _claim_each(
        self,
        cur: psycopg.Cursor[Any],
        policies: Sequence[QueuePolicy],
        n: int,
        now: float,
        lease: float | None,
        budget: Budgets | None,
    ) -> list[Message]:
        """Claim from each queue in turn until ``n`` messages are claimed. The messages of one
        claim share a fresh random lease token: a receipt is (message id, token), so it is
        still unique, and one token per statement spares a random draw per row."""
        claimed: list[Message] = []
        token = secrets.token_hex(16)
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
                "token": token,
            }
            if budget is None and not policy.fifo:
                rows = cur.execute(self._q["claim_next"], params, binary=True).fetchall()
            else:
                rows = self._claim_picked(cur, policy, params, budget)
            rows.sort(key=lambda row: row[0])
            claimed.extend(message_from_row(row, claimed=True) for row in rows)
            if len(rows) < want and policy.max_receives is not None:
                self._exhaust(cur, {**params, "scan": CLAIM_SCAN}, now)
        return claimed

    def _exhaust(self, cur: psycopg.Cursor[Any], params: dict[str, Any], now: float) -> int:
        """Dead-letter visible messages out of receives and count them in their runs, in one
        transaction (a savepoint when one is open already)."""
        with cur.connection.transaction():
            dead = cur.execute(self._q["dead_letter_exhausted"], params).fetchall()
            runs.dead_lettered(self, cur, dead, now)
        return len(dead)

    def _claim_picked(
        self,
        cur: psycopg.Cursor[Any],
        policy: QueuePolicy,
        params: dict[str, Any],
        budget: Budgets | None,
    ) -> list[Any]:
        """Claim by choosing candidates first: FIFO heads, or within global limits."""
        query = "claim_candidates_fifo" if policy.fifo else "claim_candidates"
        want = params["n"]
        blocked = budget.blocked if budget is not None else []
        fetch = want if budget is None else want * 2 + 8
        candidates = cur.execute(
            self._q[query], {**params, "scan": fetch + CLAIM_SCAN, "blocked": blocked, "n": fetch}
        ).fetchall()
        ids = (
            [c[0] for c in candidates[:want]] if budget is None else pick(candidates, want, budget)
        )
        if not ids:
            return []
        return cur.execute(self._q["claim_ids"], {**params, "ids": ids}, binary=True).fetchall()

    def _budgets(self, cur: psycopg.Cursor[Any], now: float) -> Budgets | None:
        rows = cur.execute(self._q["limits"]).fetchall()
        if not rows:
            return None
        # Lock the limit rows so concurrent claimers spend the same slots and tokens in turn.
        rows = cur.execute(self._q["limits_locked"]).fetchall()
        limited = [r[0] for r in rows if r[1] is not None]
        in_flight = dict(cur.execute(self._q["in_flight_by_action"], (now, limited)).fetchall())
        return budgets(
            ((ActionLimit(r[0], r[1], r[2], r[3], r[6]), r[4], r[5]) for r in rows), in_flight, now
        )

    # -- complete, extend, release ------------------------------------------------------------
    @contextmanager
    def begin(self) -> Iterator[psycopg.Connection[Any]]:
        try:
            # The user's queries get the server's default settings (no _configure here).
            with self._get_tx_pool().connection() as conn, conn.transaction():
                yield conn
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise StoreUnavailable(self.url, exc) from exc

    def once_seen(self, keys: Sequence[str]) -> set[str]:
        with self._auto() as cur:
            return {row[0] for row in cur.execute(self._q["once_seen"], (list(keys),))}

    def complete(self, outcomes: Sequence[Outcome], tx: Any = None) -> list[Receipt]:
        if not outcomes:
            return []
        now = self.clock()
        children = [self.prepare(o.children, now) if o.children else [] for o in outcomes]
        acks = [o for o in outcomes if o.kind == "ack"]
        others = [o for o in outcomes if o.kind != "ack"]
        stale: list[Receipt] = []
        if tx is None and not others and not any(o.children or o.once for o in acks):
            # One autocommit statement acks plain messages; those of runs (their counters must
            # move in the same transaction) and stale receipts are left for the general path.
            with self._auto() as cur:
                deleted_plain = {
                    row[0]
                    for row in cur.execute(
                        self._q["ack_fenced_plain"],
                        ([o.receipt.message_id for o in acks], [o.receipt.token for o in acks]),
                        binary=True,
                    )
                }
            rest = []
            for outcome in acks:
                if outcome.receipt.message_id in deleted_plain:
                    deleted_plain.discard(outcome.receipt.message_id)
                else:  # a message of a run, or stale (a second outcome for one message is)
                    rest.append(outcome)
            outcomes = acks = rest
            if not outcomes:
                return stale
            children = [[] for _ in outcomes]
        if tx is not None:
            context: AbstractContextManager[psycopg.Cursor[Any]] = tx.cursor()
        else:
            context = self._tx()
        with context as cur:
            spawned: list[Row] = []
            once: list[tuple[str, int]] = []
            tallies = runs.Tallies()
            if acks:
                deleted = {
                    row[0]: row[1:]
                    for row in cur.execute(
                        self._q["ack_fenced"],
                        ([o.receipt.message_id for o in acks], [o.receipt.token for o in acks]),
                        binary=True,
                    )
                }
                for index, outcome in enumerate(outcomes):
                    if outcome.kind != "ack":
                        continue
                    run = deleted.pop(outcome.receipt.message_id, None)
                    if run is not None:
                        tallies.add(*run, succeeded=1)
                        spawned.extend(runs.inherit(children[index], *run))
                        once.extend((key, outcome.receipt.message_id) for key in outcome.once)
                    else:
                        stale.append(outcome.receipt)
                if once:
                    cur.execute(
                        self._q["once_record"],
                        ([k for k, _ in once], [m for _, m in once], [now] * len(once)),
                    )
            if others:
                ids = [o.receipt.message_id for o in others]
                found = cur.execute(self._q["outcome_rows"], (ids,)).fetchall()
                rows = {r[0]: r[1:5] for r in found}
                plan = plan_outcomes(others, rows, self.policy, now)
                run_of = {r[0]: r[5:] for r in found}
                for id_, *_ in plan.retries:
                    tallies.add(*run_of[id_], failed=1)
                for id_, *_ in plan.dead:
                    tallies.add(*run_of[id_], dead=1)
                if plan.retries:
                    ids_, at, errors, history = zip(*plan.retries, strict=True)
                    cur.execute(
                        self._q["retry"],
                        {"ids": list(ids_), "at": list(at), "errors": list(errors),
                         "attempts": [Jsonb(h) for h in history]},
                    )  # fmt: skip
                if plan.dead:
                    self._dead_letter(cur, plan.dead, now)
                stale.extend(plan.stale)
            if spawned:  # before the parents' counts, so a stage cannot finish under them
                self._insert(cur, spawned, now, inside=True)
            if tallies:
                runs.apply(self, cur, tallies, now)
        return stale

    def _dead_letter(
        self, cur: psycopg.Cursor[Any], dead: Sequence[tuple[int, str, str, Any]], now: float
    ) -> None:
        ids, reasons, errors, history = zip(*dead, strict=True)
        cur.execute(
            self._q["dead_letter"],
            {"ids": list(ids), "reasons": list(reasons), "errors": list(errors),
             "attempts": [Jsonb(h) for h in history], "now": now},
        )  # fmt: skip

    def extend(self, receipts: Sequence[Receipt], lease: float) -> list[Receipt]:
        return self._fenced("extend", receipts, self.clock() + lease)

    def release(self, receipts: Sequence[Receipt]) -> list[Receipt]:
        return self._fenced("release", receipts, self.clock(), notify=True)

    def _fenced(
        self, query: str, receipts: Sequence[Receipt], visible_at: float, notify: bool = False
    ) -> list[Receipt]:
        if not receipts:
            return []
        with self._tx() if notify else self._auto() as cur:
            rows = cur.execute(
                self._q[query],
                (visible_at, [r.message_id for r in receipts], [r.token for r in receipts]),
            ).fetchall()
            if notify and rows:
                cur.execute(self._q["notify"], (sorted({row[1] for row in rows}),))
        fresh = {row[0] for row in rows}
        stale = []
        for receipt in receipts:
            if receipt.message_id in fresh:
                fresh.discard(receipt.message_id)
            else:
                stale.append(receipt)
        return stale

    def wait_for_work(self, queues: Sequence[str], timeout: float) -> bool:
        names = set(queues)
        deadline = time.monotonic() + timeout
        try:
            listener = self._listen()
            with self._auto() as cur:
                if cur.execute(self._q["has_visible"], (list(names), self.clock())).fetchone():
                    return True
            while (left := deadline - time.monotonic()) > 0:
                for note in listener.notifies(timeout=left, stop_after=1):
                    if note.payload in names:
                        return True
            return False
        except psycopg.OperationalError:
            # The listener died (server restart, terminated backend): drop it so the next call
            # listens again, and report possible work so the caller sweeps for what it missed.
            self._drop_listener()
            return True

    def _listen(self) -> psycopg.Connection[Any]:
        if self._listener is None or self._listener.closed or self._pid != os.getpid():
            self._get_pool()
            try:
                conn = psycopg.connect(
                    self._dsn, autocommit=True, connect_timeout=int(CONNECT_TIMEOUT)
                )
            except psycopg.OperationalError as exc:
                raise StoreUnavailable(self.url, exc) from exc
            conn.execute(self._q["listen"])
            self._listener = conn
        return self._listener

    def _drop_listener(self) -> None:
        if self._listener is not None:
            with suppress(psycopg.Error):
                self._listener.close()
            self._listener = None

    # -- schedules ---------------------------------------------------------------------------
    def _put_schedule(self, schedule: Schedule, next_at: float) -> None:
        with self._auto() as cur:
            cur.execute(self._q["put_schedule"], schedule_row(schedule, next_at))

    def schedules(self) -> list[StoredSchedule]:
        with self._auto() as cur:
            rows = cur.execute(self._q["schedules"]).fetchall()
        return [schedule_from_row(row) for row in rows]

    def delete_schedule(self, name: str) -> bool:
        with self._auto() as cur:
            return cur.execute(self._q["delete_schedule"], (name,)).rowcount > 0

    def fire_due(self, plan: Plan, now: float | None = None) -> list[Fired]:
        now = self.clock() if now is None else now
        with self._auto() as cur:
            due = [schedule_from_row(r) for r in cur.execute(self._q["schedules_due"], (now,))]
        if not due:
            return []
        # Planned before the transaction: croniter is slow next to the lock it would hold.
        planned = [(s, at, *plan(s, at, now)) for s, at, _ in due]
        fired: list[Fired] = []
        with self._tx() as cur:
            # By name, as every scheduler goes: racing transactions wait on each other's row
            # locks in one order, never deadlock. A waiter's update then sees the new next_at
            # and changes nothing.
            for schedule, next_at, ticks, new_next_at in planned:
                cur.execute(
                    self._q["schedule_advance"],
                    (new_next_at, ticks[-1] if ticks else None, schedule.name, next_at),
                )
                if cur.rowcount != 1 or not ticks:
                    continue  # another scheduler fired it (or nothing fell due)
                rows = self.prepare(tick_messages(schedule, ticks), now)
                enqueued = self._insert(cur, rows, now)
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
        wanted = names + [dlq_name(n) for n in names if not is_dlq(n)]
        with self._auto() as cur:
            rows = cur.execute(self._q["stats"], {"now": now, "queues": wanted}).fetchall()
        return queue_stats(names, {row[0]: row[1:] for row in rows}, now)

    def get(self, ids: Sequence[int]) -> list[Message]:
        with self._auto() as cur:
            rows = cur.execute(self._q["get"], (list(ids),)).fetchall()
        return [message_from_row(row) for row in rows]

    def peek(self, queue: str, limit: int = 100, after_id: int = 0) -> list[Message]:
        self.policy(queue)
        with self._auto() as cur:
            rows = cur.execute(self._q["peek"], (queue, after_id, limit)).fetchall()
        return [message_from_row(row) for row in rows]

    def redrive(
        self,
        queue: str,
        ids: Sequence[int] | None = None,
        error_contains: str | None = None,
    ) -> int:
        dlq = self.policy(queue).dlq.name
        now = self.clock()
        wanted = {"dlq": dlq, "ids": None if ids is None else list(ids), "contains": error_contains}
        with self._tx() as cur:
            chosen = cur.execute(self._q["redrive_candidates"], wanted).fetchall()
            if not chosen:
                return 0
            cur.execute(self._q["redrive"], {"now": now, "ids": [c[0] for c in chosen], "dlq": dlq})
            runs.redriven(self, cur, [(c[3], c[4]) for c in chosen], now)
            groups = sorted(
                {(s, g) for _, s, g, _, _ in chosen if g is not None and self.policy(s).fifo}
            )
            if groups:
                cur.execute(self._q["groups_shared_lock"])
                cur.execute(
                    self._q["insert_groups"], ([s for s, _ in groups], [g for _, g in groups])
                )
            cur.execute(self._q["notify"], (sorted({c[1] for c in chosen}),))
        return len(chosen)

    def purge(self, queue: str) -> int:
        self.policy(queue)
        if is_dlq(queue):
            with self._auto() as cur:
                return cur.execute(self._q["purge"], (queue,)).rowcount
        with self._tx() as cur:
            counted = cur.execute(self._q["purge_counted"], (queue,)).fetchall()
            runs.purged(self, cur, [c for c in counted if c[0] is not None], self.clock())
            return sum(int(c[2]) for c in counted)

    def expire(self) -> int:
        now = self.clock()
        expired = 0
        policies = self.queues()
        with self._tx() as cur:
            for policy in policies:
                if policy.max_receives is not None:
                    expired += self._exhaust(
                        cur,
                        {"queue": policy.name, "now": now, "kept": ATTEMPTS_KEPT,
                         "max_receives": policy.max_receives, "scan": NEVER},
                        now,
                    )  # fmt: skip
                if policy.retention is None:
                    continue
                rows = cur.execute(
                    self._q["expire_candidates"], (policy.name, now - policy.retention, now)
                ).fetchall()
                if rows:
                    reason = f"retention of {policy.retention:g}s passed"
                    self._dead_letter(
                        cur,
                        [(id_, "expired", reason, add_attempt(attempts, now, receives, "expired"))
                         for id_, attempts, receives, _, _ in rows],
                        now,
                    )  # fmt: skip
                    runs.dead_lettered(self, cur, [(r[3], r[4]) for r in rows], now)
                expired += len(rows)
            cur.execute(self._q["dedup_gc"], (now,))
            cur.execute(self._q["groups_exclusive_lock"])
            cur.execute(self._q["groups_gc"])
        self._vacuum_if_bloated()
        return expired

    def _vacuum_if_bloated(self) -> None:
        """Vacuum the message table when dead tuples pile up faster than autovacuum (which
        wakes once a minute) clears them: claims walk the dead index entries until then."""
        with self._auto() as cur:
            row = cur.execute(self._q["dead_tuples"]).fetchone()
            if row is not None and row[0] > VACUUM_DEAD_TUPLES and row[0] > row[1]:
                cur.execute(self._q["vacuum"])


def _configure(conn: psycopg.Connection[Any]) -> None:
    """Session settings of sluice's pooled connections. Without statistics (a table just
    filled, before autoanalyze) the planner takes a claim for a handful of rows and picks a
    bitmap scan plus a sort of every visible message; the ordered index scan is right at any
    size, so sluice's sessions do without bitmap scans."""
    conn.execute("SET enable_bitmapscan = off")
