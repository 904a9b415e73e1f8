"""The user-started ETL story: a task posted to the HTTP API runs extract -> transform -> load
as a three-stage run that users watch live in the dashboard or with ``sluice runs watch``.

- ``extract`` (the task: ``{"source": ..., "rows": N}``) fans out one ``extract_chunk`` per
  chunk of rows; each chunk stages its synthetic records in ``etl_staging``.
- When extract is accounted for, ``transform`` starts with its summary and fans out one
  ``transform_batch`` per batch of staged records, carrying the records themselves: the bodies
  are above the queue's message limit, so they travel as claim checks through the blob
  directory.
- When transform is accounted for, ``load`` fans out ``load_part`` messages that write the
  transformed rows into ``etl_rows`` through ``ctx.transaction`` (exactly once).
- ``etl_done`` (on_complete) removes the run's staging rows and its blobs.
"""

from __future__ import annotations

import os
import random
import sqlite3
from typing import Any

from sluice import App, Context, Discard, UnknownRun
from sluice.blobs import BlobNameRefused
from sluice.model import FINISHED

CHUNK = 500
"""Rows per extract chunk."""
BATCH = 800
"""Records per transform batch (about 24 KB: above the queue's 16 KiB limit)."""
LOAD_PART = 1000
"""Staged rows per load message."""

app = App(
    os.environ.get("SLUICE_ETL_URL", "sqlite:///sluice-etl.db"),
    blob_dir=os.environ.get("SLUICE_ETL_BLOBS", "sluice-etl-blobs"),
)
app.queue("etl", max_message_bytes=16 * 1024, visibility_timeout=60)


def _mark(tx: Any) -> str:
    return "?" if isinstance(tx, sqlite3.Connection) else "%s"


def prepare(db: Any) -> None:
    """Create the demo's tables (a plain connection to the store's database)."""
    for sql in (
        "CREATE TABLE IF NOT EXISTS etl_staging (run_id TEXT NOT NULL, n BIGINT NOT NULL, "
        "record TEXT NOT NULL, PRIMARY KEY (run_id, n))",
        "CREATE TABLE IF NOT EXISTS etl_rows (run_id TEXT NOT NULL, n BIGINT NOT NULL, "
        "customer TEXT NOT NULL, amount_cents BIGINT NOT NULL, tier TEXT NOT NULL, "
        "PRIMARY KEY (run_id, n))",
        "CREATE TABLE IF NOT EXISTS etl_runs (run_id TEXT PRIMARY KEY, blobs_removed BIGINT "
        "NOT NULL)",
    ):
        db.execute(sql)


@app.action(queue="etl")
def extract(task: dict[str, Any], ctx: Context) -> None:
    """Fan out one chunk per CHUNK rows of the task."""
    rows = int(task["rows"])
    for start in range(0, rows, CHUNK):
        ctx.enqueue(
            "extract_chunk",
            {"source": task["source"], "start": start, "count": min(CHUNK, rows - start)},
            run=ctx.run,
        )


@app.action(queue="etl", concurrency=4)
def extract_chunk(chunk: dict[str, Any], ctx: Context) -> None:
    """'Read' a chunk of the source and stage its records."""
    rng = random.Random(f"{chunk['source']}:{chunk['start']}")
    tx = ctx.transaction
    m = _mark(tx)
    tx.cursor().executemany(
        f"INSERT INTO etl_staging (run_id, n, record) VALUES ({m}, {m}, {m})",
        [
            (ctx.run, n, f"customer-{rng.randrange(10_000):05d};{rng.randrange(100, 500_000)}")
            for n in range(chunk["start"], chunk["start"] + chunk["count"])
        ],
    )
    ctx.progress(rows=chunk["count"])  # the run counts rows beside messages


@app.action(queue="etl")
def transform(summary: dict[str, Any], ctx: Context) -> None:
    """Fan out the staged records in batches (the bodies go as claim checks)."""
    tx = ctx.transaction
    m = _mark(tx)
    rows = tx.execute(
        f"SELECT n, record FROM etl_staging WHERE run_id = {m} ORDER BY n", (ctx.run,)
    ).fetchall()
    for start in range(0, len(rows), BATCH):
        batch = [[int(n), record] for n, record in rows[start : start + BATCH]]
        ctx.enqueue("transform_batch", {"records": batch}, run=ctx.run)


