"""Raw-SQL drain workers for bench/peers.py: the same bare table and hand-written claim as
bench/store.py's baselines, run as worker processes so that they are timed like sluice's.

``python bench/raw_drain.py fill URL N`` creates the table with N rows;
``python bench/raw_drain.py work URL BATCH`` deletes-and-returns up to BATCH rows per
statement (SQLite: per BEGIN IMMEDIATE transaction; PostgreSQL: one autocommitted
``DELETE ... FOR UPDATE SKIP LOCKED``), decoding each body, until the table is empty, then
prints how many it took: a message is gone before it is handled (at most once).
``python bench/raw_drain.py lease URL BATCH`` is the least an at-least-once queue does: one
statement leases up to BATCH rows (UPDATE of visible_at and a lease token ... RETURNING), a
second deletes them by id and token once their bodies are decoded, each its own transaction.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sluice.store.sqlite import sqlite_path
from store_raw import Raw, RawPostgres, RawSqlite


def raw(url: str) -> Raw:
    return RawSqlite(sqlite_path(url)) if url.startswith("sqlite") else RawPostgres(url)


def fill(url: str, count: int) -> None:
    table = raw(url)
    table.setup()
    table.enqueue([{"i": i} for i in range(count)])
    table.close()


def work(url: str, batch: int) -> int:
    table = raw(url)
    done = 0
    while rows := table.claim_delete(batch, time.time()):
        for _id, decoded in rows:
            _ = decoded["i"]
        done += len(rows)
    table.close()
    return done


def lease(url: str, batch: int) -> int:
    table = raw(url)
    done = 0
    token = os.urandom(8).hex()
    while rows := table.claim_lease(batch, time.time(), token):
        for _id, decoded in rows:
            _ = decoded["i"]
        done += table.ack([i for i, _ in rows], token)
    table.close()
    return done


if __name__ == "__main__":
    command, target, number = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if command == "fill":
        fill(target, number)
    elif command == "lease":
        print(lease(target, number))
    else:
        print(work(target, number))
