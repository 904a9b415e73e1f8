"""The async API against the sync one: 1,000 concurrent ``enqueue_async`` calls from one
event loop, the loop's worst stall (a probe ticking every 1 ms) and the throughput, on both
stores, next to 1,000 sync ``enqueue`` calls in the same run.

    .venv/bin/python bench/async_api.py [postgresql://postgres@127.0.0.1:5432/bench_async]
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from typing import Any

from sluice import App

N = 1000


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


async def async_run(app: App) -> tuple[float, float]:
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
    await asyncio.gather(*(app.enqueue_async("job", i) for i in range(N)))
    elapsed = time.perf_counter() - start
    done = True
    await ticker
    return N / elapsed, worst * 1000


def main() -> None:
    pg = (
        sys.argv[1]
        if len(sys.argv) > 1
        else "postgresql://postgres@127.0.0.1:5432/sluice_txn_bench"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for name, url in (("sqlite", f"sqlite:///{tmp}/bench.db"), ("postgres", pg)):
            app = _app(url)
            sync_rate(app)  # warm-up
            rates = [(sync_rate(app), *asyncio.run(async_run(app))) for _ in range(3)]
            for sync, aio, stall in rates:
                print(
                    f"{name:8} sync {sync:7.0f}/s  async {aio:7.0f}/s  "
                    f"ratio {aio / sync:4.2f}  worst stall {stall:5.1f} ms"
                )
            app.close()


if __name__ == "__main__":
    main()
