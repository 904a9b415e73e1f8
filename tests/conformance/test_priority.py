"""Priorities: 0 is claimed first, larger later, then by visibility time; FIFO groups keep their
order; limits still apply; bad priorities store nothing."""

from __future__ import annotations

import pytest

from sluice.errors import MessageError
from sluice.model import MAX_PRIORITY, ActionLimit, NewMessage
from sluice.store import Store
from tests.conformance.helpers import ack_all, declare
from tests.conftest import FakeClock


def _put(store: Store, queue: str, *pairs: tuple[str, int], **fields: object) -> None:
    store.enqueue(
        [NewMessage(queue, name, action="act", priority=p, **fields) for name, p in pairs]  # type: ignore[arg-type]
    )


def test_claim_order_is_priority_then_visibility_time(store: Store, clock: FakeClock) -> None:
    declare(store, "q")
    _put(store, "q", ("low-a", 5), ("high-a", 0))
    clock.advance(1)
    _put(store, "q", ("mid", 2), ("high-b", 0), ("low-b", 5))
    order = [store.claim(["q"], 1)[0].body for _ in range(5)]
    assert order == ["high-a", "high-b", "mid", "low-a", "low-b"]


def test_a_batch_claim_takes_the_most_urgent_first(store: Store) -> None:
    declare(store, "q")
    _put(store, "q", *[(f"bulk{i}", 10) for i in range(5)], ("urgent", 0), ("max", MAX_PRIORITY))
    claimed = store.claim(["q"], 2)
    assert {m.body for m in claimed} == {"urgent", "bulk0"}


def test_a_delayed_urgent_message_waits_for_its_time(store: Store, clock: FakeClock) -> None:
    declare(store, "q")
    _put(store, "q", ("later", 0), delay=10)
    _put(store, "q", ("now", 9))
    assert [m.body for m in store.claim(["q"], 5)] == ["now"]
    clock.advance(11)
    assert [m.body for m in store.claim(["q"], 5)] == ["later"]


def test_fifo_groups_keep_their_order_whatever_the_priority(store: Store) -> None:
    declare(store, "f", fifo=True)
    _put(store, "f", ("a1", 9), ("a2", 0), group="a")
    _put(store, "f", ("b1", 3), group="b")
    _put(store, "f", ("c1", 0), group="c")
    heads = store.claim(["f"], 2)
    # heads are a1 (9), b1 (3), c1 (0): the two most urgent heads, never a2 before a1
    assert sorted(m.body for m in heads) == ["b1", "c1"]
    ack_all(store, heads)
    [a1] = store.claim(["f"], 5)
    assert a1.body == "a1"
    ack_all(store, [a1])
    assert [m.body for m in store.claim(["f"], 5)] == ["a2"]


def test_limits_still_apply_with_priorities(store: Store) -> None:
    declare(store, "q")
    store.put_limit(ActionLimit("slow", concurrency=1))
    store.enqueue(
        [
            NewMessage("q", "slow1", action="slow", priority=0),
            NewMessage("q", "slow2", action="slow", priority=0),
            NewMessage("q", "fast", action="fast", priority=7),
        ]
    )
    assert sorted(m.body for m in store.claim(["q"], 5)) == ["fast", "slow1"]


@pytest.mark.parametrize("bad", [-1, MAX_PRIORITY + 1, 1.5, "1", True, None])
def test_a_bad_priority_is_refused_and_stores_nothing(store: Store, bad: object) -> None:
    declare(store, "q")
    good = NewMessage("q", "ok", action="act")
    with pytest.raises(MessageError, match="message 1: priority must be"):
        store.enqueue([good, NewMessage("q", "bad", action="act", priority=bad)])  # type: ignore[arg-type]
    assert store.claim(["q"], 5) == []
