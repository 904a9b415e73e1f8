"""Store benchmark: sluice's store against a raw-SQL baseline, on SQLite and PostgreSQL.

Run by hand (``make bench`` runs ``--backend both``)::

    python bench/store.py [--backend sqlite|postgres|both] [--messages 100000]
                          [--backlog 10000000] [--churn 1000000] [--quick]

Every figure is a rate in messages per second, printed next to a baseline measured in the same run
(raw SQL doing the same work on a bare table, or the same queue when fresh) and the ratio of the
two, because the machine is shared and absolute figures drift from run to run. Each phase gets a
fresh SQLite file in a temp dir or a freshly created PostgreSQL database ``sluice_bench``; the test
database is never touched. Results are printed and written to ``docs/benchmarks.md`` (the section
of this backend and label is replaced; everything else in the file is kept).

Phases (per backend):

1. **enqueue**: ``--messages`` small messages via ``store.enqueue`` in chunks of 1,000, against the
   raw baseline inserting the same rows into a bare table, one transaction per chunk.
2. **claim+complete**: draining them with ``store.claim(..., 100)`` + ``store.complete(acks)``,
   against a bare ``DELETE ... RETURNING`` claim loop; from one process and from two (spawned).
3. **churn**: sluice's claim rate on a fresh queue, then after ``--churn`` messages have passed
   through the queue (PostgreSQL: no manual VACUUM; dead tuples are reported).
4. **backlog**: sluice's claim rate on a fresh queue, then with ``--backlog`` visible messages
   waiting in the same queue (bulk-inserted with one SQL statement per million rows).
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import datetime as dt
import io
import multiprocessing as mp
import os
import platform
import pstats
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from types import FrameType
from typing import Any

import orjson

from sluice.model import NewMessage, Outcome, QueuePolicy
from sluice.store import Store, open_store, sql
from sluice.store.sqlite import sqlite_path

QUEUE = "bench"
RAW_TABLE = "raw_messages"
CHUNK = 1_000
"""Messages per enqueue call / raw insert transaction."""
BATCH = 100
"""Messages per claim."""
CLAIM_BATCHES = 200
"""Batches per claim-rate sample in the churn and backlog phases."""
FILL_CHUNK = 1_000_000
"""Rows per statement when bulk-filling a backlog."""
PAYLOAD = "x" * 40
LEASE = 600.0
"""Visibility timeout of the bench queues: long, so no lease expires during a measurement."""
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"
BENCH_DB = "sluice_bench"
DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


class PhaseTimeout(Exception):
    """A phase ran past --timeout."""


def body(i: int) -> dict[str, Any]:
    return {"i": i, "payload": PAYLOAD}


def bodies(start: int, count: int) -> list[dict[str, Any]]:
    return [body(i) for i in range(start, start + count)]


def chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def check(deadline: float) -> None:
    if time.monotonic() > deadline:
        raise PhaseTimeout("deadline passed inside a measurement loop")


# -- the two loops measured for sluice ----------------------------------------------------------
def sluice_enqueue(store: Store, queue: str, items: Sequence[dict[str, Any]]) -> None:
    for chunk in chunks(items, CHUNK):
        store.enqueue([NewMessage(queue, b, action="bench") for b in chunk])


def sluice_drain(store: Store, queue: str, deadline: float, limit: int | None = None) -> int:
    """Claim and ack batches until the queue is empty (or ``limit`` messages); return how many."""
    done = 0
    while limit is None or done < limit:
        check(deadline)
        want = BATCH if limit is None else min(BATCH, limit - done)
        messages = store.claim([queue], want)
        if not messages:
            break
        for m in messages:  # decode already happened in claim; touch it like a handler would
            _ = m.body["i"]
        stale = store.complete([Outcome.ack(m.receipt) for m in messages if m.receipt])
        if stale:
            raise RuntimeError(f"{len(stale)} receipts were stale in a single-consumer drain")
        done += len(messages)
    return done


# -- raw SQL baselines --------------------------------------------------------------------------
class Raw(ABC):
    """A bare queue table driven by hand-written SQL: the baseline."""

    method = ""

    @abstractmethod
    def setup(self) -> None:
        """Create the bare table (empty)."""

    @abstractmethod
    def insert(self, items: Sequence[dict[str, Any]], now: float) -> None:
        """Insert one chunk in one transaction."""

    @abstractmethod
    def claim_delete(self, n: int, now: float) -> list[tuple[int, Any]]:
        """Delete and return (id, decoded body) of up to ``n`` visible rows, oldest first."""

    @abstractmethod
    def close(self) -> None: ...

    def enqueue(self, items: Sequence[dict[str, Any]]) -> None:
        for chunk in chunks(items, CHUNK):
            self.insert(chunk, time.time())

    def drain(self, deadline: float) -> int:
        done = 0
        while True:
            check(deadline)
            rows = self.claim_delete(BATCH, time.time())
            if not rows:
                return done
            for _id, decoded in rows:
                _ = decoded["i"]
            done += len(rows)


def sqlite_connect(path: str) -> sqlite3.Connection:
    """A connection with the settings SqliteStore uses (WAL, synchronous=NORMAL, 30 s busy)."""
    conn = sqlite3.connect(path, isolation_level=None, timeout=30.0, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


class RawSqlite(Raw):
    """executemany of one INSERT per chunk in a BEGIN IMMEDIATE transaction, bodies encoded by
    orjson; claim = one ``DELETE ... RETURNING`` per batch in a BEGIN IMMEDIATE transaction."""

    method = "executemany, 1 txn per chunk"

    def __init__(self, path: str) -> None:
        self.conn = sqlite_connect(path)

    def setup(self) -> None:
        self.conn.executescript(
            f"""
            DROP TABLE IF EXISTS {RAW_TABLE};
            CREATE TABLE {RAW_TABLE} (
                id INTEGER PRIMARY KEY, queue TEXT NOT NULL, body TEXT NOT NULL,
                visible_at REAL NOT NULL);
            CREATE INDEX {RAW_TABLE}_ready ON {RAW_TABLE} (queue, visible_at);
            """
        )

    def insert(self, items: Sequence[dict[str, Any]], now: float) -> None:
        rows = [(QUEUE, orjson.dumps(b).decode(), now) for b in items]
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            self.conn.executemany(
                f"INSERT INTO {RAW_TABLE} (queue, body, visible_at) VALUES (?, ?, ?)", rows
            )
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def claim_delete(self, n: int, now: float) -> list[tuple[int, Any]]:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            rows = self.conn.execute(
                f"DELETE FROM {RAW_TABLE} WHERE id IN (SELECT id FROM {RAW_TABLE} "
                "WHERE queue = ? AND visible_at <= ? ORDER BY visible_at LIMIT ?) "
                "RETURNING id, body",
                (QUEUE, now, n),
            ).fetchall()
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")
        return [(i, orjson.loads(b)) for i, b in rows]

    def close(self) -> None:
        self.conn.close()


PG_RAW_METHODS = ("unnest", "executemany", "copy")


class RawPostgres(Raw):
    """A bare table with the column types of sluice_messages; claim = one autocommitted
    ``DELETE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED) RETURNING id, body``."""

    def __init__(self, url: str, method: str = "unnest") -> None:
        import psycopg

        self.conn = psycopg.connect(url, autocommit=True)
        self.method = {
            "unnest": "INSERT ... SELECT FROM unnest(arrays), 1 statement per chunk",
            "executemany": "executemany (pipelined), 1 txn per chunk",
            "copy": "COPY FROM STDIN, 1 txn per chunk",
        }[method]
        self.kind = method

    def setup(self) -> None:
        self.conn.execute(f"DROP TABLE IF EXISTS {RAW_TABLE}")
        self.conn.execute(
            f"CREATE TABLE {RAW_TABLE} (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
            "queue text NOT NULL, body text NOT NULL, visible_at double precision NOT NULL)"
        )
        self.conn.execute(f"CREATE INDEX {RAW_TABLE}_ready ON {RAW_TABLE} (queue, visible_at)")

    def insert(self, items: Sequence[dict[str, Any]], now: float) -> None:
        encoded = [orjson.dumps(b).decode() for b in items]
        if self.kind == "unnest":
            self.conn.execute(
                f"INSERT INTO {RAW_TABLE} (queue, body, visible_at) "
                "SELECT %s, b, %s FROM unnest(%s::text[]) AS b",
                (QUEUE, now, encoded),
            )
        elif self.kind == "executemany":
            with self.conn.transaction(), self.conn.cursor() as cur:
                cur.executemany(
                    f"INSERT INTO {RAW_TABLE} (queue, body, visible_at) VALUES (%s, %s, %s)",
                    [(QUEUE, e, now) for e in encoded],
                )
        else:
            with (
                self.conn.transaction(),
                self.conn.cursor() as cur,
                cur.copy(f"COPY {RAW_TABLE} (queue, body, visible_at) FROM STDIN") as copy,
            ):
                for e in encoded:
                    copy.write_row((QUEUE, e, now))

    def claim_delete(self, n: int, now: float) -> list[tuple[int, Any]]:
        rows = self.conn.execute(
            f"DELETE FROM {RAW_TABLE} WHERE id IN (SELECT id FROM {RAW_TABLE} "
            "WHERE queue = %s AND visible_at <= %s ORDER BY visible_at LIMIT %s "
            "FOR UPDATE SKIP LOCKED) RETURNING id, body",
            (QUEUE, now, n),
        ).fetchall()
        return [(i, orjson.loads(b)) for i, b in rows]

    def close(self) -> None:
        self.conn.close()


# -- backends -----------------------------------------------------------------------------------
class Backend(ABC):
    name = ""
    label = ""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args

    @abstractmethod
    def fresh(self, name: str = "main") -> str:
        """Set up an empty store called ``name`` (new file / new database); return its URL.
        Calling it again with the same name replaces that store."""

    @abstractmethod
    def raw(self, url: str) -> Raw: ...

    @abstractmethod
    def version(self) -> str: ...

    @abstractmethod
    def fill_backlog(self, url: str, queue: str, count: int, deadline: float) -> str:
        """Insert ``count`` visible, valid sluice messages into ``queue`` with raw SQL; return a
        description of how."""

    @abstractmethod
    def table_figures(self, url: str) -> str:
        """A short description of the messages table's physical state (dead tuples, pages)."""

    @abstractmethod
    def claim_plan(self, url: str) -> str:
        """The plan of sluice's claim statement on the table as it is now, in short."""

    def claim_probe(self, url: str, queue: str) -> str:
        """What one claim of BATCH costs inside the database now (PostgreSQL: buffers)."""
        return ""

    def analyze(self, url: str) -> bool:
        """Refresh the planner's statistics of both tables; False if the backend has none."""
        return False

    @abstractmethod
    def settings(self) -> str:
        """Server or connection settings that shape the figures."""

    def settle(self, url: str) -> None:  # noqa: B027 - optional hook
        """Called before reading table figures (PostgreSQL: let statistics flush)."""

    def cleanup(self) -> None:  # noqa: B027 - optional hook
        """Remove whatever ``fresh`` created."""


