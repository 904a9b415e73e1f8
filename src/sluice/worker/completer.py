"""The completer: writes outcomes in groups, then counts and logs them as the store made them.

Outcomes that arrive while a write is under way go in the next one, up to ``FLUSH_AT`` per
store transaction, so acks stay batched whatever the handlers' batch size.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sluice.model import ActionStats, Message, Outcome, OutcomeKind, Receipt
from sluice.observe.logs import Entries
from sluice.worker.context import OnceReservations
from sluice.worker.hooks import SettleHooks
from sluice.worker.housekeeping import Leases
from sluice.worker.service import Service, StoreCalls, Timing

if TYPE_CHECKING:
    from sluice.store import Store

FLUSH_AT = 500
"""Outcomes written per store transaction at most."""


@dataclass(slots=True)
class Report:
    """What the log and the counters need to know of the outcomes of one call."""

    action: str
    stats: ActionStats
    batch: list[Message]
    took_ms: float
    """How long the call took, 0.0 for outcomes of no call."""
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
            "duration_ms": self.took_ms,
            "outcome": kind,
            "error": error,
        }


class Completer(Service):
    """Takes outcomes (:meth:`finish`), writes them (:meth:`flush`, run by its loop whenever
    some wait), releases their effect keys, runs settle hooks, and counts and logs each as
    what the store did (:meth:`account`). Adaptive-concurrency signals ride the writes."""

    def __init__(
        self,
        store: Store,
        *,
        leases: Leases,
        once: OnceReservations,
        store_call: StoreCalls,
        timing: Timing,
        log: logging.Logger,
        on_failure: Callable[[BaseException], None] | None = None,
    ) -> None:
        super().__init__(on_failure)
        self.store = store
        self.leases = leases
        self.once = once
        self.log = log
        self.counts: Counter[str] = Counter()
        self.stats: dict[str, ActionStats] = {}  # running totals, reported by housekeeping
        self.hooks = SettleHooks(self.became, log)
        self._store_call = store_call
        self._timing = timing
        self._outcomes: list[tuple[Outcome, Report]] = []  # to write
        self._signals: dict[str, list[int]] = {}  # action -> [backoffs, successes] to report
        self._pending = asyncio.Event()  # outcomes wait to be written
        self._flushing = asyncio.Lock()
        self._closing = False
        self._writing = 0  # outcomes in the write under way
        self.on_written: Callable[[], None] | None = None
        """Called after each write: outcomes waiting to be written hold room the claimer
        counts (so it stops claiming while writes lag), and a write frees it."""

    # -- taking outcomes --------------------------------------------------------------------
    def finish(
        self,
        outcomes: list[Outcome],
        *,
        action: str,
        batch: list[Message],
        started: float | None = None,
        submit: bool = True,
    ) -> Report:
        """Stop heartbeating the outcomes' messages and queue them for writing unless they
        were already written (``submit=False``). ``started`` is when the call began."""
        stats = self.stats.get(action)
        if stats is None:
            stats = self.stats[action] = ActionStats(action)
        took_ms = 0.0
        if started is not None:
            took = self._timing.now() - started
            stats.observe(took)
            took_ms = round(took * 1000, 1)
        report = Report(action, stats, batch, took_ms)
        self.leases.drop(outcome.receipt for outcome in outcomes)
        if submit:
            self._outcomes.extend((outcome, report) for outcome in outcomes)
            self._pending.set()
        return report

    def signal(self, action: str, *, backoff: bool) -> None:
        """Note a Backoff or a success for the action's adaptive concurrency."""
        self._signals.setdefault(action, [0, 0])[0 if backoff else 1] += 1

    def __bool__(self) -> bool:
        """Outcomes wait to be written."""
        return bool(self._outcomes)

    def __len__(self) -> int:
        """Outcomes waiting to be written or being written."""
        return len(self._outcomes) + self._writing

    # -- writing ----------------------------------------------------------------------------
    async def run(self) -> None:
        while not self._closing:
            await self._pending.wait()
            self._pending.clear()
            await self.flush()

    async def close(self) -> None:
        """End the loop after the write under way (never cancelled: a write queued on the
        store's threads would be dropped, leaving acked messages leased), then write the rest."""
        self._closing = True
        self._pending.set()
        if self._task is not None:
            await asyncio.wait([self._task])
        await self.flush()

    async def flush(self) -> None:
        """Write every waiting outcome (one write at a time: a second flush waits)."""
        async with self._flushing:
            if self._signals:
                signals = {name: (b, s) for name, (b, s) in self._signals.items()}
                self._signals = {}
                await self._store_call(self.store.adapt, signals)
            while self._outcomes:
                written, self._outcomes = self._outcomes[:FLUSH_AT], self._outcomes[FLUSH_AT:]
                batch = [outcome for outcome, _ in written]
                self._writing = len(batch)
                try:
                    stale = await self._store_call(self.store.complete, batch)
                except BaseException:
                    self._outcomes[:0] = written  # not written: the next flush tries again
                    raise
                finally:
                    self._writing = 0
                self.once.release(key for outcome in batch for key in outcome.once)
                if self.hooks:
                    await self.hooks.written(batch, stale)
                self.account(written, stale)
                if self.on_written is not None:
                    self.on_written()

    # -- what the store did -----------------------------------------------------------------
    def account(
        self,
        written: list[tuple[Outcome, Report]],
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
            kind, error = self._outcome_of(outcome, message, gone, stale, rolled_back)
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

    def _outcome_of(
        self,
        outcome: Outcome,
        message: Message | None,
        gone: set[Receipt],
        stale: list[Receipt],
        rolled_back: bool,
    ) -> tuple[str, str | None]:
        if rolled_back:
            ids = ", ".join(str(r.message_id) for r in stale)
            return "rolled_back", (
                f"the lease of message {ids} had passed: the call's transaction was rolled back"
            )
        if outcome.receipt in gone:
            # the store cannot tell the two apart: a cancelled message's row is gone
            return "stale", (
                "its lease had passed or the message was cancelled: the outcome changed nothing"
            )
        return self.became(outcome, message), outcome.error

    def became(self, outcome: Outcome, message: Message | None) -> OutcomeKind:
        """What the store makes of a fresh outcome: a retry of a message on its queue's last
        allowed receive is dead-lettered (``max_receives``)."""
        if outcome.kind != "retry" or message is None:
            return outcome.kind
        limit = self.store.policy(message.queue).max_receives
        return "dead" if limit is not None and message.receive_count >= limit else "retry"
