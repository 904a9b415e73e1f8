"""The async API against the sync one: 1,000 concurrent ``enqueue_async`` calls from one
event loop, the loop's worst stall (a probe ticking every 1 ms) and the throughput, on both
stores, next to 1,000 sync ``enqueue`` calls in the same run.

    .venv/bin/python bench/async_api.py [postgresql://postgres@127.0.0.1:5432/bench_async]
"""

from __future__ import annotations

import asyncio
import functools
import gc
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sluice import App, aio_pool

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.pgdb import fresh_database

N = 1000
ROUNDS = int(os.environ.get("ROUNDS", "3"))


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


async def one_hop(app: App, body: Any) -> int:
    """One thread hop per call (the former enqueue_async): the same-run baseline."""
    return await aio_pool.hop(app.enqueue, "job", body)


async def noop(body: Any) -> int:
    """The floor: a coroutine that only yields (what gathering 1,000 costs the loop)."""
    await asyncio.sleep(0)
    return 0


async def idle_stall(seconds: float = 0.5) -> float:
    """The probe alone on an idle loop: what the machine's load costs by itself (ms)."""
    worst, end = 0.0, time.perf_counter() + seconds
    last = time.perf_counter()
    while last < end:
        await asyncio.sleep(0.001)
        now = time.perf_counter()
        worst, last = max(worst, now - last - 0.001), now
    return worst * 1000


class GcPauses:
    """The longest cyclic-GC pause while active (ms): the interpreter's, not sluice's."""

    def __init__(self) -> None:
        self.longest = 0.0
        self._began = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._began = time.perf_counter()
        else:
            self.longest = max(self.longest, (time.perf_counter() - self._began) * 1000)

    def __enter__(self) -> GcPauses:
        gc.callbacks.append(self)
        return self

    def __exit__(self, *_: object) -> None:
        gc.callbacks.remove(self)


async def async_run(call: Callable[[Any], Awaitable[int]]) -> tuple[float, float, float]:
    """(calls/s, worst stall ms, longest GC pause ms) of N gathered ``call(i)``."""
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
    with GcPauses() as pauses:
        start = time.perf_counter()
        await asyncio.gather(*(call(i) for i in range(N)))
        elapsed = time.perf_counter() - start
    done = True
    await ticker
    return N / elapsed, worst * 1000, pauses.longest


def main() -> None:
    if "--threads" in sys.argv:  # the async pool's size (and admission), for experiments
        at = sys.argv.index("--threads")
        aio_pool.THREADS = int(sys.argv[at + 1])
        del sys.argv[at : at + 2]
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    pg = args[0] if args else "postgresql://postgres@127.0.0.1:5432/sluice_txn_bench"
    with tempfile.TemporaryDirectory() as tmp:
        for name, url in (("sqlite", f"sqlite:///{tmp}/bench.db"), ("postgres", pg)):
            app = _app(url if name == "sqlite" else fresh_database(url))
            sync_rate(app)  # warm-up
            if "--freeze" in sys.argv:  # start-up objects out of the collector's way
                gc.freeze()
            for _ in range(ROUNDS):
                idle = asyncio.run(idle_stall())
                sync = sync_rate(app)
                print(f"{name:8} idle loop {idle:4.1f} ms; sync enqueue {sync:6.0f}/s", flush=True)
                calls = {
                    "gather floor": noop,
                    "one hop/call": functools.partial(one_hop, app),
                    "enqueue_async": functools.partial(app.enqueue_async, "job"),
                }
                for label, call in calls.items():
                    rate, stall, pause = asyncio.run(async_run(call))
                    print(
                        f"{name:8} {label:14} {rate:7.0f}/s  x sync {rate / sync:5.2f}  "
                        f"worst stall {stall:5.1f} ms (longest GC pause {pause:4.1f} ms)",
                        flush=True,
                    )
            app.close()


if __name__ == "__main__":
    main()
