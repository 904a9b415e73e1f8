"""Coalescing: the calls of one event loop that wait at the same time run as one group.

A :class:`Coalescer` keeps the items its callers submit while a group is being written and
hands the next group, whole, to one ``write`` call in a thread (one hop, and for a store one
transaction, instead of one per call). Each caller gets its own item's outcome. Used by
``enqueue_async``'s group commit and by the SQS API's sends and deletes.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

Item = TypeVar("Item")
Outcome = tuple[bool, Any]
"""``(True, result)`` or ``(False, exception)``: one item's end."""
Outcomes = list[Outcome | None]
"""A group's outcomes, one per item in order (None: the write lost track of that item)."""
Hop = Callable[..., Awaitable[Any]]


@dataclass(eq=False, slots=True)
class _Queued(Generic[Item]):
    item: Item
    future: asyncio.Future[Any]


@dataclass(eq=False, slots=True)
class _LoopState(Generic[Item]):
    pending: list[_Queued[Item]] = field(default_factory=list)
    task: asyncio.Task[None] | None = None  # the writer, while it drains


class Coalescer(Generic[Item]):
    """Items of concurrent callers written in groups of at most ``max_group`` by
    ``write(items) -> Outcomes``, run through ``hop`` (a thread hop); one writer
    per event loop, so a group forms while the one before it is written."""

    def __init__(self, write: Callable[[list[Item]], Outcomes], hop: Hop, max_group: int) -> None:
        self._write = write
        self._hop = hop
        self._max_group = max_group
        self._loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopState[Item]] = (
            weakref.WeakKeyDictionary()
        )

    async def submit(self, item: Item) -> Any:
        """Queue ``item`` for the next group; its result (or its exception, raised)."""
        loop = asyncio.get_running_loop()
        state = self._loops.get(loop)
        if state is None:
            state = self._loops[loop] = _LoopState()
        queued = _Queued(item, loop.create_future())
        state.pending.append(queued)
        if state.task is None or state.task.done():
            state.task = loop.create_task(self._drain(state))  # referenced: tasks are weak
        return await queued.future

    async def _drain(self, state: _LoopState[Item]) -> None:
        while state.pending:
            group = state.pending[: self._max_group]
            state.pending = state.pending[self._max_group :]
            try:
                outcomes = await self._hop(self._write, [queued.item for queued in group])
            except BaseException as exc:  # the hop itself failed (cancelled, say)
                _settle(group, [(False, exc)] * len(group))
                if not isinstance(exc, Exception):
                    raise
                continue
            _settle(group, outcomes)
        state.task = None  # a finished task refers to its loop: let a closed loop's state go


def _settle(group: list[_Queued[Any]], outcomes: Outcomes) -> None:
    """Hand each caller its outcome (on the loop: the futures are the loop's)."""
    if len(outcomes) != len(group):  # a write that lost track of an item: fail them all
        error = RuntimeError(f"a group of {len(group)} ended with {len(outcomes)} outcomes")
        outcomes = [(False, error)] * len(group)
    for queued, outcome in zip(group, outcomes, strict=True):
        if queued.future.done():  # the caller was cancelled
            continue
        ok, value = outcome or (False, RuntimeError("the group's write gave this item no outcome"))
        if ok:
            queued.future.set_result(value)
        else:
            queued.future.set_exception(value)
