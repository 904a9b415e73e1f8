"""The purge-with-audit story: delete every expired record, one audit event per deletion.

A table of synthetic analytics records (some expired) lives in the store's own database. A
producer process discovers the expired ones with a keyset query that fetches only their ids,
enqueues them into a run in chunks (checkpointed, so a killed producer resumes), and worker
processes drain the run: each message deletes its record and writes its audit event through
``ctx.transaction``, which commits with the ack, so each happens exactly once even when a
worker is SIGKILLed. A global ``concurrency=50`` keeps at most 50 deletions in flight.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sluice import App, Context, Message

QUEUE = "purge"
ACTION = "purge_records"
BATCH = 25
"""Messages per handler call: two calls fill the 50 deletions allowed in flight."""
PAGE = 2000
"""Records per keyset page of the discovery query."""
EXPIRED_SHARE = 0.3
QUEUE_OPTIONS: dict[str, Any] = {"visibility_timeout": 10, "max_receives": 5, "dedup_window": None}
"""The purge queue: a SIGKILLed worker's leases come back within 10 s (live workers renew
theirs every third of it); a redelivery cannot duplicate an effect, since each batch's deletes
and audit events commit in its ack's transaction."""

app = App(os.environ.get("SLUICE_PURGE_URL"))
app.queue(QUEUE, **QUEUE_OPTIONS)


def _sqlite(tx: Any) -> bool:
    return isinstance(tx, sqlite3.Connection)


@app.action(queue=QUEUE, batch_size=BATCH, batch_window=0.05, concurrency=50, timeout=60)
def purge_records(messages: list[Message], ctx: Context) -> None:
    """Delete each message's record and write its audit event, in the ack's transaction."""
    tx = ctx.transaction
    mark = "?" if _sqlite(tx) else "%s"
    now = time.time()
    cursor = tx.cursor()
    cursor.executemany(
        f"INSERT INTO audit_events (record_id, event, run_id, at) VALUES ({mark}, {mark}, "
        f"{mark}, {mark})",
        [(m.body["id"], "record.purged", m.run_id, now) for m in messages],
    )
    cursor.executemany(
        f"DELETE FROM purge_records WHERE id = {mark}", [(m.body["id"],) for m in messages]
    )


# -- the demo's own tables, in the store's database --------------------------------------------
@contextmanager
def connect(url: str) -> Iterator[tuple[Any, str]]:
    """A plain connection to the store's database and its parameter mark."""
    if url.startswith("sqlite"):
        from sluice.store.sqlite import sqlite_path

        conn = sqlite3.connect(sqlite_path(url), isolation_level=None, timeout=60)
        conn.execute("PRAGMA busy_timeout=60000")
        try:
            yield conn, "?"
        finally:
            conn.close()
    else:
        import psycopg

        with psycopg.connect(url, autocommit=True) as pg:
            yield pg, "%s"


def build(url: str, records: int, seed: int = 7) -> int:
    """(Re)create the records and audit tables with ``records`` rows; return how many are
    expired."""
    rng = random.Random(seed)
    now = time.time()
    with connect(url) as (db, mark):
        db.execute("DROP TABLE IF EXISTS purge_records")
        db.execute("DROP TABLE IF EXISTS audit_events")
        db.execute(
            "CREATE TABLE purge_records (id BIGINT PRIMARY KEY, tenant TEXT NOT NULL, "
            "payload TEXT NOT NULL, expires_at DOUBLE PRECISION NOT NULL)"
        )
        db.execute(
            "CREATE TABLE audit_events (record_id BIGINT NOT NULL, event TEXT NOT NULL, "
            "run_id TEXT, at DOUBLE PRECISION NOT NULL)"
        )
        counted = [0]

        def rows() -> Iterator[tuple[int, str, str, float]]:
            # streamed, so the demo process stays small (its children inherit its peak RSS)
            for n in range(1, records + 1):
                dead = rng.random() < EXPIRED_SHARE
                counted[0] += dead
                expires = now - rng.uniform(1, 90) * 86400 if dead else now + 86400 * 30
                yield n, f"tenant-{n % 97}", f"page_view:{n * 7919 % 100_000}", expires

        if _sqlite(db):
            insert = f"INSERT INTO purge_records VALUES ({mark}, {mark}, {mark}, {mark})"
            db.execute("BEGIN")
            db.executemany(insert, rows())
            db.execute("COMMIT")
        else:
            with db.cursor().copy("COPY purge_records FROM STDIN") as copy:
                for row in rows():
                    copy.write_row(row)
            db.execute("ANALYZE purge_records")
        expired = counted[0]
    return expired


