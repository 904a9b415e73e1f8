"""The app bench/worker.py runs in real worker processes (configured by environment)."""

from __future__ import annotations

import os
import time

from sluice import App, Context, Message

app = App(os.environ.get("SLUICE_BENCH_URL"))
app.queue("one", visibility_timeout=60)
app.queue("many", visibility_timeout=60)
app.queue("latency", visibility_timeout=60)
LATENCY_LOG = os.environ.get("SLUICE_BENCH_LATENCY", "latency.log")


@app.action(queue="one")
def noop(body: int, ctx: Context) -> None:
    """A handler that does nothing, one message per call."""


@app.action(queue="many", batch_size=100)
def noop_batch(messages: list[Message], ctx: Context) -> None:
    """A handler that does nothing, up to 100 messages per call."""


@app.action(queue="latency")
async def stamp(body: float, ctx: Context) -> None:
    """Record how long after its enqueue the message started."""
    with open(LATENCY_LOG, "a") as out:
        out.write(f"{time.time() - body}\n")
