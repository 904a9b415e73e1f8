"""The app the multi-process scheduler tests run (store URL and record file by environment)."""

from __future__ import annotations

import os

from sluice import App, Context

app = App(os.environ.get("SLUICE_CRON_URL", "sqlite:///cron.db"))
app.queue("beats", dedup_window=3600)
# catch_up: on a noisy machine all schedulers may stall past a tick; none may be lost.
app.schedule("* * * * * *", "beat", body={"from": "cron"}, queue="beats", misfire="catch_up")
RECORD = os.environ.get("SLUICE_CRON_RECORD", "cron.log")


@app.action(queue="beats")
def beat(body: dict[str, str], ctx: Context) -> None:
    with open(RECORD, "a") as out:
        out.write(f"{ctx.message.dedup_id}\n")
