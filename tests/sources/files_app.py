"""The app the multi-process file-watch test runs (store URL and root by environment): each
file's content is appended to a record, one line per handler call."""

from __future__ import annotations

import os

from sluice import App, Context

app = App(os.environ.get("SLUICE_FILES_TEST_URL", "sqlite:///files.db"))
app.queue("drops", dedup_window=None)
RECORD = os.environ.get("SLUICE_FILES_TEST_RECORD", "files.log")


@app.action(queue="drops")
def drop(body: dict[str, str], ctx: Context) -> None:
    with open(RECORD, "a") as out:
        out.write(f"{body['path']}\n")


app.watch_files(
    os.environ.get("SLUICE_FILES_TEST_ROOT", "drop"), "drop", on_success="done/", settle=0.2
)
