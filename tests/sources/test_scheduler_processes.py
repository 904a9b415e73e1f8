"""Real ``sluice scheduler`` processes racing on one store: every tick fired exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from sluice import App

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]
ROOT = Path(__file__).parent.parent.parent
SLUICE = str(Path(sys.executable).with_name("sluice"))
TARGET = "tests.sources.cron_app:app"
TICKS = 12
"""Ticks of a one-second schedule the three schedulers race for (each a chance to fire twice)."""


def start(command: list[str], url: str, record: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "SLUICE_CRON_URL": url, "SLUICE_CRON_RECORD": str(record)}
    with log.open("wb") as stderr:
        return subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=stderr
        )


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            assert process.wait(timeout=30) == 0
        finally:
            if process.poll() is None:
                process.kill()


def test_three_schedulers_fire_each_tick_of_a_one_second_schedule_once(
    url: str, tmp_path: Path
) -> None:
    app = App(url)
    app.queue("beats", dedup_window=3600)
    logs = [tmp_path / f"scheduler-{i}.log" for i in range(3)]
    schedulers = [
        start([SLUICE, "scheduler", TARGET], url, tmp_path / "record", log) for log in logs
    ]
    try:
        deadline = time.monotonic() + TICKS + 30
        while time.monotonic() < deadline and app.store.stats(["beats"])[0].depth < TICKS:
            time.sleep(0.25)  # poll the store for the ticks fired so far
    finally:
        stop(schedulers)
    fired = [
        [orjson.loads(line)["tick"] for line in log.read_text().splitlines() if '"tick"' in line]
        for log in logs
    ]
    ticks = sorted(tick for per_process in fired for tick in per_process)
    messages = app.store.peek("beats", limit=10 * TICKS)
    app.close()
    late = sorted(m.enqueued_at - int((m.dedup_id or "0").rsplit("-", 1)[1]) for m in messages)
    print(
        "ticks fired per scheduler:",
        [len(per_process) for per_process in fired],
        f"lateness median {late[len(late) // 2]:.3f}s max {late[-1]:.3f}s",
    )
    assert len(ticks) >= TICKS
    assert len(set(ticks)) == len(ticks), "a tick was fired by two schedulers"
    assert ticks == [ticks[0] + n for n in range(len(ticks))], "a tick in the window is missing"
    assert sorted(m.dedup_id or "" for m in messages) == sorted(
        f"sluice-schedule-beat-{int(tick)}" for tick in ticks
    )


def test_a_worker_with_sources_fires_and_runs_its_schedules(url: str, tmp_path: Path) -> None:
    record = tmp_path / "record"
    worker = start([SLUICE, "worker", TARGET, "--sources"], url, record, tmp_path / "w.log")
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and (
            not record.exists() or len(record.read_text().splitlines()) < 3
        ):
            time.sleep(0.25)  # poll the handler's record
    finally:
        stop([worker])
    ran = record.read_text().splitlines()
    assert len(ran) >= 3
    assert len(set(ran)) == len(ran)
    assert all(line.startswith("sluice-schedule-beat-") for line in ran)
