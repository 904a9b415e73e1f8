"""Every route of the HTTP API through a real server and client, on both stores."""

from __future__ import annotations

import httpx
import pytest

from sluice import App, Outcome
from tests.web.conftest import JSON, LiveServer, client_for


def _dead_letters(app: App, count: int, error: str = "boom") -> list[int]:
    """Enqueue ``count`` echo messages and dead-letter them with ``error``."""
    ids = [app.enqueue("echo", {"n": n}) for n in range(count)]
    claimed = app.store.claim(["default"], count)
    app.store.complete([Outcome.dead(m.receipt, error) for m in claimed if m.receipt])
    return ids


def _depth(app: App, queue: str) -> int:
    [stats] = app.store.stats([queue])
    return stats.depth + stats.delayed + stats.in_flight


def test_submit_then_read_the_message(admin: httpx.Client) -> None:
    sent = admin.post("/v1/actions/echo", json={"order": 7, "items": ["a", "b"]})
    assert sent.status_code == 202, sent.text
    message_id = sent.json()["message_id"]
    assert sent.json() == {"message_id": message_id, "duplicate": False}
    assert sent.headers["location"] == f"/v1/messages/{message_id}"
    got = admin.get(f"/v1/messages/{message_id}").json()
    assert got["body"] == {"order": 7, "items": ["a", "b"]}
    assert (got["queue"], got["action"], got["receive_count"]) == ("default", "echo", 0)
    assert got["visible"] is True and got["dead"] is False


def test_submit_options_dedup_group_delay(admin: httpx.Client) -> None:
    first = admin.post("/v1/actions/echo", params={"dedup_id": "k1"}, json=1).json()
    again = admin.post("/v1/actions/echo", headers={"Idempotency-Key": "k1"}, json=2).json()
    assert again == {"message_id": first["message_id"], "duplicate": True}
    later = admin.post(
        "/v1/actions/echo", params={"group": "g", "delay": "60"}, content=b"null", headers=JSON
    )
    got = admin.get(f"/v1/messages/{later.json()['message_id']}").json()
    assert got["group"] == "g" and got["visible"] is False and got["body"] is None


def test_submit_into_a_new_run(admin: httpx.Client) -> None:
    sent = admin.post("/v1/actions/echo", params={"run": "new"}, json={"x": 1})
    assert sent.status_code == 202
    run_id = sent.json()["run_id"]
    run = admin.get(f"/v1/runs/{run_id}").json()
    assert (run["name"], run["status"], run["total"]) == ("echo", "running", 1)
    assert run["stages"][0]["sealed"] is True
    assert admin.get(f"/v1/messages/{sent.json()['message_id']}").json()["run_id"] == run_id
    assert [r["id"] for r in admin.get("/v1/runs", params={"limit": 5}).json()["runs"]] == [run_id]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"a": 1', "request body is not valid JSON: "),
        (b"", "request body is empty"),
        (b"NaN", "request body is not valid JSON: unexpected character"),
    ],
)
def test_malformed_json_is_400_with_the_reason_and_stores_nothing(
    admin: httpx.Client, web_app: App, body: bytes, reason: str
) -> None:
    for params in ({}, {"run": "new"}):
        answer = admin.post("/v1/actions/echo", params=params, content=body, headers=JSON)
        assert answer.status_code == 400
        assert answer.json()["error"] == "malformed_json"
        assert answer.json()["detail"].startswith(reason)
    assert _depth(web_app, "default") == 0 and web_app.runs() == []


@pytest.mark.parametrize(
    ("params", "detail"),
    [
        ({"delay": "-1"}, "delay must be between 0"),
        ({"delay": "soon"}, "delay must be a number of seconds"),
        ({"run": "yes"}, "run must be 'new'"),
        ({"group": "x" * 300}, "group is 300 characters long"),
        ({"dedup_id": "a\x00b"}, "dedup_id must not contain NUL"),
        ({"dedup_id": "a", "limit": "3"}, "unknown query parameter 'limit'"),
    ],
)
def test_bad_parameters_are_400(
    admin: httpx.Client, web_app: App, params: dict[str, str], detail: str
) -> None:
    answer = admin.post("/v1/actions/echo", params=params, json={})
    assert answer.status_code == 400 and detail in answer.json()["detail"]
    assert _depth(web_app, "default") == 0


