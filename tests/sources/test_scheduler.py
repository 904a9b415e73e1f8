"""app.schedule and the Scheduler service on both backends, on a fake clock."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sluice import App, ConfigError, Context, Schedule, Scheduler, UnknownQueue
from tests.conftest import FakeClock


def make_app(url: str, clock: FakeClock) -> App:
    app = App(url, clock=clock)
    app.queue("jobs")
    return app


def test_a_called_schedule_is_stored_when_the_store_opens(url: str, clock: FakeClock) -> None:
    app = make_app(url, clock)
    returned = app.schedule("*/5 * * * *", "purge", body={"older_than": 30}, queue="jobs")
    assert returned == Schedule("purge", "*/5 * * * *", "purge", {"older_than": 30}, queue="jobs")
    [stored] = app.store.schedules()
    assert stored.schedule == returned
    assert clock.now < stored.next_at <= clock.now + 300
    assert stored.next_at % 300 == 0
    app.close()


def test_a_schedule_declared_on_an_open_store_is_stored_at_once(url: str, clock: FakeClock) -> None:
    app = make_app(url, clock)
    assert app.store.schedules() == []
    app.schedule("* * * * * *", "beat", name="every-second", queue="jobs")
    assert [s.schedule.name for s in app.store.schedules()] == ["every-second"]
    with pytest.raises(UnknownQueue, match="nowhere"):
        app.schedule("* * * * * *", "beat", name="lost", queue="nowhere")
    app.close()


def test_the_decorator_schedules_an_action_on_its_queue(url: str, clock: FakeClock) -> None:
    app = make_app(url, clock)

    @app.schedule("0 3 * * *", body={"all": True}, timezone="Europe/Paris")
    @app.action(queue="jobs")
    def nightly(body: dict[str, bool], ctx: Context) -> None: ...

    @app.schedule("*/10 * * * * *")
    def heartbeat(body: None, ctx: Context) -> None: ...

    assert app.schedules["nightly"].queue == "jobs"
    assert app.schedules["nightly"].timezone == "Europe/Paris"
    assert app.actions["heartbeat"].policy.queue == "default"  # registered with defaults
    assert app.schedules["heartbeat"].action == "heartbeat"
    assert sorted(s.schedule.name for s in app.store.schedules()) == ["heartbeat", "nightly"]
    app.close()


def test_definition_errors_surface_at_the_call(url: str, clock: FakeClock) -> None:
    app = make_app(url, clock)
    with pytest.raises(ConfigError, match=r"invalid cron expression '\* \* \*'"):
        app.schedule("* * *", "beat")
    app.schedule("* * * * *", "beat")
    with pytest.raises(ConfigError, match="schedule 'beat' is declared twice"):
        app.schedule("*/2 * * * *", "beat")
    assert list(app.schedules) == ["beat"]


def test_tick_fires_what_is_due_and_the_worker_runs_it(url: str, clock: FakeClock) -> None:
    app = make_app(url, clock)
    seen: list[dict[str, int]] = []

    @app.schedule("*/10 * * * * *", body={"n": 7})
    @app.action(queue="jobs")
    def beat(body: dict[str, int], ctx: Context) -> None:
        seen.append(body)

    scheduler = Scheduler(app)
    assert scheduler.tick() == 0
    clock.now = app.store.schedules()[0].next_at
    assert scheduler.tick() == 1
    assert scheduler.tick() == 0
    clock.advance(10)
    assert scheduler.tick() == 1
    assert scheduler.fired == 2
    app.work(stop_when_idle=True)
    assert seen == [{"n": 7}, {"n": 7}]
    app.close()


def test_the_service_fires_in_its_thread_until_stopped(url: str, clock: FakeClock) -> None:
    app = make_app(url, clock)
    app.schedule("* * * * * *", "beat", queue="jobs")
    clock.now = app.store.schedules()[0].next_at
    scheduler = Scheduler(app, max_sleep=0.01).start()
    try:
        assert scheduler.passed.wait(10)
        assert scheduler.fired == 1
        assert scheduler.next_due() == clock.now + 1
    finally:
        scheduler.stop()
    assert app.store.stats(["jobs"])[0].depth == 1
    app.close()


def test_the_scheduler_command_names_a_bad_target() -> None:
    sluice = str(Path(sys.executable).with_name("sluice"))
    result = subprocess.run(
        [sluice, "scheduler", "no_such_module_here:app"],
        capture_output=True,
        text=True,
        cwd=Path(__file__).parent.parent.parent,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "cannot import 'no_such_module_here'" in result.stderr
