"""The worker's services alone, driven by a fake clock: periodic jobs, store calls, batches,
housekeeping, the completer, the dispatcher and the claimer."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from sluice import App, Context, Message, NewMessage, Outcome, QueuePolicy, Store
from sluice.errors import StoreUnavailable
from sluice.model import ActionPolicy, ActionStats
from sluice.worker.actions import Action
from sluice.worker.batches import Batches
from sluice.worker.claimer import Claimer
from sluice.worker.completer import Completer
from sluice.worker.context import OnceReservations
from sluice.worker.dispatcher import Dispatcher
from sluice.worker.housekeeping import Housekeeper, Leases
from sluice.worker.service import Periodic, Service, StoreCalls
from tests.conftest import FakeClock
from tests.worker.fakes import FakeTiming, settle, until

LOG = logging.getLogger("sluice.worker")


def _action(name: str = "work", **policy: Any) -> Action:
    return Action(name, lambda body, ctx: None, ActionPolicy(queue="q", **policy))


def _message(id_: int, body: object = None) -> Message:
    return Message(id_, "q", "work", body, None, None, None, 1, 0.0, 0.0)


# -- the service base ---------------------------------------------------------------------
def test_a_periodic_job_runs_once_per_interval_of_the_fake_clock() -> None:
    async def body() -> None:
        timing = FakeTiming()
        ran: list[float] = []

        async def work() -> None:
            ran.append(timing.now())

        job = Periodic(10, work, timing)
        job.start()
        await settle()
        assert ran == [] and timing.sleeping == [1010]
        await timing.advance(10)
        assert ran == [1010]
        await timing.advance(5)
        assert ran == [1010]
        await timing.advance(5)
        assert ran == [1010, 1020]
        await job.stop()
        assert not job.active

    asyncio.run(body())


def test_a_failing_service_reports_its_error() -> None:
    failures: list[BaseException] = []

    class Broken(Service):
        async def run(self) -> None:
            raise RuntimeError("broken")

    async def body() -> None:
        Broken(failures.append).start()
        await settle()

    asyncio.run(body())
    assert [str(e) for e in failures] == ["broken"]


def test_store_calls_wait_out_an_unavailable_store_doubling_the_wait() -> None:
    attempts: list[int] = []

    def flaky(n: int) -> int:
        attempts.append(n)
        if len(attempts) < 3:
            raise StoreUnavailable("sqlite:///x.db", "gone")
        return n * 2

    async def body() -> None:
        timing = FakeTiming()
        call = asyncio.ensure_future(StoreCalls(timing, LOG)(flaky, 21))
        await until(lambda: timing.sleeping, "the first wait")
        assert timing.sleeping == [1000.1]
        await timing.advance(0.1)
        await until(lambda: timing.sleeping, "the second wait")
        assert timing.sleeping == [pytest.approx(1000.3)]
        await timing.advance(0.2)
        assert await call == 42

    asyncio.run(body())
    assert attempts == [21, 21, 21]


# -- batches ------------------------------------------------------------------------------
def test_batches_are_due_when_full_or_when_their_window_has_passed() -> None:
    batches = Batches()
    action = _action(batch_size=3, batch_window=5.0)
    for n in range(4):
        batches.add(action, _message(n), now=100.0)
    [(_, full)] = batches.due(now=100.0, slots=5)
    assert [m.id for m in full] == [0, 1, 2]
    assert batches.due(now=104.0, slots=5) == []
    assert batches.wait_time(now=104.0, longest=10.0) == 1.0
    [(_, partial)] = batches.due(now=105.0, slots=5)
    assert [m.id for m in partial] == [3]
    assert not batches and len(batches) == 0


def test_batches_respect_free_slots_and_batch_bytes() -> None:
    batches = Batches()
    action = _action(batch_size=10, batch_bytes=10)
    for n in range(4):
        batches.add(action, _message(n, "abcd"), now=0.0)  # 6 bytes of JSON each
    first = batches.due(now=0.0, slots=1)
    assert [[m.id for m in batch] for _, batch in first] == [[0]]
    assert len(batches) == 3
    assert [m.id for m in batches.drain()] == [1, 2, 3]


# -- housekeeping -------------------------------------------------------------------------
@pytest.fixture
def keeper(store: Store, clock: FakeClock) -> Iterator[tuple[Housekeeper, Leases, FakeTiming]]:
    store.put_queue(QueuePolicy("q", visibility_timeout=30, max_receives=1))
    leases, timing = Leases(), FakeTiming()
    stats: dict[str, ActionStats] = {}
    keeper = Housekeeper(
        store,
        leases=leases,
        lease=30,
        stats=stats,
        worker_id="w1",
        store_call=StoreCalls(timing, LOG),
        timing=timing,
        log=LOG,
    )
    yield keeper, leases, timing


def test_housekeeping_runs_heartbeats_maintenance_and_reports_on_their_intervals(
    keeper: tuple[Housekeeper, Leases, FakeTiming],
) -> None:
    housekeeper, _, _ = keeper
    assert [job.every for job in housekeeper.jobs] == [10, 30, 2]


def test_a_heartbeat_extends_held_leases_and_forgets_stale_ones(
    store: Store, clock: FakeClock, keeper: tuple[Housekeeper, Leases, FakeTiming]
) -> None:
    housekeeper, leases, _ = keeper
    store.enqueue([NewMessage("q", 1, action="work"), NewMessage("q", 2, action="work")])
    one, two = store.claim(["q"], 2)
    assert one.receipt is not None and two.receipt is not None
    leases.hold(one.receipt)
    leases.hold(two.receipt)
    store.release([two.receipt])  # given back meanwhile: its receipt is stale now
    clock.advance(20)
    asyncio.run(housekeeper.heartbeat())
    assert [r.message_id for r in leases.receipts()] == [one.id]
    clock.advance(20)  # 40 s after the claim: past the first lease, not the extended one
    assert [m.id for m in store.claim(["q"], 2)] == [two.id]


def test_stats_are_reported_only_when_they_moved(
    store: Store, keeper: tuple[Housekeeper, Leases, FakeTiming]
) -> None:
    housekeeper, _, _ = keeper
    housekeeper.stats["work"] = ActionStats("work", processed=1)
    asyncio.run(housekeeper.report())
    assert [s.processed for s in store.action_stats()] == [1]
    store.put_action_stats("w1", [ActionStats("work", processed=99)])
    asyncio.run(housekeeper.report())  # nothing moved: not written again
    assert [s.processed for s in store.action_stats()] == [99]
    housekeeper.stats["work"].processed = 2
    asyncio.run(housekeeper.report())
    assert [s.processed for s in store.action_stats()] == [2]


def test_maintenance_dead_letters_what_ran_out_and_says_so(
    store: Store,
    clock: FakeClock,
    keeper: tuple[Housekeeper, Leases, FakeTiming],
    caplog: pytest.LogCaptureFixture,
) -> None:
    housekeeper, _, _ = keeper
    store.enqueue([NewMessage("q", 1, action="work")])
    store.claim(["q"], 1)
    clock.advance(31)  # the lease passed on its only allowed receive
    with caplog.at_level(logging.INFO, "sluice.worker"):
        asyncio.run(housekeeper.maintain())
    assert "dead-lettered 1 expired or exhausted messages" in caplog.text
    assert store.stats(["q"])[0].dlq_depth == 1


# -- the completer ------------------------------------------------------------------------
def _completer(store: Store, timing: FakeTiming) -> tuple[Completer, Leases]:
    leases = Leases()
    completer = Completer(
        store,
        leases=leases,
        once=OnceReservations(),
        store_call=StoreCalls(timing, LOG),
        timing=timing,
        log=LOG,
    )
    return completer, leases


def test_the_completer_writes_outcomes_and_counts_what_the_store_did(store: Store) -> None:
    store.put_queue(QueuePolicy("q", max_receives=1))
    store.enqueue([NewMessage("q", n, action="work") for n in range(3)])
    ok, failed, stale = store.claim(["q"], 3)
    assert ok.receipt and failed.receipt and stale.receipt
    store.release([stale.receipt])

    async def body() -> Completer:
        timing = FakeTiming()
        completer, leases = _completer(store, timing)
        for message in (ok, failed, stale):
            assert message.receipt is not None
            leases.hold(message.receipt)
        completer.start()
        completer.finish(
            [Outcome.ack(ok.receipt)],
            action="work",
            batch=[ok],  # type: ignore[arg-type]
            started=timing.now() - 0.5,
        )
        completer.finish([Outcome.retry(failed.receipt, "no")], action="work", batch=[failed])  # type: ignore[arg-type]
        completer.finish([Outcome.ack(stale.receipt)], action="work", batch=[stale])  # type: ignore[arg-type]
        assert not leases  # none is heartbeaten any more
        await until(lambda: not completer, "the outcomes to be written")
        await completer.close()
        return completer

    completer = asyncio.run(body())
    assert dict(completer.counts) == {"ack": 1, "dead": 1, "stale": 1}
    stats = completer.stats["work"]
    assert (stats.processed, stats.failed, stats.dead) == (1, 0, 1)
    assert stats.duration_sum == pytest.approx(0.5)
    figures = store.stats(["q"])[0]
    assert (figures.depth, figures.in_flight, figures.dlq_depth) == (1, 0, 1)


# -- the dispatcher and the claimer -------------------------------------------------------
@pytest.fixture
def app(url: str, clock: FakeClock) -> Iterator[App]:
    app = App(url, clock=clock)
    app.queue("q", visibility_timeout=60)
    yield app
    app.close()


def _services(
    app: App, timing: FakeTiming, concurrency: int = 2
) -> tuple[Batches, Completer, Dispatcher, threading.Event]:
    batches, stopping = Batches(), threading.Event()
    completer, _ = _completer(app.store, timing)
    dispatcher = Dispatcher(
        app,
        batches=batches,
        completer=completer,
        concurrency=concurrency,
        stopping=stopping,
        timing=timing,
        log=LOG,
    )
    return batches, completer, dispatcher, stopping


def test_the_dispatcher_fails_a_sync_call_past_its_timeout_on_the_fake_clock(app: App) -> None:
    started, release = threading.Event(), threading.Event()

    @app.action(queue="q", timeout=5)
    def hang(body: int, ctx: Context) -> None:
        started.set()
        release.wait(60)

    app.enqueue("hang", 1)
    [message] = app.store.claim(["q"], 1)

    async def body() -> Completer:
        timing = FakeTiming()
        batches, completer, dispatcher, _ = _services(app, timing)
        batches.add(app.actions["hang"], message, timing.now())
        dispatcher.start()
        dispatcher.dispatch_ready()
        assert dispatcher.running == 1
        await until(started.is_set, "the handler to start")
        await timing.advance(4)
        assert dispatcher.running == 1  # within its timeout
        await timing.advance(2)
        assert dispatcher.running == 0 and dispatcher.wake.is_set()
        completer.start()
        await until(lambda: not completer, "the retry to be written")
        await completer.close()
        await dispatcher.stop()
        dispatcher.sync.shutdown()
        return completer

    try:
        completer = asyncio.run(body())
    finally:
        release.set()
    assert completer.counts["retry"] == 1
    assert completer.stats["hang"].failed == 1


def test_the_claimer_holds_a_partial_batch_until_its_window_passes_on_the_fake_clock(
    app: App,
) -> None:
    seen: list[list[int]] = []

    @app.action(queue="q", batch_size=10, batch_window=5.0)
    def load(messages: list[Message], ctx: Context) -> None:
        seen.append([m.body for m in messages])

    for n in range(3):
        app.enqueue("load", n)

    async def body() -> None:
        timing = FakeTiming()
        batches, completer, dispatcher, stopping = _services(app, timing)
        leases = completer.leases
        claimer = Claimer(
            app,
            ["q"],
            batches=batches,
            dispatcher=dispatcher,
            completer=completer,
            leases=leases,
            stopping=stopping,
            stop_when_idle=True,
            poll=0.01,
            store_call=StoreCalls(timing, LOG),
            timing=timing,
        )
        completer.start()
        dispatcher.start()
        run = asyncio.ensure_future(claimer.run())
        await until(lambda: len(batches) == 3, "the claim")
        await timing.advance(4.9)
        assert seen == [] and dispatcher.running == 0  # the window is still open
        await timing.advance(0.1)
        await until(lambda: seen, "the batch to run")
        await until(run.done, "the claimer to find the queue empty")
        await run
        await completer.close()
        await dispatcher.stop()
        dispatcher.sync.shutdown()

    asyncio.run(body())
    assert seen == [[0, 1, 2]]
    assert app.store.stats(["q"])[0].depth == 0