class SqliteBackend(Backend):
    name = "sqlite"
    label = "SQLite"

    def __init__(self, args: argparse.Namespace) -> None:
        super().__init__(args)
        self.dir = tempfile.mkdtemp(prefix="sluice-bench-")

    def fresh(self, name: str = "main") -> str:
        path = os.path.join(self.dir, f"{name}.db")
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path + suffix)
        return f"sqlite:///{path}"

    def raw(self, url: str) -> Raw:
        return RawSqlite(sqlite_path(url))

    def version(self) -> str:
        return f"SQLite {sqlite3.sqlite_version}"

    def fill_backlog(self, url: str, queue: str, count: int, deadline: float) -> str:
        conn = sqlite_connect(sqlite_path(url))
        now = time.time() - 3600.0
        try:
            done = 0
            while done < count:
                check(deadline)
                step = min(FILL_CHUNK, count - done)
                conn.execute("BEGIN IMMEDIATE")
                conn.execute(
                    """
                    INSERT INTO sluice_messages (queue, action, body, enqueued_at, visible_at)
                    WITH RECURSIVE n(x) AS (SELECT ? UNION ALL SELECT x + 1 FROM n WHERE x < ?)
                    SELECT ?, 'bench', json_object('i', x, 'payload', ?), ?, ? FROM n
                    """,
                    (done, done + step - 1, queue, PAYLOAD, now, now),
                )
                conn.execute("COMMIT")
                done += step
                progress(f"backlog {done:,}/{count:,}")
        finally:
            conn.close()
        return (
            f"one `INSERT INTO sluice_messages ... WITH RECURSIVE` counter statement per "
            f"{FILL_CHUNK:,} rows (BEGIN IMMEDIATE), rows as enqueue writes them: queue, action "
            "'bench', JSON body from json_object, enqueued_at = visible_at = an hour ago, "
            "receive_count 0, no lease/group/dedup"
        )

    def table_figures(self, url: str) -> str:
        conn = sqlite3.connect(sqlite_path(url))
        try:
            pages = conn.execute("PRAGMA page_count").fetchone()[0]
            free = conn.execute("PRAGMA freelist_count").fetchone()[0]
            rows = conn.execute("SELECT count(*) FROM sluice_messages").fetchone()[0]
        finally:
            conn.close()
        return f"{rows:,} rows, {pages:,} pages of which {free:,} free"

    def claim_plan(self, url: str) -> str:
        conn = sqlite3.connect(sqlite_path(url))
        try:
            rows = conn.execute(
                "EXPLAIN QUERY PLAN " + sql.queries("sqlite")["claim_next"], claim_params()
            ).fetchall()
        finally:
            conn.close()
        return "; ".join(str(r[-1]) for r in rows)

    def settings(self) -> str:
        return "journal_mode=WAL, synchronous=NORMAL (as SqliteStore sets them), default cache"

    def cleanup(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


class PostgresBackend(Backend):
    name = "postgres"
    label = "PostgreSQL"

    def __init__(self, args: argparse.Namespace) -> None:
        super().__init__(args)
        self.admin = args.pg_url
        self.created: set[str] = set()

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.admin, autocommit=True) as conn:
            conn.execute(sql)

    def fresh(self, name: str = "main") -> str:
        db = BENCH_DB if name == "main" else f"{BENCH_DB}_{name}"
        self._admin(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
        self._admin(f"CREATE DATABASE {db}")
        self.created.add(db)
        return replace_db(self.admin, db)

    def raw(self, url: str) -> Raw:
        return RawPostgres(url, self.args.pg_raw)

    def version(self) -> str:
        import psycopg

        with psycopg.connect(self.admin) as conn:
            row = conn.execute("SHOW server_version").fetchone()
            auto = conn.execute("SHOW autovacuum").fetchone()
        assert row is not None and auto is not None
        return f"PostgreSQL {row[0]} (autovacuum={auto[0]})"

    def fill_backlog(self, url: str, queue: str, count: int, deadline: float) -> str:
        import psycopg

        now = time.time() - 3600.0
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("SET statement_timeout = '900s'")
            cols = {
                r[0]: r[1]
                for r in conn.execute(
                    "SELECT column_name, data_type FROM information_schema.columns "
                    "WHERE table_name = 'sluice_messages'"
                )
            }
            body_sql = "jsonb_build_object('i', x, 'payload', %(payload)s::text)"
            if cols.get("body") == "text":
                body_sql += "::text"
            done = 0
            while done < count:
                check(deadline)
                step = min(FILL_CHUNK, count - done)
                conn.execute(
                    "INSERT INTO sluice_messages (queue, action, body, enqueued_at, visible_at) "
                    f"SELECT %(queue)s, 'bench', {body_sql}, %(now)s, %(now)s "
                    "FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) AS x",
                    {
                        "queue": queue,
                        "payload": PAYLOAD,
                        "now": pg_time(cols.get("visible_at"), now),
                        "lo": done,
                        "hi": done + step - 1,
                    },
                )
                done += step
                progress(f"backlog {done:,}/{count:,}")
        return (
            f"one autocommitted `INSERT INTO sluice_messages ... SELECT ... FROM generate_series` "
            f"per {FILL_CHUNK:,} rows: queue, action 'bench', jsonb_build_object body, "
            "enqueued_at = visible_at = an hour ago, column defaults for the rest (receive_count "
            "0, no lease/group/dedup); no VACUUM or ANALYZE afterwards"
        )

    def claim_plan(self, url: str) -> str:
        import psycopg

        with psycopg.connect(url) as conn:
            rows = conn.execute(
                "EXPLAIN " + sql.queries("postgres")["claim_next"], claim_params()
            ).fetchall()
            conn.rollback()
        nodes = [r[0].strip().lstrip("-> ").split("  (")[0] for r in rows]
        keep = [n for n in nodes if "Scan" in n or "Sort" in n or "Limit" in n]
        return "; ".join(keep)

    def analyze(self, url: str) -> bool:
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"ANALYZE sluice_messages, {RAW_TABLE}")
        return True

    def claim_probe(self, url: str, queue: str) -> str:
        import psycopg

        params = {**claim_params(), "queue": queue}
        with psycopg.connect(url) as conn:
            row = conn.execute(
                "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql.queries("postgres")["claim_next"],
                params,
            ).fetchone()
            conn.rollback()  # the probe's claim is undone
        assert row is not None
        plan = row[0][0]
        top = plan["Plan"]
        buffers = top.get("Shared Hit Blocks", 0) + top.get("Shared Read Blocks", 0)
        nodes: list[str] = []

        def walk(node: dict[str, Any]) -> None:
            if "Scan" in node["Node Type"] or node["Node Type"] == "Sort":
                index = node.get("Index Name")
                nodes.append(node["Node Type"] + (f" {index}" if index else ""))
            for child in node.get("Plans", []):
                walk(child)

        walk(top)
        return (
            f"one claim of {BATCH} (EXPLAIN ANALYZE, rolled back): {plan['Execution Time']:.2f} "
            f"ms, {buffers:,} shared buffers touched ({', '.join(nodes)})"
        )

    def settings(self) -> str:
        import psycopg

        names = ("autovacuum", "synchronous_commit", "fsync", "shared_buffers", "work_mem")
        with psycopg.connect(self.admin, autocommit=True) as conn:
            values = [(n, conn.execute(f"SHOW {n}").fetchone()) for n in names]
        return ", ".join(f"{n}={v[0] if v else '?'}" for n, v in values)

    def settle(self, url: str) -> None:
        time.sleep(1.5)  # statistics are flushed about once a second

    def table_figures(self, url: str) -> str:
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("SELECT pg_stat_clear_snapshot()")
            row = conn.execute(
                "SELECT n_live_tup, n_dead_tup, autovacuum_count, vacuum_count, "
                "autoanalyze_count, pg_total_relation_size(relid) "
                "FROM pg_stat_user_tables WHERE relname = 'sluice_messages'"
            ).fetchone()
        if row is None:
            return "sluice_messages not in pg_stat_user_tables"
        live, dead, autovac, vac, autoanalyze, size = row
        return (
            f"n_live_tup {live:,}, n_dead_tup {dead:,}, autovacuum runs {autovac}, "
            f"manual vacuums {vac}, autoanalyze runs {autoanalyze}, "
            f"table+indexes {size / 2**20:,.0f} MiB"
        )

    def cleanup(self) -> None:
        if not self.args.keep:
            for db in sorted(self.created):
                with contextlib.suppress(Exception):
                    self._admin(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")


def replace_db(url: str, db: str) -> str:
    base, _, query = url.partition("?")
    scheme, _, rest = base.partition("://")
    host = rest.split("/", 1)[0]
    return f"{scheme}://{host}/{db}" + (f"?{query}" if query else "")


def claim_params() -> dict[str, Any]:
    now = time.time()
    return {
        "queue": QUEUE,
        "now": now,
        "until": now + LEASE,
        "max_receives": 5,
        "kept": 10,
        "n": BATCH,
        "token": "0" * 32,  # PostgreSQL's claim takes one lease token per statement
    }


def pg_time(data_type: str | None, epoch: float) -> Any:
    if data_type and data_type.startswith("timestamp"):
        return dt.datetime.fromtimestamp(epoch, dt.UTC)
    return epoch


# -- measurements -------------------------------------------------------------------------------
@dataclass
class Figure:
    """One line of the table: sluice's samples against a baseline's samples."""

    name: str
    sluice: list[float] = field(default_factory=list)
    base: list[float] = field(default_factory=list)
    base_name: str = "raw SQL"
    minimum: float = 0.5
    """The target: best sluice rate / best baseline rate must be at least this."""
    target: str = ">= 0.5x raw"
    diagnostic: bool = False
    """Shown for insight, not one of the targets."""

    @property
    def ratio(self) -> float:
        if not self.sluice or not self.base:
            return float("nan")
        return max(self.sluice) / max(self.base)

    @property
    def met(self) -> bool:
        return self.ratio >= self.minimum


@dataclass
class Report:
    backend: str
    version: str
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    profiles: list[tuple[str, str]] = field(default_factory=list)
    started: float = field(default_factory=time.time)
    seconds: float = 0.0
    load: list[tuple[float, float, float]] = field(default_factory=list)


def progress(text: str) -> None:
    print(f"  .. {text}", file=sys.stderr, flush=True)


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def profiled(enabled: bool, title: str, report: Report, fn: Callable[[], Any]) -> float:
    """Run ``fn`` (timed); with ``enabled`` under cProfile, keeping the top of the profile."""
    if not enabled:
        seconds, _ = timed(fn)
        return seconds
    profile = cProfile.Profile()
    start = time.perf_counter()
    profile.runcall(fn)
    seconds = time.perf_counter() - start
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out)
    stats.strip_dirs().sort_stats("tottime").print_stats(18)
    text = out.getvalue()
    text = text[text.find("   ncalls") :] if "   ncalls" in text else text
    report.profiles.append((f"{title} ({seconds:.2f} s under cProfile)", text.rstrip()))
    return seconds


