"""Putting messages in: validation before any transaction, then dedup, ids, FIFO groups and run
totals inside one."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sluice import codec
from sluice.errors import MessageError, MessageTooLarge
from sluice.model import DEFAULT_GROUP, MAX_PRIORITY, Enqueued, NewMessage, QueuePolicy
from sluice.store import runs
from sluice.store.dedup import split_dedup
from sluice.store.driver import Pairs
from sluice.store.rows import Row

if TYPE_CHECKING:
    from sluice.store.base import Store

INFINITY = float("inf")


def prepare(store: Store, messages: Sequence[NewMessage], now: float) -> list[Row]:
    """Validate and encode messages before any transaction, so a bad one stores nothing."""
    rows = []
    policies: dict[str, QueuePolicy] = {}
    for index, message in enumerate(messages):
        policy = policies.get(message.queue)
        if policy is None:
            policy = policies[message.queue] = store.policy(message.queue)
        raw = codec.encode_bytes(message.body)
        if len(raw) > policy.max_message_bytes:
            raise MessageTooLarge(len(raw), policy.max_message_bytes, policy.name)
        delay, priority = message.delay, message.priority
        if delay < 0:
            raise MessageError(f"message {index}: delay must be >= 0, got {delay}")
        if priority.__class__ is not int or not 0 <= priority <= MAX_PRIORITY:
            check_priority(priority, index)
        visible_at = now + delay
        if message.not_before is not None:
            visible_at = max(visible_at, message.not_before)
        group = message.group
        if group is None and policy.fifo:
            group = DEFAULT_GROUP
        expires = None
        if message.dedup_id is not None:
            expires = INFINITY if policy.dedup_window is None else now + policy.dedup_window
        headers = message.headers
        # tuple.__new__: a NamedTuple's own __new__ is a Python call, a bulk load makes one per
        # message (fields in Row's order).
        text = None if headers is None else header_text(headers, index)
        row = (policy.name, message.action, raw.decode(), group, message.dedup_id, message.run_id)
        rows.append(
            tuple.__new__(Row, (*row, now, visible_at, expires, message.run_stage, priority, text))
        )
    return rows


MAX_HEADERS = 4096
"""Bytes of JSON a message's trace-context headers may take."""


def header_text(headers: object, index: int) -> str:
    """The JSON of a message's headers, or ``MessageError`` unless a small str -> str map."""
    if not isinstance(headers, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
    ):
        raise MessageError(f"message {index}: headers must map strings to strings")
    text = codec.dumps(dict(headers)).decode()
    if len(text) > MAX_HEADERS:
        raise MessageError(f"message {index}: headers take {len(text)} bytes, over {MAX_HEADERS}")
    return text


def check_priority(priority: object, index: int) -> None:
    """``MessageError`` unless ``priority`` is an integer in 0..MAX_PRIORITY."""
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise MessageError(
            f"message {index}: priority must be an integer 0..{MAX_PRIORITY} "
            f"(0 runs first), got {priority!r}"
        )
    if not 0 <= priority <= MAX_PRIORITY:
        raise MessageError(
            f"message {index}: priority must be in 0..{MAX_PRIORITY} (0 runs first), got {priority}"
        )


def insert(
    store: Store, db: Any, rows: Sequence[Row], now: float, inside: bool = False
) -> list[Enqueued]:
    """Insert prepared rows in the open transaction ``db`` (dedup, FIFO groups, run totals;
    ``inside``: spawned by the store or a handler, allowed into sealed stages)."""
    if any(row.run_id is not None for row in rows):
        rows = runs.assign_stages(store, db, rows)
    split = split_dedup(rows)
    existing = dedup_lookup(store, db, split.keys, now)
    new = split.new_rows(existing)
    if not new:
        return split.results([], [], existing)
    stored = store._driver.insert(db, rows, new, now)
    if stored.lost:
        # A concurrent producer committed the same dedup id first (the driver waited for
        # it): its message stands, and ours was not inserted.
        existing.update(dedup_lookup(store, db, stored.lost, now))
    new = stored.indexes
    headers = [
        {"message_id": id_, "headers": rows[i].headers}
        for i, id_ in zip(new, stored.ids, strict=True)
        if rows[i].headers is not None
    ]
    if headers:
        store._driver.many(db, "headers_put", headers)
    open_groups(store, db, fifo_groups(store, rows, new))
    store._driver.notify(db, sorted({rows[i].queue for i in new}))
    runs.count_new(store, db, (rows[i] for i in new if rows[i].run_id is not None), now, inside)
    return split.results(new, stored.ids, existing)


PLAIN_MAX = 64
"""Messages an autocommit store writes in one statement at most (a bigger batch is copied)."""


def plain(store: Store, rows: Sequence[Row]) -> bool:
    """Whether ``rows`` can be written by :func:`insert_plain`: an autocommit store, a few
    rows, none with a dedup id, run, FIFO group (every FIFO row has one) or headers."""
    return (
        store._driver.autocommit
        and len(rows) <= PLAIN_MAX
        and all(
            r.dedup_id is None and r.run_id is None and r.group is None and r.headers is None
            for r in rows
        )
    )


def insert_plain(store: Store, rows: Sequence[Row]) -> list[Enqueued]:
    """Store plain rows, their ids and the wake-up in one autocommit statement (on
    PostgreSQL: one round trip instead of a transaction of five)."""
    params = {
        "queues": [r.queue for r in rows],
        "actions": [r.action for r in rows],
        "bodies": [r.body for r in rows],
        "enqueued": [r.enqueued_at for r in rows],
        "visible": [r.visible_at for r in rows],
        "priorities": [r.priority for r in rows],
    }
    with store._driver.read() as db:
        found = store._sql(db, "insert_plain", params)
    return [Enqueued(int(row[0]), True) for row in found]


def dedup_lookup(
    store: Store, db: Any, keys: Sequence[tuple[str, str]], now: float
) -> dict[tuple[str, str], int]:
    """The live messages these (queue, dedup id) keys name."""
    if not keys:
        return {}
    pairs = Pairs([q for q, _ in keys], [d for _, d in keys])
    found = store._sql(db, "dedup_lookup", {"keys": pairs, "now": now})
    return {(queue, dedup_id): message_id for queue, dedup_id, message_id in found}


def fifo_groups(store: Store, rows: Sequence[Row], indexes: Sequence[int]) -> list[tuple[str, str]]:
    """The distinct (queue, group) pairs of the FIFO rows among ``indexes``, sorted."""
    queues = {rows[i].queue for i in indexes}
    fifo = {name for name in queues if store._policy_in_tx(name).fifo}
    if not fifo:
        return []
    return sorted({(rows[i].queue, rows[i].group or "") for i in indexes if rows[i].queue in fifo})


def open_groups(store: Store, db: Any, groups: Sequence[tuple[str, str]]) -> None:
    """Make sure these FIFO (queue, group) rows exist."""
    if groups:
        store._driver.lock_groups(db, exclusive=False)
        store._driver.many(db, "insert_group", [{"queue": q, "group_id": g} for q, g in groups])


def open_target_groups(store: Store, db: Any, sources: Iterable[str]) -> None:
    """Open the FIFO group rows of the messages in the FIFO dead-letter targets of these
    queues (a message dead-lettered there must be claimable by group)."""
    targets = {store.policy(q).dead_letter_target for q in sources} - {None}
    for target in sorted(t for t in targets if t is not None and store.policy(t).fifo):
        store._driver.lock_groups(db, exclusive=False)
        store._sql(db, "groups_fill", {"queue": target})
