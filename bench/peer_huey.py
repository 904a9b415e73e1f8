"""The Huey side of bench/peers.py; runs in the peers venv (``.bench-peers-venv``).

``huey`` is a ``SqliteHuey`` on the file named by ``SLUICE_PEERS_HUEY_DB`` with one no-op task;
the consumer runs it (``huey_consumer bench.peer_huey.huey``). ``SLUICE_PEERS_HUEY_SYNC=normal``
sets ``PRAGMA synchronous=NORMAL`` on its connections (what sluice's SQLite store uses); unset,
Huey keeps its default (SQLite's ``FULL``). Each worker process counts the tasks it ran in a
memory-mapped file ``count-<pid>`` under ``SLUICE_PEERS_COUNTS``, so the bench sees the last one
finish at the cost of one memory write per task.

``python -m bench.peer_huey enqueue N`` queues N tasks (one transaction per 1,000);
``python -m bench.peer_huey pending`` prints the number of tasks left in the queue.
"""

from __future__ import annotations

import mmap
import os
import sqlite3
import struct
import sys
from pathlib import Path

from huey import SqliteHuey
from huey.storage import SqliteStorage


class Storage(SqliteStorage):
    """Huey's SQLite storage, optionally with synchronous=NORMAL."""

    def _create_connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection = super()._create_connection()
        if os.environ.get("SLUICE_PEERS_HUEY_SYNC") == "normal":
            conn.execute("pragma synchronous=NORMAL")
        return conn


huey = SqliteHuey(
    "bench",
    results=False,
    storage_class=Storage,
    filename=os.environ.get("SLUICE_PEERS_HUEY_DB", "huey-bench.db"),
)


class Counter:
    """A per-process task count in a memory-mapped file the bench reads while it runs."""

    def __init__(self, directory: Path) -> None:
        path = directory / f"count-{os.getpid()}"
        path.write_bytes(bytes(8))
        with path.open("r+b") as file:
            self.map = mmap.mmap(file.fileno(), 8)
        self.value = 0

    def bump(self) -> None:
        self.value += 1
        struct.pack_into("<q", self.map, 0, self.value)


_counter: Counter | None = None


@huey.task()
def noop(n: int) -> None:
    """Do nothing but count the task as done."""
    global _counter
    if _counter is None:
        _counter = Counter(Path(os.environ["SLUICE_PEERS_COUNTS"]))
    _counter.bump()


def enqueue(messages: int) -> None:
    """Queue ``messages`` no-op tasks, serialized by Huey, 1,000 per transaction."""
    sql = "insert into task (queue, data, priority) values (?, ?, ?)"
    for start in range(0, messages, 1000):
        rows = [
            (huey.storage.name, huey.serialize_task(noop.s(n)), 0)
            for n in range(start, min(start + 1000, messages))
        ]
        with huey.storage.db(commit=True) as cursor:
            cursor.executemany(sql, rows)


def main() -> None:
    # Tasks are named after their module: use the one the consumer imports, not __main__.
    from bench import peer_huey

    command = sys.argv[1]
    if command == "enqueue":
        peer_huey.enqueue(int(sys.argv[2]))
    elif command == "pending":
        print(peer_huey.huey.pending_count())
    else:
        raise SystemExit(f"unknown command {command!r}: expected enqueue or pending")


if __name__ == "__main__":
    main()