def open_bench_store(url: str, queue: str = QUEUE) -> Store:
    store = open_store(url)
    store.migrate()
    store.put_queue(QueuePolicy(queue, visibility_timeout=LEASE))
    return store


def _drain_worker(
    kind: str,
    backend: str,
    url: str,
    pg_raw: str,
    seconds: float,
    barrier: Any,
    results: Any,
) -> None:
    """One consumer process of the multi-process drain; reports (t0, t1, count, error)."""
    try:
        deadline = time.monotonic() + seconds
        if kind == "sluice":
            store = open_store(url)
            store.policy(QUEUE)
            barrier.wait(timeout=60)
            t0 = time.monotonic()
            count = sluice_drain(store, QUEUE, deadline)
            t1 = time.monotonic()
            store.close()
        else:
            raw: Raw = (
                RawSqlite(sqlite_path(url)) if backend == "sqlite" else RawPostgres(url, pg_raw)
            )
            barrier.wait(timeout=60)
            t0 = time.monotonic()
            count = raw.drain(deadline)
            t1 = time.monotonic()
            raw.close()
        results.put((t0, t1, count, None))
    except BaseException as exc:
        results.put((0.0, 0.0, 0, f"{type(exc).__name__}: {exc}"))


def parallel_drain(
    kind: str, backend: Backend, url: str, procs: int, expected: int, seconds: float
) -> float:
    """Drain with ``procs`` spawned processes; return the rate over the union of their spans."""
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(procs)
    results = ctx.Queue()
    workers = [
        ctx.Process(
            target=_drain_worker,
            args=(kind, backend.name, url, backend.args.pg_raw, seconds, barrier, results),
            daemon=True,
        )
        for _ in range(procs)
    ]
    for w in workers:
        w.start()
    try:
        got: list[tuple[float, float, int, str | None]] = [
            results.get(timeout=seconds + 120) for _ in workers
        ]
    finally:
        for w in workers:
            w.join(timeout=10)
            if w.is_alive():
                w.terminate()
                w.join(timeout=5)
    errors = [e for *_, e in got if e]
    if errors:
        raise RuntimeError(f"{kind} drain worker failed: {errors[0]}")
    total = sum(c for _, _, c, _ in got)
    if total != expected:
        raise RuntimeError(f"{kind} {procs}-process drain got {total:,}, expected {expected:,}")
    span = max(t1 for _, t1, _, _ in got) - min(t0 for t0, _, _, _ in got)
    return total / span


