"""SQS batch operations: per-entry failures in ``Failed[]`` with HTTP 200; only an empty,
over-10 or duplicate-Id batch fails the whole request."""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from sluice.aws.errors import AwsError
from sluice.aws.sqs import md5, messages
from sluice.aws.sqs.names import Found, find_of
from sluice.aws.wire import Call, in_thread
from sluice.model import Receipt

MAX_ENTRIES = 10
ENTRY_ID = re.compile(r"[A-Za-z0-9_-]{1,80}")


def entries(params: dict[str, Any]) -> list[dict[str, Any]]:
    """The batch's entries, or the error that fails the whole request."""
    given = params.get("Entries")
    if not isinstance(given, list) or not given:
        raise AwsError(
            "EmptyBatchRequest",
            "AWS.SimpleQueueService.EmptyBatchRequest",
            "There should be at least one entry in the request.",
        )
    if len(given) > MAX_ENTRIES:
        raise AwsError(
            "TooManyEntriesInBatchRequest",
            "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
            f"Maximum number of entries per request are {MAX_ENTRIES}. You have sent {len(given)}.",
        )
    ids: set[str] = set()
    for entry in given:
        entry_id = entry.get("Id") if isinstance(entry, dict) else None
        if not isinstance(entry_id, str) or not ENTRY_ID.fullmatch(entry_id):
            raise AwsError(
                "InvalidBatchEntryId",
                "AWS.SimpleQueueService.InvalidBatchEntryId",
                "A batch entry id can only contain alphanumeric characters, hyphens "
                "and underscores. It can be at most 80 letters long.",
            )
        if entry_id in ids:
            raise AwsError(
                "BatchEntryIdsNotDistinct",
                "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
                f"Id {entry_id} repeated.",
            )
        ids.add(entry_id)
    return given


def failure(entry_id: str, error: AwsError) -> dict[str, Any]:
    return {
        "Id": entry_id,
        "SenderFault": error.status < 500,
        "Code": error.legacy_code,
        "Message": error.message,
    }


def stage_batch(call: Call, params: dict[str, Any]) -> Staged:
    """A SendMessageBatch checked and its entries prepared (the failed ones answered), ready
    to be stored; an error that fails the whole request is raised."""
    found = find_of(call, params)
    given = entries(params)
    _check_total(found, given)
    good: list[tuple[str | None, messages.Prepared]] = []
    failed: list[dict[str, Any]] = []
    for entry in given:
        try:
            prepared = messages.prepare(call, found, entry)
        except AwsError as exc:
            if found.policy.fifo and _whole(exc):
                raise  # as SQS: a FIFO entry without its ids fails the whole request
            failed.append(failure(entry["Id"], exc))
            continue
        good.append((entry["Id"], prepared))
    return Staged(call, found, good, failed)


def answer_batch(staged: Staged, ids: list[str]) -> dict[str, Any]:
    """The SendMessageBatch answer, once its messages were stored under ``ids``."""
    done = [
        {"Id": entry_id, **sent(staged, prepared, message_id)}
        for (entry_id, prepared), message_id in zip(staged.good, ids, strict=True)
    ]
    return {"Successful": done, "Failed": staged.failed}


def sent(staged: Staged, prepared: messages.Prepared, message_id: str) -> dict[str, Any]:
    """What SQS answers for one message stored under ``message_id`` (a SendMessage's answer,
    a SendMessageBatch entry's without its Id)."""
    answer: dict[str, Any] = {"MessageId": message_id, **prepared.digests}
    if staged.found.policy.fifo:
        answer["SequenceNumber"] = message_id.zfill(20)
    return answer


def _whole(error: AwsError) -> bool:
    return error.shape == "MissingParameter" or error.message == messages.NO_DEDUP_ID


def _check_total(found: Found, given: list[dict[str, Any]]) -> None:
    """AWS limits a batch's total size (bodies and attributes) like one message's."""
    limit = found.settings.max_size or found.policy.max_message_bytes
    total = 0
    for entry in given:
        body, raw = entry.get("MessageBody"), entry.get("MessageAttributes")
        if isinstance(body, str):
            try:
                total += md5.size_of(body, md5.parse_attributes(raw))
            except AwsError:
                total += len(body.encode())  # the entry fails on its own
    if total > limit:
        raise AwsError(
            "BatchRequestTooLong",
            "AWS.SimpleQueueService.BatchRequestTooLong",
            f"Batch requests cannot be longer than {limit} bytes. You have sent {total} bytes.",
        )


def _receipts(
    queue: str, given: list[dict[str, Any]], failed: list[dict[str, Any]]
) -> list[tuple[str, Receipt, dict[str, Any]]]:
    found = []
    for entry in given:
        try:
            receipt = messages.receipt_of(entry.get("ReceiptHandle"), queue)
            found.append((entry["Id"], receipt, entry))
        except AwsError as exc:
            failed.append(failure(entry["Id"], exc))
    return found


def stage_deletes(call: Call, params: dict[str, Any]) -> tuple[str, StagedDeletes]:
    """A DeleteMessageBatch's queue and receipts (the malformed entries answered)."""
    queue = find_of(call, params).policy.name
    failed: list[dict[str, Any]] = []
    found = _receipts(queue, entries(params), failed)
    return queue, StagedDeletes(
        [entry_id for entry_id, _, _ in found], [r for _, r, _ in found], failed
    )


def answer_deletes(staged: StagedDeletes, errors: list[AwsError | None]) -> dict[str, Any]:
    """The DeleteMessageBatch answer, once each receipt's delete ended with ``errors``."""
    done = []
    failed = list(staged.failed)
    for entry_id, error in zip(staged.ids, errors, strict=True):
        if error is None:
            done.append({"Id": entry_id})
        else:
            failed.append(failure(entry_id, error))
    return {"Successful": done, "Failed": failed}


class StagedDeletes(NamedTuple):
    """The receipts of a DeleteMessageBatch (by entry id) and its malformed entries."""

    ids: list[str]
    receipts: list[Receipt]
    failed: list[dict[str, Any]]


def _change_batch(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    queue = find_of(call, params).policy.name
    failed: list[dict[str, Any]] = []
    done = []
    for entry_id, receipt, entry in _receipts(queue, entries(params), failed):
        timeout = entry.get("VisibilityTimeout")
        if (
            isinstance(timeout, bool)
            or not isinstance(timeout, int)
            or not 0 <= timeout <= messages.MAX_VISIBILITY
        ):
            failed.append(
                failure(
                    entry_id,
                    AwsError(
                        "InvalidParameterValue",
                        "InvalidParameterValue",
                        f"VisibilityTimeout must be an integer from 0 to {messages.MAX_VISIBILITY}",
                    ),
                )
            )
            continue
        [error] = messages.change_visibility(call, [receipt], timeout)
        if error is None:
            done.append({"Id": entry_id})
        else:
            failed.append(failure(entry_id, error))
    return {"Successful": done, "Failed": failed}


async def change_message_visibility_batch(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    return await in_thread(_change_batch, call, params)


class Staged(NamedTuple):
    """A send checked and prepared: its queue, its good entries (id, prepared; the id is
    None for a SendMessage) and the answers of its failed ones."""

    call: Call
    found: Found
    good: list[tuple[str | None, messages.Prepared]]
    failed: list[dict[str, Any]]
