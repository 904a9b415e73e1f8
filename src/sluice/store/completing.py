"""Settling leased messages: acks (with children and once keys), retries, dead letters, and
the fenced lease changes (extend, release)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sluice.model import Outcome, Receipt
from sluice.store import completed, runs
from sluice.store.driver import Pairs
from sluice.store.inserting import open_target_groups
from sluice.store.outcomes import DeadLetter, outcome_rows, plan_outcomes
from sluice.store.rows import OutcomeRow, Row, RunRef

if TYPE_CHECKING:
    from sluice.store.base import Store


def complete(store: Store, outcomes: Sequence[Outcome], tx: Any = None) -> list[Receipt]:
    """Apply ack / retry / dead-letter outcomes in one transaction (``tx``'s if given);
    return the stale receipts."""
    if not outcomes:
        return []
    now = store.clock()
    driver = store._driver
    if store._policies_read_at is None:  # claims keep store._kept fresh; a first call reads
        store._policy_map()
    if tx is None and _all_plain_acks(outcomes) and _plain_path(store, outcomes):
        outcomes = ack_plain(store, outcomes, now)
        if not outcomes:
            return []
    # validated before the transaction: a bad child stores nothing
    children = [store._prepare(o.children, now) if o.children else [] for o in outcomes]
    stale: list[Receipt] = []
    with driver.joined(tx) if tx is not None else driver.write() as db:
        tallies = runs.Tallies()
        spawned = _ack(store, db, outcomes, children, tallies, stale, now)
        others = [o for o in outcomes if o.kind != "ack"]
        if others:
            stale.extend(_retry_or_dead(store, db, others, tallies, now))
        if spawned:  # before the parents' counts, so a stage cannot finish under them
            store._insert(db, spawned, now, inside=True)
        if tallies:
            runs.apply(store, db, tallies, now)
    return stale


def _all_plain_acks(outcomes: Sequence[Outcome]) -> bool:
    return all(o.kind == "ack" and not (o.children or o.once or o.units) for o in outcomes)


def _plain_path(store: Store, acks: Sequence[Outcome]) -> bool:
    """Whether plain acks take the one-statement path: always where statements autocommit;
    on SQLite unless completion records are kept (they are written in the general path's
    transaction), so the fleet's write lock is held for the delete alone."""
    return store._driver.autocommit or not keeping(store._kept, acks)


def keeping(kept: Mapping[str, float], acks: Sequence[Outcome]) -> bool:
    """Whether any of these acks may be on a queue that keeps completion records."""
    return bool(kept) and not all(o.queue is not None and o.queue not in kept for o in acks)


def _receipts(outcomes: Sequence[Outcome]) -> Pairs:
    return Pairs([o.receipt.message_id for o in outcomes], [o.receipt.token for o in outcomes])


def ack_plain(
    store: Store, acks: Sequence[Outcome], now: float, query: str = "ack_fenced_plain"
) -> list[Outcome]:
    """Ack plain messages with one autocommit statement (``query``, which may delete more
    with them; ``ack_fenced_plain_kept``, which writes the completion records too, when some
    may be on a kept queue); return the acks left for the general path: messages of runs
    (their counters move in the same transaction) and stale receipts."""
    params: dict[str, Any] = {"receipts": _receipts(acks)}
    if keeping(store._kept, acks):
        query = "ack_fenced_plain_kept"
        texts = [completed.result_json(o.result) for o in acks]
        params.update(
            now=now,
            ids=[o.receipt.message_id for o in acks],
            results=[text for text, _ in texts],
            notes=[note for _, note in texts],
        )
    with store._driver.auto() as db:
        rows = store._sql(db, query, params)
    deleted = {row[0] for row in rows}
    rest = []
    for outcome in acks:
        if outcome.receipt.message_id in deleted:
            deleted.discard(outcome.receipt.message_id)
        else:  # a message of a run, or stale (a second outcome for one message is)
            rest.append(outcome)
    return rest


def _ack(
    store: Store,
    db: Any,
    outcomes: Sequence[Outcome],
    children: Sequence[Sequence[Row]],
    tallies: runs.Tallies,
    stale: list[Receipt],
    now: float,
) -> list[Row]:
    """Delete the fenced acked messages, record their once keys; return their children."""
    acks = [o for o in outcomes if o.kind == "ack"]
    if not acks:
        return []
    if store._kept:
        found = store._sql(db, "ack_fenced_kept", {"receipts": _receipts(acks)})
        gone = [completed.Finished(r[0], r[3], r[4], r[1], r[5], r[6]) for r in found]
        results = {o.receipt.message_id: o.result for o in acks}
        completed.record(store, db, gone, "succeeded", now, results)
    else:
        found = store._sql(db, "ack_fenced", {"receipts": _receipts(acks)})
    deleted = {row[0]: (row[1], row[2]) for row in found}
    spawned: list[Row] = []
    once: list[dict[str, Any]] = []
    for index, outcome in enumerate(outcomes):
        if outcome.kind != "ack":
            continue
        message_id = outcome.receipt.message_id
        run = deleted.pop(message_id, None)
        if run is None:
            stale.append(outcome.receipt)
            continue
        tallies.add(*run, succeeded=1, units=outcome.units)
        spawned.extend(runs.inherit(children[index], *run))
        once.extend({"key": key, "message_id": message_id, "at": now} for key in outcome.once)
    store._driver.many(db, "once_record", once)
    return spawned


def _retry_or_dead(
    store: Store, db: Any, others: Sequence[Outcome], tallies: runs.Tallies, now: float
) -> list[Receipt]:
    """Write the retries and dead letters of fenced outcomes; return the stale receipts."""
    ids = [o.receipt.message_id for o in others]
    found = [OutcomeRow(*row) for row in store._sql(db, "outcome_rows", (ids,))]
    plan = plan_outcomes(others, outcome_rows(found), store._policy_in_tx, now)
    run_of = {row.id: RunRef(row.run_id, row.run_stage) for row in found}
    for retry in plan.retries:
        tallies.add(*run_of[retry.id], failed=1)
    for dead in plan.dead:
        tallies.add(*run_of[dead.id], dead=1)
    json = store._driver.json
    retries = [
        {"id": r.id, "visible_at": r.visible_at, "error": r.error, "attempts": json(r.attempts)}
        for r in plan.retries
    ]
    store._driver.many(db, "retry", retries)
    write_dead(store, db, plan.dead, now, {row.queue for row in found})
    if plan.dead and store._kept:
        queue_of = {row.id: row.queue for row in found}
        completed.wake(store, db, [queue_of[d.id] for d in plan.dead])
    return plan.stale


def write_dead(
    store: Store, db: Any, dead: Sequence[DeadLetter], now: float, sources: Iterable[str] = ()
) -> None:
    """Move messages to their DLQs with their reasons, errors and attempt histories (from
    queues among ``sources``: a FIFO dead-letter target's groups are opened)."""
    json = store._driver.json
    letters = [
        {"id": d.id, "reason": d.reason, "error": d.error, "attempts": json(d.attempts)}
        for d in dead
    ]
    store._driver.many(db, "dead_letter", letters, now=now)
    if dead:
        open_target_groups(store, db, sources)


def fenced(
    store: Store, query: str, receipts: Sequence[Receipt], visible_at: float, notify: bool = False
) -> list[Receipt]:
    """Run a lease change (``extend``, ``release``) on the receipts that still hold their
    lease; return the stale ones. ``notify``: the messages become visible, wake waiters."""
    if not receipts:
        return []
    driver = store._driver
    params = {
        "visible_at": visible_at,
        "receipts": Pairs([r.message_id for r in receipts], [r.token for r in receipts]),
    }
    with driver.write() if notify else driver.auto() as db:
        rows = store._sql(db, query, params)
        if notify and rows:
            driver.notify(db, sorted({row[1] for row in rows}))
    fresh = {row[0] for row in rows}
    stale = []
    for receipt in receipts:
        if receipt.message_id in fresh:
            fresh.discard(receipt.message_id)
        else:
            stale.append(receipt)
    return stale
