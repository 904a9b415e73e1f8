"""Alarms: one action message and one ``sluice.alarm`` event per transition, never per check,
however many schedulers evaluate them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sluice import App, ConfigError, Outcome, UnknownAction
from sluice.sources.scheduler import Scheduler
from tests.conftest import FakeClock


def _app(url: str, clock: FakeClock) -> App:
    app = App(url, clock=clock)
    app.queue("jobs", max_receives=1)
    app.queue("ops")
    app.action("work", queue="jobs")(lambda body, ctx: None)
    app.action("page_oncall", queue="ops")(lambda body, ctx: None)
    app.action("audit_alarm", queue="ops")(lambda body, ctx: None)
    app.alarm("jobs-dead", queue="jobs", action="page_oncall", dlq_depth_above=0)
    app.alarm("jobs-stale", queue="jobs", dlq_depth_above=None, oldest_age_above=60)
    app.rule("alarms", {"detail-type": ["sluice.alarm"]}, "audit_alarm")
    return app


@pytest.fixture
def apps(url: str, clock: FakeClock) -> Iterator[tuple[App, App]]:
    one, two = _app(url, clock), _app(url, clock)
    yield one, two
    one.close()
    two.close()


def _ops(app: App) -> list[tuple[str, str, str]]:
    return [
        (
            m.action,
            m.body.get("alarm") or m.body["detail"]["alarm"],
            m.body.get("state") or m.body["detail"]["state"],
        )
        for m in app.store.peek("ops", limit=100)
    ]


def test_transitions_fire_once_each_across_schedulers(
    apps: tuple[App, App], clock: FakeClock
) -> None:
    one, two = apps
    schedulers = [Scheduler(one, clock=clock), Scheduler(two, clock=clock)]
    id_ = one.enqueue("work", {"n": 1})
    for s in schedulers:
        s.tick()
    assert _ops(one) == []  # fresh and nothing dead: both alarms clear
    [message] = one.store.claim(["jobs"], 1)
    assert message.receipt is not None
    one.store.complete([Outcome.retry(message.receipt, "boom")])  # 1 receive: dead-lettered
    for _ in range(3):
        for s in schedulers:
            s.tick()
    assert _ops(one) == [
        ("page_oncall", "jobs-dead", "firing"),
        ("audit_alarm", "jobs-dead", "firing"),
    ]
    [page] = [m for m in one.store.peek("ops") if m.action == "page_oncall"]
    assert page.body["reasons"] == ["DLQ depth 1 > 0"] and page.body["queue"] == "jobs"
    clock.advance(1)
    assert one.store.redrive("jobs", [id_]) == 1
    for s in schedulers:
        s.tick()
    assert _ops(one)[2:] == [
        ("page_oncall", "jobs-dead", "ok"),
        ("audit_alarm", "jobs-dead", "ok"),
    ]
    assert [e.envelope["detail"]["state"] for _, e in one.store.events(0, 1e12)] == [
        "firing",
        "ok",
    ]


def test_oldest_age_fires_after_time_passes_and_clears_when_drained(
    apps: tuple[App, App], clock: FakeClock
) -> None:
    one, _ = apps
    scheduler = Scheduler(one, clock=clock)
    one.enqueue("work", {"n": 1})
    clock.advance(30)
    scheduler.tick()
    assert not one.store.alarm_states().get("jobs-stale", False)  # clear: never stored
    clock.advance(31)
    scheduler.tick()
    assert one.store.alarm_states()["jobs-stale"] is True
    clock.advance(1)
    [message] = one.store.claim(["jobs"], 1)
    assert message.receipt is not None
    one.store.complete([Outcome.ack(message.receipt)])
    scheduler.tick()
    assert one.store.alarm_states()["jobs-stale"] is False
    states = [e.envelope["detail"]["state"] for _, e in one.store.events(0, 1e12)]
    assert states == ["firing", "ok"]


def test_alarm_definitions_are_checked(url: str, clock: FakeClock) -> None:
    app = App(url, clock=clock)
    app.queue("jobs")
    with pytest.raises(UnknownAction, match="nobody"):
        app.alarm("a", queue="jobs", action="nobody")
    with pytest.raises(ConfigError, match="checks nothing"):
        app.alarm("b", queue="jobs", dlq_depth_above=None)
    with pytest.raises(ConfigError, match="oldest_age_above must be >= 0"):
        app.alarm("c", queue="jobs", oldest_age_above=-1)
    app.alarm("d", queue="jobs")
    with pytest.raises(ConfigError, match="declared twice"):
        app.alarm("d", queue="jobs")
    app.close()


def test_failure_rate_fires_on_reported_failures_and_clears_as_they_age_out(
    url: str, clock: FakeClock
) -> None:
    from sluice.model import ActionStats

    app = App(url, clock=clock)
    app.queue("jobs")
    app.queue("ops")
    app.action("work", queue="jobs")(lambda body, ctx: None)
    app.action("page_oncall", queue="ops")(lambda body, ctx: None)
    app.alarm(
        "jobs-failing",
        queue="jobs",
        action="page_oncall",
        dlq_depth_above=None,
        failure_rate_above=0.2,
    )
    scheduler = Scheduler(app, clock=clock)
    app.store.put_action_stats("w1", [ActionStats("work", processed=100)])
    scheduler.tick()  # the first sample: nothing to compare yet
    clock.advance(10)
    app.store.put_action_stats("w1", [ActionStats("work", processed=190, failed=10)])
    scheduler.tick()  # 10 of 100 attempts failed: 10% is under 20%
    assert not app.store.alarm_states().get("jobs-failing", False)
    clock.advance(10)
    app.store.put_action_stats("w1", [ActionStats("work", processed=200, failed=40)])
    scheduler.tick()  # 40 of 140 attempts in the window failed: 29%
    assert app.store.alarm_states()["jobs-failing"] is True
    [page] = app.store.peek("ops")
    assert page.body["reasons"] == ["failure rate 29% > 20%"]
    clock.advance(70)  # the failures age out of the window; new attempts all succeed
    app.store.put_action_stats("w1", [ActionStats("work", processed=400, failed=40)])
    scheduler.tick()
    assert app.store.alarm_states()["jobs-failing"] is False
    with pytest.raises(ConfigError, match="failure_rate_above"):
        app.alarm("bad", queue="jobs", failure_rate_above=1.5)
    app.close()


def test_dead_letters_count_as_failed_attempts_in_the_failure_rate(
    url: str, clock: FakeClock
) -> None:
    """With max_receives=1 every failure is a dead letter (counted ``dead``, not ``failed``):
    the failure rate still sees them."""
    from sluice.model import ActionStats

    app = App(url, clock=clock)
    app.queue("jobs", max_receives=1)
    app.action("work", queue="jobs")(lambda body, ctx: None)
    app.alarm("jobs-failing", queue="jobs", dlq_depth_above=None, failure_rate_above=0.2)
    scheduler = Scheduler(app, clock=clock)
    app.store.put_action_stats("w1", [ActionStats("work", processed=100)])
    scheduler.tick()
    clock.advance(10)
    app.store.put_action_stats("w1", [ActionStats("work", processed=190, dead=50)])
    scheduler.tick()  # 50 of 140 attempts in the window failed: 36%
    assert app.store.alarm_states()["jobs-failing"] is True
    app.close()
