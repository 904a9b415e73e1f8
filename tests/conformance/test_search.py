"""Message search: each field, states, ages, and keyset paging that returns every match once."""

from __future__ import annotations

import pytest

from sluice.errors import ConfigError
from sluice.model import NewMessage, Outcome
from sluice.store import Store
from sluice.store.search import MessageFilter
from tests.conformance.helpers import declare, put
from tests.conftest import FakeClock


def _ids(store: Store, **where: object) -> list[int]:
    page = store.search_messages(MessageFilter(**where), limit=1000)  # type: ignore[arg-type]
    return [f.message.id for f in page.found]


def _world(store: Store, clock: FakeClock) -> dict[str, int]:
    """One message in each state, in two queues, with distinct fields."""
    declare(store, "q", max_receives=1)
    declare(store, "other")
    [old] = put(store, "q", "old")
    clock.advance(100)
    [dead] = put(store, "q", "dead")
    [claimed] = store.claim(["q"], 1)  # takes "old" (oldest visible)
    assert claimed.id == old and claimed.receipt is not None
    [dying] = [m for m in store.claim(["q"], 1) if m.receipt]
    assert dying.receipt is not None
    store.complete([Outcome.retry(dying.receipt, "boom: disk full", delay=0)])
    [late] = [e.id for e in store.enqueue([NewMessage("q", "late", action="act", delay=60)])]
    [deduped] = put(store, "other", "d", dedup_id="key-1")
    [other_action] = [e.id for e in store.enqueue([NewMessage("other", "x", action="etl")])]
    return {
        "in_flight": old,
        "dead": dead,
        "delayed": late,
        "deduped": deduped,
        "other_action": other_action,
    }


def test_search_by_each_field_and_state(store: Store, clock: FakeClock) -> None:
    w = _world(store, clock)
    assert _ids(store, state="in_flight") == [w["in_flight"]]
    assert _ids(store, state="dead") == [w["dead"]]
    assert _ids(store, state="delayed") == [w["delayed"]]
    assert _ids(store, state="waiting") == [w["deduped"], w["other_action"]]
    assert _ids(store, ids=[w["dead"], w["delayed"]]) == [w["dead"], w["delayed"]]
    assert _ids(store, dedup_id="key-1") == [w["deduped"]]
    assert _ids(store, action="etl") == [w["other_action"]]
    assert _ids(store, queue="q") == [w["in_flight"], w["dead"], w["delayed"]]
    assert _ids(store, queue="q", state="dead") == [w["dead"]]
    assert _ids(store, error_contains="disk full") == [w["dead"]]
    assert _ids(store, errored=True) == [w["dead"]]
    assert _ids(store, error_contains="Disk") == []
    assert _ids(store, min_age=50) == [w["in_flight"]]
    assert _ids(store, max_age=50, queue="q") == [w["dead"], w["delayed"]]
    assert _ids(store, queue="nope") == []


def test_search_reports_each_state(store: Store, clock: FakeClock) -> None:
    w = _world(store, clock)
    page = store.search_messages(MessageFilter(queue="q"))
    assert {f.message.id: f.state for f in page.found} == {
        w["in_flight"]: "in_flight",
        w["dead"]: "dead",
        w["delayed"]: "delayed",
    }


def test_paging_returns_every_message_once_even_while_messages_come_and_go(
    store: Store,
) -> None:
    declare(store, "q")
    ids = put(store, "q", *range(23))
    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        page = store.search_messages(MessageFilter(queue="q"), limit=5, cursor=cursor)
        seen += [f.message.id for f in page.found]
        pages += 1
        if pages == 2:
            put(store, "q", "added while paging")
        if page.cursor is None:
            break
        cursor = page.cursor
    assert seen[:23] == ids and len(seen) == len(set(seen)) == 24
    assert pages == 5


def test_bad_search_input_is_a_clear_error(store: Store) -> None:
    with pytest.raises(ConfigError, match="unknown message state 'lost'"):
        MessageFilter(state="lost")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="min_age must be"):
        MessageFilter(min_age=-1)
    with pytest.raises(ConfigError, match="bad cursor"):
        store.search_messages(MessageFilter(), cursor="abc")
    with pytest.raises(ConfigError, match="limit must be"):
        store.search_messages(MessageFilter(), limit=0)


def _mixed_queue(store: Store) -> tuple[list[int], list[int]]:
    """A queue whose live messages and dead letters interleave by id: (live ids, dead ids)."""
    declare(store, "q")
    ids = put(store, "q", *range(12))
    dead = ids[::3]
    claimed = {m.id: m.receipt for m in store.claim(["q"], 50) if m.receipt}
    assert sorted(claimed) == ids
    assert store.complete([Outcome.dead(claimed[i], f"bad {ids.index(i)}") for i in dead]) == []
    store.release([claimed[i] for i in ids if i not in dead])  # the others waiting again
    return [i for i in ids if i not in dead], dead


def test_a_queue_page_merges_its_messages_and_dead_letters_in_id_order(store: Store) -> None:
    live, dead = _mixed_queue(store)
    seen: list[int] = []
    cursor = None
    while True:  # pages of 4 across both halves (live messages, dead letters)
        page = store.search_messages(MessageFilter(queue="q"), limit=4, cursor=cursor)
        seen += [f.message.id for f in page.found]
        if page.cursor is None:
            break
        cursor = page.cursor
    assert seen == sorted(live + dead)
    assert _ids(store, queue="q", state="dead") == dead
    assert _ids(store, queue="q", state="waiting") == live
    assert _ids(store, queue="q", state="in_flight") == []
    assert _ids(store, queue="q.dlq") == dead  # a DLQ named as the queue: its letters
    assert _ids(store, queue="q.dlq", state="dead") == dead
    assert _ids(store, ids=[dead[0], live[0], 10**9], queue="q") == sorted([dead[0], live[0]])
    assert _ids(store, ids=[live[0]], queue="other") == []
    assert _ids(store, queue="q", error_contains="bad 3") == [dead[1]]
