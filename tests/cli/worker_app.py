"""The app the ``sluice worker`` CLI tests run (its store URL and marker directory are set
by environment)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from sluice import App, Context, Discard

app = App(os.environ.get("SLUICE_CLI_URL", "sqlite:///cli.db"))
app.queue("jobs", visibility_timeout=120)
app.alarm("jobs-dead", queue="jobs", dlq_depth_above=0)
MARKS = Path(os.environ.get("SLUICE_CLI_MARKS", "."))


@app.action(queue="jobs", timeout=600)
def hang(body: int, ctx: Context) -> None:
    (MARKS / f"started-{ctx.message.id}").touch()
    time.sleep(60)


@app.action(queue="jobs")
def work(body: str, ctx: Context) -> None:
    if body == "unwanted":
        raise Discard("not wanted")
