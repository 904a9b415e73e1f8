"""The SQLite driver: one file, WAL mode, any number of processes, writes under BEGIN IMMEDIATE."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from contextvars import ContextVar
from typing import Any, TypeVar

from sluice import codec
from sluice.errors import StoreError, StoreUnavailable, WrongConnection
from sluice.store import sql
from sluice.store.base import Clock, Store
from sluice.store.bridge import LoopBridge
from sluice.store.driver import Pairs, Params, Stored, WouldWait
from sluice.store.rows import INSERT_COLUMNS, Row
from sluice.store.sqlite_lock import writer_queue
from sluice.store.sqlite_wake import Wakeups

BUSY_TIMEOUT = 30.0
"""Seconds SQLite waits for the write lock before we retry."""
LOCK_DEADLINE = 300.0
"""Seconds of retrying a write lock before giving up with StoreError."""
POLL = 0.02
"""Seconds between checks of the file's data_version while waiting for work."""
T = TypeVar("T")
_FIRST_WRITE_NOW: ContextVar[bool] = ContextVar("sluice_sqlite_first_write_now", default=False)
"""Set by ``unblocked``: the context's next write transaction starts only if it need not wait."""


def _busy(exc: sqlite3.OperationalError) -> bool:
    """Whether SQLite refused because another connection holds the lock."""
    return "locked" in str(exc) or "busy" in str(exc)


def sqlite_path(url: str) -> str:
    """The file path of a ``sqlite:///path`` URL (``sqlite:////abs`` is absolute)."""
    prefix = "sqlite:///"
    if not url.startswith(prefix):
        raise StoreError(f"not a SQLite URL: {url!r} (expected sqlite:///path/to/file.db)")
    path = url[len(prefix) :].split("?", 1)[0]
    if not path:
        raise StoreError(f"SQLite URL {url!r} names no file")
    return path


_ENCODED = (list, tuple, Pairs)


def _param(value: Any) -> Any:
    """Lists (and pairs of lists) go to SQLite as JSON arrays, read there with json_each."""
    if isinstance(value, Pairs):
        return codec.dumps(list(zip(value.firsts, value.seconds, strict=True))).decode()
    if isinstance(value, list | tuple):
        return codec.dumps(value).decode()
    return value


def _params(params: Params) -> Params:
    if isinstance(params, Mapping):
        if not any(type(value) in _ENCODED for value in params.values()):
            return params
        return {key: _param(value) for key, value in params.items()}
    return [_param(value) for value in params]


def _configure(conn: sqlite3.Connection) -> None:
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        # NORMAL is crash-safe for the application in WAL mode; only a power loss may
        # roll back the last transactions (never corrupt the file).
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT * 1000)}")
    except sqlite3.Error:
        conn.close()
        raise


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
        self._sqlite = SqliteDriver(url)
        super().__init__(self._sqlite, clock)
        self.path = self._sqlite.path


