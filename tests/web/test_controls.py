"""The operator controls over a real server on both stores: every control refused with a read
token (403) and recorded in the audit log with an admin one; bad input refused with nothing
changed."""

from __future__ import annotations

import httpx
import pytest

from sluice import App
from sluice.web.auth import Scope, token_name
from tests.web.conftest import ADMIN, JSON, LiveServer, client_for

CONTROLS = [
    ("POST", "/v1/queues/default/pause", None, "queue.pause"),
    ("POST", "/v1/queues/default/resume", None, "queue.pause"),
    ("PUT", "/v1/actions/limited/limits", {"concurrency": 2, "rate": "5/s"}, "limits.set"),
    ("DELETE", "/v1/actions/limited/limits", None, "limits.reset"),
    ("POST", "/v1/schedules/nightly/pause", None, "schedule.pause"),
    ("POST", "/v1/schedules/nightly/resume", None, "schedule.pause"),
    ("POST", "/v1/rules/orders/disable", None, "rule.disable"),
    ("POST", "/v1/rules/orders/enable", None, "rule.disable"),
]


@pytest.fixture
def web_app(url: str) -> App:  # type: ignore[override]
    from tests.web.conftest import make_app

    app = make_app(url)
    app.schedule("0 3 * * *", "echo", name="nightly")
    app.rule("orders", {"source": ["shop"]}, "echo")
    return app


@pytest.mark.parametrize(("method", "path", "body", "what"), CONTROLS)
def test_a_read_token_is_refused_and_an_admin_one_is_audited(
    reader: httpx.Client,
    admin: httpx.Client,
    web_app: App,
    method: str,
    path: str,
    body: object,
    what: str,
) -> None:
    refused = reader.request(method, path, json=body)
    assert refused.status_code == 403, refused.text
    assert web_app.store.audit() == []
    done = admin.request(method, path, json=body)
    assert done.status_code == 200, done.text
    [entry] = reader.get("/v1/audit").json()["entries"]
    assert entry["who"] == token_name(ADMIN, Scope.ADMIN) and entry["what"] == what
    assert ADMIN not in str(entry)


def test_a_pause_shows_in_the_control_state(admin: httpx.Client) -> None:
    assert admin.post("/v1/queues/default/pause").json() == {
        "queue": "default",
        "was_paused": False,
        "paused": True,
    }
    admin.post("/v1/rules/orders/disable")
    state = admin.get("/v1/controls").json()
    assert state["paused_queues"] == ["default"] and state["disabled_rules"] == ["orders"]
    assert state["rules"] == ["orders"]


def test_limits_list_declared_override_and_in_force(admin: httpx.Client) -> None:
    admin.put("/v1/actions/limited/limits", json={"concurrency": 2}, headers=JSON)
    rows = {row["action"]: row for row in admin.get("/v1/limits").json()["limits"]}
    assert set(rows) == {"echo", "small", "limited"}
    assert rows["limited"]["concurrency"] == 5 and rows["limited"]["override_concurrency"] == 2
    assert rows["limited"]["in_force"]["concurrency"] == 2


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "text"),
    [
        ("POST", "/v1/queues/nope/pause", None, 404, "unknown queue 'nope'"),
        ("PUT", "/v1/actions/nope/limits", {"concurrency": 2}, 404, "unknown action 'nope'"),
        ("DELETE", "/v1/actions/nope/limits", None, 404, "unknown action"),
        ("POST", "/v1/schedules/nope/pause", None, 404, "unknown schedule 'nope'"),
        ("POST", "/v1/rules/nope/disable", None, 404, "unknown rule 'nope'"),
        ("PUT", "/v1/actions/limited/limits", {"concurrency": -1}, 400, "concurrency"),
        ("PUT", "/v1/actions/limited/limits", {"concurrency": "many"}, 400, "concurrency"),
        ("PUT", "/v1/actions/limited/limits", {"rate": "fast"}, 400, "invalid rate 'fast'"),
        ("PUT", "/v1/actions/limited/limits", {"rate": "5/x"}, 400, "'N/s', 'N/m' or 'N/h'"),
        ("PUT", "/v1/actions/limited/limits", {}, 400, "concurrency"),
        ("PUT", "/v1/actions/limited/limits", {"burst": 3}, 400, "nothing else"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(
    admin: httpx.Client,
    web_app: App,
    method: str,
    path: str,
    body: object,
    status: int,
    text: str,
) -> None:
    answer = admin.request(method, path, json=body)
    assert answer.status_code == status, answer.text
    assert text in answer.json()["detail"]
    assert web_app.store.audit() == []
    assert not any(info.overridden for info in web_app.store.limit_infos())


def test_an_open_api_records_local(web_app: App) -> None:
    from sluice.web import create_app

    with LiveServer(create_app(web_app, {})) as live, client_for(live, None) as client:
        assert client.post("/v1/queues/default/pause").status_code == 200
    assert [e.who for e in web_app.store.audit()] == ["local"]


def test_a_disabled_rule_routes_nothing_until_enabled(admin: httpx.Client, web_app: App) -> None:
    admin.post("/v1/rules/orders/disable")
    # The server shares this process's store, whose own changes drop its cached state.
    web_app.publish("shop", "order", {"n": 1})
    assert web_app.store.stats(["default"])[0].depth == 0
    admin.post("/v1/rules/orders/enable")
    web_app.publish("shop", "order", {"n": 2})
    assert web_app.store.stats(["default"])[0].depth == 1
