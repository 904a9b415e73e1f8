"""Action.on_settled: the worker reports each written, fresh outcome once, after it commits,
with retries on the last allowed receive reported as the dead-letters they became."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import replace

from sluice import App, Context, Discard, Message, Partial, Worker
from sluice.worker.actions import Settled


def drain(app: App) -> None:
    Worker(app, concurrency=2, poll=0.05, stop_when_idle=True).run()


def hooked(app: App, name: str) -> list[tuple[object, str, str | None]]:
    """Attach a hook to action ``name`` that records (body, kind, error) per settled message."""
    seen: list[tuple[object, str, str | None]] = []
    lock = threading.Lock()

    def hook(items: Sequence[Settled]) -> None:
        with lock:
            seen.extend((s.message.body, s.kind, s.error) for s in items)

    app.actions[name] = replace(app.actions[name], on_settled=hook)
    return seen


def test_single_calls_report_acks_retries_and_dead_letters(url: str) -> None:
    app = App(url)
    app.queue("q", max_receives=2)

    @app.action(queue="q", retry_base=0.01, retry_cap=0.01)
    def work(body: str, ctx: Context) -> None:
        if body == "flaky" and ctx.message.receive_count == 1:
            raise RuntimeError("first time")
        if body == "poison":
            raise RuntimeError("always")
        if body == "discard":
            raise Discard("not wanted")

    seen = hooked(app, "work")
    for body in ("ok", "flaky", "poison", "discard"):
        app.enqueue("work", body)
    drain(app)
    by_body: dict[object, list[tuple[str, str | None]]] = {}
    for body, kind, error in seen:
        by_body.setdefault(body, []).append((kind, (error or "").split(" at ")[0]))
    assert by_body == {
        "ok": [("ack", "")],
        "flaky": [("retry", "RuntimeError: first time"), ("ack", "")],
        "poison": [("retry", "RuntimeError: always"), ("dead", "RuntimeError: always")],
        "discard": [("dead", "not wanted")],
    }
    assert app.store.stats(["q"])[0].dlq_depth == 2
    app.close()


def test_batches_completed_in_their_own_transaction_report_too(url: str) -> None:
    app = App(url)
    app.queue("q", max_receives=1)

    @app.action(queue="q", batch_size=10, batch_window=0.05)
    def batch(messages: list[Message], ctx: Context) -> Partial:
        ctx.transaction.execute("SELECT 1")
        return Partial({m.id: "bad" for m in messages if m.body % 3 == 0})

    seen = hooked(app, "batch")
    for n in range(1, 10):
        app.enqueue("batch", n)
    drain(app)
    assert sorted((b, k) for b, k, _ in seen) == [
        (n, "dead" if n % 3 == 0 else "ack") for n in range(1, 10)
    ]
    app.close()


def test_a_failing_hook_is_logged_and_the_worker_goes_on(url: str) -> None:
    app = App(url)
    app.queue("q")
    done: list[str] = []

    @app.action(queue="q")
    def work(body: str, ctx: Context) -> None:
        done.append(body)

    def broken(items: Sequence[Settled]) -> None:
        raise OSError("disk full")

    app.actions["work"] = replace(app.actions["work"], on_settled=broken)
    app.enqueue("work", "a")
    app.enqueue("work", "b")
    drain(app)
    assert sorted(done) == ["a", "b"]
    assert app.store.stats(["q"])[0].depth == 0
    app.close()
