"""SQLite connections die with their threads (issue 12, item 27): a server whose thread pool
retires idle threads and starts new ones keeps as many connections to the file as it has live
threads, not one per thread it ever had. Open descriptors are counted in /proc/self/fd.

SQLite keeps the descriptor of a closed connection open (for reuse by the next one) while other
connections of the process hold locks on the file, so the bound is the peak number of threads,
which a leak exceeds after a few cycles."""

from __future__ import annotations

import contextlib
import gc
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from anyio._backends._asyncio import WorkerThread

from sluice.store.sqlite import SqliteStore
from sluice.web import create_app
from tests.web.conftest import LiveServer, make_app

POOL = 40
"""Threads of anyio's default pool (starlette's run_in_threadpool): the most alive at once."""
SLACK = 8
"""Descriptors over POOL tolerated: those of connections just closed by retiring threads, which
SQLite keeps open while other connections hold locks on the file (CI saw 44 once). A leak
exceeds it by a pool's worth within two cycles."""
pytestmark = pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc")


def _open_on(path: Path) -> int:
    """How many descriptors of this process are open on the file ``path``."""
    target, count = str(path.resolve()), 0
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):  # closed meanwhile
            count += os.readlink(f"/proc/self/fd/{fd}") == target
    return count


def test_a_thread_that_ends_closes_its_connections(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    store = SqliteStore(f"sqlite:///{db}")
    store.migrate()
    before = _open_on(db)

    def use() -> None:
        store.queues()
        with store.begin() as tx:  # the thread's second slot, its write connection
            tx.execute("SELECT 1")

    after = []
    for _ in range(4):
        threads = [threading.Thread(target=use) for _ in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        after.append(_open_on(db))
    # Bounded by one cycle's threads (20, with 2 connections each), not 40 more per cycle.
    assert max(after) <= before + 40, after
    store.queues()  # the store still works, and close() closes what is left
    store.close()
    assert _open_on(db) == 0


def test_connections_stay_bounded_while_the_servers_pool_churns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The pool retires threads idle for this long (10 s by default): churn in a short test.
    monkeypatch.setattr(WorkerThread, "MAX_IDLE_TIME", 0.2)
    db = tmp_path / "served.db"
    app = make_app(f"sqlite:///{db}")
    try:
        with LiveServer(create_app(app, {})) as live, httpx.Client(base_url=live.base_url) as api:
            queues = f"{live.base_url}/v1/queues"  # a connection per request, as curl does
            workers: set[WorkerThread] = set()
            # Four cycles at least, more until the pool has churned: on uvloop fewer requests
            # overlap, so fewer threads start per cycle.
            for cycle in range(12):
                if cycle >= 4 and len(workers) > POOL:
                    break
                with ThreadPoolExecutor(80) as pool:
                    answers = list(pool.map(lambda _: httpx.get(queues, timeout=60), range(80)))
                assert all(a.status_code == 200 for a in answers)
                # The threads themselves, not their idents: a finished thread's ident is reused.
                workers |= {t for t in threading.enumerate() if isinstance(t, WorkerThread)}
                time.sleep(0.3)  # past MAX_IDLE_TIME: the next request retires the idle threads
                assert api.get("/v1/queues").status_code == 200
                open_now = _open_on(db)
                assert open_now <= POOL + SLACK, f"{open_now} open after {len(workers)} threads"
            assert len(workers) > POOL, "the pool did not churn: the test proves nothing"
    finally:
        app.close()
    # A statement still referenced from a reference cycle (a traceback, say) keeps its closed
    # connection's file open until the cycle is collected: collect, then count.
    deadline = time.monotonic() + 5
    while _open_on(db) and time.monotonic() < deadline:
        gc.collect()
        time.sleep(0.1)
    assert _open_on(db) == 0
