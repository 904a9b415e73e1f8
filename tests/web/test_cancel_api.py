"""``DELETE /v1/messages/{id}`` over a real server: admin only, 404 unknown, 409 dead or
finished."""

from __future__ import annotations

import httpx

from sluice import App
from sluice.model import NewMessage, Outcome
from tests.conformance.helpers import declare


def test_cancel_a_message_over_http(
    web_app: App, admin: httpx.Client, reader: httpx.Client
) -> None:
    first = web_app.enqueue("echo", {"n": 1})
    second = web_app.enqueue("echo", {"n": 2}, delay=60)
    refused = reader.delete(f"/v1/messages/{first}")
    assert refused.status_code == 403
    answer = admin.delete(f"/v1/messages/{second}")
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"message_id": second, "cancelled": True, "was": "delayed"}
    missing = admin.delete(f"/v1/messages/{second}")
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    assert "never existed or it has finished" in missing.json()["detail"]
    assert admin.delete("/v1/messages/99999999999999999999").status_code == 404
    [claimed] = web_app.store.claim(["default"], 1)
    assert claimed.receipt is not None
    web_app.store.complete([Outcome.dead(claimed.receipt, "bad")])
    dead = admin.delete(f"/v1/messages/{first}")
    assert dead.status_code == 409 and dead.json()["error"] == "message_dead"


def test_cancel_a_finished_message_with_a_record_over_http(
    web_app: App, admin: httpx.Client
) -> None:
    declare(web_app.store, "kept", keep_completed=60)
    [done] = [e.id for e in web_app.store.enqueue([NewMessage("kept", 1, "echo")])]
    [claimed] = web_app.store.claim(["kept"], 1)
    assert claimed.receipt is not None
    web_app.store.complete([Outcome.ack(claimed.receipt)])
    answer = admin.delete(f"/v1/messages/{done}")
    assert answer.status_code == 409 and answer.json()["error"] == "message_finished"
    assert f"message {done} has already finished (succeeded" in answer.json()["detail"]


def test_submit_takes_a_priority_and_refuses_a_bad_one(web_app: App, admin: httpx.Client) -> None:
    headers = {"Content-Type": "application/json"}
    low = admin.post("/v1/actions/echo?priority=9", content=b'"low"', headers=headers)
    high = admin.post("/v1/actions/echo?priority=0", content=b'"high"', headers=headers)
    assert low.status_code == 202 and high.status_code == 202, low.text
    [claimed] = web_app.store.claim(["default"], 1)
    assert claimed.body == "high"
    for bad in ("-1", "32768", "x", "1.5"):
        answer = admin.post(f"/v1/actions/echo?priority={bad}", content=b"1", headers=headers)
        assert answer.status_code == 400, bad
        assert "priority must be" in answer.json()["detail"]
    assert web_app.store.claim(["default"], 5)[0].body == "low"
    assert web_app.store.claim(["default"], 5) == []


def test_get_a_message_reports_finished_ones_too(web_app: App, reader: httpx.Client) -> None:
    web_app.queue("kept", keep_completed=60)
    [done, dead] = [
        e.id for e in web_app.store.enqueue([NewMessage("kept", n, "echo") for n in (1, 2)])
    ]
    live = reader.get(f"/v1/messages/{done}").json()
    assert (live["state"], live["body"], live["finished_at"]) == ("waiting", 1, None)
    first, second = web_app.store.claim(["kept"], 2)
    assert first.receipt is not None and second.receipt is not None
    outcomes = [
        Outcome.ack(first.receipt, result={"sent": True}),
        Outcome.dead(second.receipt, "no"),
    ]
    assert web_app.store.complete(outcomes) == []
    got = reader.get(f"/v1/messages/{done}")
    assert got.status_code == 200, got.text
    record = got.json()
    assert (record["state"], record["result"], record["queue"]) == (
        "succeeded",
        {"sent": True},
        "kept",
    )
    assert record["finished_at"] is not None and record["expires_at"] is not None
    letter = reader.get(f"/v1/messages/{dead}").json()
    assert (letter["state"], letter["queue"], letter["dead_reason"]) == ("dead", "kept.dlq", "no")
    missing = reader.get("/v1/messages/987654321")
    assert missing.status_code == 404 and "it never existed" in missing.json()["detail"]
