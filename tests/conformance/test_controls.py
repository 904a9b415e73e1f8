"""Operator controls in the store, on every backend: paused queues (obeyed by every store
within STOPPED_TTL of its clock, with no read per claim), limit overrides that outlive
re-declared limits, paused schedules, disabled rules, and the audit log."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sluice import operate
from sluice.errors import ConfigError, UnknownAction, UnknownQueue, UnknownRule, UnknownSchedule
from sluice.model import ActionLimit, NewMessage, QueuePolicy, Schedule
from sluice.sources.cron import plan
from sluice.store import Store, open_store
from sluice.store.controls import STOPPED_TTL
from tests.conftest import FakeClock

EVERY_SECOND = Schedule("beat", "* * * * * *", "tock", body={"k": 1}, queue="q")


@pytest.fixture
def other(url: str, clock: FakeClock, store: Store) -> Iterator[Store]:
    """A second store on the same database (another process's view), on the same clock."""
    opened = open_store(url, clock=clock)
    yield opened
    opened.close()


def _fill(store: Store, queue: str, n: int, action: str = "a") -> None:
    store.enqueue([NewMessage(queue, {"i": i}, action=action) for i in range(n)])


def test_a_paused_queue_is_claimed_by_no_store_within_the_ttl(
    store: Store, other: Store, clock: FakeClock
) -> None:
    for name in ("q", "r"):
        store.put_queue(QueuePolicy(name))
    _fill(store, "q", 5)
    _fill(store, "r", 5)
    assert len(store.claim(["q"], 1)) == 1  # the cache is fresh now
    assert operate.pause_queue(other, "q", True)["was_paused"] is False
    # Within the TTL the cached copy stands: no claim reads the pause (no query per claim).
    assert len(store.claim(["q"], 1)) == 1
    clock.advance(STOPPED_TTL)
    assert store.claim(["q", "r"], 10) and all(m.queue == "r" for m in store.claim(["q"], 10))
    _fill(store, "q", 3)  # producers keep enqueueing
    assert store.stats(["q"])[0].depth == 6
    operate.pause_queue(other, "q", False)
    clock.advance(STOPPED_TTL)
    assert len(store.claim(["q"], 10)) == 6


def test_a_pause_survives_reopening_the_store(store: Store, url: str, clock: FakeClock) -> None:
    store.put_queue(QueuePolicy("q"))
    store.set_queue_paused("q", True, "local")
    again = open_store(url, clock=clock)
    try:
        again.put_queue(QueuePolicy("q"))  # a worker start re-declares the queue
        assert again.stopped("queue") == {"q"}
    finally:
        again.close()


def test_pausing_an_unknown_queue_fails_and_records_nothing(store: Store) -> None:
    with pytest.raises(UnknownQueue, match="nope"):
        store.set_queue_paused("nope", True, "local")
    assert store.audit() == [] and store.stopped("queue") == set()


def test_an_override_wins_over_redeclared_limits_until_reset(store: Store) -> None:
    store.put_queue(QueuePolicy("q"))
    store.put_limit(ActionLimit("a", concurrency=5))
    operate.set_limits(store, "a", 2, None)
    store.put_limit(ActionLimit("a", concurrency=7))  # a worker start re-declares it
    assert [limit.concurrency for limit in store.limits()] == [2]
    _fill(store, "q", 10)
    assert len(store.claim(["q"], 10)) == 2
    view = operate.reset_limits(store, "a")
    assert view["overridden"] is False and view["in_force"]["concurrency"] == 7
    assert len(store.claim(["q"], 10)) == 5


def test_an_override_stays_when_the_code_drops_its_limits(store: Store) -> None:
    store.put_limit(ActionLimit("a", rate=100))
    operate.set_limits(store, "a", None, "2/s")
    store.put_limit(ActionLimit("a"))  # no limits declared any more
    [limit] = store.limits()
    assert (limit.concurrency, limit.rate, limit.burst) == (None, 2.0, 1.0)
    operate.set_limits(store, "a", 3, None)  # keeps the rate override
    [info] = store.limit_infos()
    assert (info.override_concurrency, info.override_rate) == (3, 2.0)
    operate.reset_limits(store, "a")
    assert store.limits() == [] and [i.action for i in store.limit_infos()] == ["a"]


@pytest.mark.parametrize(
    ("concurrency", "rate", "error", "text"),
    [
        (-1, None, ConfigError, "concurrency"),
        (0, None, ConfigError, "concurrency"),
        ("3", None, ConfigError, "concurrency"),
        (None, "5/x", ConfigError, "invalid rate"),
        (None, "-5/s", ConfigError, "invalid rate"),
        (None, None, ConfigError, "give a concurrency"),
    ],
)
def test_bad_limits_are_refused_and_change_nothing(
    store: Store, concurrency: object, rate: object, error: type[Exception], text: str
) -> None:
    store.put_limit(ActionLimit("a", concurrency=5))
    with pytest.raises(error, match=text):
        operate.set_limits(store, "a", concurrency, rate)
    assert store.limit_infos()[0].overridden is False and store.audit() == []


def test_limits_of_an_unknown_action_are_refused(store: Store) -> None:
    store.put_limit(ActionLimit("a"))
    with pytest.raises(UnknownAction, match=r"'b'.*known: a"):
        operate.set_limits(store, "b", 2, None)
    with pytest.raises(UnknownAction):
        operate.reset_limits(store, "b")
    assert store.audit() == []


def _fire(store: Store, now: float) -> int:
    assert isinstance(store.clock, FakeClock)
    store.clock.now = now
    return len(store.fire_due(plan))


def test_a_schedule_paused_across_two_ticks_fires_none_and_skips_them(store: Store) -> None:
    store.put_queue(QueuePolicy("q"))
    start = 1_700_000_000.0
    store.put_schedule(EVERY_SECOND, start + 1)
    operate.pause_schedule(store, "beat", True)
    assert _fire(store, start + 3) == 0
    assert store.paused_schedules() == {"beat"}
    store.put_schedule(EVERY_SECOND, start + 1)  # re-declared: still paused
    resumed = operate.pause_schedule(store, "beat", False)
    assert resumed["was_paused"] is True and resumed["next_at"] == start + 4
    assert _fire(store, start + 4) == 1  # the missed ticks (+1..+3) were skipped


def test_an_unknown_schedule_is_refused(store: Store) -> None:
    with pytest.raises(UnknownSchedule, match="nope"):
        operate.pause_schedule(store, "nope", True)
    with pytest.raises(UnknownSchedule):
        operate.pause_schedule(store, "nope", False)


def test_rules_are_disabled_by_name_when_declared(store: Store, clock: FakeClock) -> None:
    with pytest.raises(UnknownRule, match="none is declared"):
        store.set_rule_disabled("r1", True, "local")
    store.declare("rule", ["r1", "r2"])
    assert operate.disable_rule(store, "r1", True)["was_disabled"] is False
    clock.advance(STOPPED_TTL)
    assert store.stopped("rule") == {"r1"}
    operate.disable_rule(store, "r1", False)
    assert store.stopped("rule") == set()


def test_every_control_is_audited_with_who_old_and_new(store: Store, clock: FakeClock) -> None:
    store.put_queue(QueuePolicy("q"))
    store.put_limit(ActionLimit("a", concurrency=5))
    operate.pause_queue(store, "q", True, who="admin-1234abcd")
    clock.advance(1)
    operate.set_limits(store, "a", 2, "10/s", who="local")
    newest, oldest = store.audit()
    assert (oldest.who, oldest.what, oldest.target, oldest.old, oldest.new) == (
        "admin-1234abcd",
        "queue.pause",
        "q",
        False,
        True,
    )
    assert newest.at == oldest.at + 1 and newest.new == {"concurrency": 2, "rate": 10.0}
    assert [e.id for e in store.audit(limit=1, before_id=newest.id)] == [oldest.id]


def test_waiting_for_work_leaves_paused_queues_out(store: Store) -> None:
    store.put_queue(QueuePolicy("q"))
    _fill(store, "q", 1)
    assert store.wait_for_work(["q"], 0.1) is True
    store.set_queue_paused("q", True, "local")
    assert store.wait_for_work(["q"], 0.1) is False  # no busy loop over unclaimable work
