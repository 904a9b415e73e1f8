"""The worker logs and counts what the store did with each outcome: dead letters, stale
outcomes and rolled-back calls, a grace period on stop, and the SQLite transaction warning."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from sluice import App, Context, Worker
from sluice.observe.logs import entries_of
from sluice.worker import context


class Collect(logging.Handler):
    """The structured entries and plain messages the worker logs; ``seen`` is set whenever
    an entry with the outcome ``waiting_for`` arrives."""

    def __init__(self, waiting_for: str = "") -> None:
        super().__init__(logging.INFO)
        self.entries: list[dict[str, Any]] = []
        self.messages: list[tuple[int, str]] = []
        self.waiting_for = waiting_for
        self.seen = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        items = entries_of(record)
        if items is None:
            self.messages.append((record.levelno, record.getMessage()))
            return
        self.entries.extend(items)
        if any(item.get("outcome") == self.waiting_for for item in items):
            self.seen.set()


@pytest.fixture
def logged() -> Iterator[Collect]:
    log = logging.getLogger("sluice.worker")
    handler, level = Collect(), log.level
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    yield handler
    log.removeHandler(handler)
    log.setLevel(level)


def test_a_retry_on_the_last_receive_is_logged_and_counted_as_dead(
    url: str, logged: Collect
) -> None:
    app = App(url)
    app.queue("jobs", max_receives=2)

    @app.action(queue="jobs", retry_base=0.0)
    def fail(body: int, ctx: Context) -> None:
        raise ValueError("no")

    id_ = app.enqueue("fail", 1)
    worker = Worker(app, poll=0.05, stop_when_idle=True)
    worker.run()
    assert [(e["message_id"], e["attempt"], e["outcome"]) for e in logged.entries] == [
        (id_, 1, "retry"),
        (id_, 2, "dead"),
    ]
    assert (worker.counts["retry"], worker.counts["dead"]) == (1, 1)
    [stats] = app.store.action_stats()
    assert (stats.processed, stats.failed, stats.dead) == (0, 1, 1)
    assert app.store.stats(["jobs"])[0].dlq_depth == 1
    app.close()


@pytest.mark.parametrize("in_transaction", [True, False], ids=["ctx.transaction", "plain"])
def test_an_outcome_whose_lease_passed_is_logged_with_its_message_id(
    url: str, logged: Collect, in_transaction: bool
) -> None:
    """The handler's lease is taken over (released and claimed again) while it runs: its ack
    changes nothing, and in ``ctx.transaction`` the whole call is rolled back."""
    app = App(url)
    app.queue("jobs", visibility_timeout=60)
    taken: list[Any] = []
    calls: list[int] = []

    @app.action(queue="jobs")
    def slow(body: int, ctx: Context) -> None:
        calls.append(ctx.message.id)
        receipt = ctx.message.receipt
        assert receipt is not None
        if not taken:  # the worker may claim it back between release and claim: try again
            app.store.release([receipt])
            taken.extend(app.store.claim(["jobs"], 1))  # another owner now
        if in_transaction:
            ctx.transaction.execute("SELECT 1")

    id_ = app.enqueue("slow", 1)
    logged.waiting_for = "rolled_back" if in_transaction else "stale"
    worker = Worker(app, poll=0.05)
    thread = threading.Thread(target=worker.run)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not (taken and len(logged.entries) >= len(calls)):  # every call's line is in
            assert time.monotonic() < deadline, "no stolen lease was logged"
            logged.seen.wait(0.05)
    finally:
        worker.stop()
        thread.join(30)
    assert logged.entries  # one per call: the worker may claim it back between the two steps
    for entry in logged.entries:
        assert entry["message_id"] == id_
        assert entry["outcome"] == logged.waiting_for
        assert "lease" in entry["error"]
    assert worker.counts["ack"] == 0
    [stats] = app.store.action_stats()
    assert stats.processed == 0
    assert [m.id for m in taken] == [id_]
    app.close()


def test_stop_waits_the_grace_period_then_gives_back_and_says_so(url: str, logged: Collect) -> None:
    app = App(url)
    app.queue("jobs", visibility_timeout=60)
    started, release = threading.Event(), threading.Event()

    @app.action(queue="jobs", timeout=600)
    def hang(body: int, ctx: Context) -> None:
        started.set()
        release.wait(60)

    @app.action(queue="jobs", timeout=600)
    def quick(body: int, ctx: Context) -> None:
        pass

    hung = app.enqueue("hang", 1)
    worker = Worker(app, concurrency=2, poll=0.05, grace=0.2)
    thread = threading.Thread(target=worker.run)
    thread.start()
    try:
        assert started.wait(30)
        worker.stop()
        thread.join(30)
        assert not thread.is_alive()  # the hung handler did not hold the worker past grace
    finally:
        release.set()
    stats = app.store.stats(["jobs"])[0]
    assert (stats.depth, stats.in_flight) == (1, 0)  # given back at once, not left to expire
    [message] = app.store.claim(["jobs"], 1)
    assert message.id == hung and message.receive_count == 1  # a release does not count
    texts = [text for _, text in logged.messages]
    assert any(
        t.startswith("stopping: waiting up to 0.2s (the grace period) for 1 running") for t in texts
    )
    assert any(
        t.startswith("stopped: 0 of 1 running calls finished within the grace period")
        and f"ids {hung}" in t
        for t in texts
    )
    app.close()


def test_a_negative_grace_is_refused(url: str) -> None:
    app = App(url)
    app.queue("jobs")
    app.action("noop", queue="jobs")(lambda body, ctx: None)
    with pytest.raises(ValueError, match="grace must be 0 seconds or more"):
        Worker(app, grace=-1)
    app.close()


def test_a_long_sqlite_transaction_is_warned_about(
    url: str, logged: Collect, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(context, "SQLITE_TX_WARN", 0.05)
    app = App(url)
    app.queue("jobs")
    hold = threading.Event()

    @app.action(queue="jobs")
    def write_then_work(body: int, ctx: Context) -> None:
        ctx.transaction.execute("SELECT 1")
        hold.wait(0.2)  # the slow work, with the write lock held on SQLite

    id_ = app.enqueue("write_then_work", 1)
    Worker(app, poll=0.05, stop_when_idle=True).run()
    warnings = [t for level, t in logged.messages if level == logging.WARNING]
    if url.startswith("sqlite"):
        [warning] = warnings
        assert re.search(r"action 'write_then_work' held ctx.transaction for \d+\.\ds", warning)
        assert f"(message {id_}): on SQLite that holds the store's write lock" in warning
    else:
        assert warnings == []
    assert [e["outcome"] for e in logged.entries] == ["ack"]
    app.close()
