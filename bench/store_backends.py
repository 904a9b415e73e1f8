"""bench/store.py's backends: a fresh store and its raw twin per phase, per database."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import shutil
import sqlite3
import tempfile
import time
from abc import ABC, abstractmethod
from typing import Any

from sluice.store import sql
from sluice.store.sqlite import sqlite_path
from store_common import (
    BATCH,
    BENCH_DB,
    FILL_CHUNK,
    LEASE,
    PAYLOAD,
    QUEUE,
    RAW_TABLE,
    check,
    progress,
)
from store_raw import Raw, RawPostgres, RawSqlite, sqlite_connect


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
