"""Operations over a real server (issue 12): health on a store that lost its tables, what the
OpenAPI document tells anonymous callers, EventBridge's field names on ``POST /v1/events``,
and a client that hangs up mid-upload."""

from __future__ import annotations

import logging
import socket
import sqlite3
import time
from urllib.parse import urlsplit

import httpx
import pytest

from sluice import App
from sluice.codec import encode
from sluice.store import sqlite as sqlite_store
from sluice.web import create_app
from tests.conftest import reset_pg
from tests.web.conftest import READ, LiveServer, client_for


def _drop_every_table(url: str) -> None:
    """The database recreated empty under a running server."""
    if not url.startswith("sqlite"):
        reset_pg(url)
        return
    with sqlite3.connect(sqlite_store.sqlite_path(url)) as db:
        tables = [
            r[0]
            for r in db.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name LIKE 'sluice%'"
            )
        ]
        for table in tables:
            db.execute(f'DROP TABLE "{table}"')


def test_health_is_503_with_a_log_line_when_the_tables_are_gone(
    server: LiveServer, url: str, caplog: pytest.LogCaptureFixture
) -> None:
    assert httpx.get(f"{server.base_url}/healthz").json() == {"status": "ok"}
    _drop_every_table(url)
    with caplog.at_level(logging.WARNING, logger="sluice.web"):
        answer = httpx.get(f"{server.base_url}/healthz")
    assert answer.status_code == 503, answer.text
    assert answer.json()["status"] == "unavailable"
    assert "the store did not answer" in answer.json()["detail"]
    assert "sqlite:" not in answer.text and "postgresql:" not in answer.text
    [line] = [r for r in caplog.records if r.name == "sluice.web"]
    assert line.levelno == logging.WARNING and line.exc_info is None
    assert line.getMessage().startswith("health check failed: the store did not answer")


def test_openapi_names_no_action_or_queue_to_anonymous_callers(
    server: LiveServer, web_app: App
) -> None:
    names = ['"echo"', '"small"', '"limited"', '"tiny"']
    with client_for(server, None) as anonymous:
        public = anonymous.get("/openapi.json")
    assert public.status_code == 200 and public.json()["paths"]["/v1/actions/{name}"]
    assert not [n for n in names if n in public.text]
    with client_for(server, "wrong-token-000000") as bad:
        assert not [n for n in names if n in bad.get("/openapi.json").text]
    with client_for(server, None) as reader:
        full = reader.get("/openapi.json", headers={"Authorization": f"Bearer {READ}"})
    assert all(n in full.text for n in names)
    with LiveServer(create_app(web_app, {})) as open_api:  # open anyway: nothing to hide
        assert all(n in httpx.get(f"{open_api.base_url}/openapi.json").text for n in names)


def test_events_take_eventbridge_field_names(admin: httpx.Client, web_app: App) -> None:
    if "bridge" not in web_app.bus.rules:
        web_app.rule("bridge", {"detail-type": ["Order Placed"], "source": ["shop"]}, "echo")
    event = {
        "source": "shop",
        "detail-type": "Order Placed",
        "detail": {"order": 7},
        "resources": ["arn:order/7"],
        "time": "2026-01-02T03:04:05Z",
        "id": "evt-7",
    }
    answer = admin.post("/v1/events", json=event)
    assert answer.status_code == 202, answer.text
    assert answer.json() == {"event_id": "evt-7"}
    routed = [m.body for m in web_app.store.peek("default", limit=100) if m.action == "echo"]
    [envelope] = [b for b in routed if isinstance(b, dict) and b.get("id") == "evt-7"]
    assert envelope["detail-type"] == "Order Placed" and envelope["detail"] == {"order": 7}
    assert envelope["time"].startswith("2026-01-02T03:04:05")
    both = admin.post("/v1/events", json={**event, "detail_type": "Order Placed"})
    assert both.status_code == 400 and "not both" in both.json()["detail"]
    missing = admin.post("/v1/events", json={"source": "shop", "detail": {}})
    assert missing.status_code == 400 and '"detail-type"' in missing.json()["detail"]
    schema = admin.get("/openapi.json").json()["components"]["schemas"]["Event"]
    assert {"source", "detail-type", "detail", "resources", "time", "id"} <= set(
        schema["properties"]
    )


def test_a_client_hanging_up_mid_upload_is_one_info_line(
    server: LiveServer, caplog: pytest.LogCaptureFixture
) -> None:
    address = urlsplit(server.base_url)
    body = encode({"n": 1})
    head = (
        "POST /v1/actions/echo HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Authorization: Bearer admin-token-0123456789\r\n"
        "Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
    )
    with caplog.at_level(logging.DEBUG, logger="sluice.web"):
        with socket.create_connection((address.hostname, address.port)) as sock:
            sock.sendall(head.encode() + body.encode())
        deadline = time.monotonic() + 15
        while not [r for r in caplog.records if r.name == "sluice.web"]:
            assert time.monotonic() < deadline, "the server logged nothing about the hang-up"
            time.sleep(0.02)
    [line] = [r for r in caplog.records if r.name == "sluice.web"]
    assert line.levelno == logging.INFO, line.getMessage()
    assert line.exc_info is None and "\n" not in line.getMessage()
    assert "POST /v1/actions/echo" in line.getMessage() and "disconnected" in line.getMessage()
