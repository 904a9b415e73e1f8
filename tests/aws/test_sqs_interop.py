"""Interop both ways: SQS-sent messages run sluice actions (Lambda-shaped handlers get the
record fields Lambda would), sluice-enqueued messages are received through SQS."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from sluice import App
from sluice.compat import lambda_sqs_handler
from sluice.web import create_app
from tests.aws.conftest import sqs_client
from tests.web.conftest import LiveServer


def test_sqs_messages_run_actions_and_lambda_handlers(url: str) -> None:
    app = App(url)
    app.queue("work")
    records: list[dict[str, Any]] = []
    plain: list[Any] = []

    def handler(event: dict[str, Any], context: Any) -> None:
        records.extend(event["Records"])

    app.action("lam", queue="work", batch_size=10)(lambda_sqs_handler(handler))

    @app.action(queue="work")
    def other(body: Any, ctx: Any) -> None:
        plain.append(body)

    with LiveServer(create_app(app, {})) as live:
        sqs = sqs_client(live)
        queue = sqs.get_queue_url(QueueName="work")["QueueUrl"]
        with pytest.raises(sqs.exceptions.ClientError) as info:
            sqs.send_message(QueueUrl=queue, MessageBody="which action?")
        assert "sluice-action" in info.value.response["Error"]["Message"]
        action = {"DataType": "String", "StringValue": "lam"}
        attributes = {"sluice-action": action, "k": {"DataType": "Number", "StringValue": "7"}}
        sent = sqs.send_message(QueueUrl=queue, MessageBody="<xml/>", MessageAttributes=attributes)
        sqs.send_message(
            QueueUrl=queue,
            MessageBody="plain text",
            MessageAttributes={"sluice-action": {"DataType": "String", "StringValue": "other"}},
        )
    app.work(stop_when_idle=True)
    app.close()
    assert plain == ["plain text"]
    [record] = records
    assert record["messageId"] == sent["MessageId"]
    assert record["body"] == "<xml/>"
    assert record["md5OfBody"] == hashlib.md5(b"<xml/>").hexdigest()
    assert record["eventSourceARN"] == "arn:aws:sqs:us-east-1:000000000000:work"
    assert record["messageAttributes"]["k"]["stringValue"] == "7"
    assert record["messageAttributes"]["k"]["dataType"] == "Number"
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert record["receiptHandle"]
