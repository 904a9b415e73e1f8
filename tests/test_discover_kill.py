"""A discovery SIGKILLed midway and started again yields exactly the same messages."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sluice import App

ROOT = Path(__file__).parent.parent
PRODUCER = """
import os, time
from sluice import App
app = App(os.environ["URL"])
app.queue("scan", dedup_window=None)
app.action("visit", queue="scan")(lambda body, ctx: None)
run = app.start_run("scan", id="scan-run")

def fetch_after(last):
    start = int(last or 0)
    for first in range(start + 1, 5001, 100):
        time.sleep(float(os.environ["PAUSE"]))  # a slow source
        yield from ({"id": n} for n in range(first, min(first + 100, 5001)))

app.discover("visit", fetch_after, key=lambda r: r["id"], run=run, chunk_size=100)
"""


@pytest.mark.slow
def test_discovery_killed_and_restarted_enqueues_each_record_once(url: str) -> None:
    app = App(url)
    app.queue("scan", dedup_window=None)

    def produce(pause: float) -> subprocess.Popen[bytes]:
        env = {**os.environ, "URL": url, "PAUSE": str(pause)}
        return subprocess.Popen([sys.executable, "-c", PRODUCER], cwd=ROOT, env=env)

    first = produce(0.05)
    deadline = time.monotonic() + 60
    while True:
        assert time.monotonic() < deadline and first.poll() is None
        runs = app.store.runs()
        if runs and (runs[0].checkpoint or 0) >= 1500:
            break
        time.sleep(0.02)
    first.send_signal(signal.SIGKILL)
    first.wait()
    killed_at = app.run_state("scan-run")
    assert killed_at.status == "discovering" and 1500 <= killed_at.total < 5000
    assert killed_at.total == killed_at.checkpoint  # the checkpoint committed with its chunk
    second = produce(0.0)
    assert second.wait(timeout=60) == 0
    bodies = [m.body["id"] for m in app.store.peek("scan", limit=10_000)]
    assert sorted(bodies) == list(range(1, 5001))
    state = app.run_state("scan-run")
    assert (state.status, state.total, state.checkpoint) == ("running", 5000, 5000)
    app.close()
