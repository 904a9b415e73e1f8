"""A worker whose acks are slower to write than its claims must not claim past its capacity:
outcomes waiting to be written still hold their leases."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

from sluice import App, Context, Message
from sluice.worker.runtime import Worker


def test_claims_wait_for_the_acks_they_would_outrun(url: str) -> None:
    app = App(url)
    app.queue("jobs")
    handled: list[int] = []

    @app.action(queue="jobs", batch_size=10)
    def fast(messages: list[Message], ctx: Context) -> None:
        handled.extend(m.id for m in messages)

    app.enqueue_many("fast", range(600))
    store = app.store
    write = store.complete
    in_flight: list[int] = []

    def slow_complete(outcomes: Sequence[Any], tx: Any = None) -> Any:
        in_flight.append(store.stats(["jobs"])[0].in_flight)
        time.sleep(0.05)  # a store under write load: each ack write takes 50 ms
        return write(outcomes, tx)

    store.complete = slow_complete  # type: ignore[method-assign]
    worker = Worker(app, queues=["jobs"], concurrency=4, stop_when_idle=True)
    capacity = worker.claimer.capacity
    runner = threading.Thread(target=worker.run)
    runner.start()
    runner.join(timeout=120)
    assert not runner.is_alive()
    assert sorted(handled) == sorted(set(handled)) and len(handled) == 600
    assert in_flight and max(in_flight) <= capacity
    app.close()
