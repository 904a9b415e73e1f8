"""The app the clock-skew tests run in real worker and scheduler processes whose clocks are
skewed with libfaketime (configured by environment). ``python -m tests.clock.skew_app N M``
enqueues N ``work`` and M ``limited`` messages with the calling process's clock."""

from __future__ import annotations

import asyncio
import os
import random
import sys

from sluice import App, Context, Message
from sluice.model import NewMessage

LEASE = 10.0
WORK_SECONDS = (1.0, 3.0)
LIMITED_SECONDS = (0.05, 0.3)
"""Short calls, so the rate (not only the concurrency) is what holds the limited action back."""

app = App(os.environ.get("SLUICE_SKEW_URL", "sqlite:///skew.db"))
app.queue("skew", visibility_timeout=LEASE)
app.queue("ticks", visibility_timeout=LEASE)


@app.action(queue="skew")
async def work(message: Message, ctx: Context) -> None:
    # asyncio sleeps: libfaketime's clock_nanosleep wrapper breaks time.sleep (see conftest)
    await asyncio.sleep(random.uniform(*WORK_SECONDS))


@app.action(queue="skew", concurrency=5, rate="20/s")
async def limited(message: Message, ctx: Context) -> None:
    await asyncio.sleep(random.uniform(*LIMITED_SECONDS))


@app.action(queue="skew")
async def late(message: Message, ctx: Context) -> None:
    """A delayed message: the test reads when it was claimed."""


@app.schedule("*/2 * * * * *", name="every-2s")
@app.action(queue="ticks")
async def tick(message: Message, ctx: Context) -> None:
    """A schedule's tick: the test reads when it was fired."""


if __name__ == "__main__":
    works, limiteds = int(sys.argv[1]), int(sys.argv[2])
    app.store.enqueue([NewMessage("skew", n, action="work") for n in range(works)])
    app.store.enqueue([NewMessage("skew", n, action="limited") for n in range(limiteds)])
    app.close()
