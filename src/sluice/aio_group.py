"""Group commit for ``enqueue_async``: the calls of one event loop that wait at the same time
share one store transaction.

A burst of concurrent calls becomes a few ``store.enqueue`` transactions (one commit each,
run on the async pool) instead of one commit per call: the loop stays free and the burst
runs faster than the same calls made one after another. Each call keeps its own result:
its message is built (and validated) in the caller's context, so one bad call fails alone;
when the store refuses a whole transaction for one message (a sealed run, say), the
transaction rolled back and each message is written again on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import time
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sluice.aio_batch import Coalescer, Outcomes
from sluice.aio_pool import hop
from sluice.errors import SluiceError, StoreError
from sluice.observe import tracing

if TYPE_CHECKING:
    from sluice.app import App
    from sluice.model import NewMessage

MAX_GROUP = 256
"""Calls written in one transaction at most (a bigger burst takes several)."""
YIELD_EVERY = 16
"""Messages built between two offers of the GIL to the event loop's thread."""


@dataclass(eq=False, slots=True)
class _Call:
    action: str
    body: Any
    options: dict[str, Any]
    context: contextvars.Context = field(default_factory=contextvars.copy_context)
    exits: contextlib.ExitStack | None = None  # the producer span's, while tracing
    span: Any = None  # the producer span (None: tracing is off)
    message: NewMessage | None = None
    outcome: tuple[bool, Any] | None = None


class GroupCommit:
    """The pending ``enqueue_async`` calls of one app; one writer per event loop drains
    them, a group per transaction, while later calls queue up behind it."""

    def __init__(self, app: App) -> None:
        self._app = app
        self._calls: Coalescer[_Call] = Coalescer(self._write, hop, MAX_GROUP)

    async def enqueue(self, action: str, body: Any, options: dict[str, Any]) -> int:
        """``app.enqueue(action, body, **options)`` in the next group; its message id."""
        message_id: int = await self._calls.submit(_Call(action, body, options))
        return message_id

    def _write(self, group: list[_Call]) -> Outcomes:
        """On the pool's thread: build every call's message, store them in one transaction
        (or one by one when the store refuses the group for one of them), end the spans;
        each call's outcome."""
        made = []
        for n, call in enumerate(group, 1):
            if self._build(call):
                made.append(call)
            if n % YIELD_EVERY == 0:
                time.sleep(0)  # let the event loop's thread take the GIL between messages
        store = self._app.store
        try:
            stored = store.enqueue([call.message for call in made if call.message])
        except Exception as exc:
            refused = isinstance(exc, SluiceError) and not isinstance(exc, StoreError)
            for call in made:  # rolled back; a refusal is one message's: find whose
                call.outcome = self._alone(call) if refused else (False, exc)
        else:
            for call, done in zip(made, stored, strict=True):
                call.outcome = (True, done.id)
        for call in made:
            call.context.run(_end_span, call)
        return [call.outcome for call in group]

    def _alone(self, call: _Call) -> tuple[bool, Any]:
        assert call.message is not None
        try:
            return (True, self._app.store.enqueue([call.message])[0].id)
        except Exception as exc:
            return (False, exc)

    def _build(self, call: _Call) -> bool:
        try:
            call.message = call.context.run(self._message, call)
        except Exception as exc:
            call.outcome = (False, exc)
            call.context.run(_end_span, call)
            return False
        return True

    def _message(self, call: _Call) -> NewMessage:
        """The call's message, built inside its producer span (the trace context it carries)."""
        if not tracing.active():  # no span to hold open: fewer objects per call
            return self._app.new_message(call.action, call.body, **call.options)
        call.exits = contextlib.ExitStack()
        sending = self._app.sending(call.action, call.body, **call.options)
        call.span, message = call.exits.enter_context(sending)
        return message


def _end_span(call: _Call) -> None:
    assert call.outcome is not None
    if call.exits is None:
        return
    ok, value = call.outcome
    if ok:
        tracing.enqueued(call.span, value)
        call.exits.close()
    else:
        call.exits.__exit__(type(value), value, value.__traceback__)


_groups: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, weakref.WeakKeyDictionary[App, GroupCommit]
] = weakref.WeakKeyDictionary()


def group_commit(app: App) -> GroupCommit:
    """The running loop's group commit for ``app``."""
    per_app = _groups.setdefault(asyncio.get_running_loop(), weakref.WeakKeyDictionary())
    group = per_app.get(app)
    if group is None:
        group = per_app[app] = GroupCommit(app)
    return group
