"""Fixtures of the CLI tests."""

from __future__ import annotations

import pytest

from sluice.model import NewMessage, Outcome, QueuePolicy
from sluice.store import open_store


@pytest.fixture
def filled(url: str) -> str:
    """A store with queue ``orders`` (4 visible, 1 in flight) and 3 dead letters."""
    store = open_store(url)
    store.migrate()
    store.put_queue(QueuePolicy("orders", max_receives=1))
    store.put_queue(QueuePolicy("empty", fifo=True))
    store.enqueue([NewMessage("orders", {"n": n}) for n in range(8)])
    failing = store.claim(["orders"], 3)
    store.complete(
        [
            Outcome.retry(m.receipt, error, delay=0)
            for m, error in zip(failing, ["timeout A", "bad row", "timeout B"], strict=True)
            if m.receipt
        ]
    )
    store.claim(["orders"], 1)
    store.close()
    return url
