"""The app the multi-process worker tests run with ``sluice worker`` (set by environment)."""

from __future__ import annotations

import os
import time

from sluice import App, Context

app = App(os.environ.get("SLUICE_FLEET_URL", "sqlite:///fleet.db"))
app.queue("limited", visibility_timeout=60)
app.queue("metered", visibility_timeout=60)
app.queue("ordered", fifo=True, max_receives=3, visibility_timeout=60)
RECORD = os.environ.get("SLUICE_FLEET_RECORD", "fleet.log")


def record(line: str) -> None:
    with open(RECORD, "a") as out:
        out.write(line + "\n")


@app.action(queue="limited", concurrency=5)
def limited(body: int, ctx: Context) -> None:
    started = time.time()
    time.sleep(0.02)
    record(f"limited {started} {time.time()}")


@app.action(queue="metered", rate="100/s")
def metered(body: int, ctx: Context) -> None:
    record(f"metered {time.time()}")


@app.action(queue="ordered", batch_size=1, retry_base=0.0)
def step(body: dict[str, int], ctx: Context) -> None:
    if body.get("poison"):
        raise ValueError("poison message")
    record(f"ordered {body['g']} {body['seq']}")
