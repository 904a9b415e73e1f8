"""The dispatcher: starts handler calls for due batches (sync ones on handler threads, async
ones on the loop), fails calls past their timeout, and turns each ended call into outcomes
for the completer."""

from __future__ import annotations

import asyncio
import logging
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sluice.errors import Backoff, Discard, Retry
from sluice.model import Message, Outcome, Partial, Receipt
from sluice.worker.actions import Action
from sluice.worker.batches import Batches
from sluice.worker.calls import Call, SyncCalls
from sluice.worker.completer import Completer
from sluice.worker.context import Context
from sluice.worker.retry import backoff
from sluice.worker.service import Service, Timing, background

if TYPE_CHECKING:
    from sluice.app import App

WATCH_EVERY = 0.01
"""Seconds between checks of running sync calls (timeouts, runners to add)."""


class Dispatcher(Service):
    """Runs up to ``concurrency`` calls at once; its loop watches the sync ones. ``wake`` is
    set whenever a call ends (a slot is free). After ``stopping`` is set it starts none."""

    def __init__(
        self,
        app: App,
        *,
        batches: Batches,
        completer: Completer,
        concurrency: int,
        stopping: threading.Event,
        timing: Timing,
        log: logging.Logger,
        on_failure: Callable[[BaseException], None] | None = None,
    ) -> None:
        super().__init__(on_failure)
        self.app = app
        self.batches = batches
        self.completer = completer
        self.concurrency = concurrency
        self.running = 0  # calls started and not settled
        self.wake = asyncio.Event()
        completer.on_written = self.wake.set
        self.log = log
        self._stopping = stopping
        self._timing = timing
        self._tasks: set[asyncio.Task[None]] = set()  # async calls, settle hooks
        self._loop: asyncio.AbstractEventLoop | None = None
        # Handlers get threads of their own: a hung handler past its timeout must never starve
        # the store calls (claims, acks, heartbeats) that run in the default executor.
        self.sync = SyncCalls(self._run_sync, self._notify, concurrency, clock=timing.now)

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        if self._stopping.is_set():
            self.sync.close()
        super().start()

    def close(self) -> None:
        """Start no more calls (thread-safe)."""
        self.sync.close()

    def unstarted(self) -> list[Message]:
        """Take back the messages of calls no handler thread has started."""
        messages: list[Message] = []
        for call in self.sync.unstarted():
            self.running -= 1
            messages.extend(call.batch)
        return messages

    async def run(self) -> None:
        while True:
            await self._timing.sleep(WATCH_EVERY)
            expired = self.sync.watch(self._timing.now())
            for call in expired:
                self._settle(call)
            if expired:
                self.dispatch_ready()
                self.wake.set()

    # -- starting calls ---------------------------------------------------------------------
    def dispatch_ready(self) -> None:
        """Start calls for due batches while slots are free; none once stopping began (the
        shutdown gives back what is left)."""
        if self._stopping.is_set():
            return
        now = self._timing.now()
        sync: list[Call] = []
        for action, batch in self.batches.due(now, self.concurrency - self.running):
            self.running += 1
            ctx = Context(
                self.app, batch, self.log, action.is_async, reservations=self.completer.once
            )
            call = Call(action, batch, ctx, now)
            if action.is_async:
                background(self._tasks, self._call_async(call))
            else:
                sync.append(call)
        if sync:
            self.sync.submit(sync)

    async def _call_async(self, call: Call) -> None:
        argument: Any = call.batch if call.action.takes_batches else call.batch[0].body
        call.started = self._timing.now()
        try:
            work = call.action.handler(argument, call.ctx)
            call.result = await asyncio.wait_for(work, call.action.policy.timeout)
        except TimeoutError:
            call.timed_out = True
        except Exception as exc:
            call.error = exc
        self._ended([call])

    def _notify(self) -> None:
        """Called from a handler thread when finished sync calls wait to be collected."""
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self.collect)

    def collect(self) -> None:
        """Settle the sync calls that finished (on the loop, once per batch of them)."""
        self._ended(self.sync.collect())

    def _ended(self, calls: list[Call]) -> None:
        for call in calls:
            self._settle(call)
        self.dispatch_ready()
        self.wake.set()

    # -- ended calls ------------------------------------------------------------------------
    def _settle(self, call: Call) -> None:
        """Turn an ended (or timed out) call into outcomes and hand them on."""
        self.running -= 1
        action, batch, ctx = call.action, call.batch, call.ctx
        if isinstance(call.result, _Completed):  # acked in the handler's own transaction
            self._completed(call, call.result)
            return
        outcomes = self._outcomes(call)
        if not any(o.once for o in outcomes):  # no ack carries the call's effect keys
            self.completer.once.release(ctx.once_keys)
        self.completer.hooks.expect(action, batch)
        self.completer.finish(outcomes, action=action.name, batch=batch, started=call.started)

    def _outcomes(self, call: Call) -> list[Outcome]:
        action, batch, error = call.action, call.batch, call.error
        if call.timed_out:
            message = f"timed out after {action.policy.timeout:g}s"
            return [_retry(m, action, message) for m in batch]
        if error is None:
            self._signal(action, backoff=False)
            return _success(batch, call.result, call.ctx, action)
        if isinstance(error, Discard):
            return [Outcome.dead(m.receipt, error.reason) for m in batch if m.receipt]
        if isinstance(error, Retry):
            return [Outcome.retry(m.receipt, str(error), error.delay) for m in batch if m.receipt]
        if isinstance(error, Backoff):
            self._signal(action, backoff=True)
            return [_retry(m, action, f"Backoff: {error}") for m in batch]
        return [_retry(m, action, _describe(error)) for m in batch]

    def _completed(self, call: Call, result: _Completed) -> None:
        """A call whose outcomes its own transaction wrote (or rolled back: a lease had
        passed, so none of them was written)."""
        action = call.action
        report = self.completer.finish(
            result.outcomes,
            action=action.name,
            batch=call.batch,
            started=call.started,
            submit=False,
        )
        self.completer.account(
            [(o, report) for o in result.outcomes], result.stale, rolled_back=bool(result.stale)
        )
        if action.on_settled is not None and not result.stale:
            owners = {m.id: (action, m) for m in call.batch}
            background(self._tasks, self.completer.hooks.run(result.outcomes, owners))
        self.completer.once.release(call.ctx.once_keys)  # in the ledger, or rolled back

    def _signal(self, action: Action, *, backoff: bool) -> None:
        if action.policy.concurrency is not None:  # adaptive concurrency listens
            self.completer.signal(action.name, backoff=backoff)

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
        outcomes = _success(batch, result, ctx, action)
        try:
            stale = self.app.store.complete(outcomes, tx=ctx.transaction)
        except BaseException:
            ctx.end_transaction(commit=False)
            raise
        ctx.end_transaction(commit=not stale)
        return _Completed(outcomes, stale)


