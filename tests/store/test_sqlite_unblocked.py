"""``Store.unblocked`` on SQLite: a write started only if the lock is free at once, with real
threads, processes and a writer outside sluice's turns."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sluice import NewMessage
from sluice.model import QueuePolicy
from sluice.store import open_store
from sluice.store.base import Store
from sluice.store.driver import WouldWait
from tests.sqlite_locks import held_by_another_process, hold_in_a_thread


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(f"sqlite:///{tmp_path / 'unblocked.db'}")
    opened.migrate()
    opened.put_queue(QueuePolicy("work"))
    yield opened
    opened.close()


def _depth(store: Store) -> int:
    return store.stats(["work"])[0].depth


def _enqueue(store: Store, n: int) -> list[int]:
    return [done.id for done in store.enqueue([NewMessage("work", n, action="a")])]


def test_a_free_lock_runs_the_write_here(store: Store) -> None:
    ids = store.unblocked(_enqueue, store, 1)
    assert len(ids) == 1 and _depth(store) == 1


def test_a_turn_held_by_another_thread_raises_would_wait_and_writes_nothing(store: Store) -> None:
    release = threading.Event()
    holder = hold_in_a_thread(store, release)
    try:
        with pytest.raises(WouldWait):
            store.unblocked(_enqueue, store, 1)
    finally:
        release.set()
        holder.join(10)
    assert _depth(store) == 0
    assert len(store.unblocked(_enqueue, store, 2)) == 1  # free again: it runs


def test_a_turn_held_by_another_process_raises_would_wait(store: Store, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'unblocked.db'}"
    with held_by_another_process(url), pytest.raises(WouldWait):
        store.unblocked(_enqueue, store, 1)
    assert _depth(store) == 0


def test_a_writer_outside_the_turns_raises_would_wait(store: Store, tmp_path: Path) -> None:
    shell = sqlite3.connect(tmp_path / "unblocked.db", isolation_level=None)
    shell.execute("BEGIN IMMEDIATE")  # as the sqlite3 shell would: no turn taken
    try:
        with pytest.raises(WouldWait):
            store.unblocked(_enqueue, store, 1)
    finally:
        shell.execute("ROLLBACK")
        shell.close()
    assert _depth(store) == 0
    # the connection's busy timeout is back: an ordinary write waits for a writer again
    shell = sqlite3.connect(
        tmp_path / "unblocked.db", isolation_level=None, check_same_thread=False
    )
    shell.execute("BEGIN IMMEDIATE")
    threading.Timer(0.3, lambda: shell.execute("ROLLBACK")).start()
    started = time.monotonic()
    assert len(_enqueue(store, 2)) == 1
    assert time.monotonic() - started >= 0.25  # it waited for the shell, without failing
    shell.close()


def test_only_the_first_write_of_the_call_refuses_to_wait(store: Store) -> None:
    def two_writes() -> list[int]:
        first = _enqueue(store, 1)
        holder = hold_in_a_thread(store, threading.Event(), seconds=0.3)
        second = _enqueue(store, 2)  # waits for the holder instead of raising
        holder.join(10)
        return first + second

    assert len(store.unblocked(two_writes)) == 2
    assert _depth(store) == 2
