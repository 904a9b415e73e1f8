"""Sends and deletes coalesced: the SendMessage(Batch) requests that an endpoint's event loop
holds at the same time are stored in one transaction, and its DeleteMessage(Batch) requests
of one queue acknowledged in one (see :mod:`sluice.aio_batch`). Each request is checked on
its own and gets its own answer or error; a store refusal of a whole group (a message too
large for its queue) is answered by storing each request's messages alone. A group is written
on the event loop itself when its store can start the write without waiting (SQLite with the
write lock free), else in a thread."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any, NamedTuple, TypeVar

from sluice.aio_batch import Coalescer, Outcome, Outcomes
from sluice.aws.sqs import messages
from sluice.aws.sqs.batches import (
    Staged,
    StagedDeletes,
    answer_batch,
    answer_deletes,
    sent,
    stage_batch,
    stage_deletes,
)
from sluice.aws.sqs.names import find_of
from sluice.aws.wire import Call, Operation, in_thread
from sluice.errors import SluiceError, StoreError
from sluice.store.driver import WouldWait

MAX_GROUP = 32
"""Requests stored in one transaction at most (320 messages of batches of 10)."""
T = TypeVar("T")


class _Request(NamedTuple):
    call: Call
    params: dict[str, Any]
    batch: bool


def _staged(
    requests: list[_Request], stage: Callable[[_Request], T]
) -> tuple[Outcomes, dict[int, T]]:
    """Each request checked on its own: the failed ones' outcomes (their own errors, an
    AwsError mostly) and the others' staged form, by position."""
    outcomes: Outcomes = [None] * len(requests)
    staged: dict[int, T] = {}
    for n, request in enumerate(requests):
        try:
            staged[n] = stage(request)
        except Exception as exc:
            outcomes[n] = (False, exc)
    return outcomes, staged


def _stage_send(request: _Request) -> Staged:
    if request.batch:
        return stage_batch(request.call, request.params)
    found = find_of(request.call, request.params)
    return Staged(
        request.call, found, [(None, messages.prepare(request.call, found, request.params))], []
    )


def _answer_send(request: _Request, staged: Staged, ids: list[str]) -> dict[str, Any]:
    if request.batch:
        return answer_batch(staged, ids)
    [(_, prepared)], [message_id] = staged.good, ids
    return sent(staged, prepared, message_id)


def _store_group(group: list[Staged]) -> list[list[str]]:
    """Store the group's messages in one transaction; each request's MessageIds."""
    prepared = [p for staged in group for _, p in staged.good]
    if not prepared:
        return [[] for _ in group]
    store = group[0].call.app.store
    done = store.sqs_enqueue([p.message for p in prepared], [p.attributes for p in prepared])
    ids, start = [], 0
    for staged in group:
        ids.append([str(d.id) for d in done[start : start + len(staged.good)]])
        start += len(staged.good)
    return ids


def _write_sends(requests: list[_Request]) -> Outcomes:
    outcomes, staged = _staged(requests, _stage_send)
    by_store: dict[int, list[int]] = defaultdict(list)
    for n, one in staged.items():
        by_store[id(one.call.app.store)].append(n)
    for members in by_store.values():
        try:
            ids = _store_group([staged[n] for n in members])
        except Exception as exc:
            refused = isinstance(exc, SluiceError) and not isinstance(exc, StoreError)
            for n in members:  # rolled back; a refusal is one message's: store each alone
                outcomes[n] = _send_alone(requests[n], staged[n]) if refused else (False, exc)
            continue
        for n, one_ids in zip(members, ids, strict=True):
            outcomes[n] = (True, _answer_send(requests[n], staged[n], one_ids))
    return outcomes


def _send_alone(request: _Request, staged: Staged) -> Outcome:
    try:
        ids = messages.enqueue(staged.call, [p for _, p in staged.good])
    except Exception as exc:
        return (False, exc)
    return (True, _answer_send(request, staged, ids))


def _stage_delete(request: _Request) -> tuple[str, StagedDeletes]:
    if request.batch:
        return stage_deletes(request.call, request.params)
    queue = find_of(request.call, request.params).policy.name
    receipt = messages.receipt_of(request.params.get("ReceiptHandle"), queue)
    return queue, StagedDeletes([""], [receipt], [])


def _answer_delete(request: _Request, staged: StagedDeletes, errors: list[Any]) -> Outcome:
    if request.batch:
        return (True, answer_deletes(staged, errors))
    [error] = errors
    return (False, error) if error is not None else (True, {})


