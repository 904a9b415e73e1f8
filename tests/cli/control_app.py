"""The app the operator-control proof tests run under ``sluice worker`` (store URL and marker
directory from the environment): every handler start leaves a file named by its time."""

from __future__ import annotations

import os
import time
from pathlib import Path

from sluice import App, Context

app = App(os.environ.get("SLUICE_CLI_URL", "sqlite:///cli.db"))
app.queue("work", visibility_timeout=120)
app.queue("limited", visibility_timeout=120)
MARKS = Path(os.environ.get("SLUICE_CLI_MARKS", "."))


def _mark(kind: str, ctx: Context) -> None:
    (MARKS / f"{kind}-{time.time():.3f}-{ctx.message.id}").touch()


@app.action(queue="work")
def quick(body: int, ctx: Context) -> None:
    _mark("quick", ctx)
    time.sleep(0.05)


@app.action(queue="limited", concurrency=10, timeout=600)
def slow(body: int, ctx: Context) -> None:
    _mark("slow", ctx)
    time.sleep(1.0)
