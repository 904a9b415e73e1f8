"""Unit tests of the backend-neutral store decisions (no database)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sluice.model import ActionLimit, Outcome, QueuePolicy, Receipt
from sluice.store.limits import budgets, pick
from sluice.store.outcomes import ATTEMPTS_KEPT, add_attempt, plan_outcomes


def test_add_attempt_keeps_only_the_most_recent() -> None:
    history: list[dict[str, object]] | None = None
    for receive in range(1, ATTEMPTS_KEPT + 5):
        history = add_attempt(history, float(receive), receive, f"error {receive}")
    assert history is not None
    assert len(history) == ATTEMPTS_KEPT
    assert [a["receive"] for a in history] == list(range(5, ATTEMPTS_KEPT + 5))


def test_add_attempt_reads_json_text() -> None:
    assert add_attempt('[{"at": 1.0, "receive": 1, "error": "a"}]', 2.0, 2, "b") == [
        {"at": 1.0, "receive": 1, "error": "a"},
        {"at": 2.0, "receive": 2, "error": "b"},
    ]


def test_concurrency_budget_is_slots_left() -> None:
    result = budgets([(ActionLimit("a", concurrency=5), None, None)], {"a": 3}, now=0.0)
    assert result.left == {"a": 2}
    assert result.blocked == []


def test_full_concurrency_blocks_the_action() -> None:
    result = budgets([(ActionLimit("a", concurrency=2), None, None)], {"a": 2}, now=0.0)
    assert result.blocked == ["a"]


def test_rate_bucket_refills_up_to_burst() -> None:
    limit = ActionLimit("a", rate="10/s")
    assert limit.burst == 1.0
    empty = budgets([(limit, 0.0, 100.0)], {}, now=100.05)
    assert empty.left == {"a": 0}
    refilled = budgets([(limit, 0.0, 100.0)], {}, now=200.0)
    assert refilled.tokens["a"] == pytest.approx(1.0)
    assert refilled.left == {"a": 1}


def test_rate_and_concurrency_take_the_smaller_budget() -> None:
    limit = ActionLimit("a", concurrency=3, rate=100.0, burst=50.0)
    result = budgets([(limit, 50.0, 0.0)], {"a": 1}, now=0.0)
    assert result.left == {"a": 2}


@given(
    rate=st.floats(min_value=0.1, max_value=1000),
    steps=st.lists(st.floats(min_value=0.0, max_value=0.5), min_size=1, max_size=60),
)
def test_token_bucket_never_exceeds_rate_times_time_plus_burst(
    rate: float, steps: list[float]
) -> None:
    limit = ActionLimit("a", rate=rate)
    assert limit.burst is not None
    tokens: float | None = None
    refilled: float | None = None
    now = 0.0
    started = 0
    for step in steps:
        now += step
        budget = budgets([(limit, tokens, refilled)], {}, now)
        while budget.take("a"):
            started += 1
        tokens, refilled = budget.tokens["a"], now
    assert started <= math.floor(limit.burst + rate * now + 1e-9)


def test_pick_respects_want_and_budgets() -> None:
    budget = budgets([(ActionLimit("slow", concurrency=1), None, None)], {}, now=0.0)
    candidates = [(1, "slow"), (2, "slow"), (3, "fast"), (4, "fast"), (5, "fast")]
    assert pick(candidates, 3, budget) == [1, 3, 4]


def test_plan_outcomes_fences_and_dead_letters_after_max_receives() -> None:
    policy = QueuePolicy("q", max_receives=2)
    rows = {
        1: ("tok1", 1, "q", None),
        2: ("tok2", 2, "q", None),
        3: ("tok3", 1, "q", None),
    }
    outcomes = [
        Outcome.retry(Receipt(1, "tok1"), "boom", delay=5.0),
        Outcome.retry(Receipt(2, "tok2"), "boom again"),
        Outcome.dead(Receipt(3, "tok3"), "poison"),
        Outcome.ack(Receipt(3, "tok3")),
        Outcome.ack(Receipt(4, "gone")),
        Outcome.retry(Receipt(1, "stale"), "late"),
    ]
    plan = plan_outcomes(outcomes, rows, lambda name: policy, now=100.0)
    assert [(i, at, err) for i, at, err, _ in plan.retries] == [(1, 105.0, "boom")]
    assert [(i, reason, err) for i, reason, err, _ in plan.dead] == [
        (2, "max_receives", "boom again"),
        (3, "poison", "poison"),
    ]
    assert plan.stale == [Receipt(3, "tok3"), Receipt(4, "gone"), Receipt(1, "stale")]


def test_adaptive_concurrency_halves_on_backoff_and_regrows_one_slot_per_window() -> None:
    from sluice.store.limits import adapted

    assert adapted(None, 8, backoffs=1, successes=0) == 4.0
    assert adapted(4.0, 8, backoffs=3, successes=10) == 1.0  # never below one
    grown = adapted(4.0, 8, backoffs=0, successes=4)
    assert 4.9 < grown < 5.0  # about one slot after a full window of 4 successes
    assert adapted(7.9, 8, backoffs=0, successes=100) == 8.0  # never above the limit


def test_effective_concurrency_caps_the_budget() -> None:
    limit = ActionLimit("a", concurrency=10, effective=2.7)
    assert budgets([(limit, None, None)], {"a": 1}, now=0.0).left == {"a": 1}
