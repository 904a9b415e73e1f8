"""The SQS message life cycle through boto3 on both stores."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
import pytest

from sluice import App
from tests.web.conftest import LiveServer


def test_create_send_receive_delete(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="orders")["QueueUrl"]
    assert url.endswith("/000000000000/orders")
    assert sqs.get_queue_url(QueueName="orders")["QueueUrl"] == url
    body = 'not json: "quotes" \u00e9\U0001f600 \t\n'
    sent = sqs.send_message(
        QueueUrl=url,
        MessageBody=body,
        MessageAttributes={
            "kind": {"DataType": "String", "StringValue": "order"},
            "n": {"DataType": "Number", "StringValue": "3"},
            "raw": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
        },
    )  # botocore checks MD5OfMessageBody and MD5OfMessageAttributes itself
    got = sqs.receive_message(QueueUrl=url, AttributeNames=["All"], MessageAttributeNames=["All"])[
        "Messages"
    ]  # botocore checks the MD5 of the attributes returned too
    assert [m["Body"] for m in got] == [body]
    assert got[0]["MessageAttributes"]["raw"]["BinaryValue"] == b"\x00\x01"
    assert got[0]["MessageAttributes"]["n"] == {"DataType": "Number", "StringValue": "3"}
    assert got[0]["MessageId"] == sent["MessageId"]
    assert got[0]["Attributes"]["ApproximateReceiveCount"] == "1"
    assert sqs.receive_message(QueueUrl=url).get("Messages") is None
    sqs.delete_message(QueueUrl=url, ReceiptHandle=got[0]["ReceiptHandle"])
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "0"
    assert attributes["QueueArn"] == "arn:aws:sqs:us-east-1:000000000000:orders"


def test_known_attribute_md5() -> None:
    from sluice.aws.sqs.md5 import md5_of_attributes, md5_of_body

    assert md5_of_body("hello") == "5d41402abc4b2a76b9719d911017c592"
    # The vector of moto's SQS tests (taken from real SQS answers).
    number = {"timestamp": {"StringValue": "1493147359900", "DataType": "Number"}}
    assert md5_of_attributes(number) == "235c5c510d26fb653d073faed50ae77c"


def test_missing_queue_and_bogus_receipt(sqs: Any) -> None:
    with pytest.raises(sqs.exceptions.QueueDoesNotExist) as info:
        sqs.get_queue_url(QueueName="nope")
    assert info.value.response["Error"]["Code"] == "AWS.SimpleQueueService.NonExistentQueue"
    url = sqs.create_queue(QueueName="q1")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="x")
    [m] = sqs.receive_message(QueueUrl=url, VisibilityTimeout=1)["Messages"]
    with pytest.raises(sqs.exceptions.ReceiptHandleIsInvalid):
        sqs.delete_message(QueueUrl=url, ReceiptHandle="bogus")
    forged = m["ReceiptHandle"].split(":")[0] + ":forged"
    with pytest.raises(sqs.exceptions.ReceiptHandleIsInvalid):
        sqs.delete_message(QueueUrl=url, ReceiptHandle=forged)
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "1"


def test_batches(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="batch")["QueueUrl"]
    entries = [{"Id": f"e{i}", "MessageBody": f"m{i}"} for i in range(3)]
    entries.append({"Id": "bad", "MessageBody": "\x01"})
    sent = sqs.send_message_batch(QueueUrl=url, Entries=entries)
    assert [s["Id"] for s in sent["Successful"]] == ["e0", "e1", "e2"]
    assert [(f["Id"], f["Code"]) for f in sent["Failed"]] == [("bad", "InvalidMessageContents")]
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert sorted(m["Body"] for m in got) == ["m0", "m1", "m2"]
    handles = [{"Id": f"d{i}", "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)]
    handles.append({"Id": "x", "ReceiptHandle": "nonsense"})
    deleted = sqs.delete_message_batch(QueueUrl=url, Entries=handles)
    assert len(deleted["Successful"]) == 3
    assert deleted["Failed"][0]["Code"] == "ReceiptHandleIsInvalid"
    with pytest.raises(sqs.exceptions.TooManyEntriesInBatchRequest):
        sqs.send_message_batch(
            QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": "b"} for i in range(11)]
        )
    with pytest.raises(sqs.exceptions.BatchEntryIdsNotDistinct):
        sqs.send_message_batch(
            QueueUrl=url, Entries=[{"Id": "a", "MessageBody": "b"}, {"Id": "a", "MessageBody": "c"}]
        )
    with pytest.raises(sqs.exceptions.EmptyBatchRequest):
        sqs.send_message_batch(QueueUrl=url, Entries=[])
    assert sqs.receive_message(QueueUrl=url).get("Messages") is None  # nothing stored


def test_long_poll_returns_when_a_message_arrives(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="poll")["QueueUrl"]
    timer = threading.Timer(0.5, lambda: sqs.send_message(QueueUrl=url, MessageBody="late"))
    timer.start()
    started = time.monotonic()
    got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=20)["Messages"]
    assert [m["Body"] for m in got] == ["late"]
    assert time.monotonic() - started < 15  # generous: returns on arrival, not at 20 s


def test_interop_with_sluice_actions(sqs: Any, aws_app: App) -> None:
    url = sqs.get_queue_url(QueueName="jobs")["QueueUrl"]
    sent = sqs.send_message(QueueUrl=url, MessageBody="for the action")
    [message] = aws_app.store.get([int(sent["MessageId"])])
    assert (message.action, message.body) == ("handle", "for the action")
    aws_app.store.claim(["jobs"], 10)  # take it; a sluice-enqueued body comes through SQS:
    aws_app.enqueue("handle", {"k": [1, 2]})
    [got] = sqs.receive_message(QueueUrl=url)["Messages"]
    assert got["Body"] == '{"k":[1,2]}'


def test_bad_input_on_the_wire(aws_server: LiveServer) -> None:
    headers = {"X-Amz-Target": "AmazonSQS.ListQueues", "Content-Type": "application/x-amz-json-1.0"}
    with httpx.Client(base_url=aws_server.base_url) as http:
        bad = http.post("/", content=b"{not json", headers=headers)
        assert bad.status_code == 400
        assert bad.json()["__type"].endswith("#SerializationException")
        unknown = http.post(
            "/", content=b"{}", headers={**headers, "X-Amz-Target": "AmazonSQS.Nope"}
        )
        assert unknown.json()["__type"].endswith("#UnknownOperationException")
        query = http.post(
            "/",
            content=b"Action=ListQueues",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert "JSON" in query.json()["message"]
        send = {**headers, "X-Amz-Target": "AmazonSQS.SendMessage"}
        utf8 = http.post("/", content=b'{"QueueUrl": "jobs", "MessageBody": "\xff"}', headers=send)
        assert utf8.json()["__type"].endswith("#SerializationException")
        assert http.get("/healthz").status_code == 200  # the rest of the API still answers


def test_body_limits_and_nothing_stored(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="small", Attributes={"MaximumMessageSize": "1024"})
    queue = url["QueueUrl"]
    sqs.send_message(QueueUrl=queue, MessageBody="\u00e9" * 512)  # 1024 bytes: fits
    with pytest.raises(sqs.exceptions.ClientError) as info:
        sqs.send_message(QueueUrl=queue, MessageBody="x" * 1025)
    assert info.value.response["Error"]["Code"] == "InvalidParameterValue"
    with pytest.raises(sqs.exceptions.InvalidMessageContents):
        sqs.send_message(QueueUrl=queue, MessageBody="bad \ufffe char")
    attributes = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "1"


def test_a_standard_queue_refuses_a_deduplication_id_and_ignores_a_group(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="plain")["QueueUrl"]
    with pytest.raises(sqs.exceptions.ClientError) as refused:
        sqs.send_message(QueueUrl=url, MessageBody="a", MessageDeduplicationId="d1")
    error = refused.value.response["Error"]
    assert error["Code"] == "InvalidParameterValue"
    assert error["Message"] == (
        "Value d1 for parameter MessageDeduplicationId is invalid. Reason: The request includes "
        "a parameter that is not valid for this queue type."
    )
    batch = sqs.send_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "ok", "MessageBody": "b", "MessageGroupId": "fair"},
            {"Id": "no", "MessageBody": "c", "MessageDeduplicationId": "d2"},
        ],
    )
    assert [e["Id"] for e in batch["Successful"]] == ["ok"]
    [failed] = batch["Failed"]
    assert (failed["Id"], failed["Code"], failed["SenderFault"]) == (
        "no",
        "InvalidParameterValue",
        True,
    )
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"])
    [message] = got["Messages"]  # nothing stored of the refused ones
    assert message["Body"] == "b" and "MessageGroupId" not in message["Attributes"]