class SqliteDriver:
    """Connections per thread, serialized write transactions, executemany batches."""

    autocommit = False  # every write takes the file's write lock: no fast paths to skip it
    backend = "sqlite"

    def __init__(self, url: str) -> None:
        self.url = url
        self.path = sqlite_path(url)
        self._q = sql.queries("sqlite")
        self._local = threading.local()
        self._connections: set[sqlite3.Connection] = set()
        self._lock = threading.RLock()
        self._pid = os.getpid()
        self._writers = writer_queue(self.path)
        self._wakeups = Wakeups(self.path)

    # -- connections -----------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        deadline = time.monotonic() + BUSY_TIMEOUT
        while True:
            try:
                conn = sqlite3.connect(
                    self.path, isolation_level=None, timeout=BUSY_TIMEOUT, check_same_thread=False
                )
                _configure(conn)
                break
            except sqlite3.OperationalError as exc:
                # SQLite answers "locked" to the journal_mode pragma without calling the busy
                # handler while another connection opens or checkpoints the WAL: retry it.
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise StoreUnavailable(self.url, exc) from exc
                time.sleep(POLL)
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
            self._writers = writer_queue(self.path)
            self._wakeups = Wakeups(self.path)  # the parent's sockets are the parent's
        held: _Held | None = getattr(self._local, slot, None)
        if held is None:
            held = _Held(self._connect())
            # The thread's locals die with the thread (a server's pool retires idle threads):
            # its connection is closed then, not kept open until close().
            weakref.finalize(held, _close, held.conn, self._connections, self._lock)
            setattr(self._local, slot, held)
        return held.conn

    def unblocked(self, function: Callable[..., T], *args: Any) -> T:
        token = _FIRST_WRITE_NOW.set(True)
        try:
            return function(*args)
        finally:
            _FIRST_WRITE_NOW.reset(token)

    async def on_loop(self, function: Callable[..., T], *args: Any) -> T:
        return self.unblocked(function, *args)

    @contextmanager
    def _write(self, conn: sqlite3.Connection | None = None) -> Iterator[sqlite3.Connection]:
        """One write transaction, waiting (never failing) while another process writes; the
        first of an :meth:`unblocked` call raises ``WouldWait`` instead of waiting."""
        conn = conn or self._conn()
        wait = not _FIRST_WRITE_NOW.get()
        if not wait:
            _FIRST_WRITE_NOW.set(False)
        with self._writers.turn(wait):
            if wait:
                self._begin(conn)
            else:
                self._begin_now(conn)
            self._wakeups.begin(conn)
            committed = False
            try:
                yield conn
                conn.execute("COMMIT")
                committed = True
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            finally:
                self._wakeups.ended(conn, committed)

    def _begin(self, conn: sqlite3.Connection) -> None:
        deadline = time.monotonic() + LOCK_DEADLINE
        while True:
            try:
                conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if not _busy(exc):
                    raise StoreUnavailable(self.url, exc) from exc
                if time.monotonic() > deadline:
                    raise StoreError(
                        f"store {self.url} stayed locked for {LOCK_DEADLINE}s"
                    ) from exc

    def _begin_now(self, conn: sqlite3.Connection) -> None:
        conn.execute("PRAGMA busy_timeout=0")
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if not _busy(exc):
                raise StoreUnavailable(self.url, exc) from exc
            raise WouldWait from None  # a writer outside the turns (the sqlite3 shell, say)
        finally:
            conn.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT * 1000)}")

    def close(self) -> None:
        with self._lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
        self._writers.close()
        self._wakeups.close()
        self._local = threading.local()

    # -- transactions ----------------------------------------------------------------------
    def write(self) -> AbstractContextManager[sqlite3.Connection]:
        return self._write()

    def auto(self) -> AbstractContextManager[sqlite3.Connection]:
        return self._write()

    def read(self) -> AbstractContextManager[sqlite3.Connection]:
        return nullcontext(self._conn())

    def nested(self, db: sqlite3.Connection) -> AbstractContextManager[None]:
        return nullcontext()  # every write runs inside a transaction already

    def begin(self) -> AbstractContextManager[sqlite3.Connection]:
        # A connection of its own, so the thread's usual one stays free for reads.
        return self._write(self._conn("tx"))

    def joined(self, tx: sqlite3.Connection) -> AbstractContextManager[sqlite3.Connection]:
        return nullcontext(tx)

    def adopt(self, connection: Any) -> sqlite3.Connection:
        if isinstance(connection, LoopBridge):
            raise WrongConnection(
                f"connection= got an async {type(connection.connection).__name__}, but on the "
                f"SQLite store {self.url} enqueue joins only a sqlite3.Connection to its file: "
                "call the sync app.enqueue(..., connection=conn) (in a thread from async code)"
            )
        if not isinstance(connection, sqlite3.Connection):
            raise WrongConnection(
                f"connection= takes a sqlite3.Connection on the SQLite store {self.url}, "
                f"got {type(connection).__name__}"
            )
        try:
            files = connection.execute("PRAGMA database_list").fetchall()
        except sqlite3.ProgrammingError as exc:
            raise WrongConnection(f"connection= is closed ({exc}); pass an open one") from exc
        if connection.isolation_level is None and not connection.in_transaction:
            raise WrongConnection(
                "connection= is in autocommit mode outside a transaction, so the enqueue "
                'would commit on its own: run conn.execute("BEGIN") first'
            )
        main = next((row[2] for row in files if row[1] == "main"), "")
        if not main or os.path.realpath(main) != os.path.realpath(self.path):
            raise WrongConnection(
                f"connection= is to {main or 'an in-memory database'}, not to this store's "
                f"file {self.path}: open it with sqlite3.connect({self.path!r})"
            )
        return connection

    # -- queries ---------------------------------------------------------------------------
    def rows(self, db: sqlite3.Connection, name: str, params: Params = ()) -> list[Any]:
        return db.execute(self._q[name], _params(params)).fetchall()

    def count(self, db: sqlite3.Connection, name: str, params: Params = ()) -> int:
        return db.execute(self._q[name], _params(params)).rowcount

    def many(
        self, db: sqlite3.Connection, name: str, rows: Sequence[Mapping[str, Any]], **shared: Any
    ) -> None:
        if rows:
            db.executemany(self._q[name], [{**row, **shared} for row in rows])

    def json(self, value: Any) -> str:
        return codec.dumps(value).decode()

    # -- messages --------------------------------------------------------------------------
    def insert(
        self, db: sqlite3.Connection, rows: Sequence[Row], indexes: Sequence[int], now: float
    ) -> Stored:
        query = self._q["insert_message"]
        chosen = rows if len(indexes) == len(rows) else [rows[i] for i in indexes]
        db.executemany(query, map(INSERT_COLUMNS, chosen))
        # AUTOINCREMENT ids are consecutive inside one write transaction.
        last = db.execute(self._q["last_id"]).fetchone()[0]
        ids = list(range(last - len(indexes) + 1, last + 1))
        keyed = [
            (rows[i].queue, rows[i].dedup_id, id_, rows[i].dedup_expires_at)
            for i, id_ in zip(indexes, ids, strict=True)
            if rows[i].dedup_id is not None
        ]
        if keyed:  # under the write lock: no other writer can have taken these ids since
            db.executemany(self._q["dedup_upsert"], keyed)
        return Stored(list(indexes), ids, [])

    def lock_groups(self, db: sqlite3.Connection, exclusive: bool) -> None:
        pass  # writes are serialized already

    def notify(self, db: sqlite3.Connection, queues: Sequence[str]) -> None:
        self._wakeups.note(db, queues)

    def wait(
        self, queues: Sequence[str], timeout: float, ready: Callable[[Any], bool]
    ) -> list[str]:
        conn = self._conn("watch")
        names = set(queues)
        deadline = time.monotonic() + timeout
        woken: set[str] = set()  # named by the last wake-up (empty: found by polling)
        while True:
            # Read before the check: a commit after it changes the version.
            version = conn.execute("PRAGMA data_version").fetchone()[0]
            if ready(conn):
                return [q for q in queues if q in woken] if woken else list(queues)
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    return []
                woken = self._wakeups.wait(min(POLL, left), names)
                if woken:
                    break
                if conn.execute("PRAGMA data_version").fetchone()[0] != version:
                    break

    # -- schema and upkeep -----------------------------------------------------------------
    def lock_schema(self, db: sqlite3.Connection) -> None:
        pass  # BEGIN IMMEDIATE holds the write lock already

    def run_script(self, db: sqlite3.Connection, script: str) -> None:
        for statement in _statements(script):
            db.execute(statement)

    def upkeep(self) -> None:
        pass  # deleted pages are reused; nothing piles up


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
