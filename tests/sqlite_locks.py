"""Holding a SQLite store's write lock from elsewhere, for tests of what waits for it."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sluice.store.base import Store

_HOLDER = (
    "import sys; from sluice.store import open_store; s = open_store(sys.argv[1]); "
    "tx = s.begin(); tx.__enter__(); print('held', flush=True); sys.stdin.readline()"
)


@contextmanager
def held_by_another_process(url: str) -> Iterator[None]:
    """A child process holds the store's write transaction (turn and lock) for the body."""
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        yield
    finally:
        holder.communicate("\n", timeout=30)


def hold_in_a_thread(
    store: Store, release: threading.Event, seconds: float = 10
) -> threading.Thread:
    """A started thread holding a write transaction of ``store`` until ``release`` is set (or
    ``seconds`` pass); returned once it holds it."""
    held = threading.Event()

    def hold() -> None:
        with store.begin():
            held.set()
            release.wait(seconds)

    holder = threading.Thread(target=hold)
    holder.start()
    assert held.wait(10)
    return holder
