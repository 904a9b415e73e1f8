"""Opening SQLite connections while other threads open, write and checkpoint the same file."""

from __future__ import annotations

import threading
from pathlib import Path

from sluice import ActionLimit
from sluice.store import open_store


def test_many_threads_open_connections_while_others_write(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'open.db'}"
    store = open_store(url)
    store.migrate()
    errors: list[BaseException] = []
    start = threading.Barrier(16)

    def open_and_write(index: int) -> None:
        try:
            start.wait()
            fresh = open_store(url)  # a new driver: every thread opens its own connections
            fresh.put_limit(ActionLimit(f"action-{index}", concurrency=index + 1))
            fresh.close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_and_write, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert {limit.action for limit in store.limits()} >= {f"action-{i}" for i in range(16)}
    store.close()