def _write_deletes(requests: list[_Request]) -> Outcomes:
    outcomes, staged = _staged(requests, _stage_delete)
    by_queue: dict[tuple[int, str], list[int]] = defaultdict(list)
    for n, (queue, _) in staged.items():
        by_queue[(id(requests[n].call.app.store), queue)].append(n)
    for (_, queue), members in by_queue.items():
        receipts = [r for n in members for r in staged[n][1].receipts]
        try:
            errors = messages.delete(requests[members[0]].call, queue, receipts) if receipts else []
        except Exception as exc:
            for n in members:
                outcomes[n] = (False, exc)
            continue
        start = 0
        for n in members:
            count = len(staged[n][1].receipts)
            outcomes[n] = _answer_delete(requests[n], staged[n][1], errors[start : start + count])
            start += count
    return outcomes


def _stage_receive(request: _Request) -> messages.Receive:
    return messages.receive_params(request.call, request.params)


def _write_receives(requests: list[_Request]) -> Outcomes:
    """First claims of receives: those of one standard queue with the same visibility
    timeout share one claim, split in order (a FIFO queue's receive claims alone: its
    groups' order is per request)."""
    outcomes, staged = _staged(requests, _stage_receive)
    shared: dict[tuple[int, str, float | None], list[int]] = defaultdict(list)
    for n, one in staged.items():
        key = (id(requests[n].call.app.store), one.found.policy.name, one.lease)
        shared[key if not one.found.policy.fifo else (n, "", None)].append(n)
    for members in shared.values():
        try:
            got = _claim_for(requests, staged, members)
        except Exception as exc:
            for n in members:
                outcomes[n] = (False, exc)
            continue
        for n in members:
            outcomes[n] = _records_for(requests[n], staged[n], got)
    return outcomes


def _claim_for(
    requests: list[_Request], staged: dict[int, messages.Receive], members: list[int]
) -> list[Any]:
    first = staged[members[0]]
    total = sum(staged[n].n for n in members)
    store = requests[members[0]].call.app.store
    return store.claim([first.found.policy.name], total, first.lease, first.n)


def _records_for(request: _Request, receive: messages.Receive, got: list[Any]) -> Outcome:
    """This request's share of a shared claim (the first ``n`` left), as records."""
    mine = got[: receive.n]
    del got[: receive.n]
    try:
        return (
            True,
            receive._replace(records=messages.records_of(request.call, request.params, mine)),
        )
    except Exception as exc:
        return (False, exc)


async def _write_group(
    write: Callable[[list[_Request]], Outcomes], group: list[_Request]
) -> Outcomes:
    """``write(group)`` on the event loop (``Store.on_loop``: the group's SQL costs less than
    a thread hop), else, where SQLite's write lock is held, in a thread, where waiting for
    the store blocks nothing."""
    store = group[0].call.app.store
    if all(request.call.app.store is store for request in group):
        try:
            return await store.on_loop(write, group)
        except WouldWait:
            pass
    outcomes: Outcomes = await in_thread(write, group)
    return outcomes


_SENDS: Coalescer[_Request] = Coalescer(_write_sends, _write_group, MAX_GROUP)
_DELETES: Coalescer[_Request] = Coalescer(_write_deletes, _write_group, MAX_GROUP)
_RECEIVES: Coalescer[_Request] = Coalescer(_write_receives, _write_group, MAX_GROUP)


async def receive_message(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """ReceiveMessage: a first claim (shared with the receives of the same queue waiting at
    the same time), then, while nothing came, long-poll slices until ``WaitTimeSeconds``."""
    receive: messages.Receive = await _RECEIVES.submit(_Request(call, params, batch=False))
    name, records = receive.found.policy.name, receive.records
    deadline = time.monotonic() + receive.wait
    while not records and (left := deadline - time.monotonic()) > 0:
        records = await in_thread(
            messages.wait_and_claim, call, params, name, receive.n, receive.lease, left
        )
    return {"Messages": records} if records else {}


def _operation(coalescer: Coalescer[_Request], batch: bool) -> Operation:
    """An SQS operation whose request joins ``coalescer``'s next group."""

    async def operation(call: Call, params: dict[str, Any]) -> dict[str, Any]:
        answer: dict[str, Any] = await coalescer.submit(_Request(call, params, batch))
        return answer

    return operation


send_message = _operation(_SENDS, batch=False)
send_message_batch = _operation(_SENDS, batch=True)
delete_message = _operation(_DELETES, batch=False)
delete_message_batch = _operation(_DELETES, batch=True)
