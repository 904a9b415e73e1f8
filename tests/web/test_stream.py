"""The run progress stream (server-sent events) through a real server, on both stores."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx

from sluice import App, Outcome


def _frames(response: httpx.Response) -> Iterator[dict[str, str]]:
    """Parse SSE frames (comments included as ``{"comment": ...}``) as they arrive."""
    frame: dict[str, str] = {}
    for line in response.iter_lines():
        if not line:
            if frame:
                yield frame
            frame = {}
        elif line.startswith(":"):
            yield {"comment": line[1:].strip()}
        else:
            field, _, value = line.partition(":")
            frame[field] = value.removeprefix(" ")


def _next_event(frames: Iterator[dict[str, str]]) -> dict[str, str]:
    return next(f for f in frames if "event" in f)


def _ack_all(app: App, queue: str = "default") -> None:
    claimed = app.store.claim([queue], 10)
    app.store.complete([Outcome.ack(m.receipt) for m in claimed if m.receipt])


def test_stream_follows_a_run_to_its_end(admin: httpx.Client, web_app: App) -> None:
    run_id = admin.post("/v1/actions/echo", params={"run": "new"}, json=1).json()["run_id"]
    with admin.stream("GET", f"/v1/runs/{run_id}/stream") as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        frames = _frames(response)
        first = _next_event(frames)
        assert first["event"] == "progress"
        state = json.loads(first["data"])
        assert (state["id"], state["status"], state["done"], state["total"]) == (
            run_id,
            "running",
            0,
            1,
        )
        # Nothing changes for a while: heartbeats (every 0.2 s here) keep the line alive.
        assert next(frames) == {"comment": "keepalive"}
        _ack_all(web_app)
        last = _next_event(frames)
        assert last["event"] == "progress" and last["id"] != first["id"]
        assert json.loads(last["data"])["status"] == "succeeded"
        end = _next_event(frames)
        assert end["event"] == "end"
        assert json.loads(end["data"]) == {"id": run_id, "status": "succeeded"}
        assert list(frames) == []  # the server closes the stream


def test_late_and_reconnecting_clients_get_the_state_at_once(
    admin: httpx.Client, web_app: App
) -> None:
    run_id = admin.post("/v1/actions/echo", params={"run": "new"}, json=1).json()["run_id"]
    with admin.stream("GET", f"/v1/runs/{run_id}/stream") as response:
        seen = _next_event(_frames(response))["id"]
    _ack_all(web_app)
    started = time.monotonic()
    headers = {"Last-Event-ID": seen}
    with admin.stream("GET", f"/v1/runs/{run_id}/stream", headers=headers) as response:
        frames = list(_frames(response))
    assert time.monotonic() - started < 2
    events = [f for f in frames if "event" in f]
    assert [f["event"] for f in events] == ["progress", "end"]
    assert json.loads(events[0]["data"])["status"] == "succeeded"
    assert frames[0] == {"retry": "2000"}