def phase_throughput(backend: Backend, report: Report, args: argparse.Namespace) -> None:
    """Enqueue and claim+complete, sluice against raw, alternating who goes first per round."""
    n = args.messages
    url = backend.fresh()
    store = open_bench_store(url)
    raw = backend.raw(url)
    raw.setup()
    enqueue = Figure(f"enqueue {n:,} in chunks of {CHUNK:,}")
    drain1 = Figure(f"claim {BATCH} + ack, 1 process")
    drain2 = Figure(f"claim {BATCH} + ack, {args.procs} processes (spawn)")
    report.figures += [enqueue, drain1, drain2]
    report.notes.append(f"raw enqueue baseline: {raw.method}")
    report.notes.append(f"settings: {backend.settings()}")
    deadline = time.monotonic() + args.timeout
    items = bodies(0, n)

    def s_enqueue() -> None:
        sluice_enqueue(store, QUEUE, items)

    def s_drain() -> None:
        got = sluice_drain(store, QUEUE, deadline)
        if got != n:
            raise RuntimeError(f"sluice drained {got:,}, expected {n:,}")

    def r_drain() -> None:
        got = raw.drain(deadline)
        if got != n:
            raise RuntimeError(f"raw drained {got:,}, expected {n:,}")

    try:
        warm = bodies(0, 5 * CHUNK)  # untimed: page cache, statement caches, imports
        sluice_enqueue(store, QUEUE, warm)
        sluice_drain(store, QUEUE, deadline)
        raw.enqueue(warm)
        raw.drain(deadline)
        for r in range(args.rounds):
            first_sluice = r % 2 == 0
            prof = args.profile and r == 0
            for which in (True, False) if first_sluice else (False, True):
                if which:
                    secs = profiled(prof, "sluice enqueue", report, s_enqueue)
                    enqueue.sluice.append(n / secs)
                    if r == 0:
                        plan = backend.claim_plan(url)
                        report.notes.append(f"claim plan with {n:,} queued: {plan}")
                else:
                    secs, _ = timed(lambda: raw.enqueue(items))
                    enqueue.base.append(n / secs)
            progress(f"round {r + 1}: enqueue {enqueue.sluice[-1]:,.0f} vs {enqueue.base[-1]:,.0f}")
            for which in (True, False) if first_sluice else (False, True):
                if which:
                    secs = profiled(prof, "sluice claim+complete, 1 process", report, s_drain)
                    drain1.sluice.append(n / secs)
                else:
                    secs, _ = timed(r_drain)
                    drain1.base.append(n / secs)
            progress(f"round {r + 1}: drain1 {drain1.sluice[-1]:,.0f} vs {drain1.base[-1]:,.0f}")
            # refill (timed too: a second enqueue sample) and drain from several processes
            for which in (True, False) if first_sluice else (False, True):
                if which:
                    secs, _ = timed(s_enqueue)
                    enqueue.sluice.append(n / secs)
                else:
                    secs, _ = timed(lambda: raw.enqueue(items))
                    enqueue.base.append(n / secs)
            left = max(60.0, deadline - time.monotonic())
            for which in (True, False) if first_sluice else (False, True):
                kind = "sluice" if which else "raw"
                rate = parallel_drain(kind, backend, url, args.procs, n, left)
                (drain2.sluice if which else drain2.base).append(rate)
            progress(f"round {r + 1}: drain2 {drain2.sluice[-1]:,.0f} vs {drain2.base[-1]:,.0f}")
    finally:
        raw.close()
        store.close()


