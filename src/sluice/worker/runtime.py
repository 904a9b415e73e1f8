"""The worker: claims batches, runs handlers under an asyncio loop, completes outcomes.

One asyncio loop per worker process. Store calls run in a thread pool; sync handlers run back
to back in runner loops on handler threads (``calls.py``); async handlers run on the loop.
Claims and acks are batched whatever the handler's batch size: the worker prefetches up to two
rounds of work (its handler slots x the batch size, twice), and a completer writes the outcomes
gathered while its previous write was under way in one store transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import signal
import socket
import threading
import time
import traceback
import uuid
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import orjson

from sluice.blobs import reference
from sluice.errors import Backoff, Discard, MessageError, Retry, StoreUnavailable
from sluice.model import ActionStats, Message, Outcome, OutcomeKind, Partial, Receipt
from sluice.observe.logs import Entries
from sluice.worker.actions import Action, Settled
from sluice.worker.calls import Call, SyncCalls
from sluice.worker.context import Context, OnceReservations
from sluice.worker.retry import backoff
from sluice.worker.skew import ClockSkewCheck

if TYPE_CHECKING:
    from sluice.app import App

FLUSH_AT = 500
"""Outcomes written per store transaction at most."""
MAX_PREFETCH = 1000
"""Messages claimed but not started, per worker, at most."""
WATCH_EVERY = 0.01
"""Seconds between checks of running sync calls (timeouts, runners to add)."""
MAINTENANCE_EVERY = 30.0
"""Seconds between housekeeping passes (Store.expire) of each worker."""
STATS_EVERY = 2.0
"""Seconds between reports of a worker's per-action counters (for metrics)."""
LIMITED_WAIT_MIN = 0.005
LIMITED_WAIT_MAX = 0.2
"""Seconds a worker waits (doubling from the minimum) before claiming again when work is
visible but global limits let it claim none."""


