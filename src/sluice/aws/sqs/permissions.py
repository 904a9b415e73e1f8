"""SQS AddPermission / RemovePermission: edits of the queue's ``Policy`` attribute, as AWS
makes them. A permission is one statement of the policy (``Sid`` = its label) allowing
``SQS:<action>`` to the root principals of AWS accounts. The policy is kept, not enforced:
sluice authorizes AWS requests by its own keys and scopes (docs/aws.md)."""

from __future__ import annotations

import re
from typing import Any

from sluice import codec
from sluice.aws.errors import AwsError, invalid_parameter, missing_parameter
from sluice.aws.sqs.names import find_of, queue_arn
from sluice.aws.wire import Call, threaded

LABEL = re.compile(r"[A-Za-z0-9_-]{1,80}")
ACCOUNT_ID = re.compile(r"[0-9]{12}")
SHARED = frozenset(
    {
        "*",
        "ChangeMessageVisibility",
        "DeleteMessage",
        "GetQueueAttributes",
        "GetQueueUrl",
        "ListDeadLetterSourceQueues",
        "PurgeQueue",
        "ReceiveMessage",
        "SendMessage",
    }
)
"""The actions a queue's owner may share (the batch calls come with their single ones)."""
OWNER_ONLY = frozenset(
    {
        "AddPermission",
        "CancelMessageMoveTask",
        "CreateQueue",
        "DeleteQueue",
        "ListMessageMoveTasks",
        "ListQueueTags",
        "ListQueues",
        "RemovePermission",
        "SetQueueAttributes",
        "StartMessageMoveTask",
        "TagQueue",
        "UntagQueue",
    }
)
MAX_ACTIONS = 7
MAX_STATEMENTS = 20
MAX_PRINCIPALS = 50
MAX_POLICY_BYTES = 8192
"""AWS's quotas of a queue policy (Amazon SQS policy quotas)."""


def over_limit(message: str) -> AwsError:
    return AwsError("OverLimit", "OverLimit", message, status=403)


def _label(params: dict[str, Any]) -> str:
    label = params.get("Label")
    if label is None:
        raise missing_parameter("Label")
    if not isinstance(label, str) or not LABEL.fullmatch(label):
        raise invalid_parameter(
            f"Value {str(label)[:100]} for parameter Label is invalid. Reason: a label has 1 to "
            "80 characters, each a letter, a digit, a hyphen (-) or an underscore (_)."
        )
    return label


def _accounts(params: dict[str, Any]) -> list[str]:
    accounts = params.get("AWSAccountIds")
    if not isinstance(accounts, list) or not accounts:
        raise invalid_parameter(
            "Value [] for parameter PrincipalId is invalid. Reason: Unable to verify."
        )
    for account in accounts:
        if not isinstance(account, str) or not ACCOUNT_ID.fullmatch(account):
            raise invalid_parameter(
                f"Value {str(account)[:100]} for parameter PrincipalId is invalid. Reason: "
                "Unable to verify (an AWS account id is 12 digits)."
            )
    if len(accounts) > MAX_PRINCIPALS:
        raise over_limit(
            f"{len(accounts)} principals were found, maximum allowed is {MAX_PRINCIPALS}."
        )
    return accounts


def _actions(params: dict[str, Any]) -> list[str]:
    actions = params.get("Actions")
    if not isinstance(actions, list) or not actions:
        raise missing_parameter("Actions")
    if len(actions) > MAX_ACTIONS:
        raise over_limit(f"{len(actions)} Actions were found, maximum allowed is {MAX_ACTIONS}.")
    for action in actions:
        if action in SHARED:
            continue
        why = (
            "Only the queue owner is allowed to invoke this action."
            if action in OWNER_ONLY
            else "Please refer to the appropriate WSDL for a list of valid actions "
            f"({', '.join(sorted(SHARED))})."
        )
        raise invalid_parameter(
            f"Value SQS:{str(action)[:100]} for parameter ActionName is invalid. Reason: {why}"
        )
    return actions


def _one_or_many(values: list[str]) -> str | list[str]:
    return values[0] if len(values) == 1 else values


def _statements(policy: dict[str, Any]) -> list[Any]:
    statements = policy.get("Statement", [])
    return [statements] if isinstance(statements, dict) else list(statements)


def _policy(attributes: dict[str, str], arn: str) -> dict[str, Any]:
    """The queue's policy document (a new one if it has none)."""
    text = attributes.get("Policy")
    if not text:
        return {"Version": "2012-10-17", "Id": f"{arn}/SQSDefaultPolicy", "Statement": []}
    try:
        policy = codec.loads(text)
    except ValueError:
        policy = None
    if not isinstance(policy, dict) or not isinstance(policy.get("Statement", []), list | dict):
        raise AwsError(
            "InvalidAttributeValue",
            "InvalidAttributeValue",
            "the queue's Policy attribute is not a policy document (a JSON object with a "
            "Statement list): set a valid one with SetQueueAttributes, or an empty one to "
            "start afresh",
        )
    return policy


def _with_policy(attributes: dict[str, str], policy: dict[str, Any]) -> dict[str, str]:
    if not _statements(policy):
        return {k: v for k, v in attributes.items() if k != "Policy"}
    text = codec.dumps(policy).decode()
    if len(text.encode()) > MAX_POLICY_BYTES:
        raise over_limit(f"the queue's policy would be above {MAX_POLICY_BYTES} bytes")
    return attributes | {"Policy": text}


def _add_permission(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    policy_of_queue = find_of(call, params).policy
    label = _label(params)
    actions = _actions(params)
    accounts = _accounts(params)
    arn = queue_arn(call, policy_of_queue.name)
    statement = {
        "Sid": label,
        "Effect": "Allow",
        "Principal": {"AWS": _one_or_many([f"arn:aws:iam::{a}:root" for a in accounts])},
        "Action": _one_or_many([f"SQS:{a}" for a in actions]),
        "Resource": arn,
    }

    def edit(attributes: dict[str, str]) -> dict[str, str]:
        policy = _policy(attributes, arn)
        statements = _statements(policy)
        if any(isinstance(s, dict) and s.get("Sid") == label for s in statements):
            raise invalid_parameter(
                f"Value {label} for parameter Label is invalid. Reason: Already exists."
            )
        if len(statements) >= MAX_STATEMENTS:
            raise over_limit(
                f"the queue's policy has {len(statements)} statements, the most allowed: "
                "remove one (RemovePermission) first"
            )
        return _with_policy(attributes, policy | {"Statement": [*statements, statement]})

    first = {"MaximumMessageSize": str(policy_of_queue.max_message_bytes)}
    call.app.store.sqs_edit_attributes(policy_of_queue.name, edit, first)
    return {}


def _remove_permission(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    policy_of_queue = find_of(call, params).policy
    label = _label(params)
    arn = queue_arn(call, policy_of_queue.name)

    def edit(attributes: dict[str, str]) -> dict[str, str]:
        policy = _policy(attributes, arn)
        statements = _statements(policy)
        kept = [s for s in statements if not (isinstance(s, dict) and s.get("Sid") == label)]
        if len(kept) == len(statements):
            raise invalid_parameter(
                f"Value {label} for parameter Label is invalid. Reason: can't find label on "
                "existing policy."
            )
        return _with_policy(attributes, policy | {"Statement": kept})

    first = {"MaximumMessageSize": str(policy_of_queue.max_message_bytes)}
    call.app.store.sqs_edit_attributes(policy_of_queue.name, edit, first)
    return {}


add_permission = threaded(_add_permission)
remove_permission = threaded(_remove_permission)
