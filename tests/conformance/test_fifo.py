"""FIFO queues: order within a group, groups in parallel, a failing head blocks its group."""

from __future__ import annotations

import threading

from sluice.model import NewMessage, Outcome
from sluice.store import Store, open_store
from tests.conformance.helpers import ack_all, declare
from tests.conftest import FakeClock


def _put_groups(store: Store, groups: int, per_group: int) -> None:
    store.enqueue(
        [
            NewMessage("f", {"g": g, "seq": s}, group=f"g{g}")
            for s in range(per_group)
            for g in range(groups)
        ]
    )


def test_order_within_a_group_across_acks(store: Store) -> None:
    declare(store, "f", fifo=True)
    _put_groups(store, 1, 5)
    seen = []
    while claimed := store.claim(["f"], 10):
        assert len(claimed) == 1  # only the head of the one group
        seen.append(claimed[0].body["seq"])
        ack_all(store, claimed)
    assert seen == [0, 1, 2, 3, 4]


def test_groups_run_in_parallel_and_an_in_flight_head_blocks_its_group(store: Store) -> None:
    declare(store, "f", fifo=True)
    _put_groups(store, 3, 2)
    heads = store.claim(["f"], 10)
    assert sorted((m.body["g"], m.body["seq"]) for m in heads) == [(0, 0), (1, 0), (2, 0)]
    assert store.claim(["f"], 10) == []
    ack_all(store, [m for m in heads if m.body["g"] == 1])
    assert [(m.body["g"], m.body["seq"]) for m in store.claim(["f"], 10)] == [(1, 1)]


def test_a_failing_head_blocks_only_its_group_until_dead_lettered(
    store: Store, clock: FakeClock
) -> None:
    declare(store, "f", fifo=True, max_receives=2)
    _put_groups(store, 2, 2)
    heads = {m.body["g"]: m for m in store.claim(["f"], 10)}
    bad = heads[0].receipt
    assert bad is not None
    store.complete([Outcome.retry(bad, "boom", delay=30)])
    ack_all(store, [heads[1]])
    other = store.claim(["f"], 10)
    assert [(m.body["g"], m.body["seq"]) for m in other] == [(1, 1)]
    ack_all(store, other)
    clock.advance(31)
    [again] = store.claim(["f"], 10)
    assert (again.body, again.receive_count) == ({"g": 0, "seq": 0}, 2)
    assert again.receipt is not None
    store.complete([Outcome.retry(again.receipt, "boom", delay=30)])
    assert [m.body for m in store.dlq_list("f")] == [{"g": 0, "seq": 0}]
    assert [m.body for m in store.claim(["f"], 10)] == [{"g": 0, "seq": 1}]


def test_a_fifo_message_without_group_goes_to_the_default_group(store: Store) -> None:
    declare(store, "f", fifo=True)
    store.enqueue([NewMessage("f", n) for n in range(3)])
    assert [m.body for m in store.claim(["f"], 10)] == [0]


def test_concurrent_claimers_keep_order_within_every_group(url: str) -> None:
    setup = open_store(url)
    setup.migrate()
    declare(setup, "f", fifo=True)
    groups, per_group = 12, 25
    _put_groups(setup, groups, per_group)
    acked: list[tuple[int, int]] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def drain() -> None:
        store = open_store(url)
        try:
            idle = 0
            while idle < 50:
                claimed = store.claim(["f"], 4)
                if not claimed:
                    idle += 1
                    continue
                idle = 0
                with lock:  # record and ack under one lock so the record order is ack order
                    acked.extend((m.body["g"], m.body["seq"]) for m in claimed)
                    ack_all(store, claimed)
        except BaseException as exc:  # pragma: no cover - surfaced below
            errors.append(exc)
        finally:
            store.close()

    threads = [threading.Thread(target=drain) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    assert len(acked) == groups * per_group
    for group in range(groups):
        assert [s for g, s in acked if g == group] == list(range(per_group))
    setup.close()


def test_a_claim_per_group_takes_a_group_in_order_and_blocks_it_while_in_flight(
    store: Store, clock: FakeClock
) -> None:
    declare(store, "f", fifo=True)
    _put_groups(store, 2, 4)
    first = store.claim(["f"], 6, per_group=3)
    assert [(m.body["g"], m.body["seq"]) for m in first if m.body["g"] == 0] == [
        (0, 0),
        (0, 1),
        (0, 2),
    ]
    assert len(first) == 6
    assert len({m.receipt for m in first}) == 6  # each message its own fenced receipt
    assert store.claim(["f"], 10, per_group=10) == []  # both groups in flight
    ack_all(store, first[:1])  # the head only: the rest of its batch still blocks the group
    assert store.claim(["f"], 10, per_group=10) == []
    # a message of the batch made visible again comes back first, before the ones behind it
    store.extend([m.receipt for m in first if m.body == {"g": 0, "seq": 1} and m.receipt], 0)
    assert store.claim(["f"], 10, per_group=10) == []  # (0, 2) still in flight behind it
    clock.advance(31)
    again = store.claim(["f"], 10, per_group=10)
    assert sorted((m.body["g"], m.body["seq"]) for m in again) == [
        (0, 1),
        (0, 2),
        (0, 3),
        (1, 0),
        (1, 1),
        (1, 2),
        (1, 3),
    ]
