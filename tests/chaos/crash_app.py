"""The app the crash test runs in real worker processes (configured by environment)."""

from __future__ import annotations

import os
import time

from sluice import App, Context, Message

app = App(os.environ.get("SLUICE_CRASH_URL", "sqlite:///crash.db"))
app.queue("crash", visibility_timeout=2, max_receives=1000)
EXECUTIONS = os.environ.get("SLUICE_CRASH_LOG", "executions.log")


@app.action(queue="crash", batch_size=10, retry_base=0.1)
def write(messages: list[Message], ctx: Context) -> None:
    """Record each execution, work a little (outside the transaction, which on SQLite holds
    the write lock), then write one effect per message in the ack's transaction."""
    time.sleep(0.02)
    with open(EXECUTIONS, "a") as log:
        log.write("".join(f"{m.body}\n" for m in messages))
    conn = ctx.transaction
    rows = [(m.body,) for m in messages]
    if type(conn).__module__ == "sqlite3":
        conn.executemany("INSERT INTO effects (n) VALUES (?)", rows)
    else:
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO effects (n) VALUES (%s)", rows)