def expired_after(url: str, cutoff: float) -> Callable[[Any], Iterator[dict[str, int]]]:
    """The discovery query: expired records after a key, by id, fetching the id only."""

    def fetch(last_id: Any) -> Iterator[dict[str, int]]:
        last = int(last_id or 0)
        with connect(url) as (db, mark):
            while True:
                page = db.execute(
                    f"SELECT id FROM purge_records WHERE id > {mark} AND expires_at < {mark} "
                    f"ORDER BY id LIMIT {PAGE}",
                    (last, cutoff),
                ).fetchall()
                if not page:
                    return
                for (id_,) in page:
                    yield {"id": int(id_)}
                last = int(page[-1][0])

    return fetch


def produce(url: str, run_id: str, cutoff: float) -> int:
    """Discover the expired records into the run (resuming after its checkpoint)."""
    producer = App(url)
    producer.queue(QUEUE, **QUEUE_OPTIONS)
    producer.action(ACTION, queue=QUEUE, batch_size=BATCH, concurrency=50)(purge_records)
    try:
        producer.start_run("purge", id=run_id, meta={"cutoff": cutoff})
        return producer.discover(
            ACTION,
            expired_after(url, cutoff),
            key=lambda r: r["id"],
            run=run_id,
            chunk_size=1000,
            max_backlog=200_000,
        )
    finally:
        producer.close()


# -- the story --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Summary:
    records: int
    expired: int
    deleted: int
    audit_events: int
    duplicates: int
    expired_left: int
    live_left: int
    run_total: int
    run_succeeded: int
    run_dead: int
    run_status: str
    producer_peak_mb: float
    worker_peak_mb: float
    producer_kills: int
    worker_kills: int
    build_seconds: float
    seconds: float

    @property
    def throughput(self) -> float:
        return self.deleted / self.seconds if self.seconds else 0.0


@dataclass
class _Child:
    process: subprocess.Popen[bytes]
    peak_kb: int = 0


def _spawn(args: list[str], env: dict[str, str], errors: Any = subprocess.DEVNULL) -> _Child:
    """Start a child; its log lines are dropped unless ``errors`` names a file for them (a
    pipe nobody reads would block it once full)."""
    return _Child(
        subprocess.Popen([sys.executable, *args], env=env, stdout=subprocess.DEVNULL, stderr=errors)
    )


def _reap(child: _Child, kill: bool = False) -> int:
    """Wait for a child (SIGKILL first if asked); return its exit code, keep its peak RSS."""
    if kill:
        child.process.send_signal(signal.SIGKILL)
    _pid, status, usage = os.wait4(child.process.pid, 0)
    child.process.returncode = os.waitstatus_to_exitcode(status)
    child.peak_kb = max(child.peak_kb, usage.ru_maxrss)
    return child.process.returncode


