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

from sluice import App, MessageTooLarge, RunSealed, UnknownAction


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


def test_concurrent_calls_share_transactions_and_keep_their_own_results(app: App) -> None:
    sealed = app.start_run("sealed")
    sealed.seal()
    open_run = app.start_run("open")

    calls: list[tuple[str, Any, dict[str, Any]]] = [("item", i, {}) for i in range(600)]
    calls[10] = ("item", "x" * 500, {})  # too large: fails alone
    calls[20] = ("nope", 1, {})  # unknown action: fails alone
    calls[30] = ("item", 30, {"run": sealed})  # the store refuses its group for this one
    calls[40] = ("item", 40, {"run": open_run})
    calls[50] = calls[51] = ("item", "same", {"dedup_id": "d"})

    async def main() -> list[Any]:
        return await asyncio.gather(
            *(app.enqueue_async(a, b, **o) for a, b, o in calls), return_exceptions=True
        )

    results = asyncio.run(main())
    assert isinstance(results[10], MessageTooLarge)
    assert isinstance(results[20], UnknownAction)
    assert isinstance(results[30], RunSealed)
    assert results[50] == results[51]
    ids = [r for i, r in enumerate(results) if i not in (10, 20, 30, 51)]
    assert all(isinstance(i, int) for i in ids) and len(set(ids)) == 596
    assert app.store.backlog("work", 1000) == 596
    stored = {m.id: m.body for m in app.store.get(ids)}
    assert stored[results[0]] == 0 and stored[results[599]] == 599
    assert app.run_state(open_run).total == 1 and app.run_state(sealed).total == 0
    # Shared transactions, one store time each: calls 256-599 came in two groups (of up to
    # 256; the first group, refused for call 30, was written again one message at a time).
    times = {m.enqueued_at for m in app.store.get(results[256:])}
    assert len(times) <= 2


def test_a_cancelled_caller_does_not_fail_the_others(app: App) -> None:
    async def main() -> list[Any]:
        tasks = [asyncio.ensure_future(app.enqueue_async("item", i)) for i in range(20)]
        await asyncio.sleep(0)
        tasks[3].cancel()
        return await asyncio.gather(*tasks, return_exceptions=True)

    results = asyncio.run(main())
    assert isinstance(results[3], asyncio.CancelledError)
    assert all(isinstance(r, int) for i, r in enumerate(results) if i != 3)
    # The cancelled call's message may still have been written (as with a sync call cut off
    # after its commit): the other 19 are stored either way.
    assert app.store.backlog("work", 1000) in (19, 20)


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
