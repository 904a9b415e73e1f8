"""Issue 20: processes on machines whose clocks disagree share one PostgreSQL store, and every
time the store computes follows the database's clock. Clocks are skewed with libfaketime;
what the store did is timed by the database itself (the witness triggers of conftest)."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import psycopg
import pytest

from sluice.model import NewMessage
from sluice.store import open_store
from tests.clock.conftest import ROOT, Spawn, claims, skewed_env, witnessed
from tests.clock.skew_app import LEASE

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.timeout(240)]

PROBE = """
import time, psycopg
from sluice.store import open_store
conn = psycopg.connect({url!r})
server = lambda: float(conn.execute("SELECT extract(epoch FROM clock_timestamp())").fetchone()[0])
before = server()
local = time.time()
store = open_store({url!r})
store.clock()  # measures
before, mine, after = server(), store.clock(), server()
print(local - before, mine - before, after - mine, store.clock_offset().seconds)
"""
WORKS, LIMITEDS, LATES = 300, 120, 5
"""Scaled down from the issue's 5,000 so the suite stays fast: the skew shows at any size."""
RATE, BURST, CONCURRENCY = 20.0, 2.0, 5  # the limited action's (burst: a tenth of the rate)
STORE_LAG = 5.0
"""Seconds the store may read its clock before the database runs its claim (a wait for a
pooled connection or the limits' lock on a loaded machine); half the lease."""


def _wait_for(done: object, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not done():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


@pytest.mark.parametrize("skew", [30.0, -30.0])
def test_faketime_skews_the_childs_clock_and_the_store_follows_the_database(
    skew_url: str, skew: float
) -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(url=skew_url)],
        env=skewed_env(skew_url, skew),
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    local_ahead, after_before, before_after, offset = map(float, out.split())
    assert abs(local_ahead - skew) < 1.0  # the skew applies to time.time(); psycopg works
    # the store's clock is the database's: read between two readings of the server's clock
    assert after_before > -0.01 and before_after > -0.01
    assert abs(offset + skew) < 0.5


def _drained(url: str) -> bool:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM sluice_messages WHERE queue = 'skew'").fetchone()
    return row is not None and row[0] == 0


def _max_in_flight(url: str, action: str) -> int:
    """The most messages of ``action`` between claim and ack at once, by the database."""
    moves = [(at, -1) for _, at, _ in witnessed(url, "delete", action)]
    moves += [(at, 1) for _, at, _ in witnessed(url, "claim", action)]
    running = peak = 0
    for _, step in sorted(moves):  # an ack before a claim at the same instant
        running += step
        peak = max(peak, running)
    return peak


def _rate_excess(url: str) -> float:
    """How far the limited action's claims went beyond its token bucket in any window, timed
    as the store spent the tokens (its claim time: the lease's end minus the lease)."""
    spent = sorted(lease_end - LEASE for _, lease_end in claims(url, "limited"))
    worst = float("-inf")
    for i, first in enumerate(spent):
        for j in range(i, len(spent)):
            worst = max(worst, (j - i + 1) - (BURST + RATE * (spent[j] - first)))
    return worst


def _lease_clock_errors(url: str, action: str) -> list[float]:
    """Claims whose lease the store did not start on the database's clock: how far its claim
    time lies after the database ran the claim, or more than STORE_LAG before it."""
    found = [(lease_end - LEASE) - at for at, lease_end in claims(url, action)]
    return [gap for gap in found if not -STORE_LAG <= gap <= 0.01]


def test_skewed_workers_deliver_once_keep_limits_and_delays(
    skew_url: str, spawn: Spawn, tmp_path: Path
) -> None:
    # The messages come from a process 30 s behind (so, were the producer's clock used, both
    # workers would see them at once); the delayed ones later from this process, on time.
    subprocess.run(
        [sys.executable, "-m", "tests.clock.skew_app", str(WORKS), str(LIMITEDS)],
        env=skewed_env(skew_url, -30.0),
        cwd=ROOT,
        check=True,
        timeout=60,
    )
    workers = [
        spawn(["worker", "tests.clock.skew_app:app", "--concurrency", "40"], skew)
        for skew in (30.0, -30.0)
    ]
    _wait_for(lambda: _drained(skew_url), 150, "the workers to drain the queue")

    claims = Counter(i for i, _, _ in witnessed(skew_url, "claim", "work"))
    assert len(claims) == WORKS
    again = {i: n for i, n in claims.items() if n > 1}
    assert not again, f"{len(again)} messages delivered again while their lease ({LEASE} s) held"
    assert _max_in_flight(skew_url, "limited") <= CONCURRENCY
    assert _rate_excess(skew_url) <= 1.0  # a claim waiting for the limits' lock spends later
    for action in ("work", "limited"):  # every lease ran on the database's clock
        assert not _lease_clock_errors(skew_url, action)
    # Delayed messages, enqueued once the workers idle (a backlog would hide early claims).
    store = open_store(skew_url)
    store.enqueue([NewMessage("skew", n, action="late", delay=5) for n in range(LATES)])
    store.close()
    _wait_for(lambda: _drained(skew_url), 60, "the workers to claim the delayed messages")
    inserted = {i: at for i, at, _ in witnessed(skew_url, "insert", "late")}
    early = [at - inserted[i] for i, at, _ in witnessed(skew_url, "claim", "late")]
    assert len(early) == LATES
    assert min(early) >= 5.0 - 0.05, f"a delay=5 message was claimed after {min(early):.2f} s"
    for worker in workers:
        assert worker.poll() is None
    logs = [path.read_text() for path in sorted(tmp_path.glob("worker-*.log"))]
    for log in logs:  # each skewed worker warned once, with its offset
        assert len(re.findall("clock skew", log)) == 1, log[-2000:]
        assert re.search(r"offset [+-]30\.0\d\d s", log), log[-2000:]


def test_skewed_schedulers_fire_each_tick_once_on_time(skew_url: str, spawn: Spawn) -> None:
    schedulers = [
        spawn(["scheduler", "tests.clock.skew_app:app", "--log-format", "json"], skew)
        for skew in (-20.0, 0.0, 20.0)
    ]
    _wait_for(lambda: len(witnessed(skew_url, "insert", "tick")) >= 5, 60, "five ticks")
    for scheduler in schedulers:
        assert scheduler.poll() is None
    fired = witnessed(skew_url, "insert", "tick")
    ticks = [int(str(dedup).rsplit("-", 1)[1]) for _, _, dedup in fired]
    assert len(ticks) == len(set(ticks))  # once each (also guarded by the dedup ids)
    assert ticks == list(range(ticks[0], ticks[0] + 2 * len(ticks), 2))  # none skipped
    for tick, (_, at, _) in zip(ticks, fired, strict=True):
        assert tick <= at <= tick + 1.0, f"tick {tick} fired at {at - tick:+.2f} s"
