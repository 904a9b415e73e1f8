"""Schedules in the store, on every backend: upserts keep the next fire time, fire_due fires
each tick once (compare-and-set on next_at, enqueue in the same transaction)."""

from __future__ import annotations

import threading

import pytest

from sluice.errors import MessageTooLarge, UnknownQueue
from sluice.model import Schedule
from sluice.sources.cron import plan
from sluice.store import Store, open_store
from sluice.store.schedules import Fired
from tests.conformance.helpers import declare
from tests.conftest import FakeClock

EVERY_SECOND = Schedule("beat", "* * * * * *", "tock", body={"k": 1}, queue="q")


@pytest.fixture
def sched(store: Store) -> Store:
    declare(store, "q")
    return store


def fire(store: Store, now: float) -> list[Fired]:
    """Fire what is due at ``now``, on the store's own (fake) clock moved there."""
    assert isinstance(store.clock, FakeClock)
    store.clock.now = now
    return store.fire_due(plan)


def test_a_stored_schedule_reads_back_with_its_next_fire_time(sched: Store) -> None:
    sched.put_schedule(EVERY_SECOND, 1000.0)
    [stored] = sched.schedules()
    assert (stored.schedule, stored.next_at, stored.last_tick) == (EVERY_SECOND, 1000.0, None)


def test_redeclaring_keeps_the_next_fire_time_unless_the_timing_changed(sched: Store) -> None:
    sched.put_schedule(EVERY_SECOND, 1000.0)
    other_body = Schedule("beat", "* * * * * *", "tock", body={"k": 2}, queue="q")
    sched.put_schedule(other_body, 5000.0)
    [stored] = sched.schedules()
    assert (stored.schedule.body, stored.next_at) == ({"k": 2}, 1000.0)
    sched.put_schedule(Schedule("beat", "*/2 * * * * *", "tock", queue="q"), 6000.0)
    assert sched.schedules()[0].next_at == 6000.0
    moved = Schedule("beat", "*/2 * * * * *", "tock", queue="q", timezone="Asia/Tokyo")
    sched.put_schedule(moved, 7000.0)
    assert sched.schedules()[0].next_at == 7000.0


def test_a_schedule_on_an_unknown_queue_or_with_a_huge_body_is_refused(sched: Store) -> None:
    with pytest.raises(UnknownQueue, match="nowhere"):
        sched.put_schedule(Schedule("s", "* * * * *", "a", queue="nowhere"), 1000.0)
    declare(sched, "small", max_message_bytes=10)
    with pytest.raises(MessageTooLarge):
        sched.put_schedule(Schedule("s", "* * * * *", "a", body="x" * 20, queue="small"), 1000.0)
    assert sched.schedules() == []


def test_a_due_tick_enqueues_its_message_once_and_advances(sched: Store, clock: FakeClock) -> None:
    start = float(int(clock.now))
    sched.put_schedule(EVERY_SECOND, start + 1)
    assert fire(sched, start + 0.5) == []
    [fired] = fire(sched, start + 1.2)
    assert (fired.schedule, fired.tick) == ("beat", start + 1)
    assert fire(sched, start + 1.2) == []  # the same instant again: already fired
    [message] = sched.get([fired.message_id])
    assert (message.queue, message.action, message.body) == ("q", "tock", {"k": 1})
    assert message.dedup_id == f"sluice-schedule-beat-{int(start + 1)}"
    [stored] = sched.schedules()
    assert (stored.next_at, stored.last_tick) == (start + 2, start + 1)


def test_only_due_schedules_fire(sched: Store, clock: FakeClock) -> None:
    start = float(int(clock.now))
    sched.put_schedule(EVERY_SECOND, start + 1)
    sched.put_schedule(Schedule("later", "* * * * * *", "tock", queue="q"), start + 60)
    assert [f.schedule for f in fire(sched, start + 1)] == ["beat"]


def test_catch_up_enqueues_the_missed_ticks_in_one_pass(sched: Store, clock: FakeClock) -> None:
    start = float(int(clock.now))
    catch_up = Schedule("c", "* * * * * *", "tock", queue="q", misfire="catch_up")
    sched.put_schedule(catch_up, start + 1)
    fired = fire(sched, start + 4)
    assert [f.tick for f in fired] == [start + 1, start + 2, start + 3, start + 4]
    assert len({f.message_id for f in fired}) == 4
    assert sched.stats(["q"])[0].depth == 4


def test_a_store_with_a_stale_view_fires_nothing(url: str, sched: Store, clock: FakeClock) -> None:
    """Two schedulers read the same due tick; the first commits; the second's compare-and-set
    then finds next_at moved and enqueues nothing."""
    start = float(int(clock.now))
    sched.put_schedule(EVERY_SECOND, start + 1)
    other = open_store(url, clock=clock)
    won: list[Fired] = []

    def racing_plan(schedule: Schedule, next_at: float, now: float) -> tuple[list[float], float]:
        won.extend(fire(other, now))  # the other scheduler fires between our read and our write
        return plan(schedule, next_at, now)

    try:
        clock.now = start + 1
        assert sched.fire_due(racing_plan) == []
    finally:
        other.close()
    assert [f.tick for f in won] == [start + 1]
    assert sched.stats(["q"])[0].depth == 1


def test_racing_threads_fire_each_tick_once(url: str, sched: Store, clock: FakeClock) -> None:
    start = float(int(clock.now))
    sched.put_schedule(EVERY_SECOND, start + 1)
    stores = [open_store(url, clock=clock) for _ in range(3)]
    ticks = 15
    barrier = threading.Barrier(len(stores))
    fired: list[list[Fired]] = [[] for _ in stores]

    def run(index: int) -> None:
        for n in range(1, ticks + 1):
            barrier.wait(timeout=30)
            fired[index].extend(fire(stores[index], start + n))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(stores))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for one in stores:
        one.close()
    all_fired = sorted(f.tick for per_store in fired for f in per_store)
    assert all_fired == [start + n for n in range(1, ticks + 1)]
    assert sched.stats(["q"])[0].depth == ticks


def test_a_tick_fired_again_after_a_reset_dedups_to_its_message(
    sched: Store, clock: FakeClock
) -> None:
    start = float(int(clock.now))
    sched.put_schedule(EVERY_SECOND, start + 1)
    [first] = fire(sched, start + 1)
    # The expression changes and changes back, resetting next_at to the tick already fired.
    sched.put_schedule(Schedule("beat", "*/2 * * * * *", "tock", queue="q"), start + 2)
    sched.put_schedule(EVERY_SECOND, start + 1)
    [again] = fire(sched, start + 1)
    assert again.message_id == first.message_id
    assert sched.stats(["q"])[0].depth == 1


def test_a_deleted_schedule_stops_firing(sched: Store, clock: FakeClock) -> None:
    sched.put_schedule(EVERY_SECOND, clock.now)
    assert sched.delete_schedule("beat") is True
    assert sched.delete_schedule("beat") is False
    assert fire(sched, clock.now + 10) == []
