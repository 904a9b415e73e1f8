"""Worker benchmark: drain rate of 2 worker processes and enqueue-to-start latency.

Run by hand: ``python bench/worker.py [--backend sqlite|postgres|both] [--messages 100000]``.

1. **drain**: ``--messages`` no-op messages pre-enqueued, timed from launching 2 worker
   processes (``sluice worker bench.worker_app:app``) until all are acked, at handler batch
   size 1 and 100. Next to it, the store's own claim+ack rate from one process in batches of
   100 in the same run (the ceiling the runtime works under).
2. **latency**: 500 messages enqueued one by one, 10 ms apart, to an idle worker; p50 / p99 of
   the time from enqueue to the handler starting.
"""

from __future__ import annotations

import argparse
import compileall
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sluice import App, NewMessage, Outcome
from sluice.store import open_store

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.pgdb import fresh_database

ROOT = Path(__file__).resolve().parent.parent
SLUICE = str(Path(sys.executable).with_name("sluice"))
PG = os.environ.get("SLUICE_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/sluice_bench")


def fresh_url(backend: str, workdir: Path, pg: str = PG) -> str:
    if backend == "sqlite":
        return f"sqlite:///{workdir}/bench-{time.monotonic_ns()}.db"
    fresh_database(pg)
    return pg


_compiled = False


def deployed(env: dict[str, str]) -> dict[str, str]:
    """``env`` for a spawned process that runs as an installed sluice does: its byte code
    compiled ahead of time (pip compiles at install). This shell sets
    PYTHONDONTWRITEBYTECODE, under which every spawn would compile every module from source
    (some 130 ms of a worker's start), so sluice and the bench modules are compiled once here
    and the variable is dropped for the child."""
    global _compiled
    if not _compiled:
        for directory in (ROOT / "src" / "sluice", ROOT / "bench"):
            compileall.compile_dir(directory, quiet=1)
        _compiled = True
    return {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}


def workers(
    url: str, env_extra: dict[str, str], processes: int = 2
) -> list[subprocess.Popen[bytes]]:
    env = deployed({**os.environ, "SLUICE_BENCH_URL": url, **env_extra})
    command = [SLUICE, "worker", "bench.worker_app:app", "--concurrency", "32"]
    return [
        subprocess.Popen(command, cwd=ROOT, env=env, stderr=subprocess.DEVNULL)
        for _ in range(processes)
    ]


def stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
    for proc in procs:
        proc.wait(timeout=60)


def drain(
    backend: str, workdir: Path, messages: int, queue: str, action: str, pg: str = PG
) -> float:
    url = fresh_url(backend, workdir, pg)
    app = App(url)
    for name in ("one", "many", "latency"):
        app.queue(name, visibility_timeout=60)
    store = app.store
    for start in range(0, messages, 1000):
        store.enqueue([NewMessage(queue, n, action=action) for n in range(start, start + 1000)])
    started = time.perf_counter()
    procs = workers(url, {})
    while True:
        time.sleep(0.05)
        stats = store.stats([queue])[0]
        if stats.depth == stats.in_flight == stats.delayed == 0:
            break
    took = time.perf_counter() - started
    if stats.dlq_depth:  # acks delete: the rest were acked unless dead-lettered
        raise RuntimeError(f"drain: {stats.dlq_depth} of {messages} messages dead-lettered")
    stop(procs)
    app.close()
    return messages / took


def store_rate(backend: str, workdir: Path, messages: int) -> float:
    store = open_store(fresh_url(backend, workdir))
    store.migrate()
    from sluice.model import QueuePolicy

    store.put_queue(QueuePolicy("one"))
    for start in range(0, messages, 1000):
        store.enqueue([NewMessage("one", n, action="noop") for n in range(start, start + 1000)])
    started = time.perf_counter()
    while claimed := store.claim(["one"], 100):
        store.complete([Outcome.ack(m.receipt) for m in claimed if m.receipt])
    took = time.perf_counter() - started
    store.close()
    return messages / took


def latency(backend: str, workdir: Path, count: int = 500) -> tuple[float, float]:
    """p50 and p99 (ms) of :func:`pickup_samples`."""
    samples = pickup_samples(backend, workdir, count)
    return statistics.median(samples), samples[int(len(samples) * 0.99) - 1]


def pickup_samples(backend: str, workdir: Path, count: int = 500) -> list[float]:
    """An idle worker's pickup latencies (ms, sorted): ``count`` messages enqueued one at a
    time, 10 ms apart, each timed from the start of its enqueue to its handler's start."""
    url = fresh_url(backend, workdir)
    log = workdir / f"latency-{time.monotonic_ns()}.log"
    app = App(url)
    for name in ("one", "many", "latency"):
        app.queue(name, visibility_timeout=60)
    store = app.store
    procs = workers(url, {"SLUICE_BENCH_LATENCY": str(log)}, processes=1)
    time.sleep(3.0)  # let the worker start and go idle
    for _ in range(count):
        store.enqueue([NewMessage("latency", time.time(), action="stamp")])
        time.sleep(0.01)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if log.exists() and len(log.read_text().split()) >= count:
            break
        time.sleep(0.1)
    stop(procs)
    app.close()
    return sorted(float(x) * 1000 for x in log.read_text().split())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--messages", type=int, default=100_000)
    args = parser.parse_args()
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        for backend in backends:
            ceiling = store_rate(backend, workdir, args.messages)
            one = drain(backend, workdir, args.messages, "one", "noop")
            many = drain(backend, workdir, args.messages, "many", "noop_batch")
            p50, p99 = latency(backend, workdir)
            rows.append((backend, ceiling, one, many, p50, p99))
    print(
        "| backend | store claim+ack, 1 process, batch 100 | 2 workers, batch_size 1 | "
        "2 workers, batch_size 100 | latency p50 | latency p99 |"
    )
    print("|---|--:|--:|--:|--:|--:|")
    for backend, ceiling, one, many, p50, p99 in rows:
        print(
            f"| {backend} | {ceiling:,.0f}/s | {one:,.0f}/s ({one / ceiling:.2f}x) | "
            f"{many:,.0f}/s ({many / ceiling:.2f}x) | {p50:.1f} ms | {p99:.1f} ms |"
        )


if __name__ == "__main__":
    main()
