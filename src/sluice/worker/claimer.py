"""The claimer: keeps up to two rounds of work on hand, claimed in large batches, without
spinning while global limits let it claim none."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from sluice import codec
from sluice.blobs import reference
from sluice.errors import MessageError
from sluice.model import Message, Outcome
from sluice.observe import tracing
from sluice.worker.batches import Batches
from sluice.worker.completer import Completer
from sluice.worker.dispatcher import Dispatcher
from sluice.worker.housekeeping import Leases
from sluice.worker.service import Service, StoreCalls, Timing

if TYPE_CHECKING:
    from sluice.app import App

MAX_PREFETCH = 1000
"""Messages claimed but not started, per worker, at most."""
LIMITED_WAIT_MIN = 0.005
LIMITED_WAIT_MAX = 0.2
"""Seconds a worker waits (doubling from the minimum) before claiming again when work is
visible but global limits let it claim none."""


class Claimer(Service):
    """Claims messages of ``queues`` into ``batches`` and starts due calls, until
    ``stopping`` is set, or (with ``stop_when_idle``) until the queues are empty."""

    def __init__(
        self,
        app: App,
        queues: Sequence[str],
        *,
        batches: Batches,
        dispatcher: Dispatcher,
        completer: Completer,
        leases: Leases,
        stopping: threading.Event,
        stop_when_idle: bool,
        poll: float,
        store_call: StoreCalls,
        timing: Timing,
        on_failure: Callable[[BaseException], None] | None = None,
    ) -> None:
        super().__init__(on_failure)
        self.app = app
        self.store = app.store
        self.queues = list(queues)
        self.batches = batches
        self.dispatcher = dispatcher
        self.completer = completer
        self.leases = leases
        self.stop_when_idle = stop_when_idle
        self.poll = poll
        actions = [a for a in app.actions.values() if a.policy.queue in self.queues]
        self.max_batch = max([a.policy.batch_size for a in actions] or [1])
        # Two rounds of work, so claims stay large when handler slots free up one at a time.
        self.capacity = min(MAX_PREFETCH, 2 * dispatcher.concurrency * self.max_batch)
        self._stopping = stopping
        self._store_call = store_call
        self._timing = timing
        self._limited = False  # the last empty claim was followed by "work is visible"
        self._limited_wait = LIMITED_WAIT_MIN

    async def run(self) -> None:
        least = max(1, self.capacity // 4)
        wake = self.dispatcher.wake
        while not self._stopping.is_set():
            self.dispatcher.dispatch_ready()
            # Outcomes not yet written still hold leases: a claim must not outrun the acks.
            on_hand = len(self.batches) + self.dispatcher.running * self.max_batch
            want = self.capacity - on_hand - len(self.completer)
            if want < least:  # enough work on hand: wait for a slot or a batch window
                wake.clear()
                await self._timing.wait(wake, self._wait_time())
                continue
            claimed = await self._store_call(self._claim(), self.queues, want)
            if not claimed:
                if self.stop_when_idle and await self.idle():
                    return
                claimed = await self._wait_for_work(want)
            for message in claimed:  # taken even if stop began: shutdown releases them
                self.take(message)
            if claimed:
                self._limited, self._limited_wait = False, LIMITED_WAIT_MIN

    def _claim(self) -> Callable[[Sequence[str], int], list[Message]]:
        return self.store.claim_with_headers if tracing.active() else self.store.claim

    async def _wait_for_work(self, want: int) -> list[Message]:
        """Wait for work, then claim up to ``want`` (capacity only grows while waiting) in the
        same store call: a woken worker's pickup takes one thread hop, not two."""
        if self._limited:
            # Work is visible but the claim got none: global limits are full. Claiming again
            # at once would spin (on SQLite, on the write lock): wait for one of our calls to
            # settle, or a short, growing while for other workers' calls.
            self.dispatcher.wake.clear()
            await self._timing.wait(self.dispatcher.wake, self._limited_wait)
            self._limited_wait = min(self._limited_wait * 2, LIMITED_WAIT_MAX)
        wait = self._wait_time()
        got: tuple[bool, list[Message]] = await self._store_call(self._wait_then_claim, want, wait)
        self._limited, claimed = got
        if not self._limited:
            self._limited_wait = LIMITED_WAIT_MIN
        return claimed

    def _wait_then_claim(self, want: int, wait: float) -> tuple[bool, list[Message]]:
        """(whether work is visible but none was claimed, what a claim after the wait got),
        run on a store thread."""
        woken = self.store.woken_queues(self.queues, wait)
        if not woken or self._stopping.is_set():
            return False, []
        claimed = self._claim()(woken, want)  # the other queues are claimed on the next turn
        return not claimed, claimed

    def take(self, message: Message) -> None:
        """Hold a claimed message's lease and queue it for its action (a claim check's body
        fetched); dead-letter it if no action here handles it, or its body is gone or unreadable."""
        assert message.receipt is not None
        self.leases.hold(message.receipt)
        action = self.app.actions.get(message.action)
        if action is None:
            reason = f"unknown action {message.action!r}: no worker registers it"
            self._dead(message, reason)
            return
        if isinstance(message.body, codec.UnreadableBody):  # no handler can take it, ever
            self._dead(message, f"the stored body is not valid JSON ({message.body.error})")
            return
        blobs = self.app.blobs
        key = reference(message.body) if blobs is not None else None
        if key is not None and blobs is not None:
            try:
                body = codec.decode(blobs.get(key))
            except MessageError as exc:
                self._dead(message, str(exc))
                return
            message = dataclasses.replace(message, body=body)
        self.batches.add(action, message, self._timing.now())

    def _dead(self, message: Message, reason: str) -> None:
        assert message.receipt is not None
        outcome = Outcome.dead(message.receipt, reason)
        self.completer.finish([outcome], action=message.action, batch=[message])

    def _wait_time(self) -> float:
        """Until the earliest partial batch's window closes, at most the poll interval."""
        return self.batches.wait_time(self._timing.now(), self.poll)

    async def idle(self) -> bool:
        """Nothing on hand, nothing waiting to be written, and the queues are empty."""
        if self.dispatcher.running or self.batches or self.leases:
            return False
        await self.completer.flush()
        stats = await self._store_call(self.store.stats, self.queues)
        return all(s.depth == 0 and s.in_flight == 0 and s.delayed == 0 for s in stats)
