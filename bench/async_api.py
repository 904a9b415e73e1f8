"""The async API against the sync one: 1,000 concurrent ``enqueue_async`` calls from one
event loop, the loop's worst stall (a probe ticking every 1 ms) and the throughput, on both
stores, next to 1,000 sync ``enqueue`` calls in the same run.

    .venv/bin/python bench/async_api.py [postgresql://postgres@127.0.0.1:5432/bench_async]
"""

from __future__ import annotations

import asyncio
import functools
import sys
import tempfile
import time
from typing import Any

from sluice import App, aio

N = 1000
ROUNDS = 3


def _app(url: str) -> App:
    app = App(url)
    app.queue("bench")

    @app.action(queue="bench")
    def job(body: Any, ctx: Any) -> None:  # pragma: no cover - never run
        pass

    app.store.migrate()
    return app


def sync_rate(app: App) -> float:
    start = time.perf_counter()
    for i in range(N):
        app.enqueue("job", i)
    return N / (time.perf_counter() - start)


async def unadmitted(app: App, body: Any) -> int:
    """The former hop (no admission semaphore): the same-run baseline of the stall."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(aio._executor(), functools.partial(app.enqueue, "job", body))


async def idle_stall(seconds: float = 0.5) -> float:
    """The probe alone on an idle loop: what the machine's load costs by itself (ms)."""
    worst, end = 0.0, time.perf_counter() + seconds
    last = time.perf_counter()
    while last < end:
        await asyncio.sleep(0.001)
        now = time.perf_counter()
        worst, last = max(worst, now - last - 0.001), now
    return worst * 1000


async def async_run(app: App, admitted: bool = True) -> tuple[float, float]:
    worst = 0.0
    done = False

    async def probe() -> None:
        nonlocal worst
        last = time.perf_counter()
        while not done:
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            worst = max(worst, now - last - 0.001)
            last = now

    ticker = asyncio.create_task(probe())
    await asyncio.sleep(0.01)
    start = time.perf_counter()
    call = app.enqueue_async if admitted else functools.partial(unadmitted, app)
    await asyncio.gather(*(call("job", i) if admitted else call(i) for i in range(N)))
    elapsed = time.perf_counter() - start
    done = True
    await ticker
    return N / elapsed, worst * 1000


def main() -> None:
    if "--threads" in sys.argv:  # the async pool's size (and admission), for experiments
        at = sys.argv.index("--threads")
        aio.THREADS = int(sys.argv[at + 1])
        del sys.argv[at : at + 2]
    pg = (
        sys.argv[1]
        if len(sys.argv) > 1
        else "postgresql://postgres@127.0.0.1:5432/sluice_txn_bench"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for name, url in (("sqlite", f"sqlite:///{tmp}/bench.db"), ("postgres", pg)):
            app = _app(url)
            sync_rate(app)  # warm-up
            for _ in range(ROUNDS):
                idle = asyncio.run(idle_stall())
                print(f"{name:8} idle loop, probe alone: worst stall {idle:5.1f} ms")
                sync = sync_rate(app)
                for admitted in (False, True):
                    rate, stall = asyncio.run(async_run(app, admitted))
                    label = "admitted" if admitted else "unadmitted"
                    print(
                        f"{name:8} sync {sync:7.0f}/s  async {label:10} {rate:7.0f}/s  "
                        f"ratio {rate / sync:4.2f}  worst stall {stall:5.1f} ms",
                        flush=True,
                    )
            app.close()


if __name__ == "__main__":
    main()
