"""The PostgreSQL driver: any number of processes on any machines, one server."""

from __future__ import annotations

import asyncio
import math
import os
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext, suppress
from typing import Any, LiteralString, TypeVar

import psycopg
from psycopg.rows import tuple_row
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool, PoolTimeout

from sluice.errors import StoreUnavailable, WrongConnection
from sluice.store import sql
from sluice.store.base import Clock, Store
from sluice.store.bridge import BridgeCursor, GreenBridge, LoopBridge
from sluice.store.clock import ServerClock
from sluice.store.driver import Pairs, Params, Stored, WouldWait
from sluice.store.green import await_only, on_green, run_green
from sluice.store.loop_connections import LoopConnections
from sluice.store.rows import INSERT_COLUMNS, Row

T = TypeVar("T")
CONNECT_TIMEOUT = 5.0
"""Seconds to wait for a connection before the store is declared unavailable."""
POOL_SIZE = 4
"""Connections for the store's own calls (claims, acks, enqueues: short statements)."""
TX_POOL_SIZE = 32
"""Connections for user transactions (``begin``, ``ctx.transaction``), opened on demand: a pool
of their own, so handlers holding one for a whole call never starve the store's calls."""
VACUUM_DEAD_TUPLES = 50_000
"""Dead message tuples (beyond the live ones) that make housekeeping vacuum the table."""
BINARY = frozenset({"claim_next", "claim_ids", "ack_fenced", "ack_fenced_plain", "reserve_ids"})
"""Queries whose results come back in binary format (cheaper to parse for many rows)."""


_ARRAY_CAST = re.compile(r"%\((\w+)\)s::\w+\[\]")
"""A named parameter the query casts to an array type, such as ``%(ids)s::bigint[]``."""


def array_params(query: str) -> frozenset[str]:
    """The names of the parameters ``query`` casts to an array type."""
    return frozenset(_ARRAY_CAST.findall(query))


def _params(params: Params, arrays: frozenset[str] = frozenset()) -> Params:
    """A :class:`Pairs` parameter ``p`` becomes two array parameters ``p_0`` and ``p_1``; a
    list the query casts to an array (``arrays``) goes as the text of an array literal where
    it can (:func:`array_literal`)."""
    if not isinstance(params, Mapping):
        return params
    if not arrays and not any(isinstance(value, Pairs) for value in params.values()):
        return params
    out: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, Pairs):
            out[f"{key}_0"], out[f"{key}_1"] = list(value.firsts), list(value.seconds)
        else:
            out[key] = value
    for key in arrays:
        value = out.get(key)
        if isinstance(value, list):
            out[key] = array_literal(value)
    return out


def array_literal(values: list[Any]) -> str | list[Any]:
    """``values`` as the text of a PostgreSQL array literal when all are ints, finite floats
    or all strings (each string quoted, so any text is safe), else ``values`` unchanged. The
    text is joined in C, where psycopg dumps a list element by element in Python: 2.5 µs per
    message of an ack's receipts on this machine, against 0.1-0.3 µs."""
    kinds = {type(value) for value in values}
    if kinds <= {int} or (kinds <= {int, float} and all(map(math.isfinite, values))):
        return "{" + ",".join(map(str, values)) + "}"
    if kinds == {str}:
        return "{" + ",".join(map(_quoted, values)) + "}"
    return values


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class PostgresStore(Store):
    """A store in a PostgreSQL database, shared by processes on any number of machines."""

    def __init__(self, url: str, clock: Clock | None = None) -> None:
        self._postgres = PostgresDriver(url)
        # Processes on many machines share this store: unless a clock is injected (tests),
        # every time it computes follows the database's clock, not this machine's.
        super().__init__(self._postgres, clock or ServerClock(self._postgres.server_times))

    @property
    def _listener(self) -> psycopg.Connection[Any] | None:
        return self._postgres._listener


