"""The API stores what it was sent, exactly, or refuses it; it reads back every message, on
both stores, through a real server."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
import pytest

from sluice import App, Outcome, codec
from sluice.blobs import REF
from sluice.web import create_app
from tests.conformance.helpers import nested, overwrite_body
from tests.web.conftest import ADMIN, JSON, LiveServer, client_for


def _depth(app: App, queue: str = "default") -> int:
    [stats] = app.store.stats([queue])
    return stats.depth + stats.delayed + stats.in_flight


def test_a_duplicate_run_new_submission_returns_the_first_run_and_creates_nothing(
    admin: httpx.Client, web_app: App
) -> None:
    key = {"Idempotency-Key": "order-7"}
    first = admin.post("/v1/actions/echo", params={"run": "new"}, headers=key, json={"n": 1})
    assert first.status_code == 202, first.text
    again = admin.post("/v1/actions/echo", params={"run": "new"}, headers=key, json={"n": 2})
    assert again.status_code == 202, again.text
    run_id = first.json()["run_id"]
    assert again.json() == {
        "message_id": first.json()["message_id"],
        "duplicate": True,
        "run_id": run_id,
    }
    assert [r.id for r in web_app.runs()] == [run_id] and _depth(web_app) == 1
    # once the message is settled and gone, a retry still names the first run
    [message] = web_app.store.claim(["default"], 1)
    assert message.receipt is not None
    web_app.store.complete([Outcome.ack(message.receipt)])
    late = admin.post("/v1/actions/echo", params={"run": "new"}, headers=key, json={"n": 3})
    assert late.json()["run_id"] == run_id and late.json()["duplicate"] is True
    assert [r.id for r in web_app.runs()] == [run_id]
    assert web_app.run_state(run_id).total == 1 and web_app.run_state(run_id).succeeded == 1
    # a key first used without a run: the duplicate starts none either
    plain = admin.post("/v1/actions/echo", params={"dedup_id": "p"}, json=1).json()
    dup = admin.post("/v1/actions/echo", params={"run": "new", "dedup_id": "p"}, json=2).json()
    assert dup == {"message_id": plain["message_id"], "duplicate": True, "run_id": None}
    assert len(web_app.runs()) == 1


def test_concurrent_twins_of_a_run_new_submission_make_one_run(
    server: LiveServer, web_app: App
) -> None:
    answers: list[dict[str, object]] = []
    start = threading.Barrier(8)

    def submit() -> None:
        with client_for(server, ADMIN) as client:
            start.wait()
            answer = client.post(
                "/v1/actions/echo",
                params={"run": "new"},
                headers={"Idempotency-Key": "twin"},
                json={"n": 1},
            )
            assert answer.status_code == 202, answer.text
            answers.append(answer.json())

    threads = [threading.Thread(target=submit) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(answers) == 8
    assert len({(a["message_id"], a["run_id"]) for a in answers}) == 1
    assert sorted(a["duplicate"] for a in answers) == [False] + [True] * 7
    assert len(web_app.runs()) == 1 and web_app.runs()[0].total == 1 and _depth(web_app) == 1


def test_new_keys_start_new_runs(admin: httpx.Client, web_app: App) -> None:
    ids = {
        admin.post(
            "/v1/actions/echo", params={"run": "new"}, headers={"Idempotency-Key": k}, json=k
        ).json()["run_id"]
        for k in ("a", "b")
    }
    ids.add(admin.post("/v1/actions/echo", params={"run": "new"}, json=0).json()["run_id"])
    assert len(ids) == 3 and {r.id for r in web_app.runs()} == ids
    assert all(web_app.run_state(i).total == 1 for i in ids)


@pytest.mark.parametrize("number", ["18446744073709551616", "-9223372036854775809", "1" * 40])
def test_integers_json_cannot_keep_are_400_never_floats(
    admin: httpx.Client, web_app: App, number: str
) -> None:
    for params in ({}, {"run": "new"}):
        answer = admin.post(
            "/v1/actions/echo", params=params, content=f'{{"n": {number}}}', headers=JSON
        )
        assert answer.status_code == 400, answer.text
        assert f"the integer {number} at $.n" in answer.json()["detail"]
        assert "nothing was stored" in answer.json()["detail"]
    assert _depth(web_app) == 0 and web_app.runs() == []


def test_a_deep_body_with_a_long_number_is_400_not_500(admin: httpx.Client) -> None:
    text = "[" * 1020 + "12345678901234567890" + "]" * 1020
    answer = admin.post("/v1/actions/echo", content=text, headers=JSON)
    assert answer.status_code == 400 and "nested too deep" in answer.json()["detail"]


def test_integers_at_the_edges_of_the_range_read_back_exact(admin: httpx.Client) -> None:
    text = (
        '{"n": [18446744073709551615, -9223372036854775808, 9007199254740993], '
        '"s": "1234567890123456789012"}'
    )
    sent = admin.post("/v1/actions/echo", content=text, headers=JSON)
    assert sent.status_code == 202, sent.text
    got = admin.get(f"/v1/messages/{sent.json()['message_id']}").json()
    assert got["body"] == {
        "n": [codec.MAX_INT, codec.MIN_INT, 2**53 + 1],
        "s": "1234567890123456789012",
    }


def test_a_body_deeper_than_the_limit_is_400_and_one_at_it_reads_back(
    admin: httpx.Client, web_app: App
) -> None:
    too_deep = "[" * (codec.MAX_DEPTH + 1) + "]" * (codec.MAX_DEPTH + 1)
    for params in ({}, {"run": "new"}):
        answer = admin.post("/v1/actions/echo", params=params, content=too_deep, headers=JSON)
        assert answer.status_code == 400, answer.text
        assert "nested deeper than 128 levels" in answer.json()["detail"]
    assert _depth(web_app) == 0 and web_app.runs() == []
    sent = admin.post(
        "/v1/actions/echo", content=codec.encode(nested(codec.MAX_DEPTH)), headers=JSON
    )
    message_id = sent.json()["message_id"]
    assert admin.get(f"/v1/messages/{message_id}").json()["body"] == nested(codec.MAX_DEPTH)
    web_app.store.complete(
        [Outcome.dead(m.receipt, "x") for m in web_app.store.claim(["default"], 1) if m.receipt]
    )
    listed = admin.get("/v1/queues/default/dlq")
    assert listed.status_code == 200 and listed.json()["messages"][0]["body_error"] is None


def test_a_body_that_cannot_be_shown_never_breaks_a_message_or_the_dlq_page(
    admin: httpx.Client, web_app: App
) -> None:
    # rows an older version (no depth limit) or another program wrote
    ids = [web_app.enqueue("echo", {"n": n}) for n in range(3)]
    claimed = web_app.store.claim(["default"], 3)
    web_app.store.complete([Outcome.dead(m.receipt, "boom") for m in claimed if m.receipt])
    overwrite_body(web_app.store, ids[0], "[" * 250 + "]" * 250)
    overwrite_body(web_app.store, ids[1], "not json")
    listed = admin.get("/v1/queues/default/dlq")
    assert listed.status_code == 200, listed.text
    messages = listed.json()["messages"]
    assert [m["id"] for m in messages] == ids
    assert [m["body"] for m in messages] == [None, None, {"n": 2}]
    assert "nested deeper than 128 levels" in messages[0]["body_error"]
    assert (
        "not valid JSON" in messages[1]["body_error"] and "'not json'" in messages[1]["body_error"]
    )
    assert messages[2]["body_error"] is None
    for message_id in ids[:2]:
        one = admin.get(f"/v1/messages/{message_id}")
        assert one.status_code == 200 and one.json()["body"] is None
        assert one.json()["body_error"]
    assert admin.get("/queues/default/dlq").status_code == 200


def test_a_large_submission_becomes_a_claim_check_with_a_blob_directory(
    url: str, tmp_path: Path
) -> None:
    app = App(url, blob_dir=tmp_path / "blobs")
    app.queue("tiny", max_message_bytes=256)  # room for the reference, not for the rows
    seen: list[object] = []

    @app.action(queue="tiny")
    def small(body: object, ctx: object) -> None:
        seen.append(body)

    big = {"rows": ["x" * 50] * 40}  # ~2 KB: far above the queue's 256 bytes
    try:
        with LiveServer(create_app(app, {})) as live, httpx.Client(base_url=live.base_url) as api:
            answer = api.post("/v1/actions/small", json=big)
            assert answer.status_code == 202, answer.text
        [stored] = app.store.get([answer.json()["message_id"]])
        assert isinstance(stored.body, dict) and REF in stored.body  # a reference, not the rows
        app.work(stop_when_idle=True)
        assert seen == [big]  # the worker resolved the claim check before the handler
    finally:
        app.close()
