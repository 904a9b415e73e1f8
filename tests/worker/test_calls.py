"""SyncCalls under contention: the event loop's side and the handler threads' side at once."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from typing import cast

import pytest

from sluice.model import ActionPolicy
from sluice.worker.actions import Action
from sluice.worker.calls import GROW_AFTER, Call, SyncCalls
from sluice.worker.context import Context


@pytest.fixture
def busy_switching() -> Iterator[None]:
    """Switch threads as often as the interpreter can, so that races show."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(interval)


def _calls(action: Action, n: int) -> list[Call]:
    return [Call(action, [], cast(Context, None)) for _ in range(n)]


@pytest.mark.usefixtures("busy_switching")
def test_submit_and_watch_hold_while_runners_take_calls() -> None:
    """submit() sums the queue and watch() reads its head while runners pop from it: neither
    may see it change under them (``deque mutated during iteration``, IndexError)."""
    action = Action("quick", lambda body, ctx: None, ActionPolicy(queue="q"))
    done: list[Call] = []
    wake = threading.Event()
    calls = SyncCalls(lambda call: None, wake.set, concurrency=8)
    submitted = 0
    try:
        for _ in range(3000):
            calls.submit(_calls(action, 40))
            submitted += 40
            calls.watch(time.monotonic() + GROW_AFTER)  # the head waited long enough: grow
            done.extend(calls.collect())
        deadline = time.monotonic() + 60
        while len(done) < submitted and time.monotonic() < deadline:
            wake.wait(0.1)
            wake.clear()
            calls.watch(time.monotonic() + GROW_AFTER)
            done.extend(calls.collect())
    finally:
        calls.close()
        calls.shutdown()
    assert len(done) == submitted
    assert len({id(call) for call in done}) == submitted
    assert all(call.done and call.error is None for call in done)
