"""POST /v1/sources/s3/{watch}: S3 event notifications over real HTTP (uvicorn), on both
stores: admin scope, the watch's filter and dedup, 400 with nothing stored for bad bodies."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from sluice import App
from sluice.web import create_app
from tests.sources.conftest import CREDENTIALS
from tests.web.conftest import ADMIN, JSON, READ, TOKENS, LiveServer, client_for


def record(key: str, etag: str = '"0123abcd"') -> dict[str, Any]:
    """One record as MinIO's webhook target and AWS S3 send it (keys URL-encoded)."""
    return {
        "eventVersion": "2.0",
        "eventSource": "minio:s3",
        "eventName": "s3:ObjectCreated:Put",
        "eventTime": "2026-12-02T12:00:00.000Z",
        "s3": {
            "s3SchemaVersion": "1.0",
            "bucket": {"name": "landing", "arn": "arn:aws:s3:::landing"},
            "object": {"key": key, "size": 12, "eTag": etag, "sequencer": "17"},
        },
    }


@pytest.fixture
def live(url: str) -> Iterator[tuple[App, LiveServer]]:
    app = App(url)
    app.queue("files", dedup_window=None)
    app.action(queue="files", name="load")(lambda body, ctx: None)
    app.watch_bucket("s3://landing", "load", endpoint_url="http://127.0.0.1:9")
    with LiveServer(create_app(app, TOKENS)) as server:
        yield app, server
    app.close()


def test_a_notification_delivered_twice_enqueues_once(live: tuple[App, LiveServer]) -> None:
    app, server = live
    body = {"Records": [record("input/sp+ace/%C3%A9t%C3%A9.json"), record("input/x.csv")]}
    with client_for(server, ADMIN) as admin:
        first = admin.post("/v1/sources/s3/load", json=body, headers=JSON)
        again = admin.post("/v1/sources/s3/load", json=body, headers=JSON)
    assert first.status_code == 202 and first.json() == {"matched": 1, "enqueued": 1, "repeats": 0}
    assert again.json() == {"matched": 1, "enqueued": 0, "repeats": 1}
    [message] = app.store.peek("files")
    assert message.body["key"] == "input/sp ace/été.json" and message.body["etag"] == "0123abcd"


@pytest.mark.parametrize(
    "body", [b"not json", b"[]", b'{"Records": 1}', b'{"Records": [{"eventName": "s3:x"}]}']
)
def test_a_malformed_notification_is_400_and_stores_nothing(
    live: tuple[App, LiveServer], body: bytes
) -> None:
    app, server = live
    with client_for(server, ADMIN) as admin:
        answer = admin.post("/v1/sources/s3/load", content=body, headers=JSON)
    assert answer.status_code == 400, answer.text
    assert app.store.peek("files") == []


def test_notifications_need_an_admin_token_and_a_known_watch(
    live: tuple[App, LiveServer],
) -> None:
    app, server = live
    body = {"Records": [record("input/a.json")]}
    with client_for(server, READ) as reader, client_for(server, None) as anonymous:
        assert reader.post("/v1/sources/s3/load", json=body, headers=JSON).status_code == 403
        assert anonymous.post("/v1/sources/s3/load", json=body, headers=JSON).status_code == 401
    with client_for(server, ADMIN) as admin:
        assert admin.post("/v1/sources/s3/nope", json=body, headers=JSON).status_code == 404
    assert app.store.peek("files") == []


def test_a_failing_bucket_watch_shows_in_healthz_and_metrics(
    live: tuple[App, LiveServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    from sluice.sources.bucket import BucketScanner
    from sluice.sources.bucket.scanner import BucketUnreachable

    app, server = live
    with client_for(server, None) as anonymous:
        assert anonymous.get("/healthz").json() == {"status": "ok"}
    with pytest.raises(BucketUnreachable):
        BucketScanner(app, app.bucket_watches["load"]).scan()  # nothing listens on port 9
    with client_for(server, None) as anonymous, client_for(server, READ) as reader:
        public = anonymous.get("/healthz")
        detailed = reader.get("/healthz").json()
        scraped = reader.get("/metrics").text
    assert public.status_code == 200 and public.json()["status"] == "degraded"
    [entry] = public.json()["failing"]
    assert (entry["action"], entry["failures"]) == ("load", 1) and "error" not in entry
    error = detailed["failing"][0]["error"]
    assert "s3://landing at http://127.0.0.1:9" in error and "EndpointConnection" in error
    labels = 'action="load",bucket="s3://landing"'
    assert f"sluice_bucket_scan_failures{{{labels}}} 1.0" in scraped
    assert f"sluice_bucket_scan_enqueued_total{{{labels}}} 0.0" in scraped