def phase_analyzed(backend: Backend, report: Report, args: argparse.Namespace) -> None:
    """PostgreSQL only, a diagnostic: the 1-process drain on fresh tables whose statistics were
    refreshed by a manual ANALYZE, to separate the planner's lack of statistics from the cost of
    the statements themselves."""
    n = args.messages
    fig = Figure(
        f"claim {BATCH} + ack, 1 process, fresh tables after a manual ANALYZE",
        target="diagnostic",
        diagnostic=True,
    )
    deadline = time.monotonic() + args.timeout
    items = bodies(0, n)
    for r in range(args.rounds):
        url = backend.fresh("analyzed")
        store = open_bench_store(url)
        raw = backend.raw(url)
        try:
            raw.setup()
            sluice_enqueue(store, QUEUE, items)
            raw.enqueue(items)
            if not backend.analyze(url):
                return
            if r == 0:
                report.figures.append(fig)
                plan = backend.claim_plan(url)
                report.notes.append(f"claim plan with {n:,} queued after ANALYZE: {plan}")
            for which in (True, False) if r % 2 == 0 else (False, True):
                if which:
                    secs, got = timed(partial(sluice_drain, store, QUEUE, deadline))
                    fig.sluice.append(n / secs)
                else:
                    secs, got = timed(partial(raw.drain, deadline))
                    fig.base.append(n / secs)
                if got != n:
                    raise RuntimeError(f"drained {got:,}, expected {n:,}")
        finally:
            raw.close()
            store.close()
    progress(f"analyzed drain1 {fig.sluice[-1]:,.0f} vs {fig.base[-1]:,.0f}")


