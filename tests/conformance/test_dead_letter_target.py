"""A per-queue dead-letter target and max receives set at runtime (SQS's RedrivePolicy): dead
letters move to any named queue, by retry or by expired leases; ``NAME.dlq`` stays the default."""

from __future__ import annotations

from sluice.model import NewMessage, Outcome, QueuePolicy
from sluice.store import Store
from sluice.store.base import POLICY_TTL
from tests.conftest import FakeClock


def _fail(store: Store, queue: str) -> None:
    [message] = store.claim([queue], 1)
    assert message.receipt is not None
    store.complete([Outcome.retry(message.receipt, "boom", delay=0)])


def test_retries_dead_letter_to_the_named_queue(store: Store) -> None:
    store.put_queue(QueuePolicy("target", max_receives=None))
    store.put_queue(QueuePolicy("src", max_receives=2, dead_letter_target="target"))
    [done] = store.enqueue([NewMessage("src", "x")])
    _fail(store, "src")
    _fail(store, "src")
    assert store.claim(["src"], 1) == []
    [dead] = store.claim(["target"], 1)
    assert (dead.id, dead.body, dead.source_queue) == (done.id, "x", "src")
    assert dead.dead_reason == "max_receives"
    assert store.stats(["src"])[0].dlq_depth == 0


def test_expired_leases_use_the_target_and_changes_apply_at_runtime(
    store: Store, clock: FakeClock
) -> None:
    store.put_queue(QueuePolicy("other", max_receives=None))
    store.put_queue(QueuePolicy("src", max_receives=None, visibility_timeout=10))
    store.enqueue([NewMessage("src", "y")])
    assert len(store.claim(["src"], 1)) == 1
    store.put_queue(
        QueuePolicy("src", max_receives=1, visibility_timeout=10, dead_letter_target="other")
    )
    clock.advance(11 + POLICY_TTL)
    assert store.claim(["src"], 1) == []  # out of receives: moved, not delivered
    [dead] = store.claim(["other"], 1)
    assert (dead.body, dead.source_queue) == ("y", "src")
    store.put_queue(QueuePolicy("src", max_receives=1))  # back to the default src.dlq
    store.enqueue([NewMessage("src", "z")])
    _fail(store, "src")
    assert [m.body for m in store.dlq_list("src")] == ["z"]


def test_a_declaration_keeps_a_target_set_over_sqs_unless_it_names_one(store: Store) -> None:
    store.put_queue(QueuePolicy("there", max_receives=None))
    store.put_queue(QueuePolicy("there2", max_receives=None))
    store.sqs_put_queue(QueuePolicy("src", max_receives=7, dead_letter_target="there"), {}, {})
    store.declare_queue(QueuePolicy("src", visibility_timeout=12))  # an app starting again
    kept = store.policy("src")
    assert (kept.dead_letter_target, kept.max_receives, kept.visibility_timeout) == (
        "there",
        7,
        12,
    )
    store.declare_queue(QueuePolicy("src", max_receives=2, dead_letter_target="there2"))
    named = store.policy("src")
    assert (named.dead_letter_target, named.max_receives) == ("there2", 2)
    store.put_queue(QueuePolicy("src", max_receives=1))  # put_queue replaces: the default again
    assert store.policy("src").dead_letter_target is None


def test_a_fifo_target_gets_its_dead_letters_claimable_by_group(
    store: Store, clock: FakeClock
) -> None:
    store.put_queue(QueuePolicy("dead.fifo", fifo=True, max_receives=None))
    store.put_queue(
        QueuePolicy("src.fifo", fifo=True, max_receives=1, dead_letter_target="dead.fifo")
    )
    store.enqueue([NewMessage("src.fifo", "first", group="1")])
    assert len(store.claim(["src.fifo"], 1)) == 1
    clock.advance(31)
    assert store.claim(["src.fifo"], 1) == []  # out of receives: dead-lettered
    [dead] = store.claim(["dead.fifo"], 10)
    assert (dead.body, dead.group) == ("first", "1")
    store.enqueue([NewMessage("src.fifo", "second", group="1")])
    assert [m.body for m in store.claim(["src.fifo"], 1)] == ["second"]
