"""Sync store code run on an event loop without blocking it, through a greenlet.

:func:`run_green` runs ``function(*args)`` (the one sync store algorithm) in a greenlet of the
loop's thread. Where that code would wait on the database, the driver calls
:func:`await_only` with the awaitable of an async connection's statement: the greenlet
switches back to :func:`run_green`, which awaits it on the loop (other requests run
meanwhile) and switches the answer back in. So a call costs no thread hop, the loop never
blocks on the server, and the SQL and algorithms stay the sync ones.
"""

from __future__ import annotations

import contextvars
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

from greenlet import getcurrent, greenlet

T = TypeVar("T")


class _Green(greenlet):
    """A greenlet running store code for :func:`run_green`."""


def on_green() -> bool:
    """Whether this code runs inside :func:`run_green` (its waits must then go through
    :func:`await_only`)."""
    return isinstance(getcurrent(), _Green)


def await_only(awaitable: Awaitable[T]) -> T:
    """The result of ``awaitable``, awaited by the :func:`run_green` this code runs in."""
    current = getcurrent()
    if not isinstance(current, _Green) or current.parent is None:
        raise RuntimeError("await_only outside run_green: no event loop awaits for this code")
    return cast("T", current.parent.switch(awaitable))


async def run_green(function: Callable[..., T], *args: Any) -> T:
    """``function(*args)`` on this event loop's thread; its :func:`await_only` calls are
    awaited here. A cancellation of this coroutine is raised inside ``function`` at its
    wait, so its ``with`` blocks unwind (a transaction rolls back) before it ends."""
    child = _Green(function, parent=getcurrent())
    child.gr_context = contextvars.copy_context()  # the caller's, as a thread hop's call has
    step = child.switch(*args)
    while not child.dead:
        try:
            result = await step
        except BaseException as exc:  # handed to the code that awaited it
            step = child.throw(exc)
        else:
            step = child.switch(result)
    return cast("T", step)


__all__ = ["await_only", "on_green", "run_green"]
