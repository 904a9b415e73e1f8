"""Delays, not_before and retention."""

from __future__ import annotations

from sluice.model import NewMessage
from sluice.store import Store
from tests.conformance.helpers import declare, put
from tests.conftest import FakeClock


def test_a_delayed_message_is_invisible_until_its_delay_passes(
    store: Store, clock: FakeClock
) -> None:
    declare(store)
    put(store, "q", "later", delay=120)
    assert store.claim(["q"], 1) == []
    stats = store.stats(["q"])[0]
    assert (stats.depth, stats.delayed, stats.in_flight) == (0, 1, 0)
    clock.advance(121)
    assert [m.body for m in store.claim(["q"], 1)] == ["later"]


def test_not_before_sets_an_absolute_time(store: Store, clock: FakeClock) -> None:
    declare(store)
    store.enqueue([NewMessage("q", "at noon", not_before=clock.now + 3600)])
    clock.advance(3599)
    assert store.claim(["q"], 1) == []
    clock.advance(2)
    assert len(store.claim(["q"], 1)) == 1


def test_retention_dead_letters_with_reason_expired_and_loses_nothing(
    store: Store, clock: FakeClock
) -> None:
    declare(store, retention=3600, visibility_timeout=7200)
    [busy] = put(store, "q", "old-in-flight")
    assert [m.id for m in store.claim(["q"], 1)] == [busy]
    put(store, "q", "old-1", "old-2")
    clock.advance(1800)
    [young] = put(store, "q", "young")
    clock.advance(1801)
    assert store.expire() == 2
    dead = store.dlq_list("q")
    assert {m.body for m in dead} == {"old-1", "old-2"}
    assert {m.dead_reason for m in dead} == {"expired"}
    assert {m.id for m in store.peek("q")} == {busy, young}


def test_dlqs_keep_messages_forever(store: Store, clock: FakeClock) -> None:
    declare(store, retention=60, max_receives=1)
    put(store, "q", "m")
    clock.advance(61)
    assert store.expire() == 1
    clock.advance(365 * 86400)
    assert store.expire() == 0
    assert len(store.dlq_list("q")) == 1
