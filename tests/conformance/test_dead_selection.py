"""Dead letters selected by a search filter: counted, redriven and purged as one selection,
each action audited; a filter that cannot select dead letters of the queue is refused."""

from __future__ import annotations

import pytest

from sluice.errors import ConfigError, UnknownQueue
from sluice.model import NewMessage, Outcome, RunSpec
from sluice.store import Store
from sluice.store.search import MessageFilter
from tests.conformance.helpers import declare
from tests.conftest import FakeClock


def _kill(store: Store, errors: list[str], **fields: object) -> list[int]:
    """Dead letters of ``q``, one per error (max_receives=1: one failed receive kills)."""
    ids = []
    for error in errors:
        [m] = store.enqueue([NewMessage("q", error, action="act", **fields)])  # type: ignore[arg-type]
        [claimed] = store.claim(["q"], 1)
        assert claimed.id == m.id and claimed.receipt is not None
        store.complete([Outcome.retry(claimed.receipt, error, delay=0)])
        ids.append(m.id)
    return ids


def _dead(store: Store) -> list[int]:
    return [m.id for m in store.dlq_list("q", 1000)]


def test_a_filter_selects_what_is_counted_redriven_and_purged(
    store: Store, clock: FakeClock
) -> None:
    declare(store, "q", max_receives=1)
    old = _kill(store, ["timeout: api", "bad row 7"])
    clock.advance(600)
    run = "r1"
    store.start_run(RunSpec(run, "etl"))
    new = _kill(store, ["timeout: db", "bad row 9"], run_id=run)
    assert store.count_dead("q", MessageFilter()) == 4
    timeouts = MessageFilter(error_contains="timeout")
    assert store.count_dead("q", timeouts) == 2
    assert store.count_dead("q", MessageFilter(min_age=300, error_contains="bad")) == 1
    assert store.run_state(run).dead == 2

    assert store.redrive_dead("q", MessageFilter(run_id=run, error_contains="timeout")) == 1
    assert _dead(store) == [*old, new[1]]
    assert [m.id for m in store.peek("q", 10)] == [new[0]]
    assert store.run_state(run).dead == 1

    assert store.purge_dead("q", MessageFilter(error_contains="bad"), who="admin-1") == 2
    assert _dead(store) == [old[0]]
    assert store.purge_dead("q", MessageFilter(ids=[new[1]])) == 0  # already gone
    [nothing, purged, redriven] = store.audit(3)
    assert (nothing.what, nothing.new) == ("dlq.purge", 0)
    assert (purged.who, purged.what, purged.target) == ("admin-1", "dlq.purge", "q")
    assert (purged.old, purged.new) == ({"error_contains": "bad"}, 2)
    assert redriven.what == "dlq.redrive" and redriven.new == 1


def test_a_filter_that_cannot_select_dead_letters_is_refused(store: Store) -> None:
    declare(store, "q", max_receives=1)
    _kill(store, ["boom"])
    with pytest.raises(ConfigError, match="state 'waiting' selects none"):
        store.purge_dead("q", MessageFilter(state="waiting"))
    with pytest.raises(ConfigError, match="names queue 'other'"):
        store.redrive_dead("q", MessageFilter(queue="other"))
    with pytest.raises(UnknownQueue):
        store.count_dead("nope", MessageFilter())
    assert len(_dead(store)) == 1 and store.audit() == []
