"""Server-sent events of a run's progress, read from the store until the run ends."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import anyio
from starlette.concurrency import run_in_threadpool

from sluice import codec
from sluice.app import App
from sluice.errors import StoreError
from sluice.model import RunState

RECONNECT_MS = 2000


def fingerprint(state: RunState) -> str:
    """An event id that changes whenever the run's counters or status do (rate and ETA, which
    drift with time alone, do not count)."""
    counts = "-".join(f"{s.total}.{s.succeeded}.{s.failed}.{s.dead}" for s in state.stages)
    return f"{state.status}-{state.stage}-{counts}"


def frame(event: str, data: Any, event_id: str | None = None) -> bytes:
    """One SSE frame (the JSON is one line, so one ``data:`` field)."""
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: ".encode() + codec.dumps(data) + b"\n\n"


async def run_events(
    app: App, first: RunState, *, poll: float, heartbeat: float
) -> AsyncIterator[bytes]:
    """``progress`` frames (``RunState.to_dict()``) from ``first`` on, one per change, then an
    ``end`` frame once the run is finished; a comment line every ``heartbeat`` seconds of
    silence keeps proxies from closing the connection. A client reconnecting with
    ``Last-Event-ID`` simply gets the current state first: every frame carries the whole state."""
    yield f"retry: {RECONNECT_MS}\n\n".encode()
    state, sent_key = first, None
    last_write = time.monotonic()
    while True:
        key = fingerprint(state)
        if key != sent_key:
            yield frame("progress", state.to_dict(), key)
            sent_key, last_write = key, time.monotonic()
        if state.finished:
            yield frame("end", {"id": state.id, "status": state.status}, key)
            return
        if time.monotonic() - last_write >= heartbeat:
            yield b": keepalive\n\n"
            last_write = time.monotonic()
        await anyio.sleep(poll)
        try:
            state = await run_in_threadpool(app.run_state, state.id)
        except StoreError as exc:
            # The client's EventSource reconnects after RECONNECT_MS and gets the state afresh.
            yield frame("error", {"error": "store_unavailable", "detail": str(exc)})
            return