class Worker:
    """Runs the handlers of ``app``'s actions for messages of ``queues`` (default: the queues
    of every registered action). ``concurrency`` handler calls run at once in this process.
    On :meth:`stop`, running calls get ``grace`` seconds to finish; the messages of those that
    do not are given back at once (their handler threads are abandoned)."""

    def __init__(
        self,
        app: App,
        *,
        queues: Sequence[str] | None = None,
        concurrency: int = 10,
        stop_when_idle: bool = False,
        poll: float = 1.0,
        grace: float = 30.0,
    ) -> None:
        self.app = app
        self.store = app.store
        self.queues = list(queues or sorted({a.policy.queue for a in app.actions.values()}))
        if not self.queues:
            raise ValueError("the worker has no queue to drain: register an action first")
        self.concurrency = concurrency
        self.stop_when_idle = stop_when_idle
        self.poll = poll
        if grace < 0:
            raise ValueError(f"grace must be 0 seconds or more, got {grace!r}")
        self.grace = grace
        self.counts: Counter[str] = Counter()
        self.log = logging.getLogger("sluice.worker")
        self._stop = threading.Event()
        self._held: dict[int, Receipt] = {}  # claimed, not yet completed: heartbeat these
        self._buffers: dict[str, list[Message]] = {}
        self._buffered_since: dict[str, float] = {}
        self._running = 0  # calls dispatched and not settled
        self._outcomes: list[tuple[Outcome, _Report]] = []  # for the completer to write
        self._once = OnceReservations()
        self._signals: dict[str, list[int]] = {}  # action -> [backoffs, successes] to report
        self._stats: dict[str, ActionStats] = {}  # running totals, reported every STATS_EVERY
        self._stats_at = time.monotonic()
        self.worker_id = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._to_settle: dict[Receipt, tuple[Action, Message]] = {}  # outcomes awaiting a hook
        self._lease = min(self.store.policy(q).visibility_timeout for q in self.queues)
        self.clock_check = ClockSkewCheck(self.store, self.log)
        self.clock_check.check()
        self._max_batch = max(
            [a.policy.batch_size for a in app.actions.values() if a.policy.queue in self.queues]
            or [1]
        )
        # Two rounds of work, so claims stay large when handler slots free up one at a time.
        self._capacity = min(MAX_PREFETCH, 2 * concurrency * self._max_batch)
        self._sync: SyncCalls | None = None

    # -- control ----------------------------------------------------------------------------
    def run(self) -> None:
        """Run until :meth:`stop` (or SIGTERM / Ctrl-C in the main thread), or until idle."""
        asyncio.run(self._main())

    def stop(self) -> None:
        """Stop claiming and starting calls, finish running calls within the grace period,
        release the rest."""
        self._stop.set()
        if self._sync is not None:
            self._sync.close()

    # -- the loop ---------------------------------------------------------------------------
    async def _main(self) -> None:
        loop = asyncio.get_running_loop()

        # Handlers get threads of their own: a hung handler past its timeout must never starve
        # the store calls (claims, acks, heartbeats) that run in the default executor.
        def notify() -> None:
            loop.call_soon_threadsafe(self._collect)

        self._sync = SyncCalls(self._run_sync, notify, self.concurrency)
        if self._stop.is_set():
            self._sync.close()
        loop.set_default_executor(ThreadPoolExecutor(4, "sluice-store"))
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, self.stop)
        self._wake = asyncio.Event()  # a slot freed, or a call settled
        self._limited = False  # the last empty claim was followed by "work is visible"
        self._limited_wait = LIMITED_WAIT_MIN
        self._pending = asyncio.Event()  # outcomes wait for the completer
        self._flushing = asyncio.Lock()
        self._closing = False
        self._tasks: set[asyncio.Task[None]] = set()
        completer = asyncio.create_task(self._complete_loop())
        background = [
            asyncio.create_task(self._heartbeat_loop()),
            asyncio.create_task(self._maintenance_loop()),
            asyncio.create_task(self._watch_loop()),
        ]
        for task in (completer, *background):
            task.add_done_callback(self._background_died)
        try:
            try:
                await self._claim_loop()
            finally:
                await self._shutdown()
        finally:
            for task in background:
                task.cancel()
            # Never cancel the completer: a write it has queued on the store's threads would
            # be dropped, leaving acked messages leased. Let it finish, then write the rest.
            self._closing = True
            self._pending.set()
            await asyncio.wait([completer])
            await self._flush()
            self._sync.shutdown()

    def _background_died(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            self.log.error("worker service failed, stopping", exc_info=task.exception())
            self.stop()

    async def _claim_loop(self) -> None:
        least = max(1, self._capacity // 4)
        while not self._stop.is_set():
            self._dispatch_ready()
            buffered = sum(len(b) for b in self._buffers.values())
            want = self._capacity - buffered - self._running * self._max_batch
            if want >= least:
                claimed = await self._store_call(self.store.claim, self.queues, want)
                for message in claimed:  # taken even if stop began: shutdown releases them
                    self._take(message)
                if claimed:
                    self._limited, self._limited_wait = False, LIMITED_WAIT_MIN
                    continue
                if self.stop_when_idle and await self._idle():
                    return
                if self._limited:
                    # Work is visible but the claim got none: global limits are full. Claiming
                    # again at once would spin (on SQLite, on the write lock): wait for one of
                    # our calls to settle, or a short, growing while for other workers' calls.
                    self._wake.clear()
                    await self._wait_event(self._wake, self._limited_wait)
                    self._limited_wait = min(self._limited_wait * 2, LIMITED_WAIT_MAX)
                self._limited = await self._store_call(
                    self.store.wait_for_work, self.queues, self._wait_time()
                )
                if not self._limited:
                    self._limited_wait = LIMITED_WAIT_MIN
            else:  # enough work on hand: wait for a slot or a batch window
                self._wake.clear()
                await self._wait_event(self._wake, self._wait_time())

    def _take(self, message: Message) -> None:
        assert message.receipt is not None
        self._held[message.id] = message.receipt
        action = self.app.actions.get(message.action)
        if action is None:
            reason = f"unknown action {message.action!r}: no worker registers it"
            outcome = Outcome.dead(message.receipt, reason)
            self._finish([outcome], action=message.action, batch=[message])
            return
        key = reference(message.body) if self.app.blobs is not None else None
        if key is not None and self.app.blobs is not None:  # a claim check: fetch the body
            try:
                body = orjson.loads(self.app.blobs.get(key))
            except MessageError as exc:
                outcome = Outcome.dead(message.receipt, str(exc))
                self._finish([outcome], action=message.action, batch=[message])
                return
            message = dataclasses.replace(message, body=body)
        buffer = self._buffers.setdefault(action.name, [])
        if not buffer:
            self._buffered_since[action.name] = time.monotonic()
        buffer.append(message)

    def _dispatch_ready(self) -> None:
        """Start calls for full batches, and for partial ones whose window has passed; none
        once stop has begun (shutdown releases what is left)."""
        if self._stop.is_set():
            return
        now = time.monotonic()
        sync: list[Call] = []
        for name, buffer in self._buffers.items():
            action = self.app.actions[name]
            while buffer and self._running < self.concurrency:
                batch = self._cut(action, buffer)
                window_over = now - self._buffered_since[name] >= action.policy.batch_window
                if len(batch) < action.policy.batch_size and not window_over:
                    break
                del buffer[: len(batch)]
                self._buffered_since[name] = now
                self._running += 1
                ctx = Context(self.app, batch, self.log, action.is_async, reservations=self._once)
                call = Call(action, batch, ctx, now)
                if action.is_async:
                    task = asyncio.create_task(self._call_async(call))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
                else:
                    sync.append(call)
        if sync:
            assert self._sync is not None
            self._sync.submit(sync)

    @staticmethod
    def _cut(action: Action, buffer: list[Message]) -> list[Message]:
        """The next batch: up to batch_size messages and batch_bytes of bodies (at least one)."""
        limit = action.policy.batch_bytes
        if limit is None:
            return buffer[: action.policy.batch_size]
        batch: list[Message] = []
        size = 0
        for message in buffer[: action.policy.batch_size]:
            body = len(orjson.dumps(message.body))
            if batch and size + body > limit:
                break
            batch.append(message)
            size += body
        return batch

    def _wait_time(self) -> float:
        """Until the earliest partial batch's window closes, at most the poll interval."""
        wait = self.poll
        now = time.monotonic()
        for name, buffer in self._buffers.items():
            policy = self.app.actions[name].policy
            if buffer and len(buffer) < policy.batch_size:
                wait = min(wait, max(0.0, self._buffered_since[name] + policy.batch_window - now))
        return wait

    async def _idle(self) -> bool:
        if self._running or any(self._buffers.values()) or self._held:
            return False
        await self._flush()
        stats = await self._store_call(self.store.stats, self.queues)
        return all(s.depth == 0 and s.in_flight == 0 and s.delayed == 0 for s in stats)

    # -- calls ------------------------------------------------------------------------------
    async def _call_async(self, call: Call) -> None:
        argument: Any = call.batch if call.action.takes_batches else call.batch[0].body
        call.started = time.monotonic()
        try:
            work = call.action.handler(argument, call.ctx)
            call.result = await asyncio.wait_for(work, call.action.policy.timeout)
        except TimeoutError:
            call.timed_out = True
        except Exception as exc:
            call.error = exc
        self._settle(call)
        self._dispatch_ready()
        self._wake.set()

    def _collect(self) -> None:
        """Settle the sync calls that finished (called on the loop, once per batch of them)."""
        assert self._sync is not None
        for call in self._sync.collect():
            self._settle(call)
        self._dispatch_ready()
        self._wake.set()

    async def _watch_loop(self) -> None:
        assert self._sync is not None
        while True:
            await asyncio.sleep(WATCH_EVERY)
            expired = self._sync.watch(time.monotonic())
            for call in expired:
                self._settle(call)
            if expired:
                self._dispatch_ready()
                self._wake.set()

    def _settle(self, call: Call) -> None:
        """Turn a finished (or timed out) call into outcomes and hand them on."""
        self._running -= 1
        action, batch, ctx, result = call.action, call.batch, call.ctx, call.result
        error = call.error
        if call.timed_out:
            message = f"timed out after {action.policy.timeout:g}s"
            outcomes = [self._retry(m, action, message) for m in batch]
        elif isinstance(result, _Completed):  # acked in the handler's own transaction
            report = self._finish(result.outcomes, action=action.name, call=call, submit=False)
            self._account([(o, report) for o in result.outcomes], result.stale,
                          rolled_back=bool(result.stale))  # fmt: skip
            if action.on_settled is not None:
                fresh = [] if result.stale else result.outcomes  # rolled back: none written
                self._background(
                    self._run_hooks(self._settled(fresh, {m.id: (action, m) for m in batch}))
                )
            self._once.release(ctx.once_keys)  # committed to the ledger, or rolled back
            return
        elif error is None:
            outcomes = self._success(batch, result, ctx, action)
            self._signal(action, backoff=False)
        elif isinstance(error, Discard):
            outcomes = [Outcome.dead(m.receipt, error.reason) for m in batch if m.receipt]
        elif isinstance(error, Retry):
            outcomes = [
                Outcome.retry(m.receipt, str(error), error.delay) for m in batch if m.receipt
            ]
        elif isinstance(error, Backoff):
            outcomes = [self._retry(m, action, f"Backoff: {error}") for m in batch]
            self._signal(action, backoff=True)
        else:
            outcomes = [self._retry(m, action, _describe(error)) for m in batch]
        if not any(o.once for o in outcomes):  # no ack carries the call's effect keys
            self._once.release(ctx.once_keys)
        if action.on_settled is not None:
            self._to_settle.update((m.receipt, (action, m)) for m in batch if m.receipt)
        self._finish(outcomes, action=action.name, call=call)

    def _run_sync(self, call: Call) -> Any:
        """Run a sync handler in its thread. If it used ``ctx.transaction``, complete its
        outcomes in that transaction: commit only if every receipt is still fresh."""
        action, batch, ctx = call.action, call.batch, call.ctx
        argument: Any = batch if action.takes_batches else batch[0].body
        try:
            result = action.handler(argument, ctx)
        except BaseException:
            ctx.end_transaction(commit=False)
            raise
        if not ctx.in_transaction:
            return result
        outcomes = self._success(batch, result, ctx, action)
        try:
            stale = self.store.complete(outcomes, tx=ctx.transaction)
        except BaseException:
            ctx.end_transaction(commit=False)
            raise
        ctx.end_transaction(commit=not stale)
        return _Completed(outcomes, stale)

    def _success(
        self, batch: list[Message], result: Any, ctx: Context, action: Action
    ) -> list[Outcome]:
        failed = result.failed if isinstance(result, Partial) else {}
        outcomes: list[Outcome] = []
        children, once = tuple(ctx.children), tuple(ctx.once_keys)
        for message in batch:
            assert message.receipt is not None
            if message.id in failed:
                outcomes.append(self._retry(message, action, failed[message.id]))
            else:
                outcomes.append(Outcome.ack(message.receipt, children, once))
                children, once = (), ()  # the call's children and effects ride its first ack
        return outcomes

    def _signal(self, action: Action, *, backoff: bool) -> None:
        """Note a Backoff or a success for the action's adaptive concurrency, if it has one."""
        if action.policy.concurrency is not None:
            self._signals.setdefault(action.name, [0, 0])[0 if backoff else 1] += 1

    @staticmethod
    def _retry(message: Message, action: Action, error: str) -> Outcome:
        assert message.receipt is not None
        delay = backoff(message.receive_count, action.policy.retry_base, action.policy.retry_cap)
        return Outcome.retry(message.receipt, error, delay)

    def _finish(
        self,
        outcomes: list[Outcome],
        *,
        action: str,
        call: Call | None = None,
        submit: bool = True,
        batch: list[Message] | None = None,
    ) -> _Report:
        """Stop heartbeating the outcomes' messages and hand them to the completer unless they
        were already written (``submit=False``). They are counted and logged once written,
        as what the store made of them (see :meth:`_account`)."""
        stats = self._stats.get(action)
        if stats is None:
            stats = self._stats[action] = ActionStats(action)
        took = None
        if call is not None and call.started is not None:
            took = time.monotonic() - call.started
            stats.observe(took)
        report = _Report(action, stats, call.batch if call is not None else batch or [], took)
        for outcome in outcomes:
            self._held.pop(outcome.receipt.message_id, None)
        if submit:
            self._outcomes.extend((outcome, report) for outcome in outcomes)
            self._pending.set()  # the completer writes them
        return report

    def _account(
        self,
        written: list[tuple[Outcome, _Report]],
        stale: list[Receipt],
        *,
        rolled_back: bool = False,
    ) -> None:
        """Count and log written outcomes as what the store did: ``stale`` (its lease had
        passed: nothing changed), ``dead`` for a retry on the queue's last allowed receive,
        ``rolled_back`` for every outcome of a call whose transaction a stale lease undid."""
        gone = set(stale)
        logging_on = self.log.isEnabledFor(logging.INFO)
        lines: list[dict[str, Any]] = []
        warnings: list[dict[str, Any]] = []
        for outcome, report in written:
            message = report.message(outcome.receipt.message_id)
            error = outcome.error
            if rolled_back:
                kind: str = "rolled_back"
                error = f"the lease of message {', '.join(str(r.message_id) for r in stale)} " \
                        "had passed: the call's transaction was rolled back"  # fmt: skip
            elif outcome.receipt in gone:
                kind, error = "stale", "its lease had passed: the outcome changed nothing"
            else:
                kind = self._became(outcome, message)
            self.counts[kind] += 1
            if kind == "ack":
                report.stats.processed += 1
            elif kind == "retry":
                report.stats.failed += 1
            elif kind == "dead":
                report.stats.dead += 1
            if logging_on:
                (lines if kind in ("ack", "retry", "dead") else warnings).append(
                    report.entry(outcome.receipt.message_id, message, kind, error)
                )
        if lines:
            self.log.info("%s", Entries(lines))
        if warnings:
            self.log.warning("%s", Entries(warnings))

    def _became(self, outcome: Outcome, message: Message | None) -> str:
        """What the store makes of a fresh outcome: a retry of a message on its queue's last
        allowed receive is dead-lettered (``max_receives``)."""
        if outcome.kind != "retry" or message is None:
            return outcome.kind
        limit = self.store.policy(message.queue).max_receives
        return "dead" if limit is not None and message.receive_count >= limit else "retry"

    # -- background services ----------------------------------------------------------------
    async def _complete_loop(self) -> None:
        """Write outcomes as they come: those that arrive during one write go in the next."""
        while not self._closing:
            await self._pending.wait()
            self._pending.clear()
            await self._flush()

    async def _flush(self) -> None:
        async with self._flushing:  # one write at a time: a second flush waits for the first
            if self._signals:
                signals = {name: (b, s) for name, (b, s) in self._signals.items()}
                self._signals = {}
                await self._store_call(self.store.adapt, signals)
            while self._outcomes:
                written, self._outcomes = self._outcomes[:FLUSH_AT], self._outcomes[FLUSH_AT:]
                batch = [outcome for outcome, _ in written]
                try:
                    stale = await self._store_call(self.store.complete, batch)
                except BaseException:
                    self._outcomes[:0] = written  # not written: the next flush tries again
                    raise
                self._once.release(key for outcome in batch for key in outcome.once)
                if self._to_settle:
                    await self._settle_flushed(batch, stale)
                self._account(written, stale)
            if self._stats and (self._closing or time.monotonic() - self._stats_at >= STATS_EVERY):
                self._stats_at = time.monotonic()
                snapshot = [dataclasses.replace(one, buckets=list(one.buckets))
                            for one in self._stats.values()]  # fmt: skip
                await self._store_call(self.store.put_action_stats, self.worker_id, snapshot)

    # -- settle hooks -----------------------------------------------------------------------
    def _background(self, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _settle_flushed(self, batch: list[Outcome], stale: list[Receipt]) -> None:
        """Run the settle hooks of the outcomes just written (the fresh ones)."""
        gone = set(stale)
        owners: dict[int, tuple[Action, Message]] = {}
        for outcome in batch:
            owner = self._to_settle.pop(outcome.receipt, None)
            if owner is not None and outcome.receipt not in gone:
                owners[outcome.receipt.message_id] = owner
        fresh = [o for o in batch if o.receipt.message_id in owners]
        await self._run_hooks(self._settled(fresh, owners))

    def _settled(
        self, outcomes: list[Outcome], owners: dict[int, tuple[Action, Message]]
    ) -> dict[str, tuple[Action, list[Settled]]]:
        """Fresh outcomes as :class:`Settled`, by action; a retry past the queue's
        ``max_receives`` is the dead-letter the store made of it."""
        by_action: dict[str, tuple[Action, list[Settled]]] = {}
        for outcome in outcomes:
            owner = owners.get(outcome.receipt.message_id)
            if owner is None:
                continue
            action, message = owner
            kind = cast(OutcomeKind, self._became(outcome, message))
            by_action.setdefault(action.name, (action, []))[1].append(
                Settled(message, kind, outcome.error)
            )
        return by_action

    async def _run_hooks(self, settled: dict[str, tuple[Action, list[Settled]]]) -> None:
        for name, (action, items) in settled.items():
            if action.on_settled is None or not items:
                continue
            try:
                await asyncio.to_thread(action.on_settled, items)
            except Exception:
                self.log.exception("the settle hook of action %r failed", name)

    async def _heartbeat_loop(self) -> None:
        while True:
            await asyncio.sleep(self._lease / 3)
            receipts = list(self._held.values())
            if receipts:
                # A stale receipt here (its message released or acked meanwhile) changes nothing.
                stale = await self._store_call(self.store.extend, receipts, self._lease)
                for receipt in stale:
                    if self._held.get(receipt.message_id) == receipt:
                        del self._held[receipt.message_id]

    async def _maintenance_loop(self) -> None:
        """Housekeeping any worker may do (it is idempotent): retention, receives run out,
        dedup ids and FIFO groups past their time, table bloat."""
        while True:
            await asyncio.sleep(MAINTENANCE_EVERY)
            expired = await self._store_call(self.store.expire)
            await self._store_call(self.clock_check.check)
            if expired:
                self.log.info("dead-lettered %d expired or exhausted messages", expired)

    async def _shutdown(self) -> None:
        """Give back what has not started; let running calls finish within the grace period;
        give back the leases of those that do not. Say what became of them."""
        assert self._sync is not None
        self._stop.set()
        self._sync.close()
        waiting = [m for b in self._buffers.values() for m in b]
        self._buffers.clear()
        for call in self._sync.unstarted():
            self._running -= 1
            waiting.extend(call.batch)
        receipts = [m.receipt for m in waiting if m.receipt]
        if receipts:
            await self._store_call(self.store.release, receipts)
            for receipt in receipts:
                self._held.pop(receipt.message_id, None)
        running = self._running
        if running:
            self.log.info(
                "stopping: waiting up to %gs (the grace period) for %d running calls; gave back "
                "%d messages not started", self.grace, running, len(receipts),
            )  # fmt: skip
        deadline = time.monotonic() + self.grace
        while self._running > 0 and (left := deadline - time.monotonic()) > 0:
            self._wake.clear()
            await self._wait_event(self._wake, left)
        await self._flush()
        unfinished = list(self._held.values())
        if unfinished:
            await self._store_call(self.store.release, unfinished)
            self._held.clear()
        if running or receipts:
            self.log.info(
                "stopped: %d of %d running calls finished within the grace period (%gs); gave "
                "back %d messages not started and %d messages of calls still running%s", running -
                self._running, running, self.grace, len(receipts), len(unfinished),
                f" (ids {', '.join(str(r.message_id) for r in unfinished)})" if unfinished else "",
            )  # fmt: skip

    # -- helpers ----------------------------------------------------------------------------
    async def _store_call(self, method: Any, *args: Any) -> Any:
        """A store call in the thread pool, retried while the store is unavailable."""
        delay = 0.1
        while True:
            try:
                return await asyncio.to_thread(method, *args)
            except StoreUnavailable as exc:
                self.log.warning("store unavailable, retrying in %.1fs: %s", delay, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    @staticmethod
    async def _wait_event(event: asyncio.Event, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)


@dataclass(slots=True)
class _Report:
    """What the log and the counters need to know of the outcomes of one call."""

    action: str
    stats: ActionStats
    batch: list[Message]
    took: float | None
    _by_id: dict[int, Message] | None = None

    def message(self, message_id: int) -> Message | None:
        if len(self.batch) == 1:
            return self.batch[0] if self.batch[0].id == message_id else None
        if self._by_id is None:
            self._by_id = {m.id: m for m in self.batch}
        return self._by_id.get(message_id)

    def entry(
        self, message_id: int, message: Message | None, kind: str, error: str | None
    ) -> dict[str, Any]:
        """The log entry of one outcome."""
        return {
            "action": self.action,
            "message_id": message_id,
            "run_id": message.run_id if message else None,
            "attempt": message.receive_count if message else None,
            "duration_ms": 0.0 if self.took is None else round(self.took * 1000, 1),
            "outcome": kind,
            "error": error,
        }


@dataclass(frozen=True)
class _Completed:
    """A call whose outcomes were completed inside its own transaction."""

    outcomes: list[Outcome]
    stale: list[Receipt]


def _describe(exc: BaseException) -> str:
    """``Type: message`` plus the innermost frames of the traceback."""
    frames = traceback.extract_tb(exc.__traceback__)[-3:]
    where = " <- ".join(
        f"{f.name} ({f.filename.rsplit('/', 1)[-1]}:{f.lineno})" for f in frames[::-1]
    )
    return f"{type(exc).__name__}: {exc}" + (f" at {where}" if where else "")
