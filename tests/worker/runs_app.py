"""A three-stage run for the multi-process worker tests (store URL from the environment).

extract fans out 3 parts per message; the stage boundary starts transform, which fans out 20
loads; the last boundary enqueues finish. Every handler records its call through
``ctx.transaction``, so a row exists exactly once per message that succeeded.
"""

from __future__ import annotations

import os
from typing import Any

from sluice import App, Context

app = App(os.environ.get("SLUICE_RUNS_URL", "sqlite:///runs.db"))
app.queue("etl", visibility_timeout=3, max_receives=20)


def record(ctx: Context, kind: str) -> None:
    tx = ctx.transaction
    mark = "%s" if type(tx).__module__.startswith("psycopg") else "?"
    tx.execute(
        f"INSERT INTO run_effects (kind, message_id) VALUES ({mark}, {mark})",
        (kind, ctx.message.id),
    )


@app.action(queue="etl", retry_base=0.01, retry_cap=0.05)
def extract(body: Any, ctx: Context) -> None:
    for part in range(3):
        ctx.enqueue("part", {"of": body, "part": part}, run=ctx.run)
    record(ctx, "extract")


@app.action(queue="etl", retry_base=0.01, retry_cap=0.05)
def part(body: Any, ctx: Context) -> None:
    record(ctx, "part")


@app.action(queue="etl", retry_base=0.01, retry_cap=0.05)
def transform(summary: dict[str, Any], ctx: Context) -> None:
    assert summary["total"] == summary["succeeded"]
    for n in range(20):
        ctx.enqueue("load", n, run=ctx.run)
    record(ctx, "transform")


@app.action(queue="etl", retry_base=0.01, retry_cap=0.05)
def load(body: Any, ctx: Context) -> None:
    record(ctx, "load")


@app.action(queue="etl", retry_base=0.01, retry_cap=0.05)
def finish(summary: dict[str, Any], ctx: Context) -> None:
    record(ctx, "finish")
