"""Global limits applied inside claim: concurrency per action and a shared token bucket."""

from __future__ import annotations

from sluice.model import ActionLimit, NewMessage
from sluice.store import Store
from tests.conformance.helpers import ack_all, declare
from tests.conftest import FakeClock


def _put(store: Store, action: str, count: int) -> None:
    store.enqueue([NewMessage("q", n, action=action) for n in range(count)])


def test_concurrency_caps_in_flight_messages_of_the_action_only(store: Store) -> None:
    declare(store)
    store.put_limit(ActionLimit("slow", concurrency=3))
    _put(store, "slow", 10)
    _put(store, "fast", 5)
    first = store.claim(["q"], 100)
    assert sum(m.action == "slow" for m in first) == 3
    assert sum(m.action == "fast" for m in first) == 5
    assert store.claim(["q"], 100) == []
    ack_all(store, [m for m in first if m.action == "slow"][:2])
    second = store.claim(["q"], 100)
    assert [m.action for m in second] == ["slow", "slow"]


def test_an_expired_lease_frees_its_slot(store: Store, clock: FakeClock) -> None:
    declare(store, visibility_timeout=10)
    store.put_limit(ActionLimit("slow", concurrency=1))
    _put(store, "slow", 2)
    assert len(store.claim(["q"], 10)) == 1
    assert store.claim(["q"], 10) == []
    clock.advance(11)
    assert len(store.claim(["q"], 10)) == 1


def test_rate_limit_over_simulated_time(store: Store, clock: FakeClock) -> None:
    declare(store, visibility_timeout=3600)
    store.put_limit(ActionLimit("api", rate="20/s"))
    _put(store, "api", 1000)
    claimed = 0
    for _ in range(100):  # 10 simulated seconds in steps of 0.1 s
        claimed += len(store.claim(["q"], 50))
        clock.advance(0.1)
    assert 20 * 10 - 5 <= claimed <= 20 * 10 + 2  # rate x time, plus at most the burst


def test_removing_a_limit_lifts_it(store: Store) -> None:
    declare(store)
    store.put_limit(ActionLimit("slow", concurrency=1))
    assert store.limits() == [ActionLimit("slow", concurrency=1)]
    _put(store, "slow", 3)
    assert len(store.claim(["q"], 10)) == 1
    store.put_limit(ActionLimit("slow"))
    assert store.limits() == []
    assert len(store.claim(["q"], 10)) == 2


def test_limits_apply_to_fifo_heads(store: Store) -> None:
    declare(store, "f", fifo=True)
    store.put_limit(ActionLimit("act", concurrency=2))
    store.enqueue([NewMessage("f", n, action="act", group=f"g{n}") for n in range(5)])
    assert len(store.claim(["f"], 10)) == 2


def test_backoffs_shrink_the_effective_concurrency_and_successes_regrow_it(store: Store) -> None:
    declare(store)
    store.put_limit(ActionLimit("api", concurrency=8))
    _put(store, "api", 20)
    store.adapt({"api": (2, 0), "unlimited": (5, 0)})
    [limit] = store.limits()
    assert limit.effective == 2.0
    assert len(store.claim(["q"], 100)) == 2
    store.adapt({"api": (0, 50)})
    [limit] = store.limits()
    assert limit.effective is not None and 8.0 >= limit.effective > 2.0
