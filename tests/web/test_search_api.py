"""``GET /v1/messages`` through a real server, on both stores: search, paging, scopes, errors."""

from __future__ import annotations

import httpx

from sluice import App, NewMessage, Outcome, Schedule
from sluice.store.search import MessageFilter


def _fill(app: App) -> list[int]:
    ids = [
        app.store.enqueue([NewMessage("default", {"n": n}, action="echo")])[0].id for n in range(5)
    ]
    [claimed] = app.store.claim(["default"], 1)
    assert claimed.receipt is not None
    app.store.complete([Outcome.retry(claimed.receipt, "kaput: 42", delay=0)])
    return ids


def test_search_by_state_error_and_paging(reader: httpx.Client, web_app: App) -> None:
    ids = _fill(web_app)
    waiting = reader.get("/v1/messages", params={"state": "waiting"})
    assert waiting.status_code == 200, waiting.text
    assert [m["id"] for m in waiting.json()["messages"]] == ids
    assert {m["state"] for m in waiting.json()["messages"]} == {"waiting"}
    found = reader.get("/v1/messages", params={"error_contains": "kaput"}).json()["messages"]
    assert [m["id"] for m in found] == [ids[0]] and found[0]["receive_count"] == 1
    by_id = reader.get("/v1/messages", params=[("id", ids[1]), ("id", ids[3])]).json()
    assert [m["id"] for m in by_id["messages"]] == [ids[1], ids[3]]
    seen: list[int] = []
    params: dict[str, str | int] = {"limit": 2, "queue": "default"}
    while True:
        page = reader.get("/v1/messages", params=params).json()
        seen += [m["id"] for m in page["messages"]]
        if page["cursor"] is None:
            break
        params["cursor"] = page["cursor"]
    assert seen == ids


def test_search_refuses_bad_parameters(reader: httpx.Client) -> None:
    for params, text in (
        ({"state": "lost"}, "unknown message state"),
        ({"limit": "0"}, "limit must be between"),
        ({"cursor": "abc"}, "bad cursor"),
        ({"older_than": "soon"}, "older_than must be a number"),
        ({"id": "x"}, "id must be an integer"),
        ({"colour": "red"}, "colour"),
    ):
        answer = reader.get("/v1/messages", params=params)
        assert answer.status_code == 400, (params, answer.text)
        assert text in answer.text, (params, answer.text)


def test_schedules_and_events_are_listed(reader: httpx.Client, web_app: App) -> None:
    store = web_app.store
    store.put_schedule(Schedule("nightly", "0 3 * * *", "echo", misfire="catch_up"), 2e9)
    envelope = {"id": "ev-1", "source": "shop", "detail-type": "order", "detail": {}}
    store.publish([envelope], [store.clock() - 10], [])
    [row] = reader.get("/v1/schedules").json()["schedules"]
    assert (row["name"], row["misfire"], row["next_at"]) == ("nightly", "catch_up", 2e9)
    [event] = reader.get("/v1/events", params={"since": 60}).json()["events"]
    assert (event["id"], event["detail_type"]) == ("ev-1", "order")
    assert reader.get("/v1/events", params={"since": 5}).json() == {"events": []}
    pattern = {"source": ["shop"]}
    web_app.rule("order-paid", pattern, "echo")
    store.declare("rule", ["elsewhere"])  # declared by another app: no pattern known here
    store.set_rule_disabled("elsewhere", True, "local")
    assert reader.get("/v1/rules").json()["rules"] == [
        {"name": "elsewhere", "disabled": True, "action": None, "pattern": None},
        {"name": "order-paid", "disabled": False, "action": "echo", "pattern": pattern},
    ]
    bad = reader.get("/v1/events", params={"since": "yesterday"})
    assert bad.status_code == 400 and "since must be a number" in bad.text


def test_a_dlq_selection_is_counted_then_redriven_or_purged_by_an_admin(
    reader: httpx.Client, admin: httpx.Client, web_app: App
) -> None:
    store = web_app.store
    for error in ("timeout: a", "timeout: b", "bad row"):
        store.enqueue([NewMessage("default", error, action="echo")])
        for _ in range(2):  # max_receives=2
            [claimed] = store.claim(["default"], 1)
            assert claimed.receipt is not None
            store.complete([Outcome.retry(claimed.receipt, error, delay=0)])
    path = "/v1/queues/default/dlq/selection"
    timeouts = {"error_contains": "timeout"}
    assert reader.get(path, params=timeouts).json() == {"queue": "default", "count": 2}
    refused = reader.post(f"{path}/redrive", params=timeouts)
    assert refused.status_code == 403 and store.count_dead("default", MessageFilter()) == 3
    done = admin.post(f"{path}/redrive", params=timeouts)
    assert done.json() == {"queue": "default", "redriven": 2}, done.text
    assert admin.post(f"{path}/purge").json() == {"queue": "default", "purged": 1}
    assert [(e.what, e.new) for e in store.audit()] == [("dlq.purge", 1), ("dlq.redrive", 2)]
    for params, status, text in (
        ({"state": "waiting"}, 400, "selects none"),
        ({"older_than": "-1"}, 400, "older_than"),
        ({"limit": "5"}, 400, "limit"),
    ):
        answer = admin.post(f"{path}/purge", params=params)
        assert (answer.status_code, text in answer.text) == (status, True), answer.text
    assert admin.get("/v1/queues/nope/dlq/selection").status_code == 404
    assert len(store.peek("default", 10)) == 2