def test_body_above_the_queue_limit_is_413_and_stores_nothing(
    admin: httpx.Client, web_app: App
) -> None:
    assert admin.post("/v1/actions/small", json="x" * 50).status_code == 202
    for params in ({}, {"run": "new"}):
        over = admin.post("/v1/actions/small", params=params, json="x" * 70)
        assert over.status_code == 413
        assert "above the limit of 64 bytes of queue 'tiny'" in over.json()["detail"]
        huge = admin.post(
            "/v1/actions/small", params=params, content=b"[" + b"1," * 100_000, headers=JSON
        )
        assert huge.status_code == 413 and "nothing was stored" in huge.json()["detail"]
    assert _depth(web_app, "tiny") == 1
    assert web_app.runs() == []


def test_unknown_things_are_404(admin: httpx.Client) -> None:
    cases = {
        "/v1/actions/nope": "unknown action 'nope' (known: echo, limited, small)",
        "/v1/runs/nope": "no run has id 'nope'",
        "/v1/runs/nope/cancel": "no run has id 'nope'",
        "/v1/messages/999999": "no message has id 999999",
        "/v1/queues/nope": "unknown queue 'nope'",
        "/v1/queues/nope/dlq": "unknown queue 'nope'",
        "/v1/queues/default.dlq": "use /v1/queues/default/dlq",
        "/v1/queues/nope/dlq/redrive": "unknown queue 'nope'",
        "/v1/nothing": "Not Found",
    }
    for path, detail in cases.items():
        posts = path.startswith("/v1/actions") or path.endswith(("redrive", "cancel"))
        method = "POST" if posts else "GET"
        answer = admin.request(method, path, json={} if method == "POST" else None)
        assert answer.status_code == 404, path
        assert detail in answer.json()["detail"], (path, answer.json())
    assert admin.get("/v1/runs/nope/stream").status_code == 404
    assert admin.delete("/v1/queues/nope/dlq").status_code == 404
    assert admin.get(f"/v1/messages/{2**70}").status_code == 404
    assert admin.put("/v1/queues").status_code == 405


def test_tokens_missing_bad_and_read_scope(server: LiveServer, reader: httpx.Client) -> None:
    with client_for(server, None) as anonymous, client_for(server, "wrong-token-000000") as bad:
        for client in (anonymous, bad):
            answer = client.get("/v1/queues")
            assert answer.status_code == 401 and answer.headers["www-authenticate"] == "Bearer"
            assert client.post("/v1/actions/echo", json={}).status_code == 401
        assert anonymous.get("/healthz").json() == {"status": "ok"}
        assert anonymous.get("/openapi.json").json()["openapi"] == "3.1.0"
    assert reader.get("/v1/queues").status_code == 200
    assert reader.get("/metrics").status_code == 200
    for method, path in [
        ("POST", "/v1/actions/echo"),
        ("POST", "/v1/events"),
        ("POST", "/v1/runs/r/cancel"),
        ("POST", "/v1/queues/default/dlq/redrive"),
        ("DELETE", "/v1/queues/default/dlq"),
    ]:
        answer = reader.request(method, path)
        assert answer.status_code == 403, path
        assert answer.json() == {"error": "forbidden", "detail": "this route needs an admin token"}


def test_no_tokens_leaves_the_api_open(web_app: App) -> None:
    from sluice.web import create_app

    with LiveServer(create_app(web_app, {})) as live, client_for(live, None) as client:
        assert client.post("/v1/actions/echo", json=1).status_code == 202
        assert client.get("/v1/queues").status_code == 200


def test_queues_and_queue(reader: httpx.Client, web_app: App) -> None:
    web_app.enqueue("echo", 1)
    web_app.enqueue("echo", 2, delay=30)
    queues = {q["queue"]: q for q in reader.get("/v1/queues").json()["queues"]}
    assert set(queues) == {"default", "tiny"}
    assert (queues["default"]["depth"], queues["default"]["delayed"]) == (1, 1)
    one = reader.get("/v1/queues/tiny").json()
    assert one["policy"]["max_message_bytes"] == 64 and one["stats"]["depth"] == 0


