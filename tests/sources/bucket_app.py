"""The app the multi-process bucket-watch proof runs (store URL, endpoint and record file by
environment): a batch handler that reads each object through ``ctx.open_object``, records
``key etag`` per valid object, and fails the ones that are not JSON (dead-lettered to
``failed/`` at once, ``max_receives=1``)."""

from __future__ import annotations

import json
import os

from sluice import App, Context, Message, Partial

app = App(os.environ.get("SLUICE_BUCKET_TEST_URL", "sqlite:///bucket.db"))
app.queue("objects", dedup_window=None, max_receives=1, visibility_timeout=30)
RECORD = os.environ.get("SLUICE_BUCKET_TEST_RECORD", "bucket.log")


@app.action(queue="objects", batch_size=50, batch_window=0.2)
def load(messages: list[Message], ctx: Context) -> Partial | None:
    bad: dict[int, str] = {}
    lines = []
    for message in messages:
        with ctx.open_object(message) as stream:
            data = stream.read()
        try:
            json.loads(data)
        except ValueError:
            bad[message.id] = f"not JSON: {data[:20]!r}"
        else:
            lines.append(f"{message.body['key']}\t{message.body['etag']}\n")
    with open(RECORD, "a", encoding="utf-8") as out:
        out.write("".join(lines))
    return Partial(bad) if bad else None


app.watch_bucket(
    "s3://proof",
    "load",
    endpoint_url=os.environ.get("SLUICE_BUCKET_TEST_ENDPOINT"),
    on_success="processed/",
    on_dead="failed/",
    reconcile_every=float(os.environ.get("SLUICE_BUCKET_TEST_RECONCILE", "10")),
)
