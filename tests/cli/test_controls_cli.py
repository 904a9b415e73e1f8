"""Operator controls through the real console script against real worker processes, on both
stores: a paused queue starts no handler in two workers while producers keep filling it, and
resumed it drains; a live concurrency override caps running calls, and reset lifts the cap."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sluice import App, NewMessage
from sluice.codec import loads

pytestmark = [pytest.mark.timeout(240)]
ROOT = Path(__file__).parent.parent.parent
SLUICE = str(Path(sys.executable).with_name("sluice"))


@pytest.fixture
def app(url: str) -> Iterator[App]:
    from tests.cli.control_app import app as declared

    app = App(url)
    for policy in declared.queues:
        app.queue(policy.name, visibility_timeout=policy.visibility_timeout)
    yield app
    app.close()


@pytest.fixture
def env(url: str, tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "SLUICE_CLI_URL": url,
        "SLUICE_CLI_MARKS": str(tmp_path),
        "SLUICE_URL": url,
    }


@pytest.fixture
def workers(env: dict[str, str], tmp_path: Path, app: App) -> Iterator[Callable[[], None]]:
    started: list[subprocess.Popen[bytes]] = []

    def start() -> None:
        app.store  # noqa: B018  (declared before the workers race to migrate)
        command = [SLUICE, "worker", "tests.cli.control_app:app", "--processes", "2",
                   "--concurrency", "10", "--grace", "5"]  # fmt: skip
        stderr = (tmp_path / "stderr").open("wb")
        started.append(subprocess.Popen(command, cwd=ROOT, env=env, stderr=stderr))

    yield start
    for process in started:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def sluice(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([SLUICE, *args], cwd=ROOT, env=env, capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout.decode()


def starts(tmp_path: Path, kind: str) -> list[float]:
    return sorted(float(p.name.split("-")[1]) for p in tmp_path.glob(f"{kind}-*"))


def until(done: Callable[[], bool], what: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_a_paused_queue_starts_nothing_in_two_workers_and_drains_when_resumed(
    app: App, env: dict[str, str], workers: Callable[[], None], tmp_path: Path
) -> None:
    workers()
    app.store.enqueue([NewMessage("work", i, action="quick") for i in range(20)])
    until(lambda: len(starts(tmp_path, "quick")) == 20, "the first 20 to run")
    assert "paused" in sluice(env, "queues", "pause", "work")
    time.sleep(2.0)  # the pause reaches every worker within about a second
    paused_at = time.time()
    for i in range(10):  # a producer keeps enqueueing while the queue is paused
        app.store.enqueue([NewMessage("work", 100 + i, action="quick")])
        time.sleep(0.2)
    [row] = [q for q in loads(sluice(env, "queues", "--json")) if q["queue"] == "work"]
    assert row["paused"] is True and row["depth"] == 10
    assert [t for t in starts(tmp_path, "quick") if t > paused_at] == []
    sluice(env, "queues", "resume", "work")
    until(lambda: len(starts(tmp_path, "quick")) == 30, "the paused 10 to run")
    until(lambda: app.store.stats(["work"])[0].depth == 0, "the queue to drain")
    whats = [e["what"] for e in loads(sluice(env, "audit", "--json"))]
    assert whats == ["queue.pause", "queue.pause"]


def test_a_live_concurrency_override_caps_running_calls_and_reset_lifts_it(
    app: App, env: dict[str, str], workers: Callable[[], None], tmp_path: Path
) -> None:
    workers()
    app.store.enqueue([NewMessage("limited", i, action="slow") for i in range(200)])
    in_flight = lambda: app.store.stats(["limited"])[0].in_flight  # noqa: E731
    until(lambda: in_flight() >= 8, "10 slow calls to run")
    sluice(env, "limits", "set", "slow", "--concurrency", "2")
    time.sleep(2.5)  # running calls (1 s each) finish; new starts obey the cap
    seen = []
    for _ in range(20):
        seen.append(in_flight())
        time.sleep(0.1)
    assert max(seen) <= 2, seen
    [view] = [v for v in loads(sluice(env, "limits", "--json")) if v["action"] == "slow"]
    assert (view["concurrency"], view["override_concurrency"]) == (10, 2)
    sluice(env, "limits", "reset", "slow")
    until(lambda: in_flight() > 2, "more than 2 calls once the cap is lifted")


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["queues", "pause", "nope"], "unknown queue 'nope'"),
        (["limits", "set", "nope", "--concurrency", "2"], "unknown action 'nope'"),
        (["limits", "set", "slow", "--concurrency", "-1"], "-1 is not in the range x>=1"),
        (["limits", "set", "slow", "--concurrency", "many"], "'many' is not a valid integer"),
        (["limits", "set", "slow", "--rate", "fast"], "invalid rate 'fast'"),
        (["limits", "set", "slow"], "give a concurrency, a rate or both"),
        (["schedules", "pause", "nope"], "unknown schedule 'nope'"),
        (["rules", "disable", "nope"], "unknown rule 'nope'"),
    ],
)
def test_bad_input_is_a_clear_error_and_changes_nothing(
    app: App, env: dict[str, str], args: list[str], error: str
) -> None:
    app.store  # noqa: B018
    app.store.put_limit(__import__("sluice").ActionLimit("slow", concurrency=10))
    done = subprocess.run([SLUICE, *args], cwd=ROOT, env=env, capture_output=True, timeout=60)
    assert done.returncode != 0 and error in done.stderr.decode(), done.stderr.decode()
    assert app.store.audit() == [] and not app.store.limit_infos()[0].overridden