def claim_rate(store: Store, queue: str, deadline: float, fill: bool) -> float:
    """Claim+ack CLAIM_BATCHES batches of BATCH; with ``fill``, enqueue them first (untimed)."""
    count = CLAIM_BATCHES * BATCH
    if fill:
        sluice_enqueue(store, queue, bodies(0, count))
    secs, got = timed(lambda: sluice_drain(store, queue, deadline, limit=count))
    if got != count:
        raise RuntimeError(f"claimed {got:,}, expected {count:,}")
    return count / secs


def alternate(
    fig: Figure,
    ref: Store,
    main: Store,
    queue: str,
    args: argparse.Namespace,
    deadline: float,
    fill_main: bool,
) -> None:
    """Samples of the reference store and the store under test, alternately, so that a change
    of load on the shared machine hits both alike."""
    for i in range(args.samples):
        for which in ("ref", "main") if i % 2 == 0 else ("main", "ref"):
            if which == "ref":
                fig.base.append(claim_rate(ref, queue, deadline, fill=True))
            else:
                fig.sluice.append(claim_rate(main, queue, deadline, fill=fill_main))


def phase_churn(backend: Backend, report: Report, args: argparse.Namespace) -> None:
    queue = "churn"
    url = backend.fresh()
    ref_url = backend.fresh("ref")
    store = open_bench_store(url, queue)
    ref = open_bench_store(ref_url, queue)
    deadline = time.monotonic() + args.timeout
    fig = Figure(
        f"claim {BATCH} + ack after {args.churn:,} passed through",
        base_name="fresh queue (other store, alternated)",
        minimum=0.8,
        target="within 20% of fresh",
    )
    same = Figure(
        fig.name,
        base_name="same queue before the churn",
        minimum=0.8,
        target="diagnostic",
        diagnostic=True,
    )
    report.figures += [fig, same]
    try:
        for _ in range(args.samples):
            same.base.append(claim_rate(store, queue, deadline, fill=True))
        sluice_enqueue(store, queue, bodies(0, 10 * BATCH))  # something to claim for the probe
        probe_before = backend.claim_probe(url, queue)
        sluice_drain(store, queue, deadline)
        backend.settle(url)
        before = backend.table_figures(url)
        start = time.perf_counter()
        step = 10 * CHUNK
        done = 0
        while done < args.churn:
            count = min(step, args.churn - done)
            sluice_enqueue(store, queue, bodies(done, count))
            got = sluice_drain(store, queue, deadline)
            if got != count:
                raise RuntimeError(f"churn drained {got:,}, expected {count:,}")
            done += count
            if done % 100_000 == 0:
                progress(f"churn {done:,}/{args.churn:,}")
        churn_secs = time.perf_counter() - start
        sluice_enqueue(store, queue, bodies(0, 10 * BATCH))
        probe_after = backend.claim_probe(url, queue)
        sluice_drain(store, queue, deadline)
        backend.settle(url)
        after = backend.table_figures(url)
        alternate(fig, ref, store, queue, args, deadline, fill_main=True)
        same.sluice = fig.sluice
        backend.settle(url)
        end = backend.table_figures(url)
    finally:
        store.close()
        ref.close()
    report.notes += [
        f"churn: {args.churn:,} messages enqueued and drained in steps of {step:,} in "
        f"{churn_secs:.0f} s ({args.churn / churn_secs:,.0f} msg/s end to end)",
        f"churn: messages table before: {before}",
        f"churn: messages table after the churn: {after}",
        f"churn: messages table after the measurement: {end}",
    ]
    if probe_before:
        report.notes += [f"churn: fresh: {probe_before}", f"churn: after: {probe_after}"]


def phase_backlog(backend: Backend, report: Report, args: argparse.Namespace) -> None:
    url = backend.fresh()
    ref_url = backend.fresh("ref")
    store = open_bench_store(url)
    ref = open_bench_store(ref_url)
    deadline = time.monotonic() + args.timeout
    fig = Figure(
        f"claim {BATCH} + ack with {args.backlog:,} waiting",
        base_name="fresh queue (other store, alternated)",
        minimum=0.5,
        target="slowdown <= 2x",
    )
    same = Figure(
        fig.name,
        base_name="same queue before the fill",
        minimum=0.5,
        target="diagnostic",
        diagnostic=True,
    )
    report.figures += [fig, same]
    try:
        for _ in range(args.samples):
            same.base.append(claim_rate(store, QUEUE, deadline, fill=True))
        secs, how = timed(lambda: backend.fill_backlog(url, QUEUE, args.backlog, deadline))
        report.notes.append(f"backlog: {args.backlog:,} messages filled in {secs:.0f} s by {how}")
        stats = store.stats([QUEUE])[0]
        if stats.depth != args.backlog:
            raise RuntimeError(f"backlog depth is {stats.depth:,}, expected {args.backlog:,}")
        sample = store.peek(QUEUE, limit=2)
        if len(sample) != 2 or sample[0].body != body(0) or sample[0].action != "bench":
            raise RuntimeError(f"backlog rows do not read back as sluice messages: {sample!r}")
        probe = backend.claim_probe(url, QUEUE)
        alternate(fig, ref, store, QUEUE, args, deadline, fill_main=False)
        same.sluice = fig.sluice
        probe_end = backend.claim_probe(url, QUEUE)
        if probe:
            report.notes.append(f"backlog: after the fill: {probe}")
            report.notes.append(f"backlog: after the measurement: {probe_end}")
        backend.settle(url)
        report.notes.append(f"backlog: messages table: {backend.table_figures(url)}")
    finally:
        store.close()
        ref.close()


