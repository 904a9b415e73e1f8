"""SQS queue operations and FIFO queues through boto3 on both stores."""

from __future__ import annotations

from typing import Any

import pytest


def test_create_is_idempotent_and_conflicts_are_refused(sqs: Any) -> None:
    first = sqs.create_queue(QueueName="idem", Attributes={"VisibilityTimeout": "10"})
    again = sqs.create_queue(QueueName="idem", Attributes={"VisibilityTimeout": "10"})
    assert first["QueueUrl"] == again["QueueUrl"]
    with pytest.raises(sqs.exceptions.QueueNameExists) as info:
        sqs.create_queue(QueueName="idem", Attributes={"VisibilityTimeout": "11"})
    assert info.value.response["Error"]["Code"] == "QueueAlreadyExists"
    with pytest.raises(sqs.exceptions.InvalidAttributeName):
        sqs.create_queue(QueueName="other", Attributes={"Nope": "1"})


def test_list_tags_purge_delete(sqs: Any) -> None:
    for name in ("lst-a", "lst-b", "lst-c"):
        sqs.create_queue(QueueName=name, tags={"team": name})
    page = sqs.list_queues(QueueNamePrefix="lst-", MaxResults=2)
    assert [u.rsplit("/", 1)[1] for u in page["QueueUrls"]] == ["lst-a", "lst-b"]
    rest = sqs.list_queues(QueueNamePrefix="lst-", MaxResults=2, NextToken=page["NextToken"])
    assert [u.rsplit("/", 1)[1] for u in rest["QueueUrls"]] == ["lst-c"]
    url = sqs.get_queue_url(QueueName="lst-a")["QueueUrl"]
    sqs.tag_queue(QueueUrl=url, Tags={"env": "test"})
    sqs.untag_queue(QueueUrl=url, TagKeys=["team"])
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"env": "test"}
    sqs.send_message(QueueUrl=url, MessageBody="x")
    sqs.purge_queue(QueueUrl=url)
    assert sqs.receive_message(QueueUrl=url).get("Messages") is None
    sqs.delete_queue(QueueUrl=url)
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        sqs.get_queue_url(QueueName="lst-a")


def test_fifo_groups_dedup_and_sequence(sqs: Any) -> None:
    plain = sqs.create_queue(QueueName="p.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    with pytest.raises(sqs.exceptions.ClientError) as info:
        sqs.send_message(QueueUrl=plain, MessageBody="no dedup id", MessageGroupId="g")
    assert "ContentBasedDeduplication" in info.value.response["Error"]["Message"]
    fifo = {"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    url = sqs.create_queue(QueueName="f.fifo", Attributes=fifo)["QueueUrl"]
    with pytest.raises(sqs.exceptions.ClientError):
        sqs.send_message(QueueUrl=url, MessageBody="no group")
    sent = [
        sqs.send_message(QueueUrl=url, MessageBody=f"m{i}", MessageGroupId="g") for i in range(3)
    ]
    duplicate = sqs.send_message(QueueUrl=url, MessageBody="m0", MessageGroupId="g")
    assert duplicate["MessageId"] == sent[0]["MessageId"]
    numbers = [int(s["SequenceNumber"]) for s in sent]
    assert numbers == sorted(set(numbers))
    sqs.send_message(QueueUrl=url, MessageBody="other", MessageGroupId="h")
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"])
    bodies = [m["Body"] for m in got["Messages"]]
    assert bodies == ["m0", "m1", "m2", "other"]  # a group's messages in order, in one batch
    assert got["Messages"][0]["Attributes"]["MessageGroupId"] == "g"
    assert len({m["ReceiptHandle"] for m in got["Messages"]}) == 4
    sqs.send_message(QueueUrl=url, MessageBody="m3", MessageGroupId="g")
    sqs.delete_message(QueueUrl=url, ReceiptHandle=got["Messages"][0]["ReceiptHandle"])
    # m1 and m2 are still in flight: the group stays blocked, m3 waits
    assert sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages") is None


def test_redrive_policy_names_any_queue(sqs: Any) -> None:
    dead_url = sqs.create_queue(QueueName="dead")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=dead_url, AttributeNames=["QueueArn"])
    target = arn["Attributes"]["QueueArn"]
    redrive = f'{{"deadLetterTargetArn": "{target}", "maxReceiveCount": "1"}}'
    url = sqs.create_queue(QueueName="src", Attributes={"RedrivePolicy": redrive})["QueueUrl"]
    shown = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"])
    assert '"maxReceiveCount":1' in shown["Attributes"]["RedrivePolicy"]
    sources = sqs.list_dead_letter_source_queues(QueueUrl=dead_url)["queueUrls"]
    assert [u.rsplit("/", 1)[1] for u in sources] == ["src"]
    sqs.send_message(QueueUrl=url, MessageBody="poison")
    [m] = sqs.receive_message(QueueUrl=url)["Messages"]
    sqs.change_message_visibility(
        QueueUrl=url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0
    )
    assert sqs.receive_message(QueueUrl=url).get("Messages") is None  # out of receives
    [moved] = sqs.receive_message(QueueUrl=dead_url)["Messages"]
    assert moved["Body"] == "poison"
    missing = redrive.replace(":dead", ":nowhere")
    with pytest.raises(sqs.exceptions.ClientError) as info:
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"RedrivePolicy": missing})
    assert info.value.response["Error"]["Code"] == "InvalidParameterValue"
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"RedrivePolicy": ""})
    assert sqs.list_dead_letter_source_queues(QueueUrl=dead_url)["queueUrls"] == []


def test_queue_delay_is_the_default_of_its_messages(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="slow", Attributes={"DelaySeconds": "600"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="later")
    sqs.send_message(QueueUrl=url, MessageBody="now", DelaySeconds=0)
    names = ["ApproximateNumberOfMessagesDelayed", "ApproximateNumberOfMessages"]
    shown = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    assert shown == {names[0]: "1", names[1]: "1"}
