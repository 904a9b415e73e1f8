"""Worker memory benchmark: peak RSS of one worker process draining 100,000 and 1,000,000
messages (SQLite and PostgreSQL), which must stay flat: the 1M figure within 10% of 100k.

Run by hand: ``python bench/worker_memory.py [--backend sqlite|postgres|both]``.

The messages are pre-enqueued by the bench process; one ``sluice worker`` process (handler
batch_size 100, ``--concurrency 32``) drains them; its peak RSS is its ``VmHWM`` read from
/proc just before it is stopped. Next to it, in the same run, the peak RSS of a worker that
drained nothing (start-up and imports only).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import worker as sluice_bench
from sluice import App, NewMessage

SIZES = (0, 100_000, 1_000_000)


def memory_mb(pid: int) -> dict[str, float]:
    """The process's memory figures of /proc/PID/status that are sizes, in MB."""
    sizes = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if value.strip().endswith(" kB"):
            sizes[key] = int(value.split()[0]) / 1024
    return sizes


def peak_rss_mb(pid: int) -> float:
    peak = memory_mb(pid).get("VmHWM")
    if peak is None:
        raise RuntimeError(f"no VmHWM for process {pid}")
    return peak


def rss_parts(pid: int) -> str:
    """The process's resident memory now, by kind: anonymous (the heap), file-backed (SQLite's
    shared-memory WAL index, libraries) and shared (MB)."""
    sizes = memory_mb(pid)
    return " / ".join(f"{sizes.get(k, 0.0):.1f}" for k in ("RssAnon", "RssFile", "RssShmem"))


def drained_peak(backend: str, workdir: Path, messages: int) -> tuple[float, float, str]:
    """Peak RSS (MB) of a worker that drained ``messages``, the seconds it took and its
    resident memory by kind at the end."""
    url = sluice_bench.fresh_url(backend, workdir)
    app = App(url)
    for name in ("one", "many", "latency"):
        app.queue(name, visibility_timeout=60)
    for start in range(0, messages, 1000):
        chunk = range(start, min(start + 1000, messages))
        app.store.enqueue([NewMessage("many", n, action="noop_batch") for n in chunk])
    started = time.perf_counter()
    (proc,) = sluice_bench.workers(url, {}, processes=1)
    time.sleep(1.0)  # start-up
    while True:
        stats = app.store.stats(["many"])[0]
        if stats.depth == stats.in_flight == stats.delayed == 0:
            break
        time.sleep(0.2)
    took = time.perf_counter() - started
    peak, parts = peak_rss_mb(proc.pid), rss_parts(proc.pid)
    sluice_bench.stop([proc])
    app.close()
    return peak, took, parts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    args = parser.parse_args()
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    print(
        "| backend | messages drained | worker peak RSS | ÷ 100k figure | drain s "
        "| RSS at the end: anon / file / shmem MB |"
    )
    print("|---|--:|--:|--:|--:|--:|")
    with tempfile.TemporaryDirectory() as tmp:
        for backend in backends:
            figures = {n: drained_peak(backend, Path(tmp), n) for n in SIZES}
            base = figures[100_000][0]
            for n, (peak, took, parts) in figures.items():
                print(
                    f"| {backend} | {n:,} | {peak:.1f} MB | {peak / base:.2f}x | {took:.1f} "
                    f"| {parts} |"
                )


if __name__ == "__main__":
    main()