# -- output -------------------------------------------------------------------------------------
def fmt_rate(rate: float) -> str:
    return f"{rate:,.0f}"


def fmt_samples(samples: list[float]) -> str:
    return " / ".join(f"{s:,.0f}" for s in samples)


def table(reports: list[Report]) -> str:
    lines = [
        "| backend | measure | sluice msg/s | baseline | baseline msg/s | ratio | target | met |",
        "|---|---|--:|---|--:|--:|---|---|",
    ]
    for rep in reports:
        for f in rep.figures:
            lines.append(
                f"| {rep.backend} | {f.name} | {fmt_rate(max(f.sluice, default=0))} "
                f"| {f.base_name} | {fmt_rate(max(f.base, default=0))} | {f.ratio:.2f}x "
                f"| {f.target} | {'n/a' if f.diagnostic else 'yes' if f.met else '**no**'} |"
            )
    return "\n".join(lines)


def samples_table(reports: list[Report]) -> str:
    lines = [
        "| backend | measure | baseline | sluice samples | baseline samples |",
        "|---|---|---|---|---|",
    ]
    for rep in reports:
        for f in rep.figures:
            lines.append(
                f"| {rep.backend} | {f.name} | {f.base_name} | {fmt_samples(f.sluice)} "
                f"| {fmt_samples(f.base)} |"
            )
    return "\n".join(lines)


def machine() -> dict[str, str]:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    ram = "unknown"
    with contextlib.suppress(OSError, ValueError, IndexError):
        kb = int(Path("/proc/meminfo").read_text().split("MemTotal:")[1].split()[0])
        ram = f"{kb / 2**20:.1f} GiB"
    commit = "unknown"
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            cwd=DOC.parent.parent,
        ).stdout.strip()
        commit = f"`{commit}`"
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "src"],
            capture_output=True,
            text=True,
            timeout=10,
            cwd=DOC.parent.parent,
        ).stdout.strip()
        if dirty:
            commit += " plus uncommitted changes in src/"
    return {
        "nproc": str(len(os.sched_getaffinity(0))),
        "ram": ram,
        "cpu": cpu,
        "python": platform.python_version(),
        "commit": commit,
    }


def section(reports: list[Report], args: argparse.Namespace, command: str) -> str:
    m = machine()
    date = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    versions = ", ".join(r.version for r in reports)
    out = [
        f"Run {date} on commit {m['commit']}: `{command}`",
        "",
        f"Machine: {m['nproc']} CPUs ({m['cpu']}), {m['ram']} RAM, shared with other jobs; "
        f"Python {m['python']}, {versions}.",
        f"Parameters: {args.messages:,} messages, {args.rounds} round(s) of the throughput "
        f"phase, backlog {args.backlog:,}, churn {args.churn:,}, {args.samples} sample(s) of "
        f"{CLAIM_BATCHES} x {BATCH} claims per claim-rate figure.",
    ]
    for rep in reports:
        loads = ", ".join(f"{a:.1f}" for a, _, _ in rep.load)
        out.append(
            f"{rep.backend}: {rep.seconds / 60:.1f} min; 1-minute load average at phase "
            f"boundaries: {loads}."
        )
    out += ["", table(reports), "", "Best of the samples is shown; all samples (msg/s):", ""]
    out += [samples_table(reports), ""]
    verdicts = []
    for rep in reports:
        targets = [f for f in rep.figures if not f.diagnostic]
        met = [f.name for f in targets if f.met]
        missed = [f"{f.name} ({f.ratio:.2f}x, target {f.target})" for f in targets if not f.met]
        verdicts.append(
            f"- {rep.backend}: {len(met)} of {len(targets)} targets met"
            + (f"; missed: {'; '.join(missed)}" if missed else "")
        )
    out += ["Targets:", "", *verdicts, ""]
    notes = [f"- {rep.backend}: {n}" for rep in reports for n in rep.notes]
    if notes:
        out += ["Notes:", "", *notes, ""]
    for rep in reports:
        for title, text in rep.profiles:
            out += [f"<details><summary>{rep.backend}: {title}</summary>", "", "```", text, "```"]
            out += ["", "</details>", ""]
    return "\n".join(out).rstrip() + "\n"


