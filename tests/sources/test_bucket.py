"""The object-store source against a real S3 server (moto on loopback): scans with
StartAfter and reconcile, dedup by key + etag, notifications, streamed reads and moves."""

from __future__ import annotations

import os
import urllib.request
from pathlib import Path
from typing import Any

import boto3
import pytest

from sluice import App, ConfigError, Context, Message, Partial, Worker
from sluice.sources.bucket import BucketScanner
from sluice.sources.bucket.notify import NotificationInvalid, parse, receive
from sluice.sources.bucket.scanner import BucketUnreachable

BUCKET = "landing"


def make_app(url: str, endpoint: str, loaded: list[str], **watch: Any) -> App:
    app = App(url)
    app.queue("files", dedup_window=None, max_receives=2, visibility_timeout=5)

    @app.action(queue="files", batch_size=50, batch_window=0.05)
    def load(messages: list[Message], ctx: Context) -> Partial | None:
        bad = {}
        for message in messages:
            with ctx.open_object(message) as stream:
                data = stream.read()
            if not data.startswith(b"{"):
                bad[message.id] = f"not JSON: {data[:20]!r}"
            else:
                loaded.append(message.body["key"])
        return Partial(bad) if bad else None

    app.watch_bucket(
        f"s3://{BUCKET}",
        "load",
        endpoint_url=endpoint,
        on_success="processed/",
        on_dead="failed/",
        **watch,
    )
    return app


@pytest.fixture
def s3(s3_endpoint: str) -> Any:
    client = boto3.client("s3", endpoint_url=s3_endpoint)
    client.create_bucket(Bucket=BUCKET)
    return client


def keys(s3: Any, prefix: str = "") -> list[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    return sorted(o["Key"] for page in pages for o in page.get("Contents", ()))


def drain(app: App) -> None:
    Worker(app, concurrency=2, poll=0.05, stop_when_idle=True).run()


def test_bad_watch_definitions(url: str, s3_endpoint: str) -> None:
    app = App(url)
    app.queue("files", dedup_window=None)
    app.action(queue="files")(lambda body, ctx: None)
    name = "<lambda>"
    with pytest.raises(ConfigError, match="s3://BUCKET"):
        app.watch_bucket("landing", name)
    with pytest.raises(ConfigError, match="only a bucket"):
        app.watch_bucket("s3://landing/input", name)
    with pytest.raises(ConfigError, match="must differ"):
        app.watch_bucket("s3://landing", name, on_success="x/", on_dead="x")
    app.watch_bucket("s3://landing", name)
    with pytest.raises(ConfigError, match="already has a bucket watch"):
        app.watch_files(".", name)
    with pytest.raises(ConfigError, match="already has a bucket watch"):
        app.watch_bucket("s3://other", name)
    app.action(queue="files", name="on_disk")(lambda body, ctx: None)
    app.watch_files(".", "on_disk")
    with pytest.raises(ConfigError, match="already has a file watch"):
        app.watch_bucket("s3://landing", "on_disk")
    app.queue("short", dedup_window=60)
    app.action(queue="short", name="short")(lambda body, ctx: None)
    with pytest.raises(ConfigError, match="dedup_window=None"):
        app.watch_bucket("s3://landing", "short")


def test_scan_dedups_by_key_and_etag_across_scanners_and_restarts(
    url: str,
    s3_endpoint: str,
    s3: Any,
) -> None:
    loaded: list[str] = []
    app = make_app(url, s3_endpoint, loaded)
    watch = app.bucket_watches["load"]
    names = ["input/a.json", "input/sp ace/é ü.json", "input/b.csv", "other/c.json"]
    for key in names:
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"{}")
    one, two = BucketScanner(app, watch), BucketScanner(app, watch)
    first = one.scan(now=0.0)  # the first pass is the full listing
    assert first is not None and (first.found, first.enqueued, first.full) == (2, 2, True)
    assert app.store.bucket_scan(watch.id).watermark == "input/sp ace/é ü.json"
    again = two.scan(now=0.0)  # the watermark is shared: nothing after it
    assert again is not None and (again.found, again.full) == (0, False)
    forced = two.scan(now=0.0, full=True)
    assert forced is not None and (forced.enqueued, forced.repeats) == (0, 2)
    s3.put_object(Bucket=BUCKET, Key="input/z.json", Body=b"{}")  # after the watermark
    s3.put_object(Bucket=BUCKET, Key="input/a.json", Body=b'{"v": 2}')  # behind it, new etag
    step = one.scan(now=1.0)
    assert step is not None and not step.full and (step.found, step.enqueued) == (1, 1)
    full = one.scan(now=2.0, full=True)
    assert full is not None and full.full and full.enqueued == 1  # the rewritten a.json
    restarted = BucketScanner(app, watch).scan(now=0.0)  # lists nothing already sent
    assert restarted is not None and (restarted.found, restarted.full) == (0, False)
    drain(app)
    assert sorted(loaded) == ["input/a.json", "input/sp ace/é ü.json", "input/z.json"]
    assert keys(s3, "processed/") == sorted(f"processed/{k}" for k in loaded)
    assert keys(s3) == sorted(["input/b.csv", "other/c.json"] + [f"processed/{k}" for k in loaded])
    app.close()


