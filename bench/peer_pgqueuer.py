"""The PGQueuer side of bench/peers.py; runs in the peers venv (``.bench-peers-venv``).

``create`` is the worker factory: a ``PgQueuer`` on one asyncpg connection to ``SLUICE_PEERS_PG``
with one no-op async entrypoint.

``python -m bench.peer_pgqueuer install N`` installs PGQueuer's schema and queues N jobs (1,000
per statement); ``... worker BATCH`` runs one worker with that dequeue batch size until SIGTERM;
``... trickle N SECONDS`` enqueues N ``stamp`` jobs one at a time (the pickup latency of an
idle worker, bench/pickup.py); ``... uninstall`` drops PGQueuer's tables again.

The worker goes through ``pgqueuer.run``, the supervisor behind ``pgq run``, on uvloop as that CLI
does: ``pgq run`` itself fails at start-up in pgqueuer 1.6.0 with typer 0.29 (its ``--log-level``
parser hands a str to ``setup_fancy_logger``, which wants the enum).
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import pgqueuer
import uvloop
from pgqueuer import AsyncpgDriver, Job, PgQueuer, Queries

DSN = os.environ.get("SLUICE_PEERS_PG", "postgresql://postgres@127.0.0.1:5432/sluice_bench_peers")


@asynccontextmanager
async def create() -> AsyncIterator[PgQueuer]:
    """The worker: one connection, one entrypoint that does nothing."""
    connection = await asyncpg.connect(DSN)
    pgq = PgQueuer.from_asyncpg_connection(connection)

    @pgq.entrypoint("noop")
    async def noop(job: Job) -> None:
        """Do nothing; PGQueuer logs the job as successful and deletes it."""

    @pgq.entrypoint("stamp")
    async def stamp(job: Job) -> None:
        """Log how long after its enqueue began the job started (its payload: that time)."""
        assert job.payload is not None
        with open(os.environ["SLUICE_PEERS_LATENCY"], "a") as out:
            out.write(f"{time.time() - float(job.payload)}\n")

    try:
        yield pgq
    finally:
        await connection.close()


async def install(messages: int) -> None:
    """Install the schema and queue ``messages`` no-op jobs."""
    connection = await asyncpg.connect(DSN)
    try:
        queries = Queries(AsyncpgDriver(connection))
        await queries.install()
        for start in range(0, messages, 1000):
            count = min(1000, messages - start)
            payloads: list[bytes | None] = [str(n).encode() for n in range(start, start + count)]
            await queries.enqueue(["noop"] * count, payloads, [0] * count)
    finally:
        await connection.close()


async def trickle(count: int, every: float) -> None:
    """Enqueue ``count`` stamp jobs one at a time, ``every`` seconds apart, each carrying
    the time its enqueue began."""
    connection = await asyncpg.connect(DSN)
    try:
        queries = Queries(AsyncpgDriver(connection))
        for _ in range(count):
            await queries.enqueue(["stamp"], [str(time.time()).encode()], [0])
            await asyncio.sleep(every)
    finally:
        await connection.close()


async def uninstall() -> None:
    """Drop PGQueuer's tables, functions and types."""
    connection = await asyncpg.connect(DSN)
    try:
        await Queries(AsyncpgDriver(connection)).uninstall()
    finally:
        await connection.close()


def main() -> None:
    command = sys.argv[1]
    if command == "install":
        asyncio.run(install(int(sys.argv[2])))
    elif command == "worker":
        uvloop.run(pgqueuer.run(create, batch_size=int(sys.argv[2])))
    elif command == "trickle":
        asyncio.run(trickle(int(sys.argv[2]), float(sys.argv[3])))
    elif command == "uninstall":
        asyncio.run(uninstall())
    else:
        raise SystemExit(
            f"unknown command {command!r}: expected install, worker, trickle or uninstall"
        )


if __name__ == "__main__":
    main()