@app.action(queue="etl", concurrency=4)
def transform_batch(body: dict[str, Any], ctx: Context) -> None:
    """Parse and enrich a batch of records in place in the staging table."""
    tx = ctx.transaction
    m = _mark(tx)
    updates = []
    for n, record in body["records"]:
        customer, amount = record.split(";")
        tier = "gold" if int(amount) > 250_000 else "silver" if int(amount) > 50_000 else "basic"
        updates.append((f"{customer};{amount};{tier}", ctx.run, n))
    tx.cursor().executemany(
        f"UPDATE etl_staging SET record = {m} WHERE run_id = {m} AND n = {m}", updates
    )
    ctx.progress(rows=len(updates))


@app.action(queue="etl")
def load(summary: dict[str, Any], ctx: Context) -> None:
    """Fan out the load in parts of LOAD_PART rows."""
    tx = ctx.transaction
    m = _mark(tx)
    (count,) = tx.execute(
        f"SELECT count(*) FROM etl_staging WHERE run_id = {m}", (ctx.run,)
    ).fetchone()
    for start in range(0, int(count), LOAD_PART):
        ctx.enqueue("load_part", {"from": start, "to": start + LOAD_PART}, run=ctx.run)


@app.action(queue="etl", concurrency=2)
def load_part(part: dict[str, int], ctx: Context) -> None:
    """Write transformed rows into the target table, exactly once (ack in the same txn)."""
    tx = ctx.transaction
    m = _mark(tx)
    rows = tx.execute(
        f"SELECT n, record FROM etl_staging WHERE run_id = {m} AND n >= {m} AND n < {m}",
        (ctx.run, part["from"], part["to"]),
    ).fetchall()
    values = []
    for n, record in rows:
        customer, amount, tier = record.split(";")
        values.append((ctx.run, n, customer, int(amount), tier))
    tx.cursor().executemany(
        f"INSERT INTO etl_rows (run_id, n, customer, amount_cents, tier) "
        f"VALUES ({m}, {m}, {m}, {m}, {m})",
        values,
    )
    ctx.progress(rows=len(values))


@app.action(queue="etl")
def etl_done(summary: dict[str, Any], ctx: Context) -> None:
    """The run is over: drop its staging rows and its blobs. The body can come from anyone who
    may post to the API, so only a finished run's id is taken; anything else is dead-lettered
    with the reason."""
    run_id = _finished_run(summary, ctx)
    try:
        removed = ctx.app.blobs.forget_run(run_id) if ctx.app.blobs is not None else 0
    except BlobNameRefused as exc:
        raise Discard(f"etl_done: {exc}") from None
    tx = ctx.transaction
    m = _mark(tx)
    tx.execute(f"DELETE FROM etl_staging WHERE run_id = {m}", (run_id,))
    tx.execute(
        f"INSERT INTO etl_runs (run_id, blobs_removed) VALUES ({m}, {m}) "
        "ON CONFLICT (run_id) DO NOTHING",
        (run_id, removed),
    )


def _finished_run(summary: Any, ctx: Context) -> str:
    """The id of the finished run ``summary`` names; ``Discard`` for any other body."""
    run_id = summary.get("run") if isinstance(summary, dict) else None
    if not isinstance(run_id, str):
        raise Discard(f"etl_done: expected a run summary with a 'run' id, got {summary!r:.200}")
    try:
        status = ctx.app.store.run_state(run_id).status
    except UnknownRun:
        raise Discard(f"etl_done: no run has the id {run_id!r:.200}") from None
    if status not in FINISHED:
        raise Discard(f"etl_done: run {run_id!r} is {status}, not finished: nothing removed")
    return run_id


app.define_run("extract", stages=["extract", "transform", "load"], on_complete="etl_done")


def serve(host: str, port: int, workers: int, on_ready: Any) -> None:
    """Run the API with the dashboard (this thread) and ``workers`` worker processes until
    interrupted; ``on_ready(base_url, server)`` runs once the server listens."""
    import signal
    import subprocess
    import sys
    import threading
    import time

    import uvicorn

    from sluice.web import create_app
    from sluice.web.protocol import server_options

    with app.store.begin() as tx:
        prepare(tx)
    command = [sys.executable, "-m", "sluice.cli", "worker", "sluice.demos.etl:app"]
    pool = [
        subprocess.Popen(
            [*command, "--concurrency", "8", "--log-format", "text"], stderr=subprocess.DEVNULL
        )
        for _ in range(workers)
    ]
    served = create_app(app)
    config = uvicorn.Config(served, host=host, port=port, log_level="warning", **server_options())
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the HTTP server did not start")
            time.sleep(0.05)
        bound = server.servers[0].sockets[0].getsockname()[1]
        on_ready(f"http://{host}:{bound}", server)
        while thread.is_alive():
            thread.join(0.5)
    finally:
        server.should_exit = True
        for process in pool:
            process.send_signal(signal.SIGTERM)
        for process in pool:
            process.wait(timeout=60)