def test_invalid_objects_are_dead_lettered_to_failed_with_a_reason(
    url: str,
    s3_endpoint: str,
    s3: Any,
) -> None:
    loaded: list[str] = []
    app = make_app(url, s3_endpoint, loaded)
    s3.put_object(Bucket=BUCKET, Key="input/bad.json", Body=b"nope")
    s3.put_object(Bucket=BUCKET, Key="input/ok.json", Body=b"{}")
    BucketScanner(app, app.bucket_watches["load"]).scan()
    drain(app)
    assert loaded == ["input/ok.json"]
    assert keys(s3, "failed/") == ["failed/input/bad.json", "failed/input/bad.json.reason"]
    reason = s3.get_object(Bucket=BUCKET, Key="failed/input/bad.json.reason")["Body"].read()
    assert b"not JSON" in reason and b"dead-lettered" in reason
    assert keys(s3, "input/") == []
    app.close()


def test_an_object_overwritten_after_its_message_is_left_for_its_new_message(
    url: str,
    s3_endpoint: str,
    s3: Any,
) -> None:
    loaded: list[str] = []
    app = make_app(url, s3_endpoint, loaded)
    s3.put_object(Bucket=BUCKET, Key="input/a.json", Body=b"{}")
    scanner = BucketScanner(app, app.bucket_watches["load"])
    scanner.scan(now=0.0)
    s3.put_object(Bucket=BUCKET, Key="input/a.json", Body=b'{"new": 1}')
    drain(app)  # the old version's message is skipped: its etag is gone
    assert loaded == [] and keys(s3, "input/") == ["input/a.json"]
    scanner.scan(now=1.0, full=True)
    drain(app)
    assert loaded == ["input/a.json"] and keys(s3, "processed/") == ["processed/input/a.json"]
    app.close()


def test_an_object_overwritten_between_the_copy_and_the_delete_is_left(
    url: str,
    s3_endpoint: str,
    s3: Any,
) -> None:
    """The delete is conditional (If-Match): a writer that lands between the copy to
    processed/ and the delete keeps its version, which then gets a message of its own."""
    loaded: list[str] = []
    app = make_app(url, s3_endpoint, loaded)
    watch = app.bucket_watches["load"]
    s3.put_object(Bucket=BUCKET, Key="input/a.json", Body=b"{}")
    scanner = BucketScanner(app, watch)
    scanner.scan(now=0.0)

    def overwrite(**_: Any) -> None:  # another writer, on the wire, just before the delete
        s3.put_object(Bucket=BUCKET, Key="input/a.json", Body=b'{"new": 1}')

    watch.client.meta.events.register_first("before-call.s3.DeleteObject", overwrite)
    drain(app)
    watch.client.meta.events.unregister("before-call.s3.DeleteObject", overwrite)
    assert loaded == ["input/a.json"]
    assert keys(s3) == ["input/a.json", "processed/input/a.json"]
    assert s3.get_object(Bucket=BUCKET, Key="input/a.json")["Body"].read() == b'{"new": 1}'
    assert s3.get_object(Bucket=BUCKET, Key="processed/input/a.json")["Body"].read() == b"{}"
    scanner.scan(now=1.0, full=True)
    drain(app)
    assert loaded == ["input/a.json"] * 2 and keys(s3) == ["processed/input/a.json"]
    body = s3.get_object(Bucket=BUCKET, Key="processed/input/a.json")["Body"].read()
    assert body == b'{"new": 1}'
    app.close()


def record(key: str, etag: str = "abc", event: str = "s3:ObjectCreated:Put") -> dict[str, Any]:
    return {
        "eventName": event,
        "eventTime": "2026-01-01T00:00:00.000Z",
        "s3": {"bucket": {"name": BUCKET}, "object": {"key": key, "eTag": etag, "size": 2}},
    }


def test_notifications_decode_keys_filter_and_enqueue_once(
    url: str,
    s3_endpoint: str,
    s3: Any,
) -> None:
    app = make_app(url, s3_endpoint, [])
    watch = app.bucket_watches["load"]
    payload = {
        "Records": [
            record("input/sp+ace/%C3%A9.json"),
            record("input/x.csv"),
            record("input/gone.json", event="s3:ObjectRemoved:Delete"),
        ]
    }
    assert [seen.key for seen in parse(watch, payload)] == ["input/sp ace/é.json"]
    assert receive(app, watch, payload) == {"matched": 1, "enqueued": 1, "repeats": 0}
    assert receive(app, watch, payload) == {"matched": 1, "enqueued": 0, "repeats": 1}
    app.close()


