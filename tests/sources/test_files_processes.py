"""File watches in real processes: ``sluice worker --sources`` scans and works while a
``sluice scheduler`` scans the same root; every file is handled once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]
ROOT = Path(__file__).parent.parent.parent
SLUICE = str(Path(sys.executable).with_name("sluice"))
TARGET = "tests.sources.files_app:app"
FILES = 300


def test_a_worker_with_sources_and_a_scheduler_handle_each_file_once(
    url: str, tmp_path: Path
) -> None:
    drop, record = tmp_path / "drop", tmp_path / "record"
    env = {
        **os.environ,
        "SLUICE_FILES_TEST_URL": url,
        "SLUICE_FILES_TEST_ROOT": str(drop),
        "SLUICE_FILES_TEST_RECORD": str(record),
    }
    commands = [[SLUICE, "worker", TARGET, "--sources"], [SLUICE, "scheduler", TARGET]]
    logs = [tmp_path / "worker.log", tmp_path / "scheduler.log"]
    processes = []
    for command, log in zip(commands, logs, strict=True):
        with log.open("wb") as stderr:  # a file, not a pipe: one line per outcome would fill it
            processes.append(
                subprocess.Popen(
                    command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=stderr
                )
            )
    try:
        for n in range(FILES):
            path = drop / "input" / f"{n % 5}" / f"{n}.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("{}")
            (drop / "input" / f"{n}.txt").write_text("not for us")
            if n % 50 == 49:
                time.sleep(0.2)
        deadline = time.monotonic() + 60
        while len(list((drop / "done").rglob("*.json"))) < FILES:
            assert time.monotonic() < deadline, "not every file was handled within 60 s"
            assert all(p.poll() is None for p in processes), "a process exited"
            time.sleep(0.2)
        # The worker may handle every file before the scheduler has loaded the app: stop it
        # once it runs (a SIGTERM during start-up is not the clean stop this test checks).
        while '"started"' not in logs[1].read_text():
            assert time.monotonic() < deadline, "the scheduler did not start within 60 s"
            time.sleep(0.1)
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=30)
            finally:
                if process.poll() is None:
                    process.kill()
    assert [p.returncode for p in processes] == [0, 0], [log.read_text()[-2000:] for log in logs]
    handled = record.read_text().splitlines()
    assert sorted(handled) == sorted(f"input/{n % 5}/{n}.json" for n in range(FILES))
    assert len(list((drop / "input").rglob("*.txt"))) == FILES
    assert not list((drop / "input").rglob("*.json"))