def test_dlq_list_page_redrive_and_purge(admin: httpx.Client, web_app: App) -> None:
    ids = _dead_letters(web_app, 3, "boom")
    ids += _dead_letters(web_app, 2, "timeout talking to api")
    page = admin.get("/v1/queues/default/dlq", params={"limit": 3}).json()
    assert [m["id"] for m in page["messages"]] == ids[:3] and page["next_after_id"] == ids[2]
    assert page["messages"][0]["dead"] and page["messages"][0]["last_error"] == "boom"
    rest = admin.get("/v1/queues/default/dlq", params={"after_id": ids[2]}).json()
    assert [m["id"] for m in rest["messages"]] == ids[3:] and rest["next_after_id"] is None
    redriven = admin.post(
        "/v1/queues/default/dlq/redrive", json={"error_contains": "timeout"}
    ).json()
    assert redriven == {"queue": "default", "redriven": 2}
    by_id = admin.post("/v1/queues/default/dlq/redrive", json={"ids": [ids[0]]}).json()
    assert by_id["redriven"] == 1
    bad = admin.post("/v1/queues/default/dlq/redrive", json={"ids": "all"})
    assert bad.status_code == 400 and "ids must be a list" in bad.json()["detail"]
    assert (
        admin.post("/v1/queues/default/dlq/redrive", content=b"{", headers=JSON).status_code == 400
    )
    assert admin.delete("/v1/queues/default/dlq").json() == {"queue": "default", "purged": 2}
    assert admin.post("/v1/queues/default/dlq/redrive").json()["redriven"] == 0
    audited = [(e.what, e.who.split("-")[0], e.new) for e in web_app.store.audit()]
    assert audited == [  # newest first, each by the admin token
        ("dlq.redrive", "admin", 0),
        ("dlq.purge", "admin", 2),
        ("dlq.redrive", "admin", 1),
        ("dlq.redrive", "admin", 2),
    ]
    assert _depth(web_app, "default") == 3


def test_cancel_a_run(admin: httpx.Client) -> None:
    run_id = admin.post("/v1/actions/echo", params={"run": "new"}, json=1).json()["run_id"]
    cancelled = admin.post(f"/v1/runs/{run_id}/cancel").json()
    assert cancelled == {"run_id": run_id, "moved": 1, "status": "cancelled"}
    again = admin.post(f"/v1/runs/{run_id}/cancel").json()
    assert again == {"run_id": run_id, "moved": 0, "status": "cancelled"}
    assert admin.get("/v1/queues/default").json()["stats"]["dlq_depth"] == 1


def test_events_are_published_and_routed(admin: httpx.Client, web_app: App) -> None:
    if "echo-orders" not in web_app.bus.rules:
        web_app.rule("echo-orders", {"detail-type": ["order.placed"]}, "echo")
    event = {
        "source": "shop",
        "detail_type": "order.placed",
        "detail": {"id": 1},
        "resources": ["order/1"],
    }
    answer = admin.post("/v1/events", json=event)
    assert answer.status_code == 202
    event_id = answer.json()["event_id"]
    routed = [m for m in web_app.store.peek("default", limit=100) if m.action == "echo"]
    assert any(isinstance(m.body, dict) and m.body.get("id") == event_id for m in routed)
    bad = admin.post("/v1/events", json={"source": "shop"})
    assert bad.status_code == 400 and "detail_type" in bad.json()["detail"]
    not_object = admin.post("/v1/events", json={**event, "detail": [1]})
    assert not_object.status_code == 400 and "JSON object" in not_object.json()["detail"]


def test_actions_list_their_limits(reader: httpx.Client) -> None:
    actions = {a["name"]: a for a in reader.get("/v1/actions").json()["actions"]}
    assert set(actions) == {"echo", "small", "limited"}
    assert actions["small"]["queue"] == "tiny"
    assert actions["limited"]["concurrency"] == 5
    assert actions["echo"]["concurrency"] is None and actions["echo"]["rate"] is None
