"""Processes with skewed clocks (libfaketime) on one PostgreSQL, and a witness of what the
store did by the database's own clock (triggers writing ``clock_timestamp()``)."""

from __future__ import annotations

import glob
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import psycopg
import pytest

from sluice.store import open_store
from tests.conftest import IN_CI, reset_pg

ROOT = Path(__file__).parent.parent.parent
SLUICE = str(Path(sys.executable).with_name("sluice"))
LIBFAKETIME = "/usr/lib/*/faketime/libfaketimeMT.so.1"

WITNESS = """
CREATE TABLE witness (
    id bigint, action text, event text, dedup_id text, at float8, visible_at float8
);
CREATE FUNCTION witness() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO witness VALUES (NEW.id, NEW.action, 'insert', NEW.dedup_id,
                                    extract(epoch FROM clock_timestamp()), NEW.visible_at);
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO witness VALUES (OLD.id, OLD.action, 'delete', NULL,
                                    extract(epoch FROM clock_timestamp()), NULL);
    ELSIF NEW.receive_count > OLD.receive_count THEN
        INSERT INTO witness VALUES (NEW.id, NEW.action, 'claim', NULL,
                                    extract(epoch FROM clock_timestamp()), NEW.visible_at);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER witness AFTER INSERT OR UPDATE OR DELETE ON sluice_messages
    FOR EACH ROW EXECUTE FUNCTION witness();
"""
"""Every insert, claim (receive count up) and delete of a message, timed by the database, with
the visibility time the store gave the message (on a claim: the lease's end)."""


def libfaketime() -> str:
    """The libfaketime library (make test installs it as root), or skip (fail under CI)."""
    found = sorted(glob.glob(LIBFAKETIME))
    if found:
        return found[0]
    message = "libfaketime is not installed (apt-get install faketime libfaketime)"
    if IN_CI:
        pytest.fail(message + "; CI=true: the clock-skew tests may not skip")
    pytest.skip(message)


def skewed_env(url: str, skew: float) -> dict[str, str]:
    """The environment of a process whose wall clock runs ``skew`` seconds off. Only the wall
    clock: libfaketime 0.9.10 hangs timed lock waits when it fakes the monotonic clock too,
    and a host with a bad clock still has a true monotonic one."""
    env = {**os.environ, "SLUICE_SKEW_URL": url, "PYTHONPATH": str(ROOT)}
    if skew:
        env |= {
            "LD_PRELOAD": libfaketime(),
            "FAKETIME": f"{skew:+g}s",
            "FAKETIME_DONT_FAKE_MONOTONIC": "1",
            "FAKETIME_DONT_RESET": "1",
        }
    return env


@pytest.fixture
def skew_url(pg_url: str) -> Iterator[str]:
    """An empty PostgreSQL store with the app's declarations and the witness triggers."""
    libfaketime()
    reset_pg(pg_url)
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS witness")
        conn.execute("DROP FUNCTION IF EXISTS witness")
    store = open_store(pg_url)
    store.migrate()
    store.close()
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(WITNESS)
    yield pg_url


Spawn = Callable[[list[str], float], subprocess.Popen[bytes]]


@pytest.fixture
def spawn(skew_url: str, tmp_path: Path) -> Iterator[Spawn]:
    """Start ``sluice ARGS`` with a skewed clock (output in tmp_path); stopped at the end."""
    started: list[tuple[subprocess.Popen[bytes], IO[bytes]]] = []

    def start(args: list[str], skew: float) -> subprocess.Popen[bytes]:
        out = open(tmp_path / f"{args[0]}-{len(started)}{skew:+g}.log", "wb")  # noqa: SIM115
        proc = subprocess.Popen(
            [SLUICE, *args], cwd=ROOT, env=skewed_env(skew_url, skew), stdout=out, stderr=out
        )
        started.append((proc, out))
        return proc

    yield start
    for proc, _ in started:
        proc.terminate()
    for proc, out in started:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        out.close()


def witnessed(url: str, event: str, action: str) -> list[tuple[int, float, str | None]]:
    """(message id, database time, dedup id) of each ``event`` of ``action``'s messages."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT id, at, dedup_id FROM witness WHERE event = %s AND action = %s ORDER BY at",
            (event, action),
        ).fetchall()
    return [(int(i), float(at), dedup) for i, at, dedup in rows]


def claims(url: str, action: str) -> list[tuple[float, float]]:
    """(database time, lease end the store set) of each claim of ``action``'s messages."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT at, visible_at FROM witness WHERE event = 'claim' AND action = %s ORDER BY at",
            (action,),
        ).fetchall()
    return [(float(at), float(visible_at)) for at, visible_at in rows]
