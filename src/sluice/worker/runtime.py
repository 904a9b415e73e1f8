"""The worker: claims batches, runs handlers under an asyncio loop, completes outcomes.

One asyncio loop per worker process. Store calls and sync handlers run in a thread pool; async
handlers run on the loop. Claims and acks are batched whatever the handler's batch size: the
worker prefetches up to its free handler slots x the batch size, and a completer flushes the
outcomes of many calls in one store transaction every few milliseconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
import time
import traceback
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from sluice.errors import Backoff, Discard, Retry, StoreUnavailable
from sluice.model import Message, Outcome, Partial, Receipt
from sluice.worker.actions import Action, Settled
from sluice.worker.context import Context, OnceReservations
from sluice.worker.retry import backoff

if TYPE_CHECKING:
    from sluice.app import App

FLUSH_EVERY = 0.005
"""Seconds between completer flushes while outcomes wait."""
FLUSH_AT = 500
"""Outcomes that trigger a flush at once."""
MAX_PREFETCH = 1000
MAINTENANCE_EVERY = 30.0
LIMITED_WAIT_MIN = 0.005
LIMITED_WAIT_MAX = 0.2
"""Seconds a worker waits (doubling from the minimum) before claiming again when work is
visible but global limits let it claim none."""
"""Seconds between housekeeping passes (Store.expire) of each worker."""


class Worker:
    """Runs the handlers of ``app``'s actions for messages of ``queues`` (default: the queues
    of every registered action). ``concurrency`` handler calls run at once in this process."""

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
        self.grace = grace
        self.counts: Counter[str] = Counter()
        self.log = logging.getLogger("sluice.worker")
        self._stop = threading.Event()
        self._held: dict[int, Receipt] = {}  # claimed, not yet completed: heartbeat these
        self._expired: set[int] = set()  # timed out: stop heartbeating, their outcome is set
        self._buffers: dict[str, list[Message]] = {}
        self._buffered_since: dict[str, float] = {}
        self._running = 0
        self._outcomes: list[Outcome] = []
        self._once = OnceReservations()
        self._signals: dict[str, list[int]] = {}  # action -> [backoffs, successes] to report
        self._to_settle: dict[Receipt, tuple[Action, Message]] = {}  # outcomes awaiting a hook
        lease = min(self.store.policy(q).visibility_timeout for q in self.queues)
        self._lease = lease
        self._max_batch = max(
            [a.policy.batch_size for a in app.actions.values() if a.policy.queue in self.queues]
            or [1]
        )

    # -- control ----------------------------------------------------------------------------
    def run(self) -> None:
        """Run until :meth:`stop` (or SIGTERM / Ctrl-C in the main thread), or until idle."""
        asyncio.run(self._main())

    def stop(self) -> None:
        """Stop claiming, finish running calls within the grace period, release the rest."""
        self._stop.set()

    # -- the loop ---------------------------------------------------------------------------
    async def _main(self) -> None:
        loop = asyncio.get_running_loop()
        # Handlers get their own threads: a hung handler past its timeout must never starve the
        # store calls (claims, acks, heartbeats) that run in the default executor.
        self._handlers = ThreadPoolExecutor(self.concurrency, "sluice-handler")
        loop.set_default_executor(ThreadPoolExecutor(4, "sluice-store"))
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, self.stop)
        self._slot_freed = asyncio.Event()
        self._limited = False  # the last empty claim was followed by "work is visible"
        self._limited_wait = LIMITED_WAIT_MIN
        self._calls: set[asyncio.Task[None]] = set()
        background = [
            asyncio.create_task(self._complete_loop()),
            asyncio.create_task(self._heartbeat_loop()),
            asyncio.create_task(self._maintenance_loop()),
        ]
        try:
            await self._claim_loop()
            await self._shutdown()
        finally:
            for task in background:
                task.cancel()
            await self._flush()
            self._handlers.shutdown(wait=False, cancel_futures=True)

    async def _claim_loop(self) -> None:
        while not self._stop.is_set():
            free = self.concurrency - self._running
            buffered = sum(len(b) for b in self._buffers.values())
            want = min(MAX_PREFETCH, free * self._max_batch - buffered)
            claimed: list[Message] = []
            if free > 0 and want > 0:
                claimed = await self._store_call(self.store.claim, self.queues, want)
            for message in claimed:
                self._take(message)
            self._dispatch_ready()
            if claimed:
                self._limited, self._limited_wait = False, LIMITED_WAIT_MIN
                continue
            if free <= 0:
                self._slot_freed.clear()
                await self._wait_event(self._slot_freed, self.poll)
                continue
            if self.stop_when_idle and await self._idle():
                return
            if self._limited:
                # Work is visible but the claim got none: global limits are full. Claiming again
                # at once would spin (on SQLite, on the write lock): wait for one of our calls to
                # end, or a short, growing while for other workers' calls to.
                self._slot_freed.clear()
                await self._wait_event(self._slot_freed, self._limited_wait)
                self._limited_wait = min(self._limited_wait * 2, LIMITED_WAIT_MAX)
            self._limited = await self._store_call(
                self.store.wait_for_work, self.queues, self._wait_time()
            )
            if not self._limited:
                self._limited_wait = LIMITED_WAIT_MIN

    def _take(self, message: Message) -> None:
        assert message.receipt is not None
        self._held[message.id] = message.receipt
        action = self.app.actions.get(message.action)
        if action is None:
            reason = f"unknown action {message.action!r}: no worker registers it"
            self._finish([Outcome.dead(message.receipt, reason)], action=message.action)
            return
        buffer = self._buffers.setdefault(action.name, [])
        if not buffer:
            self._buffered_since[action.name] = time.monotonic()
        buffer.append(message)

    def _dispatch_ready(self, flush_all: bool = False) -> None:
        """Start calls for full batches, and for partial ones whose window has passed."""
        now = time.monotonic()
        for name, buffer in self._buffers.items():
            action = self.app.actions[name]
            while buffer and self._running < self.concurrency:
                batch = self._cut(action, buffer)
                window_over = now - self._buffered_since[name] >= action.policy.batch_window
                if len(batch) < action.policy.batch_size and not (window_over or flush_all):
                    break
                del buffer[: len(batch)]
                self._buffered_since[name] = now
                self._start(action, batch)

    @staticmethod
    def _cut(action: Action, buffer: list[Message]) -> list[Message]:
        """The next batch: up to batch_size messages and batch_bytes of bodies (at least one)."""
        limit = action.policy.batch_bytes
        batch: list[Message] = []
        size = 0
        for message in buffer[: action.policy.batch_size]:
            body = len(orjson.dumps(message.body)) if limit is not None else 0
            if batch and limit is not None and size + body > limit:
                break
            batch.append(message)
            size += body
        return batch

    def _wait_time(self) -> float:
        """Until the earliest partial batch's window closes, at most the poll interval."""
        wait = self.poll
        now = time.monotonic()
        for name, buffer in self._buffers.items():
            if buffer:
                window = self.app.actions[name].policy.batch_window
                wait = min(wait, max(0.0, self._buffered_since[name] + window - now))
        return wait

    async def _idle(self) -> bool:
        if self._running or any(self._buffers.values()) or self._held:
            return False
        await self._flush()
        stats = await self._store_call(self.store.stats, self.queues)
        return all(s.depth == 0 and s.in_flight == 0 and s.delayed == 0 for s in stats)

    # -- calls ------------------------------------------------------------------------------
    def _start(self, action: Action, batch: list[Message]) -> None:
        self._running += 1
        task = asyncio.create_task(self._call(action, batch))
        self._calls.add(task)
        task.add_done_callback(self._calls.discard)

    async def _call(self, action: Action, batch: list[Message]) -> None:
        ctx = Context(self.app, batch, self.log, is_async=action.is_async, reservations=self._once)
        argument: Any = batch if action.takes_batches else batch[0].body
        started = time.monotonic()
        try:
            if action.is_async:
                work = action.handler(argument, ctx)
            else:
                loop = asyncio.get_running_loop()
                work = loop.run_in_executor(
                    self._handlers, self._run_sync, action, argument, ctx, batch
                )
            result = await asyncio.wait_for(work, action.policy.timeout)
            if isinstance(result, _Completed):  # acked in the handler's own transaction
                self._finish(
                    result.outcomes, action=action.name, batch=batch, started=started, submit=False
                )
                if action.on_settled is not None:
                    gone = set(result.stale)
                    fresh = [o for o in result.outcomes if o.receipt not in gone]
                    await self._run_hooks(self._settled(fresh, {m.id: (action, m) for m in batch}))
                self._once.release(ctx.once_keys)  # committed to the ledger, or rolled back
                if result.stale:  # a lease had passed: the whole transaction was rolled back
                    self.counts["stale"] += len(result.stale)
                    self.log.warning("rolled back a call: %d leases had passed", len(result.stale))
                self._dispatch_ready()
                return
            outcomes = self._success(batch, result, ctx, action)
            self._signal(action, backoff=False)
            if not any(o.kind == "ack" for o in outcomes):
                self._once.release(ctx.once_keys)
        except TimeoutError:
            self._expired.update(m.id for m in batch)
            error = f"timed out after {action.policy.timeout:g}s"
            outcomes = [self._retry(m, action, error) for m in batch]
        except Discard as exc:
            outcomes = [Outcome.dead(m.receipt, exc.reason) for m in batch if m.receipt]
        except Retry as exc:
            outcomes = [Outcome.retry(m.receipt, str(exc), exc.delay) for m in batch if m.receipt]
        except Backoff as exc:
            error = f"Backoff: {exc}"
            outcomes = [self._retry(m, action, error) for m in batch]
            self._signal(action, backoff=True)
        except Exception as exc:
            outcomes = [self._retry(m, action, _describe(exc)) for m in batch]
        finally:
            self._running -= 1
            self._slot_freed.set()
        if any(o.kind != "ack" for o in outcomes) and not any(o.once for o in outcomes):
            self._once.release(ctx.once_keys)
        if action.on_settled is not None:
            self._to_settle.update((m.receipt, (action, m)) for m in batch if m.receipt)
        self._finish(outcomes, action=action.name, batch=batch, started=started)
        self._dispatch_ready()

    def _run_sync(self, action: Action, argument: Any, ctx: Context, batch: list[Message]) -> Any:
        """Run a sync handler in its thread. If it used ``ctx.transaction``, complete its
        outcomes in that transaction: commit only if every receipt is still fresh."""
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
        batch: list[Message] | None = None,
        started: float | None = None,
        submit: bool = True,
    ) -> None:
        """Log and count outcomes, stop heartbeating their messages, and hand them to the
        completer unless they were already written (``submit=False``)."""
        took = round((time.monotonic() - started) * 1000, 1) if started is not None else 0.0
        messages = {m.id: m for m in batch or []}
        for outcome in outcomes:
            self._held.pop(outcome.receipt.message_id, None)
            self._expired.discard(outcome.receipt.message_id)
            self.counts[outcome.kind] += 1
            message = messages.get(outcome.receipt.message_id)
            self.log.info(
                "%s",
                orjson.dumps(
                    {
                        "action": action,
                        "message_id": outcome.receipt.message_id,
                        "run_id": message.run_id if message else None,
                        "attempt": message.receive_count if message else None,
                        "duration_ms": took,
                        "outcome": outcome.kind,
                        "error": outcome.error,
                    }
                ).decode(),
            )
        if submit:
            self._outcomes.extend(outcomes)

    # -- settle hooks -----------------------------------------------------------------------
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
            kind = outcome.kind
            limit = self.store.policy(message.queue).max_receives
            if kind == "retry" and limit is not None and message.receive_count >= limit:
                kind = "dead"
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

    # -- background services ----------------------------------------------------------------
    async def _complete_loop(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_EVERY)
            await self._flush()

    async def _flush(self) -> None:
        if self._signals:
            signals = {name: (b, s) for name, (b, s) in self._signals.items()}
            self._signals = {}
            await self._store_call(self.store.adapt, signals)
        while self._outcomes:
            batch, self._outcomes = self._outcomes[:FLUSH_AT], self._outcomes[FLUSH_AT:]
            stale = await self._store_call(self.store.complete, batch)
            self._once.release(key for outcome in batch for key in outcome.once)
            if self._to_settle:
                await self._settle_flushed(batch, stale)
            if stale:
                self.counts["stale"] += len(stale)
                self.log.warning("%d outcomes were stale (their leases had passed)", len(stale))

    async def _heartbeat_loop(self) -> None:
        while True:
            await asyncio.sleep(self._lease / 3)
            receipts = [r for id_, r in self._held.items() if id_ not in self._expired]
            if receipts:
                stale = await self._store_call(self.store.extend, receipts, self._lease)
                for receipt in stale:
                    self._held.pop(receipt.message_id, None)

    async def _maintenance_loop(self) -> None:
        """Housekeeping any worker may do (it is idempotent): retention, receives run out,
        dedup ids and FIFO groups past their time, table bloat."""
        while True:
            await asyncio.sleep(MAINTENANCE_EVERY)
            expired = await self._store_call(self.store.expire)
            if expired:
                self.log.info("dead-lettered %d expired or exhausted messages", expired)

    async def _shutdown(self) -> None:
        """Give back what has not started; let running calls finish within the grace period;
        give back the leases of those that do not."""
        waiting = [m.receipt for b in self._buffers.values() for m in b if m.receipt]
        self._buffers.clear()
        if waiting:
            await self._store_call(self.store.release, waiting)
            for receipt in waiting:
                self._held.pop(receipt.message_id, None)
        if self._calls:
            await asyncio.wait(set(self._calls), timeout=self.grace)
        await self._flush()
        unfinished = list(self._held.values())
        if unfinished:
            await self._store_call(self.store.release, unfinished)
            self._held.clear()

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
