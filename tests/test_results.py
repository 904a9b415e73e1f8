"""Job results end to end: a worker acks a handler's return value on a ``keep_completed``
queue, ``app.result`` waits for it (woken by the store), failures and unknown ids are errors."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from sluice import App, MessageFailed, NotFinished, UnknownMessage


def test_result_waits_for_the_worker(url: str) -> None:
    app = App(url)
    app.queue("jobs", keep_completed=300, max_receives=1)

    @app.action(queue="jobs")
    def double(body: Any, ctx: Any) -> Any:
        if body == "boom":
            raise ValueError("boom")
        return {"doubled": body * 2}

    try:
        ok = app.enqueue("double", 21)
        bad = app.enqueue("double", "boom")
        with pytest.raises(NotFinished, match="it is waiting"):
            app.result(ok, timeout=0)
        got: list[Any] = []
        waiter = threading.Thread(target=lambda: got.append(app.result(ok, timeout=60)))
        waiter.start()
        app.work(stop_when_idle=True, grace=5)
        waiter.join(60)
        assert got == [{"doubled": 42}]
        assert app.status(ok).state == "succeeded"
        with pytest.raises(MessageFailed, match=f"message {bad} did not succeed: it is dead") as e:
            app.result(bad, timeout=5)
        assert "ValueError: boom" in str(e.value) and e.value.status.state == "dead"
        with pytest.raises(UnknownMessage, match="it never existed"):
            app.result(987654321, timeout=5)
    finally:
        app.close()
