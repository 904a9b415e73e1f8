"""A staged run drained by real worker processes, one SIGKILLed every 0.5 s: each stage
boundary fires once, on_complete once, the counters are exact."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from sluice import App
from tests.worker import runs_app

pytestmark = [pytest.mark.slow, pytest.mark.timeout(200)]
ROOT = Path(__file__).parent.parent.parent
SLUICE = str(Path(sys.executable).with_name("sluice"))
EXTRACTS = 150


def test_stage_boundaries_fire_once_with_workers_killed(url: str) -> None:
    app = App(url)
    for name, action in runs_app.app.actions.items():
        app.action(name, queue=action.policy.queue)(action.handler)
    app.queue("etl", visibility_timeout=3, max_receives=20)
    with app.store.begin() as tx:
        tx.execute("DROP TABLE IF EXISTS run_effects")
        tx.execute("CREATE TABLE run_effects (kind TEXT NOT NULL, message_id BIGINT NOT NULL)")
    run = app.start_run("etl", stages=["extract", "transform"], on_complete="finish")
    app.enqueue_many("extract", range(EXTRACTS), run=run)
    run.seal()
    env = {**os.environ, "SLUICE_RUNS_URL": url}
    command = [SLUICE, "worker", "tests.worker.runs_app:app", "--concurrency", "4"]

    def start() -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

    workers = [start() for _ in range(3)]
    kills = 0
    deadline = time.monotonic() + 150
    try:
        while not run.state().finished:
            assert time.monotonic() < deadline, run.state()
            time.sleep(0.25)  # often enough that a run ending fast is still killed twice
            victim = random.randrange(len(workers))
            workers[victim].send_signal(signal.SIGKILL)
            workers[victim].wait()
            workers[victim] = start()
            kills += 1
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            worker.wait(timeout=60)
    state = run.state()
    assert state.status == "succeeded", state
    assert [(s.total, s.succeeded, s.dead) for s in state.stages] == [
        (EXTRACTS * 4, EXTRACTS * 4, 0),
        (21, 21, 0),
    ]
    with app.store.begin() as tx:
        rows = tx.execute("SELECT kind, message_id FROM run_effects").fetchall()
    effects = Counter(kind for kind, _ in rows)
    assert effects == {
        "extract": EXTRACTS,
        "part": EXTRACTS * 3,
        "transform": 1,
        "load": 20,
        "finish": 1,
    }
    assert len(set(rows)) == len(rows)  # no message's effect twice
    assert kills >= 2, f"only {kills} SIGKILL before the run ended: the test proves less"
    app.close()