@dataclass(frozen=True)
class _Completed:
    """A call whose outcomes were completed inside its own transaction."""

    outcomes: list[Outcome]
    stale: list[Receipt]


def _success(batch: list[Message], result: Any, ctx: Context, action: Action) -> list[Outcome]:
    failed = result.failed if isinstance(result, Partial) else {}
    outcomes: list[Outcome] = []
    children, once = tuple(ctx.children), tuple(ctx.once_keys)
    for message in batch:
        assert message.receipt is not None
        if message.id in failed:
            outcomes.append(_retry(message, action, failed[message.id]))
        else:
            outcomes.append(Outcome.ack(message.receipt, children, once))
            children, once = (), ()  # the call's children and effects ride its first ack
    return outcomes


def _retry(message: Message, action: Action, error: str) -> Outcome:
    assert message.receipt is not None
    delay = backoff(message.receive_count, action.policy.retry_base, action.policy.retry_cap)
    return Outcome.retry(message.receipt, error, delay)


def _describe(exc: BaseException) -> str:
    """``Type: message`` plus the innermost frames of the traceback."""
    frames = traceback.extract_tb(exc.__traceback__)[-3:]
    where = " <- ".join(
        f"{f.name} ({f.filename.rsplit('/', 1)[-1]}:{f.lineno})" for f in frames[::-1]
    )
    return f"{type(exc).__name__}: {exc}" + (f" at {where}" if where else "")
