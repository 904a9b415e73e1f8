"""Bucket scan state in the store, on every backend: the watermark moves in the enqueue's
transaction and only up (in S3's byte order), one caller per period takes the full listing,
failures count up and clear."""

from __future__ import annotations

from sluice.model import NewMessage
from sluice.store import Store
from tests.conformance.helpers import declare
from tests.conftest import FakeClock

WATCH = "load:s3://landing/input/*.json"


def msg(key: str) -> NewMessage:
    return NewMessage("q", {"key": key}, action="load", dedup_id=f"s3:landing:{key}:e")


def test_the_watermark_advances_with_the_enqueue_and_never_goes_back(store: Store) -> None:
    declare(store, "q", dedup_window=None)
    assert store.bucket_scan(WATCH).watermark == ""
    done = store.bucket_advance(WATCH, [msg("input/b.json"), msg("input/é.json")], "input/é.json")
    assert [one.created for one in done] == [True, True]
    # 'é' (U+00E9) sorts after 'z' in S3's byte order, whatever the database's collation
    store.bucket_advance(WATCH, [msg("input/b.json")], "input/z.json")
    state = store.bucket_scan(WATCH)
    assert (state.watermark, state.sent) == ("input/é.json", 2)
    store.bucket_advance(WATCH, [], "input/zz/")  # a page with no match still moves it
    assert store.bucket_scan(WATCH).watermark == "input/é.json"
    assert [s.watch for s in store.bucket_scans()] == [WATCH]


def test_one_caller_per_period_takes_the_full_listing(store: Store) -> None:
    assert isinstance(store.clock, FakeClock)
    store.clock.now = 1000.0
    assert store.bucket_take_full(WATCH, 300.0)
    assert not store.bucket_take_full(WATCH, 300.0)
    store.clock.now = 1300.0
    assert store.bucket_take_full(WATCH, 300.0)
    assert store.bucket_failed(WATCH, "cannot list bucket s3://landing", full=True) == 1
    assert store.bucket_take_full(WATCH, 300.0)  # the failed full listing is due again


def test_failures_count_up_and_a_pass_clears_them(store: Store) -> None:
    assert isinstance(store.clock, FakeClock)
    store.clock.now = 50.0
    assert store.bucket_failed(WATCH, "one", full=False) == 1
    store.clock.now = 60.0
    assert store.bucket_failed(WATCH, "two", full=False) == 2
    state = store.bucket_scan(WATCH)
    assert (state.failures, state.error, state.failing_since) == (2, "two", 50.0)
    store.bucket_passed(WATCH)
    state = store.bucket_scan(WATCH)
    assert (state.failures, state.error, state.failing_since, state.passed_at) == (
        0,
        None,
        None,
        60.0,
    )