class PostgresDriver:
    """Pooled autocommit connections, array parameters, COPY, LISTEN/NOTIFY."""

    backend = "postgres"
    autocommit = True

    def __init__(self, url: str) -> None:
        from sluice.store import redact

        self.url = redact(url)
        self._dsn = url
        self._q = sql.queries("postgres")
        self._arrays = {name: array_params(query) for name, query in self._q.items()}
        self._pool: ConnectionPool | None = None
        self._tx_pool: ConnectionPool | None = None
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._listener: psycopg.Connection[Any] | None = None
        self._identity: tuple[str, str, int] | None = None
        self._loops: dict[asyncio.AbstractEventLoop, LoopConnections] = {}

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
                self._loops = {}
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

    def _loop_connections(self) -> LoopConnections:
        """This event loop's connections (after dropping those of loops that have ended)."""
        self._get_pool()  # fails fast if the server is down, resets after a fork
        loop = asyncio.get_running_loop()
        found = self._loops.get(loop)  # every store call on the loop asks: no lock once made
        if found is not None:
            return found
        with self._lock:
            found = self._loops.get(loop)
            if found is None:
                for ended in [one for one in self._loops if one.is_closed()]:
                    self._loops.pop(ended).close()
                found = self._loops[loop] = LoopConnections(
                    self._dsn,
                    POOL_SIZE,
                    CONNECT_TIMEOUT,
                    SESSION_SETTINGS,
                    lambda exc: StoreUnavailable(self.url, exc),
                )
            return found

    @contextmanager
    def _green(self, transaction: bool) -> Iterator[BridgeCursor]:
        """As :meth:`_tx` (``transaction``) or :meth:`_auto`, on a connection of the running
        loop, for code run by :func:`run_green`."""
        connections = self._loop_connections()
        conn = await_only(connections.get())
        try:
            bridge = GreenBridge(conn)
            with bridge.transaction() if transaction else nullcontext(), bridge.cursor() as cur:
                yield cur
        except psycopg.OperationalError as exc:
            raise StoreUnavailable(self.url, exc) from exc
        finally:
            connections.put(conn)

    def close(self) -> None:
        with self._lock:
            if self._pid == os.getpid():  # a forked child must not close its parent's sockets
                for pool in (self._pool, self._tx_pool):
                    if pool is not None:
                        pool.close()
                if self._listener is not None:
                    self._listener.close()
                for connections in self._loops.values():
                    connections.close()
            self._pool = self._tx_pool = self._listener = None
            self._loops = {}

    # -- transactions ----------------------------------------------------------------------
    def write(self) -> AbstractContextManager[Any]:
        return self._green(True) if on_green() else self._tx()

    def auto(self) -> AbstractContextManager[Any]:
        return self._green(False) if on_green() else self._auto()

    def read(self) -> AbstractContextManager[Any]:
        return self._green(False) if on_green() else self._auto()

    def nested(self, db: psycopg.Cursor[Any]) -> AbstractContextManager[Any]:
        return db.connection.transaction()

    @contextmanager
    def begin(self) -> Iterator[psycopg.Connection[Any]]:
        try:
            # The user's queries get the server's default settings (no _configure here).
            with self._get_tx_pool().connection() as conn, conn.transaction():
                yield conn
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise StoreUnavailable(self.url, exc) from exc

    def joined(self, tx: Any) -> AbstractContextManager[psycopg.Cursor[Any]]:
        return tx.cursor(row_factory=tuple_row)  # type: ignore[no-any-return]  # the caller's may have a row factory of its own

    def adopt(self, connection: Any) -> Any:
        bridged = isinstance(connection, LoopBridge)
        if bridged and not isinstance(connection.connection, psycopg.AsyncConnection):
            raise WrongConnection(
                f"connection= takes a psycopg AsyncConnection on the PostgreSQL store "
                f"{self.url}, got {type(connection.connection).__name__} (for SQLAlchemy, "
                "the postgresql+psycopg dialect)"
            )
        if not bridged and not isinstance(connection, psycopg.Connection):
            raise WrongConnection(
                f"connection= takes a psycopg Connection on the PostgreSQL store {self.url}, "
                f"got {type(connection).__name__}"
            )
        if connection.closed:
            raise WrongConnection("connection= is closed; pass an open one")
        idle = connection.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        if connection.autocommit and idle:
            raise WrongConnection(
                "connection= is in autocommit mode outside a transaction, so the enqueue "
                "would commit on its own: enqueue inside `with conn.transaction():`"
            )
        theirs = _identity(connection)
        if self._identity is None:
            with self._auto() as cur:
                self._identity = _identity(cur.connection)
        if theirs != self._identity:
            raise WrongConnection(
                f"connection= is to database {theirs[0]!r} on server {theirs[1]}:{theirs[2]}, "
                f"not to this store's {self._identity[0]!r} on {self._identity[1]}:"
                f"{self._identity[2]} ({self.url})"
            )
        return connection

    # -- queries ---------------------------------------------------------------------------
    def rows(self, db: psycopg.Cursor[Any], name: str, params: Params = ()) -> list[Any]:
        params = _params(params, self._arrays[name])
        db.execute(self._q[name], params or None, binary=name in BINARY)
        return db.fetchall() if db.description is not None else []

    def count(self, db: psycopg.Cursor[Any], name: str, params: Params = ()) -> int:
        db.execute(self._q[name], _params(params, self._arrays[name]) or None)
        return db.rowcount

    def many(
        self, db: psycopg.Cursor[Any], name: str, rows: Sequence[Mapping[str, Any]], **shared: Any
    ) -> None:
        """One statement for all rows: each key is passed as the array of its values."""
        if rows:
            columns = {key: [row[key] for row in rows] for key in rows[0]}
            db.execute(self._q[name], _params({**columns, **shared}, self._arrays[name]))

    def json(self, value: Any) -> Jsonb:
        return Jsonb(value)

    # -- messages --------------------------------------------------------------------------
    def unblocked(self, function: Callable[..., T], *args: Any) -> T:
        raise WouldWait  # every call waits on the server's answer

    async def on_loop(self, function: Callable[..., T], *args: Any) -> T:
        return await run_green(function, *args)

    def insert(
        self, db: psycopg.Cursor[Any], rows: Sequence[Row], indexes: Sequence[int], now: float
    ) -> Stored:
        found = db.execute(self._q["reserve_ids"], (len(indexes),), binary=True).fetchone()
        assert found is not None
        ids = sorted(found[0])  # ascending, so FIFO order follows input order
        new = list(indexes)
        lost = self._claim_dedup(db, [(rows[i], ids[k]) for k, i in enumerate(new)], now)
        if lost:
            kept = [
                (i, id_)
                for i, id_ in zip(new, ids, strict=True)
                if rows[i].dedup_id is None or (rows[i].queue, rows[i].dedup_id) not in lost
            ]
            new, ids = [i for i, _ in kept], [id_ for _, id_ in kept]
        with db.copy(self._q["copy_messages"]) as copy:
            for id_, index in zip(ids, new, strict=True):
                copy.write_row((id_, *INSERT_COLUMNS(rows[index])))
        return Stored(new, ids, sorted(lost))

    def _claim_dedup(
        self, db: psycopg.Cursor[Any], pairs: Sequence[tuple[Row, int]], now: float
    ) -> set[tuple[str, str]]:
        """Record the dedup ids of new rows; return those a concurrent producer committed
        first (the upsert waited for it)."""
        keyed = [(row, id_) for row, id_ in pairs if row.dedup_id is not None]
        if not keyed:
            return set()
        # Upsert in key order: producers racing on the same ids wait, never deadlock.
        keyed.sort(key=lambda pair: (pair[0].queue, pair[0].dedup_id or ""))
        params = {
            "queues": [r.queue for r, _ in keyed],
            "dedup_ids": [r.dedup_id for r, _ in keyed],
            "ids": [i for _, i in keyed],
            "expires": [r.dedup_expires_at for r, _ in keyed],
            "now": now,
        }
        won = {(q, d) for q, d in db.execute(self._q["dedup_claim"], params)}
        return {(r.queue, r.dedup_id or "") for r, _ in keyed if (r.queue, r.dedup_id) not in won}

    def lock_groups(self, db: psycopg.Cursor[Any], exclusive: bool) -> None:
        db.execute(self._q["groups_exclusive_lock" if exclusive else "groups_shared_lock"])

    def notify(self, db: psycopg.Cursor[Any], queues: Sequence[str]) -> None:
        db.execute(self._q["notify"], (list(queues),))

    def wait(
        self, queues: Sequence[str], timeout: float, ready: Callable[[Any], bool]
    ) -> list[str]:
        names = set(queues)
        deadline = time.monotonic() + timeout
        try:
            listener = self._listen()
            with self._auto() as cur:
                if ready(cur):
                    return list(queues)
            while (left := deadline - time.monotonic()) > 0:
                for note in listener.notifies(timeout=left, stop_after=1):
                    if note.payload in names:
                        return [note.payload]
            return []
        except psycopg.OperationalError:
            # The listener died (server restart, terminated backend): drop it so the next call
            # listens again, and report possible work so the caller sweeps for what it missed.
            self._drop_listener()
            return list(queues)

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

    def server_times(self, count: int) -> list[tuple[float, float, float]]:
        """``count`` readings of the server's clock, each as (local time sent, server time,
        local time received), on a connection of its own, closed afterwards: a measurement
        never waits for the pool and holds no connection between measurements."""
        samples = []
        try:
            with psycopg.connect(
                self._dsn, autocommit=True, connect_timeout=int(CONNECT_TIMEOUT)
            ) as conn:
                for _ in range(count):
                    sent = time.time()
                    row = conn.execute(self._q["server_time"]).fetchone()
                    samples.append((sent, float(row[0]) if row else sent, time.time()))
        except psycopg.Error as exc:
            raise StoreUnavailable(self.url, exc) from exc
        return samples

    def _drop_listener(self) -> None:
        if self._listener is not None:
            with suppress(psycopg.Error):
                self._listener.close()
            self._listener = None

    # -- schema and upkeep -----------------------------------------------------------------
    def lock_schema(self, db: psycopg.Cursor[Any]) -> None:
        db.execute(self._q["schema_lock"])

    def run_script(self, db: psycopg.Cursor[Any], script: str) -> None:
        db.execute(script.encode())

    def upkeep(self) -> None:
        """Vacuum the message table when dead tuples pile up faster than autovacuum (which
        wakes once a minute) clears them: claims walk the dead index entries until then."""
        with self._auto() as cur:
            row = cur.execute(self._q["dead_tuples"]).fetchone()
            if row is not None and row[0] > VACUUM_DEAD_TUPLES and row[0] > row[1]:
                cur.execute(self._q["vacuum"])


def _identity(conn: psycopg.Connection[Any]) -> tuple[str, str, int]:
    """Which database a connection reaches: its name and the server's address and port."""
    row = (
        conn.cursor(row_factory=tuple_row)
        .execute(
            "SELECT current_database(), coalesce(host(inet_server_addr()), 'local socket'),"
            " coalesce(inet_server_port(), 0)"
        )
        .fetchone()
    )
    assert row is not None
    return (row[0], row[1], row[2])


SESSION_SETTINGS: tuple[LiteralString, ...] = ("SET enable_bitmapscan = off",)
"""Session settings of sluice's own connections. Without statistics (a table just filled,
before autoanalyze) the planner takes a claim for a handful of rows and picks a bitmap scan
plus a sort of every visible message; the ordered index scan is right at any size, so
sluice's sessions do without bitmap scans."""


def _configure(conn: psycopg.Connection[Any]) -> None:
    """:data:`SESSION_SETTINGS` on a pooled connection."""
    for setting in SESSION_SETTINGS:
        conn.execute(setting)
