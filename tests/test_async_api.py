"""The async API: the sync verbs' results and errors, from an event loop and a real server."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from sluice import App, MessageTooLarge, UnknownAction


@pytest.fixture
def app(url: str) -> Iterator[App]:
    app = App(url)
    app.queue("work", max_message_bytes=100)

    @app.action(queue="work")
    def item(body: Any, ctx: Any) -> None:  # pragma: no cover - never run here
        pass

    yield app
    app.close()


def test_async_verbs_return_what_the_sync_ones_do(app: App) -> None:
    async def main() -> None:
        ids = await asyncio.gather(*(app.enqueue_async("item", i) for i in range(50)))
        assert len(set(ids)) == 50
        assert await app.enqueue_many_async("item", range(5)) == 5
        run = await app.start_run_async("nightly")
        await app.enqueue_async("item", 1, run=run)
        state = await app.run_state_async(run)
        assert state.id == run.id
        assert await app.publish_async("shop", "Order", {"n": 1}, id="e1") == "e1"
        with pytest.raises(UnknownAction):
            await app.enqueue_async("nope", 1)
        with pytest.raises(MessageTooLarge):
            await app.enqueue_async("item", "x" * 500)

    asyncio.run(main())
    assert app.store.backlog("work", 1000) == 56


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_enqueue_async_inside_a_starlette_handler_under_uvicorn(app: App) -> None:
    async def order(request: Request) -> JSONResponse:
        body = await request.json()
        return JSONResponse({"id": await app.enqueue_async("item", body)})

    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(Starlette(routes=[Route("/order", order, methods=["POST"])]), port=port)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        reply = httpx.post(f"http://127.0.0.1:{port}/order", json={"n": 7}, timeout=30)
        assert reply.status_code == 200
        assert [m.id for m in app.store.get([reply.json()["id"]])] == [reply.json()["id"]]
    finally:
        server.should_exit = True
        thread.join(30)
