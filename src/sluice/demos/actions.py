"""The action-runner story: a cron schedule, chained actions, a FIFO queue per tenant, a
throttled migration and a failing action that ends in the DLQ, all on one store.

Real processes: a ``sluice scheduler`` fires the schedule and two ``sluice worker`` processes
run every action. Each handler writes what it did through ``ctx.transaction`` (with its start
and end times), so the summary is measured from the store's own tables afterwards.
"""

from __future__ import annotations

import itertools
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sluice import App, Context, Job

MIGRATION_RATE = 500
MIGRATION_CONCURRENCY = 5

app = App(os.environ.get("SLUICE_ACTIONS_URL"))
app.queue("ops")
app.queue("tenants", fifo=True, visibility_timeout=30)
app.queue("migration", visibility_timeout=30)
app.queue("imports", max_receives=3)


def _mark(tx: Any) -> str:
    return "?" if isinstance(tx, sqlite3.Connection) else "%s"


def _log(ctx: Context, kind: str, key: str, started: float) -> None:
    tx = ctx.transaction
    m = _mark(tx)
    tx.execute(
        f"INSERT INTO demo_log (kind, item, started, ended) VALUES ({m}, {m}, {m}, {m})",
        (kind, key, started, time.time()),
    )


@app.schedule("* * * * * *", misfire="skip")
@app.action(queue="ops")
def nightly_report(body: Any, ctx: Context) -> None:
    """Fired by cron every second; chains its follow-up, committed with its own ack."""
    started = time.time()
    ctx.enqueue("send_report", {"tick": ctx.message.dedup_id})
    _log(ctx, "cron", str(ctx.message.id), started)


@app.action(queue="ops")
def send_report(body: dict[str, Any], ctx: Context) -> None:
    _log(ctx, "chained", str(body["tick"]), time.time())


@app.action(queue="tenants", retry_base=0.05)
def tenant_step(body: dict[str, Any], ctx: Context) -> None:
    started = time.time()
    time.sleep(0.005)  # some work, so tenants visibly run side by side
    _log(ctx, "fifo", f"{body['tenant']}:{body['seq']}", started)


@app.action(queue="migration", concurrency=MIGRATION_CONCURRENCY, rate=f"{MIGRATION_RATE}/s")
def migrate_row(body: dict[str, Any], ctx: Context) -> None:
    started = time.time()
    tx = ctx.transaction
    m = _mark(tx)
    tx.execute(f"UPDATE demo_accounts SET plan = {m} WHERE id = {m}", ("v2", body["id"]))
    _log(ctx, "migration", str(body["id"]), started)


@app.action(queue="imports", retry_base=0.05, retry_cap=0.1)
def import_feed(body: dict[str, Any], ctx: Context) -> None:
    raise ValueError(f"feed {body['feed']} answered 502 Bad Gateway")


@dataclass(frozen=True)
class Summary:
    cron_ticks: int
    chained: int
    tenants: int
    steps_per_tenant: int
    fifo_done: int
    order_violations: int
    tenants_in_parallel: int
    rows: int
    rows_migrated: int
    peak_concurrency: int
    peak_rate: int
    mean_rate: float
    dead_letters: list[tuple[str, str]]
    seconds: float


def _connect(url: str) -> Any:
    if url.startswith("sqlite"):
        from sluice.store.sqlite import sqlite_path

        conn = sqlite3.connect(sqlite_path(url), isolation_level=None, timeout=60)
        return conn
    import psycopg

    return psycopg.connect(url, autocommit=True)


def prepare(url: str, rows: int) -> None:
    db = _connect(url)
    try:
        for table in ("demo_log", "demo_accounts"):
            db.execute(f"DROP TABLE IF EXISTS {table}")
        db.execute("CREATE TABLE demo_accounts (id BIGINT PRIMARY KEY, plan TEXT NOT NULL)")
        db.execute(
            "CREATE TABLE demo_log (kind TEXT NOT NULL, item TEXT NOT NULL, "
            "started DOUBLE PRECISION NOT NULL, ended DOUBLE PRECISION NOT NULL)"
        )
        m = "?" if isinstance(db, sqlite3.Connection) else "%s"
        insert = f"INSERT INTO demo_accounts VALUES ({m}, {m})"
        if isinstance(db, sqlite3.Connection):
            db.execute("BEGIN")
            db.executemany(insert, ((n, "v1") for n in range(rows)))
            db.execute("COMMIT")
        else:
            with db.cursor().copy("COPY demo_accounts FROM STDIN") as copy:
                for n in range(rows):
                    copy.write_row((n, "v1"))
    finally:
        db.close()