@pytest.mark.parametrize(
    "payload",
    [
        [],
        {"Records": "x"},
        {"Records": [{"eventName": "s3:ObjectCreated:Put"}]},
        {"Records": [record("input/a.json"), {"s3": {}, "eventName": 3}]},
        {
            "Records": [
                {
                    **record("input/a.json"),
                    "s3": {
                        "bucket": {"name": "other"},
                        "object": {"key": "input/a.json", "eTag": "e"},
                    },
                }
            ]
        },
    ],
)
def test_a_malformed_notification_stores_nothing(
    url: str,
    s3_endpoint: str,
    payload: Any,
) -> None:
    app = make_app(url, s3_endpoint, [])
    with pytest.raises(NotificationInvalid, match=r"Records|must|bucket"):
        receive(app, app.bucket_watches["load"], payload)
    assert app.store.peek("files") == []
    app.close()


def test_a_missing_bucket_is_named_recorded_backed_off_and_retried(
    url: str,
    s3_endpoint: str,
) -> None:
    app = make_app(url, s3_endpoint, [])
    watch = app.bucket_watches["load"]
    scanner = BucketScanner(app, watch)  # BUCKET was never created
    with pytest.raises(BucketUnreachable, match=f"s3://{BUCKET} at {s3_endpoint}.*NoSuchBucket"):
        scanner.scan(now=0.0)
    assert scanner.scan(now=0.1) is None  # backing off
    assert scanner.failures == 1 and "create the bucket" in (scanner.last_error or "")
    with pytest.raises(BucketUnreachable):
        scanner.scan(now=1.0)
    stored = app.store.bucket_scan(watch.id)
    assert stored.failures == 2 and f"s3://{BUCKET}" in (stored.error or "")
    assert scanner.scan(now=2.0) is None  # 2 s after the second failure
    boto3.client("s3", endpoint_url=s3_endpoint).create_bucket(Bucket=BUCKET)
    assert scanner.scan(now=5.0) is not None  # retried: it works now
    stored = app.store.bucket_scan(watch.id)
    assert (stored.failures, stored.error, scanner.failures) == (0, None, 0)
    app.close()


def test_wrong_credentials_are_named_without_the_secret(
    url: str, s3_endpoint: str, s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """moto checks credentials once its auth is switched on (``/moto-api/reset-auth``):
    then any key it has not issued through IAM is an InvalidAccessKeyId, as AWS answers."""
    app = make_app(url, s3_endpoint, [])
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAWRONGWRONGWRONG0")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "very-secret-value")
    scanner = BucketScanner(app, app.bucket_watches["load"])
    try:
        moto_auth(s3_endpoint, "0")
        with pytest.raises(BucketUnreachable) as raised:
            scanner.scan(now=0.0)
    finally:
        moto_auth(s3_endpoint, "inf")
    text = str(raised.value)
    assert f"s3://{BUCKET} at {s3_endpoint}" in text and "InvalidAccessKeyId" in text
    assert "AWS_ACCESS_KEY_ID" in text and "very-secret-value" not in text
    assert "very-secret-value" not in (app.store.bucket_scan(scanner.watch.id).error or "")
    app.close()


def moto_auth(endpoint: str, after: str) -> None:
    request = urllib.request.Request(
        endpoint + "/moto-api/reset-auth",
        data=after.encode(),
        method="POST",
        headers={"Content-Type": "text/plain"},
    )
    urllib.request.urlopen(request).close()


def test_an_unreachable_endpoint_is_named(tmp_path: Path) -> None:
    dead = "http://127.0.0.1:9"  # discard port: nothing listens
    app = App(f"sqlite:///{os.fspath(tmp_path)}/other.db")
    app.queue("files", dedup_window=None)
    app.action(queue="files", name="load")(lambda body, ctx: None)
    watch = app.watch_bucket(f"s3://{BUCKET}", "load", endpoint_url=dead)
    unreachable = BucketScanner(app, watch)
    with pytest.raises(BucketUnreachable, match=f"s3://{BUCKET} at {dead}.*EndpointConnection"):
        unreachable.scan(now=0.0)
    assert app.store.bucket_scan(watch.id).failures == 1
    app.close()


def test_the_scheduler_scans_bucket_watches_and_survives_an_unreachable_one(
    url: str, s3_endpoint: str, s3: Any
) -> None:
    from sluice.sources.scheduler import Scheduler

    app = make_app(url, s3_endpoint, [])
    app.queue("other", dedup_window=None)
    app.action(queue="other", name="other")(lambda body, ctx: None)
    app.watch_bucket("s3://missing", "other", endpoint_url=s3_endpoint)
    s3.put_object(Bucket=BUCKET, Key="input/a.json", Body=b"{}")
    scheduler = Scheduler(app)
    assert scheduler.scan_files() == 1  # the missing bucket is logged and backed off
    failing = [b for b in scheduler.bucket_scanners if b.watch.bucket == "missing"]
    assert failing[0].failures == 1 and "s3://missing" in (failing[0].last_error or "")
    app.close()
