"""boto3 against a real ``sluice serve`` app (uvicorn on loopback, no tokens) on each store."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config

from sluice import App
from sluice.web import create_app
from tests.web.conftest import LiveServer


@pytest.fixture
def aws_app(url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[App]:
    monkeypatch.delenv("SLUICE_AWS_KEYS", raising=False)
    app = App(url)
    app.queue("jobs")

    @app.action(queue="jobs")
    def handle(body: object, ctx: object) -> None:
        pass

    yield app
    app.close()


@pytest.fixture
def aws_server(aws_app: App) -> Iterator[LiveServer]:
    with LiveServer(create_app(aws_app, {})) as live:
        yield live


def sqs_client(live: LiveServer) -> Any:
    """A boto3 SQS client of the server (any key: the AWS API is open on loopback)."""
    return boto3.client(
        "sqs",
        endpoint_url=live.base_url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1}),
    )


@pytest.fixture
def sqs(aws_server: LiveServer) -> Any:
    return sqs_client(aws_server)