def run(
    url: str,
    rows: int,
    tenants: int = 20,
    steps: int = 25,
    on_tick: Callable[[App], None] | None = None,
) -> Summary:
    """Run the story on ``url`` and measure it."""
    prepare(url, rows)
    env = {**os.environ, "SLUICE_ACTIONS_URL": url}
    viewer = App(url)  # the story's app on the given store (the module's reads the env)
    for p in app.queues:
        viewer.queue(
            p.name,
            visibility_timeout=p.visibility_timeout,
            max_receives=p.max_receives,
            fifo=p.fifo,
            dedup_window=p.dedup_window,
            retention=p.retention,
            max_message_bytes=p.max_message_bytes,
        )
    for name, action in app.actions.items():
        policy = action.policy
        viewer.action(name, queue=policy.queue, concurrency=policy.concurrency, rate=policy.rate)(
            action.handler
        )
    store = viewer.store
    for queue in app.queues:
        store.purge(queue.name)
        store.purge(queue.dlq.name)
    viewer.enqueue_many(
        "tenant_step",
        (
            Job({"tenant": t, "seq": s}, group=f"tenant-{t}")
            for s in range(steps)
            for t in range(tenants)
        ),
    )
    viewer.enqueue_many("migrate_row", ({"id": n} for n in range(rows)))
    viewer.enqueue("import_feed", {"feed": "partner-prices"})
    started = time.monotonic()
    command = [sys.executable, "-m", "sluice.cli", "worker", "sluice.demos.actions:app"]
    processes = [
        subprocess.Popen([*command, "--concurrency", "8"], env=env, stderr=subprocess.DEVNULL)
        for _ in range(2)
    ]
    processes.append(
        subprocess.Popen(
            [sys.executable, "-m", "sluice.cli", "scheduler", "sluice.demos.actions:app"],
            env=env,
            stderr=subprocess.DEVNULL,
        )
    )
    try:
        while True:
            time.sleep(0.25)
            if on_tick is not None:
                on_tick(viewer)
            stats = store.stats(["tenants", "migration", "imports"])
            busy = any(s.depth or s.in_flight or s.delayed for s in stats)
            ticks = store.stats(["ops"])[0]
            if not busy and time.monotonic() - started > 3 and not ticks.in_flight:
                break
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(timeout=60)
    seconds = time.monotonic() - started
    db = _connect(url)
    try:
        log = db.execute("SELECT kind, item, started, ended FROM demo_log").fetchall()
        migrated = db.execute("SELECT count(*) FROM demo_accounts WHERE plan = 'v2'").fetchone()[0]
    finally:
        db.close()
    dead = [(m.action, (m.last_error or "").split(" at ")[0]) for m in store.dlq_list("imports")]
    viewer.close()
    return _summarize(log, rows, tenants, steps, migrated, dead, seconds)


def _summarize(
    log: list[tuple[str, str, float, float]],
    rows: int,
    tenants: int,
    steps: int,
    migrated: int,
    dead: list[tuple[str, str]],
    seconds: float,
) -> Summary:
    by_kind: dict[str, list[tuple[str, float, float]]] = defaultdict(list)
    for kind, item, start, end in log:
        by_kind[kind].append((item, float(start), float(end)))
    order: dict[str, list[tuple[float, int]]] = defaultdict(list)
    for item, start, _ in by_kind["fifo"]:
        tenant, seq = item.split(":")
        order[tenant].append((start, int(seq)))
    violations = 0
    for steps_done in order.values():
        seqs = [seq for _, seq in sorted(steps_done)]
        violations += sum(1 for a, b in itertools.pairwise(seqs) if b <= a)
    migration = by_kind["migration"]
    return Summary(
        cron_ticks=len(by_kind["cron"]),
        chained=len(by_kind["chained"]),
        tenants=tenants,
        steps_per_tenant=steps,
        fifo_done=len(by_kind["fifo"]),
        order_violations=violations,
        tenants_in_parallel=_peak_overlap(
            [(s, e, item.split(":")[0]) for item, s, e in by_kind["fifo"]]
        ),
        rows=rows,
        rows_migrated=migrated,
        peak_concurrency=_peak_overlap([(s, e, item) for item, s, e in migration]),
        peak_rate=_peak_window([s for _, s, _ in migration]),
        mean_rate=_mean_rate([s for _, s, _ in migration]),
        dead_letters=dead,
        seconds=seconds,
    )


def _peak_overlap(spans: list[tuple[float, float, str]]) -> int:
    """The most spans (distinct keys) running at one instant."""
    events = sorted([(s, 1, k) for s, _, k in spans] + [(e, -1, k) for _, e, k in spans])
    running: dict[str, int] = defaultdict(int)
    peak = 0
    for _, step, key in events:
        running[key] += step
        if running[key] == 0:
            del running[key]
        peak = max(peak, len(running))
    return peak


def _peak_window(starts: list[float], window: float = 1.0) -> int:
    """The most starts within any ``window`` seconds."""
    starts = sorted(starts)
    peak = 0
    low = 0
    for high, at in enumerate(starts):
        while at - starts[low] >= window:
            low += 1
        peak = max(peak, high - low + 1)
    return peak


def _mean_rate(starts: list[float]) -> float:
    if len(starts) < 2:
        return 0.0
    return (len(starts) - 1) / (max(starts) - min(starts))
