"""Policies and limits changed by another process take effect in a long-running store within
a bounded time: policies are re-read after ``POLICY_TTL`` seconds of the store's clock, limits
are read by every claim that needs them."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable

import pytest

from sluice.model import ActionLimit, NewMessage, QueuePolicy
from sluice.store import Store, open_store
from sluice.store.base import POLICY_TTL
from tests.conftest import FakeClock

pytestmark = [pytest.mark.timeout(120)]
SPAWN = multiprocessing.get_context("spawn")


def _redeclare(url: str, visibility_timeout: float, max_receives: int) -> None:
    other = open_store(url)
    other.put_queue(QueuePolicy("q", visibility_timeout, max_receives=max_receives))
    other.close()


def _limit(url: str) -> None:
    other = open_store(url)
    other.put_limit(ActionLimit("m", concurrency=1))
    other.close()


def _in_another_process(target: Callable[..., None], *args: object) -> None:
    process = SPAWN.Process(target=target, args=args)
    process.start()
    process.join(timeout=60)
    assert process.exitcode == 0


def test_a_policy_changed_by_another_process_is_seen_within_the_ttl(
    store: Store, url: str, clock: FakeClock
) -> None:
    store.put_queue(QueuePolicy("q", visibility_timeout=30, max_receives=3))
    assert store.policy("q").visibility_timeout == 30
    _in_another_process(_redeclare, url, 99.0, 7)
    clock.advance(POLICY_TTL)
    assert store.policy("q").visibility_timeout == 99
    assert store.policy("q").max_receives == 7
    store.enqueue([NewMessage("q", "x")])
    (claimed,) = store.claim(["q"], 1)
    assert claimed.visible_at == clock() + 99  # the new lease is the one in force


def test_a_policy_is_trusted_for_less_than_the_ttl(
    store: Store, url: str, clock: FakeClock
) -> None:
    store.put_queue(QueuePolicy("q", visibility_timeout=30))
    assert store.policy("q").visibility_timeout == 30
    _in_another_process(_redeclare, url, 99.0, 5)
    clock.advance(POLICY_TTL / 2)
    assert store.policy("q").visibility_timeout == 30  # cached: no read per call
    clock.advance(POLICY_TTL / 2)
    assert store.policy("q").visibility_timeout == 99


def test_a_limit_set_by_another_process_holds_at_the_next_claim(store: Store, url: str) -> None:
    store.put_queue(QueuePolicy("q", visibility_timeout=600))
    store.enqueue([NewMessage("q", n, action="m") for n in range(5)])
    assert store.claim(["q"], 0) == []
    assert store.limits() == []
    _in_another_process(_limit, url)
    claimed = store.claim(["q"], 5)
    assert len(claimed) <= 1
    assert len(store.claim(["q"], 5)) == 0  # its one slot is taken
