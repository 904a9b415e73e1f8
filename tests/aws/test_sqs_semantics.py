"""SQS behaviours the differential suite found missing, through boto3 on both stores:
visibility 0, queue types fixed at creation, AWS's default and counted sizes, request ids,
purge pacing, tag checks, the trace header, visibility ending in a long poll, receipt handles
bound to their queue, EventBridge errors without the SQS header."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import pytest

from sluice import App
from tests.web.conftest import LiveServer


def test_visibility_zero_and_queue_type_fixed_at_creation(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="v0", Attributes={"VisibilityTimeout": "0"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="again")
    first = sqs.receive_message(QueueUrl=url)["Messages"]
    time.sleep(0.01)  # past the shortest lease
    again = sqs.receive_message(QueueUrl=url)["Messages"]
    assert [m["Body"] for m in first + again] == ["again", "again"]
    shown = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert shown["VisibilityTimeout"] == "0"
    assert shown["MaximumMessageSize"] == "1048576"  # AWS's default since 2025
    with pytest.raises(sqs.exceptions.InvalidAttributeName):
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"FifoQueue": "false"})
    with pytest.raises(sqs.exceptions.ClientError) as info:
        sqs.create_queue(QueueName="notfifo", Attributes={"FifoQueue": "true"})
    assert info.value.response["Error"]["Code"] == "InvalidParameterValue"
    fifo = sqs.create_queue(QueueName="d.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    redrive = f'{{"deadLetterTargetArn": "{arn["QueueArn"]}", "maxReceiveCount": 2}}'
    with pytest.raises(sqs.exceptions.ClientError) as info:  # a FIFO queue's DLQ is FIFO
        sqs.set_queue_attributes(QueueUrl=fifo, Attributes={"RedrivePolicy": redrive})
    assert info.value.response["Error"]["Code"] == "InvalidParameterValue"


def test_sizes_count_attributes_and_a_large_default(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="big")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="x" * 600_000)  # above the old 256 KiB
    small = sqs.create_queue(QueueName="tiny", Attributes={"MaximumMessageSize": "1024"})
    attribute = {"note": {"DataType": "String", "StringValue": "y" * 100}}
    with pytest.raises(sqs.exceptions.ClientError) as info:
        sqs.send_message(
            QueueUrl=small["QueueUrl"], MessageBody="x" * 1000, MessageAttributes=attribute
        )
    assert info.value.response["Error"]["Code"] == "InvalidParameterValue"
    assert "1110 bytes" in info.value.response["Error"]["Message"]
    entries = [{"Id": str(i), "MessageBody": "x" * 300} for i in range(4)]
    with pytest.raises(sqs.exceptions.BatchRequestTooLong):
        sqs.send_message_batch(QueueUrl=small["QueueUrl"], Entries=entries)
    shown = sqs.get_queue_attributes(
        QueueUrl=small["QueueUrl"], AttributeNames=["ApproximateNumberOfMessages"]
    )
    assert shown["Attributes"]["ApproximateNumberOfMessages"] == "0"  # nothing stored


def test_request_ids_purge_pacing_and_tags(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="tagged", tags={"team": "a"})["QueueUrl"]
    ids = [sqs.list_queues()["ResponseMetadata"]["RequestId"] for _ in range(3)]
    with pytest.raises(sqs.exceptions.QueueDoesNotExist) as missing:
        sqs.get_queue_url(QueueName="absent")
    ids.append(missing.value.response["ResponseMetadata"]["RequestId"])
    assert len(set(ids)) == 4  # a fresh random (version 4) UUID per request, as AWS sends
    assert all(uuid.UUID(i).version == 4 and uuid.UUID(i).variant == uuid.RFC_4122 for i in ids)
    sqs.purge_queue(QueueUrl=url)
    with pytest.raises(sqs.exceptions.PurgeQueueInProgress) as info:
        sqs.purge_queue(QueueUrl=url)
    assert "every 60 seconds" in info.value.response["Error"]["Message"]
    with pytest.raises(sqs.exceptions.ClientError) as info:
        sqs.tag_queue(QueueUrl=url, Tags={})
    assert info.value.response["Error"]["Code"] == "MissingParameter"
    with pytest.raises(sqs.exceptions.ClientError) as info:
        sqs.tag_queue(QueueUrl=url, Tags={f"k{i}": "v" for i in range(51)})
    assert "Too many tags" in info.value.response["Error"]["Message"]
    with pytest.raises(sqs.exceptions.ClientError):
        sqs.untag_queue(QueueUrl=url, TagKeys=[])
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"team": "a"}  # unchanged


def test_trace_header_and_visibility_ending_in_a_long_poll(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="traced")["QueueUrl"]
    trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"
    sent = sqs.send_message(
        QueueUrl=url,
        MessageBody="t",
        MessageSystemAttributes={"AWSTraceHeader": {"DataType": "String", "StringValue": trace}},
    )
    assert sent["MD5OfMessageSystemAttributes"]
    [got] = sqs.receive_message(
        QueueUrl=url, VisibilityTimeout=1, MessageSystemAttributeNames=["AWSTraceHeader"]
    )["Messages"]
    assert got["Attributes"] == {"AWSTraceHeader": trace}
    assert "MessageAttributes" not in got
    # in flight for 1 s: a long poll started now gets it when its visibility ends
    again = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=10)["Messages"]
    assert [m["MessageId"] for m in again] == [got["MessageId"]]


def test_a_receipt_handle_works_on_its_own_queue_only(sqs: Any) -> None:
    a = sqs.create_queue(QueueName="qa")["QueueUrl"]
    b = sqs.create_queue(QueueName="qb")["QueueUrl"]
    sqs.send_message(QueueUrl=a, MessageBody="mine")
    [m] = sqs.receive_message(QueueUrl=a)["Messages"]
    with pytest.raises(sqs.exceptions.ReceiptHandleIsInvalid):
        sqs.delete_message(QueueUrl=b, ReceiptHandle=m["ReceiptHandle"])
    failed = sqs.delete_message_batch(
        QueueUrl=b, Entries=[{"Id": "x", "ReceiptHandle": m["ReceiptHandle"]}]
    )["Failed"]
    assert [f["Code"] for f in failed] == ["ReceiptHandleIsInvalid"]
    shown = sqs.get_queue_attributes(
        QueueUrl=a, AttributeNames=["ApproximateNumberOfMessagesNotVisible"]
    )
    assert shown["Attributes"]["ApproximateNumberOfMessagesNotVisible"] == "1"
    sqs.delete_message(QueueUrl=a, ReceiptHandle=m["ReceiptHandle"])


def test_eventbridge_errors_carry_no_sqs_header(aws_server: LiveServer) -> None:
    headers = {"X-Amz-Target": "AWSEvents.PutEvents", "Content-Type": "application/x-amz-json-1.1"}
    with httpx.Client(base_url=aws_server.base_url) as http:
        bad = http.post("/", content=b"{not json", headers=headers)
        sqs = {**headers, "X-Amz-Target": "AmazonSQS.ListQueues"}
        sqs_bad = http.post("/", content=b"{not json", headers=sqs)
    assert bad.status_code == 400 and "x-amzn-query-error" not in bad.headers
    assert bad.headers["content-type"].startswith("application/x-amz-json-1.1")
    assert bad.headers["x-amzn-requestid"]
    assert sqs_bad.headers["x-amzn-query-error"] == "SerializationException;Sender"


def test_redeclaring_the_app_queue_keeps_a_redrive_policy(sqs: Any, aws_app: App) -> None:
    dead = sqs.create_queue(QueueName="jobs-dead")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=dead, AttributeNames=["QueueArn"])
    redrive = f'{{"deadLetterTargetArn": "{arn["Attributes"]["QueueArn"]}", "maxReceiveCount": 9}}'
    jobs = sqs.get_queue_url(QueueName="jobs")["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=jobs, Attributes={"RedrivePolicy": redrive})
    aws_app.queue("jobs")  # as a restarted app does
    policy = aws_app.store.policy("jobs")
    assert (policy.dead_letter_target, policy.max_receives) == ("jobs-dead", 9)
