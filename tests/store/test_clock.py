"""The store's clock: the database's on PostgreSQL (local time plus a measured offset), the
local one on SQLite, an injected one wherever given (issue 20)."""

from __future__ import annotations

import asyncio
import logging
import threading
import time

import psycopg
import pytest

from sluice.store import open_store
from sluice.store.clock import SAMPLES, ClockOffset, Readings, ServerClock, estimate
from sluice.store.green import run_green
from sluice.worker.skew import ClockSkewCheck
from tests.conftest import FakeClock


def test_the_offset_comes_from_the_sample_with_the_smallest_round_trip() -> None:
    samples = [(10.0, 20.5, 11.0), (12.0, 22.1, 12.2), (13.0, 23.0, 13.9)]
    found = estimate(samples)
    assert found.seconds == pytest.approx(22.1 - 12.1)
    assert found.error == pytest.approx(0.1)


def _readings(offset: float, calls: list[int]) -> Readings:
    def read(n: int) -> list[tuple[float, float, float]]:
        calls.append(n)
        return [(time.time(), time.time() + offset, time.time()) for _ in range(n)]

    return read


def test_a_server_clock_adds_the_measured_offset_and_keeps_it_when_the_server_fails() -> None:
    calls: list[int] = []
    read = _readings(42.0, calls)
    failing = False

    def readings(n: int) -> list[tuple[float, float, float]]:
        if failing:
            raise OSError("server down")
        return read(n)

    clock = ServerClock(readings)
    assert clock() - time.time() == pytest.approx(42.0, abs=0.1)
    assert calls == [SAMPLES]  # measured once, at the first call
    clock()
    assert calls == [SAMPLES]  # not again before REFRESH_EVERY
    failing = True
    clock._due = float("-inf")  # a refresh is due, and the server is unreachable
    assert clock() - time.time() == pytest.approx(42.0, abs=0.1)
    offset = clock.offset()
    assert offset is not None and offset.seconds == pytest.approx(42.0, abs=0.1)


def test_a_server_clock_never_measured_runs_on_local_time() -> None:
    def unreachable(n: int) -> list[tuple[float, float, float]]:
        raise OSError("server down")

    clock = ServerClock(unreachable)
    assert clock() == pytest.approx(time.time(), abs=0.1)
    assert clock.offset() is None


def test_on_an_event_loop_a_due_refresh_is_measured_in_a_thread() -> None:
    """Store code on the loop (``run_green``) never waits for a measurement: the clock goes on
    with its offset and a thread of its own measures."""
    measured_in: list[int] = []
    gate = threading.Event()
    read = _readings(7.0, [])

    def readings(n: int) -> list[tuple[float, float, float]]:
        if measured_in:  # the refresh: held until the test lets it go
            gate.wait(5)
        measured_in.append(threading.get_ident())
        return read(n)

    clock = ServerClock(readings)
    clock()  # the first measurement, here
    clock._due = float("-inf")

    def on_the_loop() -> float:
        started = time.monotonic()
        now = clock()
        assert time.monotonic() - started < 0.5, "the loop waited for the measurement"
        return now

    now = asyncio.run(run_green(on_the_loop))
    assert now - time.time() == pytest.approx(7.0, abs=0.1)
    gate.set()
    deadline = time.monotonic() + 5
    while len(measured_in) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(measured_in) == 2 and measured_in[1] != threading.get_ident()
    assert clock._due > time.monotonic()  # the thread's measurement counts


def _server_time(url: str) -> float:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT extract(epoch FROM clock_timestamp())").fetchone()
    assert row is not None
    return float(row[0])


def test_on_postgres_the_store_clock_is_the_databases(pg_url: str) -> None:
    store = open_store(pg_url)
    try:
        store.clock()
        before = _server_time(pg_url)
        now = store.clock()
        after = _server_time(pg_url)
        assert before - 0.01 <= now <= after + 0.01
        offset = store.clock_offset()
        assert offset is not None and abs(offset.seconds) < 0.5  # one host here
    finally:
        store.close()


def test_an_injected_clock_wins_on_both_backends(url: str, clock: FakeClock) -> None:
    store = open_store(url, clock=clock)
    assert store.clock is clock
    assert store.clock_offset() is None
    store.close()


def test_sqlite_runs_on_the_local_clock(tmp_path: object) -> None:
    store = open_store(f"sqlite:///{tmp_path}/s.db")
    assert store.clock is time.time
    assert store.clock_offset() == ClockOffset(0.0, 0.0)
    store.close()


def test_a_worker_warns_once_with_the_offset(
    tmp_path: object, caplog: pytest.LogCaptureFixture
) -> None:
    store = open_store(f"sqlite:///{tmp_path}/s.db", clock=ServerClock(_readings(-5.0, [])))
    check = ClockSkewCheck(store, logging.getLogger("sluice.worker"))
    with caplog.at_level(logging.WARNING, "sluice.worker"):
        for _ in range(3):
            offset = check.check()
    assert offset is not None and offset.seconds == pytest.approx(-5.0, abs=0.1)
    warnings = [r.getMessage() for r in caplog.records if "clock skew" in r.getMessage()]
    assert len(warnings) == 1
    assert "5.0" in warnings[0] and "ahead of the database's (offset -5.0" in warnings[0]
    store.close()