def run(
    url: str,
    records: int,
    workers: int = 2,
    crash: bool = False,
    on_progress: Callable[[App, str], object] | None = None,
) -> Summary:
    """Build the table, discover and drain; with ``crash``, SIGKILL the producer and a worker
    midway and start them again. ``on_progress(app, run_id)`` runs while work is going on
    (the CLI shows a live progress bar there) and must return when the run has finished."""
    started = time.monotonic()
    expired = build(url, records)
    build_seconds = time.monotonic() - started
    env = {**os.environ, "SLUICE_PURGE_URL": url}
    cutoff = time.time()
    viewer = App(url)
    viewer.queue(QUEUE, **QUEUE_OPTIONS)
    viewer.action(ACTION, queue=QUEUE, batch_size=BATCH, concurrency=50)(purge_records)
    store = viewer.store
    store.purge(QUEUE)
    store.purge(QUEUE + ".dlq")
    run_id = f"purge-{int(cutoff)}-{random.randrange(10**6):06d}"
    viewer.start_run("purge", id=run_id, meta={"cutoff": cutoff, "records": records})
    produce_args = [
        "-m",
        "sluice.demos.purge",
        "produce",
        "--run",
        run_id,
        "--cutoff",
        repr(cutoff),
    ]
    worker_args = ["-m", "sluice.cli", "worker", "sluice.demos.purge:app", "--concurrency", "4"]
    worker_args += ["--log-format", "text"]
    drain_started = time.monotonic()
    producer_log = tempfile.TemporaryFile()  # noqa: SIM115  (closed in the finally below)
    producer = _spawn(produce_args, env, producer_log)
    pool = [_spawn(worker_args, env) for _ in range(workers)]
    peaks = {"producer": 0, "worker": 0}
    kills = {"producer": 0, "worker": 0}
    try:
        if crash:
            # kill the producer once it has discovered about a third, a worker at half done
            _wait_for(
                lambda: (
                    store.run_state(run_id).total >= expired // 3
                    or producer.process.poll() is not None
                )
            )
            if producer.process.poll() is None:
                _reap(producer, kill=True)
                kills["producer"] += 1
                peaks["producer"] = max(peaks["producer"], producer.peak_kb)
                producer = _spawn(produce_args, env, producer_log)
            _wait_for(lambda: store.run_state(run_id).done >= expired // 2)
            victim = pool.pop(0)
            _reap(victim, kill=True)
            kills["worker"] += 1
            peaks["worker"] = max(peaks["worker"], victim.peak_kb)
            pool.append(_spawn(worker_args, env))
        if on_progress is not None:
            on_progress(viewer, run_id)
        _wait_for(lambda: store.run_state(run_id).finished, poll=0.2)
        if _reap(producer) != 0:
            producer_log.seek(0)
            stderr = producer_log.read().decode(errors="replace")
            raise RuntimeError(f"the producer failed: {stderr.strip()[-2000:]}")
        peaks["producer"] = max(peaks["producer"], producer.peak_kb)
    finally:
        for child in pool:
            if child.process.returncode is None:
                child.process.send_signal(signal.SIGTERM)
        for child in pool:
            if child.process.returncode is None:
                _reap(child)
            peaks["worker"] = max(peaks["worker"], child.peak_kb)
        if producer.process.returncode is None:
            _reap(producer, kill=True)
        producer_log.close()
    seconds = time.monotonic() - drain_started
    state = store.run_state(run_id)
    with connect(url) as (db, mark):
        audit, distinct = db.execute(
            f"SELECT count(*), count(DISTINCT record_id) FROM audit_events WHERE run_id = {mark}",
            (run_id,),
        ).fetchone()
        expired_left = db.execute(
            f"SELECT count(*) FROM purge_records WHERE expires_at < {mark}", (cutoff,)
        ).fetchone()[0]
        live_left = db.execute(
            f"SELECT count(*) FROM purge_records WHERE expires_at >= {mark}", (cutoff,)
        ).fetchone()[0]
    viewer.close()
    return Summary(
        records=records,
        expired=expired,
        deleted=expired - expired_left,
        audit_events=audit,
        duplicates=audit - distinct,
        expired_left=expired_left,
        live_left=live_left,
        run_total=state.total,
        run_succeeded=state.succeeded,
        run_dead=state.dead,
        run_status=state.status,
        producer_peak_mb=peaks["producer"] / 1024,
        worker_peak_mb=peaks["worker"] / 1024,
        producer_kills=kills["producer"],
        worker_kills=kills["worker"],
        build_seconds=build_seconds,
        seconds=seconds,
    )


def _wait_for(condition: Callable[[], bool], poll: float = 0.05, timeout: float = 3600) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the purge demo made no progress")
        time.sleep(poll)


def main(argv: list[str] | None = None) -> int:
    """``python -m sluice.demos.purge produce --run ID --cutoff T``: the producer process."""
    parser = argparse.ArgumentParser(prog="python -m sluice.demos.purge")
    parser.add_argument("command", choices=["produce"])
    parser.add_argument("--run", required=True)
    parser.add_argument("--cutoff", type=float, required=True)
    args = parser.parse_args(argv)
    url = os.environ["SLUICE_PURGE_URL"]
    produce(url, args.run, args.cutoff)
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
