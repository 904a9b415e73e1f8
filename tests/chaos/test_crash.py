"""Workers killed with SIGKILL every second lose nothing and write every effect exactly once."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sluice import App
from sluice.model import NewMessage

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]
ROOT = Path(__file__).parent.parent.parent
SLUICE = str(Path(sys.executable).with_name("sluice"))
MESSAGES = 20_000


def _start(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [SLUICE, "worker", "tests.chaos.crash_app:app", "--concurrency", "4"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_sigkilled_workers_lose_nothing_and_effects_happen_once(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {**os.environ, "SLUICE_CRASH_URL": url, "SLUICE_CRASH_LOG": str(tmp_path / "ran.log")}
    app = App(url)
    app.queue("crash", visibility_timeout=2, max_receives=1000)  # as in crash_app
    store = app.store
    with store.begin() as conn:
        conn.execute("DROP TABLE IF EXISTS effects")
        conn.execute("CREATE TABLE effects (n INTEGER NOT NULL)")
    for start in range(0, MESSAGES, 1000):
        store.enqueue([NewMessage("crash", n, action="write") for n in range(start, start + 1000)])
    workers = [_start(env) for _ in range(3)]
    kills = 0
    deadline = time.monotonic() + 200
    try:
        while time.monotonic() < deadline:
            time.sleep(1.0)  # the chaos cadence: one SIGKILL per second
            stats = store.stats(["crash"])[0]
            if stats.depth == stats.in_flight == stats.delayed == 0:
                break
            victim = random.randrange(len(workers))
            workers[victim].send_signal(signal.SIGKILL)
            workers[victim].wait()
            kills += 1
            workers[victim] = _start(env)
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            worker.wait(timeout=60)
    stats = store.stats(["crash"])[0]
    assert (stats.depth, stats.in_flight, stats.delayed, stats.dlq_depth) == (0, 0, 0, 0)
    with store.begin() as conn:
        effects = [row[0] for row in conn.execute("SELECT n FROM effects").fetchall()]
    assert len(effects) == MESSAGES  # no effect repeated ...
    assert set(effects) == set(range(MESSAGES))  # ... and none lost
    executions = (tmp_path / "ran.log").read_text().split()
    repeats = len(executions) - MESSAGES
    assert kills >= 3
    with capsys.disabled():
        print(f"\n[crash {url.split(':')[0]}] {kills} SIGKILLs, {repeats} repeated executions")
    app.close()
