"""EventBridge ``put_events`` through boto3 against a real server: rules route, the archive
keeps the events, bad entries are reported per entry as AWS does."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from sluice import App
from sluice.web import create_app
from tests.web.conftest import LiveServer

ran: list[Any] = []


@pytest.fixture
def events_app(url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[App]:
    monkeypatch.delenv("SLUICE_AWS_KEYS", raising=False)
    app = App(url)
    app.queue("audit")

    @app.action(queue="audit")
    def record(body: Any, ctx: object) -> None:
        ran.append(body)

    app.rule("deleted", {"source": ["purge"], "detail-type": ["RecordDeleted"]}, "record")
    yield app
    app.close()


@pytest.fixture
def events(events_app: App) -> Iterator[Any]:
    with LiveServer(create_app(events_app, {})) as live:
        yield boto3.client(
            "events",
            endpoint_url=live.base_url,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
            config=Config(retries={"max_attempts": 1}),
        )


def entry(**overrides: Any) -> dict[str, Any]:
    base = {
        "Source": "purge",
        "DetailType": "RecordDeleted",
        "Detail": json.dumps({"record": 7}),
        "Resources": ["arn:aws:s3:::bucket/7"],
        "Time": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        "EventBusName": "default",
    }
    return {**base, **overrides}


def test_put_events_routes_to_an_action_that_runs(events: Any, events_app: App) -> None:
    ran.clear()
    answer = events.put_events(Entries=[entry(), entry(DetailType="Other")])
    assert answer["FailedEntryCount"] == 0
    assert all("EventId" in e for e in answer["Entries"])
    events_app.work(["audit"], stop_when_idle=True, grace=5)
    assert len(ran) == 1
    event = ran[0]
    assert event["detail"] == {"record": 7} and event["source"] == "purge"
    assert event["resources"] == ["arn:aws:s3:::bucket/7"]
    assert event["time"] == "2026-01-02T03:04:05Z"
    assert event["id"] == answer["Entries"][0]["EventId"]
    archived = events_app.store.events(0, 2e9, 10)
    assert {e.id for _, e in archived} == {e["EventId"] for e in answer["Entries"]}


def test_bad_entries_fail_one_by_one(events: Any, events_app: App) -> None:
    answer = events.put_events(
        Entries=[
            entry(Detail="{not json"),
            entry(Detail="[1]"),
            entry(),
            entry(EventBusName="orders"),
            entry(Detail=json.dumps({"pad": "x" * 262144})),
        ]
    )
    assert answer["FailedEntryCount"] == 4
    codes = [e.get("ErrorCode") for e in answer["Entries"]]
    assert codes == [
        "MalformedDetail",
        "MalformedDetail",
        None,
        "ResourceNotFoundException",
        "InvalidArgument",
    ]
    assert "EventId" in answer["Entries"][2]
    assert len(events_app.store.events(0, 2e9, 10)) == 1


def test_missing_fields_are_named(events: Any) -> None:
    answer = events.put_events(Entries=[{"Source": "purge", "Detail": "{}"}])
    assert answer["Entries"][0]["ErrorCode"] == "InvalidArgument"
    assert "DetailType is a required argument" in answer["Entries"][0]["ErrorMessage"]


def test_more_than_ten_entries_fail_the_request(events: Any, events_app: App) -> None:
    with pytest.raises(ClientError) as caught:
        events.put_events(Entries=[entry()] * 11)
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert events_app.store.events(0, 2e9, 10) == []
