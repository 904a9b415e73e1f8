"""``sluice worker`` as a real process: the grace period on SIGTERM, and its log formats."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson
import pytest

from sluice import App, NewMessage

pytestmark = [pytest.mark.timeout(120)]
ROOT = Path(__file__).parent.parent.parent
SLUICE = str(Path(sys.executable).with_name("sluice"))
Start = Callable[..., "subprocess.Popen[bytes]"]


@pytest.fixture
def app(url: str) -> Iterator[App]:
    app = App(url)
    app.queue("jobs", visibility_timeout=120)
    yield app
    app.close()


@pytest.fixture
def start(url: str, tmp_path: Path) -> Iterator[Start]:
    """Start ``sluice worker tests.cli.worker_app:app ARGS``, its stderr to tmp_path/stderr."""
    started: list[subprocess.Popen[bytes]] = []
    env = {**os.environ, "SLUICE_CLI_URL": url, "SLUICE_CLI_MARKS": str(tmp_path)}

    def run(*args: str) -> subprocess.Popen[bytes]:
        stderr = (tmp_path / "stderr").open("wb")
        command = [SLUICE, "worker", "tests.cli.worker_app:app", *args]
        started.append(subprocess.Popen(command, cwd=ROOT, env=env, stderr=stderr))
        return started[-1]

    yield run
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()


def _until(done: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)  # poll the files and the store the worker writes


def _enqueue(app: App, action: str, body: object) -> int:
    [stored] = app.store.enqueue([NewMessage("jobs", body, action=action)])
    return stored.id


def _json_lines(path: Path) -> list[dict[str, object]]:
    lines = path.read_text().splitlines()
    assert lines
    records = [orjson.loads(line) for line in lines]  # every line is JSON
    for record in records:
        assert isinstance(record, dict)
        assert {"ts", "level", "logger"} <= record.keys()
        assert str(record["ts"]).endswith("Z") and record["level"] in ("INFO", "WARNING")
    return records


def test_sigterm_gives_running_calls_the_grace_period_then_gives_them_back(
    app: App, start: Start, tmp_path: Path
) -> None:
    id_ = _enqueue(app, "hang", 1)
    worker = start("--grace", "0.5", "--concurrency", "4")
    _until(lambda: (tmp_path / f"started-{id_}").exists(), "the handler to start")
    sent = time.monotonic()
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=45) == 0
    assert time.monotonic() - sent < 45  # not the handler's 60 s: its thread is abandoned
    stats = app.store.stats(["jobs"])[0]
    assert (stats.depth, stats.in_flight) == (1, 0)  # given back, not left to expire
    messages = [str(r.get("message")) for r in _json_lines(tmp_path / "stderr")]
    assert any(
        m.startswith("stopping: waiting up to 0.5s (the grace period) for 1 running")
        for m in messages
    )
    assert any(
        m.startswith("stopped: 0 of 1 running calls finished") and f"ids {id_}" in m
        for m in messages
    )


def test_grace_must_not_be_negative(start: Start, tmp_path: Path) -> None:
    worker = start("--grace", "-1")
    assert worker.wait(timeout=60) == 2
    assert "--grace" in (tmp_path / "stderr").read_text()


def test_json_logs_are_json_lines_with_time_and_level_alarms_included(
    app: App, start: Start, tmp_path: Path
) -> None:
    ok, unwanted = _enqueue(app, "work", "fine"), _enqueue(app, "work", "unwanted")
    worker = start("--sources")
    stderr = tmp_path / "stderr"
    _until(lambda: '"alarm"' in stderr.read_text(), "the alarm to fire")
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=60) == 0
    records = _json_lines(stderr)
    outcomes = {r["message_id"]: r["outcome"] for r in records if "outcome" in r}
    assert outcomes == {ok: "ack", unwanted: "dead"}
    [alarm] = [r for r in records if r.get("event") == "alarm"]
    assert (alarm["alarm"], alarm["state"], alarm["level"]) == ("jobs-dead", "firing", "WARNING")


def test_text_logs_are_human_text(app: App, start: Start, tmp_path: Path) -> None:
    ok, unwanted = _enqueue(app, "work", "fine"), _enqueue(app, "work", "unwanted")
    worker = start("--sources", "--log-format", "text")
    stderr = tmp_path / "stderr"
    _until(lambda: "alarm alarm=jobs-dead state=firing" in stderr.read_text(), "the alarm")
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=60) == 0
    lines = stderr.read_text().splitlines()
    assert not [line for line in lines if "{" in line]
    assert any(
        f"INFO sluice.worker ack action=work message_id={ok} attempt=1 " in line for line in lines
    )
    assert any(
        f"dead action=work message_id={unwanted} attempt=1 " in line
        and 'error="not wanted"' in line
        for line in lines
    )
