"""SQLite's same-host wake-ups and writers' queue, with real processes and sockets."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from sluice import NewMessage
from sluice.model import QueuePolicy
from sluice.store import open_store, sqlite, sqlite_lock
from sluice.store.base import Store
from sluice.store.sqlite_lock import writer_queue
from sluice.store.sqlite_wake import Listener, wake_dir


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    # Polling the data_version once a minute: a waiter that wakes sooner was woken by a datagram.
    monkeypatch.setattr(sqlite, "POLL", 60.0)
    opened = open_store(f"sqlite:///{tmp_path / 'wake.db'}")
    opened.migrate()
    opened.put_queue(QueuePolicy("work"))
    opened.put_queue(QueuePolicy("other"))
    return opened


def _enqueue_in_another_process(path: Path, queue: str) -> None:
    code = (
        "import sys; from sluice import NewMessage; from sluice.store import open_store; "
        "s = open_store(sys.argv[1]); s.enqueue([NewMessage(sys.argv[2], 1, action='a')])"
    )
    subprocess.run([sys.executable, "-c", code, f"sqlite:///{path}", queue], check=True)


def test_an_enqueue_in_another_process_wakes_a_waiting_worker(store: Store, tmp_path: Path) -> None:
    result: list[bool] = []
    waiter = threading.Thread(target=lambda: result.append(store.wait_for_work(["work"], 40)))
    waiter.start()
    _enqueue_in_another_process(tmp_path / "wake.db", "work")
    waiter.join(timeout=20)  # polling alone would wake it after 40 s
    assert result == [True]


def test_only_committed_writes_wake_and_only_for_their_queues(store: Store) -> None:
    listener = Listener(wake_dir(store.path))  # type: ignore[attr-defined]
    driver = store._driver
    with pytest.raises(RuntimeError), driver.write() as db:
        driver.notify(db, ["work"])
        raise RuntimeError("rolled back")
    assert listener.wait(0.3, {"work"}) is None  # nothing was sent
    store.enqueue([NewMessage("other", 1, action="a")])
    assert listener.wait(5, {"work"}) == set()  # a wake-up came, for another queue
    store.enqueue([NewMessage("work", 1, action="a")])
    assert listener.wait(5, {"work", "idle"}) == {"work"}  # the queues it names, no others
    listener.close()


def test_a_dead_listeners_socket_is_removed_by_the_next_wake(store: Store) -> None:
    directory = wake_dir(store.path)  # type: ignore[attr-defined]
    os.makedirs(directory, exist_ok=True)
    dead = os.path.join(directory, "dead-listener")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(dead)
    sock.close()  # closed without unlinking: as a SIGKILLed process leaves it
    store.enqueue([NewMessage("work", 1, action="a")])
    assert not os.path.exists(dead)


def test_a_writer_killed_holding_the_turn_lets_the_others_go_on(tmp_path: Path) -> None:
    path = str(tmp_path / "turn.db")
    code = (
        "import sys, time; from sluice.store.sqlite_lock import writer_queue\n"
        "with writer_queue(sys.argv[1]).turn():\n"
        "    print('holding', flush=True); time.sleep(600)\n"
    )
    holder = subprocess.Popen([sys.executable, "-c", code, path], stdout=subprocess.PIPE)
    assert holder.stdout is not None and holder.stdout.readline() == b"holding\n"
    got = threading.Event()

    def take() -> None:
        with writer_queue(path).turn():
            got.set()

    taker = threading.Thread(target=take)
    taker.start()
    assert not got.wait(0.5)  # the other process holds the turn
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    assert got.wait(30)
    taker.join()


def test_a_thread_waiting_on_the_turn_holders_thread_goes_on_after_a_while(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_lock, "TURN_WAIT", 0.2)
    queue = writer_queue(str(tmp_path / "nested.db"))
    done = threading.Event()

    def other_write() -> None:
        with queue.turn():  # the holder below waits for this one: it must not wait forever
            done.set()

    with queue.turn():
        helper = threading.Thread(target=other_write)
        helper.start()
        assert done.wait(30)
    helper.join()
