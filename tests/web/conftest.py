"""A real uvicorn server on a free loopback port over an App on each backend, and clients."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette

from sluice import App
from sluice.web import Scope, create_app
from sluice.web.protocol import server_options

ADMIN = "admin-token-0123456789"
READ = "read-token-0123456789ab"
TOKENS = {ADMIN: Scope.ADMIN, READ: Scope.READ}
JSON = {"Content-Type": "application/json"}


def make_app(url: str) -> App:
    """Queues ``default`` and ``tiny`` (64-byte messages); actions ``echo``, ``small``, and
    ``limited`` (concurrency 5)."""
    app = App(url)
    app.queue("default", max_receives=2)
    app.queue("tiny", max_message_bytes=64)

    @app.action()
    def echo(body: object, ctx: object) -> None:
        pass

    @app.action(queue="tiny")
    def small(body: object, ctx: object) -> None:
        pass

    @app.action(concurrency=5)
    def limited(body: object, ctx: object) -> None:
        pass

    return app


class LiveServer:
    """uvicorn serving ``api`` in a thread on a free port of 127.0.0.1."""

    def __init__(self, api: Starlette) -> None:
        config = uvicorn.Config(
            api,
            **server_options(),  # as sluice serve runs it
            host="127.0.0.1",
            port=0,
            log_level="warning",
            lifespan="off",
            timeout_graceful_shutdown=1,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.base_url = f"http://127.0.0.1:{port}"
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture
def web_app(url: str) -> Iterator[App]:
    app = make_app(url)
    yield app
    app.close()


@pytest.fixture
def server(web_app: App) -> Iterator[LiveServer]:
    """The API of ``web_app`` with an admin and a read token; the stream polls every 0.05 s."""
    api = create_app(web_app, TOKENS, poll_interval=0.05, heartbeat=0.2)
    with LiveServer(api) as live:
        yield live


def client_for(server: LiveServer, token: str | None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=server.base_url, headers=headers, timeout=10)


@pytest.fixture
def admin(server: LiveServer) -> Iterator[httpx.Client]:
    with client_for(server, ADMIN) as client:
        yield client


@pytest.fixture
def reader(server: LiveServer) -> Iterator[httpx.Client]:
    with client_for(server, READ) as client:
        yield client
