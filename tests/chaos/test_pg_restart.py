"""A PostgreSQL restart in the middle of a drain: workers survive, nothing is lost or doubled.

Marked ``serial``: it restarts the server every PostgreSQL test uses, so ``make test`` runs it
after the parallel suite, alone.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from sluice import App
from sluice.model import NewMessage
from tests.conftest import reset_pg

pytestmark = [pytest.mark.serial, pytest.mark.timeout(300)]
ROOT = Path(__file__).parent.parent.parent
SLUICE = str(Path(sys.executable).with_name("sluice"))
MESSAGES = 6000


def _effects(url: str) -> int | None:
    try:
        with psycopg.connect(url, connect_timeout=2) as conn:
            row = conn.execute("SELECT count(*) FROM effects").fetchone()
            return int(row[0]) if row else 0
    except psycopg.OperationalError:
        return None  # the server is restarting


def _restart_postgres() -> None:
    version = os.listdir("/etc/postgresql")[0]
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"],
        check=True,
        timeout=60,
        capture_output=True,
    )


@pytest.mark.skipif(shutil.which("pg_ctlcluster") is None, reason="needs a local cluster")
def test_workers_survive_a_postgres_restart_mid_drain(pg_url: str, tmp_path: Path) -> None:
    reset_pg(pg_url)
    app = App(pg_url)
    app.queue("crash", visibility_timeout=2, max_receives=1000)  # as in crash_app
    with app.store.begin() as conn:
        conn.execute("DROP TABLE IF EXISTS effects")
        conn.execute("CREATE TABLE effects (n INTEGER NOT NULL)")
    for start in range(0, MESSAGES, 1000):
        app.store.enqueue(
            [NewMessage("crash", n, action="write") for n in range(start, start + 1000)]
        )
    app.close()
    env = {**os.environ, "SLUICE_CRASH_URL": pg_url, "SLUICE_CRASH_LOG": str(tmp_path / "ran")}
    command = [SLUICE, "worker", "tests.chaos.crash_app:app", "--concurrency", "2"]
    workers = [
        subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        for _ in range(2)
    ]
    try:
        deadline = time.monotonic() + 60
        while (_effects(pg_url) or 0) < MESSAGES // 5 and time.monotonic() < deadline:
            time.sleep(0.1)  # wait until the drain is well under way
        assert (_effects(pg_url) or 0) < MESSAGES, "drained before the restart"
        _restart_postgres()
        deadline = time.monotonic() + 180
        while _effects(pg_url) != MESSAGES and time.monotonic() < deadline:
            time.sleep(0.5)
        assert all(worker.poll() is None for worker in workers), "a worker died"
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            worker.wait(timeout=60)
    with psycopg.connect(pg_url) as conn:
        rows = conn.execute("SELECT n FROM effects").fetchall()
    assert len(rows) == MESSAGES  # nothing doubled ...
    assert {r[0] for r in rows} == set(range(MESSAGES))  # ... nothing lost
