"""A message cancelled while its handler runs: the handler finishes, its ack is refused and
logged as stale, its follow-up messages are not stored, and it is never retried."""

from __future__ import annotations

import threading
import time

from sluice import App, Context, Worker
from tests.worker.test_truth import Collect, logged  # noqa: F401  (the fixture)


def test_a_cancelled_in_flight_message_is_neither_acked_nor_retried(
    url: str,
    logged: Collect,  # noqa: F811
) -> None:
    app = App(url)
    app.queue("jobs", visibility_timeout=60)
    started, release = threading.Event(), threading.Event()
    calls: list[int] = []

    @app.action(queue="jobs")
    def slow(body: int, ctx: Context) -> None:
        calls.append(ctx.message.id)
        started.set()
        release.wait(30)
        ctx.enqueue("child", body)

    @app.action(queue="jobs")
    def child(body: int, ctx: Context) -> None:
        calls.append(-1)

    id_ = app.enqueue("slow", 1)
    logged.waiting_for = "stale"
    worker = Worker(app, poll=0.05)
    thread = threading.Thread(target=worker.run)
    thread.start()
    try:
        assert started.wait(30), "the handler never started"
        assert app.cancel(id_) == "in_flight"
        release.set()
        assert logged.seen.wait(30), "the refused ack was not logged"
        time.sleep(0.5)  # a retry or a child would be claimed by now (poll 0.05 s)
    finally:
        release.set()
        worker.stop()
        thread.join(30)
    [entry] = [e for e in logged.entries if e["outcome"] == "stale"]
    assert entry["message_id"] == id_
    assert "cancelled" in entry["error"]
    assert calls == [id_]
    assert worker.counts["ack"] == 0
    assert [s.depth + s.in_flight + s.delayed for s in app.store.stats(["jobs"])] == [0]
    app.close()