HEADER = """# Benchmarks

Produced by `bench/store.py` (run by hand, e.g. `make bench`); each section below is replaced by
the next run of the same backend and label. The machine is shared and noisy, so every figure is
printed next to a baseline measured in the same run, and the ratio is what to compare.

Method:

- **enqueue**: small messages (`{"i": n, "payload": "x" * 40}`) through `store.enqueue` in chunks
  of 1,000, against a raw baseline inserting the same rows into a bare table (id, queue, body,
  visible_at, one index on (queue, visible_at)) in one transaction per chunk of 1,000 (SQLite:
  `executemany` in `BEGIN IMMEDIATE` with bodies encoded by orjson; PostgreSQL: see the notes of
  the run for the statement used).
- **claim + ack**: draining those messages with `store.claim([q], 100)` +
  `store.complete([Outcome.ack(...)])`, against a bare loop of
  `DELETE FROM t WHERE id IN (SELECT id ... ORDER BY visible_at LIMIT 100 [FOR UPDATE SKIP
  LOCKED]) RETURNING id, body` (SQLite: one `BEGIN IMMEDIATE` transaction per batch), bodies
  decoded in both; from one process and from several spawned processes.
- **churn**: claim + ack rate of 200 batches of 100 on a fresh queue, then again after N messages
  have been enqueued and drained through the same queue (PostgreSQL: no manual VACUUM).
- **backlog**: the same claim + ack rate on a fresh queue, then with a large backlog of visible
  messages in the same queue, bulk-inserted with raw SQL as valid sluice rows.

Targets: every sluice figure >= 0.5x its raw baseline; a backlog slows claims by at most 2x (ratio
>= 0.5); after churn, claims are within 20% of fresh (ratio >= 0.8). Each phase runs on a fresh
SQLite file in a temp dir or a freshly created PostgreSQL database `sluice_bench`.
"""


def update_doc(path: Path, key: str, title: str, text: str) -> None:
    begin, end = f"<!-- bench:{key}:begin -->", f"<!-- bench:{key}:end -->"
    block = f"{begin}\n## {title}\n\n{text}{end}\n"
    doc = path.read_text() if path.exists() else HEADER
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end) + r"\n?", re.DOTALL)
    if pattern.search(doc):
        doc = pattern.sub(lambda _: block, doc, count=1)
    else:
        doc = doc.rstrip("\n") + "\n\n" + block
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(doc)


# -- main ---------------------------------------------------------------------------------------
def _alarm(signum: int, frame: FrameType | None) -> None:
    raise PhaseTimeout(f"the run exceeded its overall time limit (signal {signum})")


def run_backend(backend: Backend, args: argparse.Namespace) -> Report:
    report = Report(backend.label, backend.version())
    phases: list[tuple[str, Callable[[Backend, Report, argparse.Namespace], None]]] = [
        ("throughput", phase_throughput),
        ("analyzed", phase_analyzed),
        ("churn", phase_churn),
        ("backlog", phase_backlog),
    ]
    start = time.perf_counter()
    try:
        for name, phase in phases:
            if name not in args.phases:
                continue
            report.load.append(os.getloadavg())
            print(f"[{backend.label}] {name} ...", file=sys.stderr, flush=True)
            phase(backend, report, args)
        report.load.append(os.getloadavg())
    finally:
        report.seconds = time.perf_counter() - start
        backend.cleanup()
    return report


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    p.add_argument("--messages", type=int, default=100_000, help="messages per throughput run")
    p.add_argument("--backlog", type=int, help="backlog size (default 10M, 1M with --quick)")
    p.add_argument("--churn", type=int, help="messages through the queue (1M, 200k with --quick)")
    p.add_argument("--quick", action="store_true", help="smaller backlog and churn, one round")
    p.add_argument("--rounds", type=int, help="throughput rounds (default 2, 1 with --quick)")
    p.add_argument("--samples", type=int, default=3, help="samples per claim-rate figure")
    p.add_argument("--procs", type=int, default=2, help="processes of the parallel drain")
    p.add_argument(
        "--phases",
        default="throughput,analyzed,churn,backlog",
        help="comma-separated subset of throughput,analyzed,churn,backlog",
    )
    p.add_argument("--pg-url", default=DEFAULT_PG, help="PostgreSQL admin URL (any database)")
    p.add_argument("--pg-raw", choices=PG_RAW_METHODS, default="copy", help="raw insert")
    p.add_argument("--timeout", type=float, default=3600.0, help="seconds per phase")
    p.add_argument("--profile", action="store_true", help="cProfile sluice's first round")
    p.add_argument("--label", help="doc section label (default: quick or full)")
    p.add_argument("--no-doc", action="store_true", help="do not write docs/benchmarks.md")
    p.add_argument("--keep", action="store_true", help="keep the PostgreSQL bench database")
    args = p.parse_args(argv)
    if args.backlog is None:
        args.backlog = 1_000_000 if args.quick else 10_000_000
    if args.churn is None:
        args.churn = 200_000 if args.quick else 1_000_000
    if args.rounds is None:
        args.rounds = 1 if args.quick else 2
    args.phases = {s.strip() for s in args.phases.split(",") if s.strip()}
    if unknown := args.phases - {"throughput", "analyzed", "churn", "backlog"}:
        p.error(f"unknown phases: {sorted(unknown)}")
    if args.label is None:
        args.label = "quick" if args.quick else "full"
    if args.messages < BATCH or args.backlog < 2 * CLAIM_BATCHES * BATCH * args.samples:
        p.error("--messages must be >= 100 and --backlog large enough for the claim samples")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    command = "python bench/store.py " + " ".join(sys.argv[1:] if argv is None else argv)
    names = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    signal.signal(signal.SIGALRM, _alarm)
    signal.signal(signal.SIGTERM, _alarm)
    reports: list[Report] = []
    for name in names:
        backend: Backend = SqliteBackend(args) if name == "sqlite" else PostgresBackend(args)
        signal.alarm(int(args.timeout * 3 + 600))
        try:
            report = run_backend(backend, args)
        finally:
            signal.alarm(0)
        reports.append(report)
        text = section([report], args, command)
        print(f"\n## {report.backend} ({args.label})\n\n{text}")
        if not args.no_doc:
            update_doc(DOC, f"{name}:{args.label}", f"{report.backend} ({args.label})", text)
    if len(reports) > 1:
        print(table(reports))
    missed = [f for r in reports for f in r.figures if not f.diagnostic and not f.met]
    print(f"{len(missed)} target(s) missed" if missed else "all targets met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
