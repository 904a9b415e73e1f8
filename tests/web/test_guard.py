"""What a web page may do with the API (issue 12, item 4): a state change from another origin
is refused, an open API (no tokens) answers only to loopback Host names (DNS rebinding), a
JSON body must say it is JSON, and every answer carries the security headers."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from sluice import App
from sluice.web import create_app
from tests.web.conftest import ADMIN, JSON, TOKENS, LiveServer


@pytest.fixture
def open_server(web_app: App) -> Iterator[LiveServer]:
    """The API of ``web_app`` without tokens, as ``sluice serve`` runs it on loopback."""
    with LiveServer(create_app(web_app, {})) as live:
        yield live


def _depth(app: App) -> int:
    [stats] = app.store.stats(["default"])
    return stats.depth


def test_a_page_of_another_origin_cannot_enqueue_or_redrive(
    open_server: LiveServer, web_app: App
) -> None:
    base = open_server.base_url
    # What fetch(..., {mode: "no-cors", headers: {"Content-Type": "text/plain"}}) sends.
    for origin in ("http://evil.example", "http://localhost:1", "null", base + ".evil.example"):
        page = {"Origin": origin, "Content-Type": "text/plain"}
        sent = httpx.post(f"{base}/v1/actions/echo", content=b'{"n": 1}', headers=page)
        assert sent.status_code == 403, origin
        assert sent.json()["error"] == "cross_origin"
        assert "another origin" in sent.json()["detail"]
        for path in ("/v1/queues/default/dlq/redrive", "/v1/runs/x/cancel"):
            assert httpx.post(base + path, headers=page).status_code == 403
        assert httpx.delete(f"{base}/v1/queues/default/dlq", headers=page).status_code == 403
    assert _depth(web_app) == 0
    # The dashboard's own pages (same origin) and curl (no Origin) keep working.
    own = httpx.post(f"{base}/v1/actions/echo", json={"n": 2}, headers={"Origin": base})
    assert own.status_code == 202
    assert httpx.post(f"{base}/v1/actions/echo", json={"n": 3}).status_code == 202
    assert _depth(web_app) == 2
    # Reading stays possible cross-origin: the browser keeps the answer from the page (no CORS).
    assert httpx.get(f"{base}/v1/queues", headers={"Origin": "http://evil.example"}).is_success


def test_an_open_api_answers_only_to_loopback_host_names(
    open_server: LiveServer, web_app: App
) -> None:
    base, port = open_server.base_url, open_server.base_url.rsplit(":", 1)[1]
    for host in ("evil.example", f"evil.example:{port}", "127.0.0.1.nip.io", "10.0.0.1", ""):
        for path in ("/", "/v1/queues", "/healthz"):
            answer = httpx.get(base + path, headers={"Host": host})
            assert answer.status_code == 403, (host, path)
            assert answer.json()["error"] == "forbidden_host"
            assert "SLUICE_TOKENS" in answer.json()["detail"]
        posted = httpx.post(f"{base}/v1/actions/echo", json=1, headers={"Host": host})
        assert posted.status_code == 403
    assert _depth(web_app) == 0
    for host in (f"localhost:{port}", f"127.0.0.1:{port}", "[::1]", "127.0.0.2", "LOCALHOST"):
        assert httpx.get(f"{base}/v1/queues", headers={"Host": host}).status_code == 200, host


def test_with_tokens_any_host_name_is_served(web_app: App) -> None:
    with LiveServer(create_app(web_app, TOKENS)) as live:
        answer = httpx.get(
            f"{live.base_url}/v1/queues",
            headers={"Host": "sluice.internal", "Authorization": f"Bearer {ADMIN}"},
        )
        assert answer.status_code == 200


@pytest.mark.parametrize(
    "media",
    [
        None,
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; b=x",
        "application/jsonx",
        "text/json",
    ],
)
def test_a_json_body_must_be_sent_as_json(
    open_server: LiveServer, web_app: App, media: str | None
) -> None:
    base = open_server.base_url
    headers = {"Content-Type": media} if media else {}
    for path, body in (
        ("/v1/actions/echo", b'{"n": 1}'),
        ("/v1/actions/echo?run=new", b'{"n": 1}'),
        ("/v1/events", b'{"source": "s", "detail-type": "t"}'),
        ("/v1/queues/default/dlq/redrive", b"{}"),
    ):
        answer = httpx.post(base + path, content=body, headers=headers)
        assert answer.status_code == 415, (path, media)
        assert answer.json()["error"] == "unsupported_media_type"
        detail = answer.json()["detail"]
        assert "Content-Type: application/json" in detail and "--json" in detail
    assert _depth(web_app) == 0 and web_app.runs() == []


def test_json_media_types_are_accepted(open_server: LiveServer, web_app: App) -> None:
    base = open_server.base_url
    for media in (
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON",
        "application/vnd.acme.order+json",
    ):
        sent = httpx.post(f"{base}/v1/actions/echo", content=b"1", headers={"Content-Type": media})
        assert sent.status_code == 202, media
    # A route whose body is optional takes no body without a Content-Type.
    assert httpx.post(f"{base}/v1/queues/default/dlq/redrive").json()["redriven"] == 0
    assert httpx.post(f"{base}/v1/actions/echo", content=b"", headers=JSON).status_code == 400
    assert _depth(web_app) == 4


def test_every_answer_carries_the_security_headers(open_server: LiveServer) -> None:
    base = open_server.base_url
    paths = [
        "/",
        "/runs/x",
        "/queues/default/dlq",
        "/ui/static/dashboard.js",
        "/v1/queues",
        "/no/such/page",
        "/openapi.json",
    ]
    for path in paths:
        headers = httpx.get(base + path).headers
        policy = headers["Content-Security-Policy"]
        assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy, path
        assert "'unsafe-inline'" not in policy
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
    refused = httpx.get(f"{base}/", headers={"Host": "evil.example"}).headers
    assert refused["X-Frame-Options"] == "DENY"
