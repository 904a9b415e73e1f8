"""AddPermission / RemovePermission through boto3 on both stores: statements of the queue's
Policy attribute, AWS's errors, and nothing changed by a refused call."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sluice import App


def _policy(sqs: Any, url: str) -> dict[str, Any] | None:
    got = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"]).get("Attributes", {})
    return json.loads(got["Policy"]) if "Policy" in got else None


def _arn(sqs: Any, url: str) -> str:
    got = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    return str(got["Attributes"]["QueueArn"])


def _refused(sqs: Any, call: Any, code: str, message: str, status: int = 400, **kw: Any) -> None:
    with pytest.raises(sqs.exceptions.ClientError) as caught:
        call(**kw)
    error = caught.value.response
    assert error["Error"]["Code"] == code, error
    assert error["Error"]["Message"].startswith(message), error
    assert error["ResponseMetadata"]["HTTPStatusCode"] == status


def test_add_and_remove_statements(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="shared.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    arn = _arn(sqs, url)
    assert _policy(sqs, url) is None
    sqs.add_permission(QueueUrl=url, Label="one", AWSAccountIds=["111111111111"], Actions=["*"])
    sqs.add_permission(
        QueueUrl=url,
        Label="two-2",
        AWSAccountIds=["222211111111", "333311111111"],
        Actions=["SendMessage", "ReceiveMessage"],
    )
    assert _policy(sqs, url) == {
        "Version": "2012-10-17",
        "Id": f"{arn}/SQSDefaultPolicy",
        "Statement": [
            {
                "Sid": "one",
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::111111111111:root"},
                "Action": "SQS:*",
                "Resource": arn,
            },
            {
                "Sid": "two-2",
                "Effect": "Allow",
                "Principal": {
                    "AWS": ["arn:aws:iam::222211111111:root", "arn:aws:iam::333311111111:root"]
                },
                "Action": ["SQS:SendMessage", "SQS:ReceiveMessage"],
                "Resource": arn,
            },
        ],
    }
    sqs.remove_permission(QueueUrl=url, Label="one")
    policy = _policy(sqs, url)
    assert policy is not None and [s["Sid"] for s in policy["Statement"]] == ["two-2"]
    sqs.remove_permission(QueueUrl=url, Label="two-2")
    assert _policy(sqs, url) is None  # no statement left: no policy, as on a new queue
    # the queue's other attributes are untouched
    got = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["FifoQueue"])["Attributes"]
    assert got == {"FifoQueue": "true"}


def test_a_policy_set_by_set_queue_attributes_gets_more_statements(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="mine")["QueueUrl"]
    own = {"Version": "2012-10-17", "Statement": {"Sid": "own", "Effect": "Deny"}}
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(own)})
    sqs.add_permission(
        QueueUrl=url, Label="more", AWSAccountIds=["111111111111"], Actions=["GetQueueUrl"]
    )
    policy = _policy(sqs, url)
    assert policy is not None
    assert [s["Sid"] for s in policy["Statement"]] == ["own", "more"]
    assert "Id" not in policy  # what the owner set stays as set


def test_add_permission_errors_change_nothing(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="errors")["QueueUrl"]
    add = sqs.add_permission
    sqs.add_permission(
        QueueUrl=url, Label="test", AWSAccountIds=["111111111111"], Actions=["ReceiveMessage"]
    )
    before = _policy(sqs, url)
    one = {"QueueUrl": url, "AWSAccountIds": ["111111111111"]}
    _refused(
        sqs,
        add,
        "InvalidParameterValue",
        "Value test for parameter Label is invalid. Reason: Already exists.",
        Label="test",
        Actions=["SendMessage"],
        **one,
    )
    _refused(
        sqs,
        add,
        "InvalidParameterValue",
        "Value SQS:RemovePermission for parameter ActionName is invalid. Reason: Only the queue "
        "owner is allowed to invoke this action.",
        Label="t2",
        Actions=["RemovePermission"],
        **one,
    )
    _refused(
        sqs,
        add,
        "InvalidParameterValue",
        "Value SQS:Fly for parameter ActionName is invalid. Reason: Please refer to the "
        "appropriate WSDL",
        Label="t2",
        Actions=["Fly"],
        **one,
    )
    _refused(
        sqs,
        add,
        "MissingParameter",
        "The request must contain the parameter Actions.",
        Label="t2",
        Actions=[],
        **one,
    )
    _refused(
        sqs,
        add,
        "InvalidParameterValue",
        "Value [] for parameter PrincipalId is invalid. Reason: Unable to verify.",
        QueueUrl=url,
        Label="t2",
        AWSAccountIds=[],
        Actions=["SendMessage"],
    )
    _refused(
        sqs,
        add,
        "InvalidParameterValue",
        "Value 42 for parameter PrincipalId is invalid.",
        QueueUrl=url,
        Label="t2",
        AWSAccountIds=["42"],
        Actions=["SendMessage"],
    )
    _refused(
        sqs,
        add,
        "InvalidParameterValue",
        "Value a b for parameter Label is invalid.",
        Label="a b",
        Actions=["SendMessage"],
        **one,
    )
    eight = sorted(
        {"ChangeMessageVisibility", "DeleteMessage", "GetQueueAttributes", "GetQueueUrl"}
        | {"ListDeadLetterSourceQueues", "PurgeQueue", "ReceiveMessage", "SendMessage"}
    )
    _refused(
        sqs,
        add,
        "OverLimit",
        "8 Actions were found, maximum allowed is 7.",
        403,
        Label="t2",
        Actions=eight,
        **one,
    )
    assert _policy(sqs, url) == before
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        add(**one | {"QueueUrl": url + "-nope"}, Label="t3", Actions=["SendMessage"])


def test_twenty_statements_at_most(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="full")["QueueUrl"]
    for i in range(20):
        sqs.add_permission(
            QueueUrl=url, Label=f"s{i}", AWSAccountIds=["111111111111"], Actions=["SendMessage"]
        )
    _refused(
        sqs,
        sqs.add_permission,
        "OverLimit",
        "the queue's policy has 20 statements",
        403,
        QueueUrl=url,
        Label="s20",
        AWSAccountIds=["111111111111"],
        Actions=["SendMessage"],
    )
    policy = _policy(sqs, url)
    assert policy is not None and len(policy["Statement"]) == 20


def test_remove_permission_errors(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="none")["QueueUrl"]
    _refused(
        sqs,
        sqs.remove_permission,
        "InvalidParameterValue",
        "Value test for parameter Label is invalid. Reason: can't find label on existing policy.",
        QueueUrl=url,
        Label="test",
    )
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        sqs.remove_permission(QueueUrl=url + "-nope", Label="test")


def test_a_queue_declared_by_sluice_keeps_its_attributes(sqs: Any, aws_app: App) -> None:
    url = sqs.get_queue_url(QueueName="jobs")["QueueUrl"]
    wanted = ["MaximumMessageSize", "VisibilityTimeout"]
    before = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=wanted)["Attributes"]
    sqs.add_permission(
        QueueUrl=url, Label="l", AWSAccountIds=["111111111111"], Actions=["SendMessage"]
    )
    after = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=wanted)["Attributes"]
    assert after == before
    policy = _policy(sqs, url)
    assert policy is not None and policy["Statement"][0]["Sid"] == "l"
    assert aws_app.store.policy("jobs").max_message_bytes == int(before["MaximumMessageSize"])
