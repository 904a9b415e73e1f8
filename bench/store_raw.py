"""bench/store.py's raw-SQL baselines: the same work on a bare table, per backend."""

from __future__ import annotations

import sqlite3
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

import orjson

from store_common import BATCH, CHUNK, QUEUE, RAW_TABLE, check, chunks

LEASE = 60.0
"""Seconds a raw lease hides a row (never reached: every leased row is acked)."""


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
    def claim_lease(self, n: int, now: float, token: str) -> list[tuple[int, Any]]:
        """Lease up to ``n`` visible rows, oldest first (visible again in 60 s, ``token`` as
        the lease); return (id, decoded body): the first half of an at-least-once loop."""

    @abstractmethod
    def ack(self, ids: Sequence[int], token: str) -> int:
        """Delete the leased rows still held by ``token``; return how many."""

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
                visible_at REAL NOT NULL, lease TEXT);
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
        rows = self._in_transaction(
            f"DELETE FROM {RAW_TABLE} WHERE id IN (SELECT id FROM {RAW_TABLE} "
            "WHERE queue = ? AND visible_at <= ? ORDER BY visible_at LIMIT ?) "
            "RETURNING id, body",
            (QUEUE, now, n),
        )
        return [(i, orjson.loads(b)) for i, b in rows]

    def claim_lease(self, n: int, now: float, token: str) -> list[tuple[int, Any]]:
        rows = self._in_transaction(
            f"UPDATE {RAW_TABLE} SET visible_at = ?, lease = ? WHERE id IN (SELECT id FROM "
            f"{RAW_TABLE} WHERE queue = ? AND visible_at <= ? ORDER BY visible_at LIMIT ?) "
            "RETURNING id, body",
            (now + LEASE, token, QUEUE, now, n),
        )
        return [(i, orjson.loads(b)) for i, b in rows]

    def ack(self, ids: Sequence[int], token: str) -> int:
        rows = self._in_transaction(
            f"DELETE FROM {RAW_TABLE} WHERE id IN (SELECT value FROM json_each(?)) "
            "AND lease = ? RETURNING id",
            (orjson.dumps(list(ids)).decode(), token),
        )
        return len(rows)

    def _in_transaction(self, sql: str, params: Sequence[Any]) -> list[Any]:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            rows = self.conn.execute(sql, params).fetchall()
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")
        return rows

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
            "queue text NOT NULL, body text NOT NULL, visible_at double precision NOT NULL, "
            "lease text)"
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

    def claim_lease(self, n: int, now: float, token: str) -> list[tuple[int, Any]]:
        rows = self.conn.execute(
            f"UPDATE {RAW_TABLE} SET visible_at = %s, lease = %s WHERE id IN (SELECT id FROM "
            f"{RAW_TABLE} WHERE queue = %s AND visible_at <= %s ORDER BY visible_at LIMIT %s "
            "FOR UPDATE SKIP LOCKED) RETURNING id, body",
            (now + LEASE, token, QUEUE, now, n),
        ).fetchall()
        return [(i, orjson.loads(b)) for i, b in rows]

    def ack(self, ids: Sequence[int], token: str) -> int:
        cursor = self.conn.execute(
            f"DELETE FROM {RAW_TABLE} WHERE id = ANY(%s) AND lease = %s", (list(ids), token)
        )
        return cursor.rowcount

    def close(self) -> None:
        self.conn.close()
