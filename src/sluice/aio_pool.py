"""The async API's thread pool: a bounded pool per process and, per event loop, an admission
semaphore the pool's size, so an event loop never blocks on the store."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import threading
import weakref
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")
THREADS = 4
"""Threads for async calls (per process): enough to overlap round trips, few enough to stay
under the PostgreSQL pool's size."""

_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(THREADS, thread_name_prefix="sluice-async")
        return _pool


_admission: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)


def _gate(loop: asyncio.AbstractEventLoop) -> asyncio.Semaphore:
    """The loop's admission to the pool: at most :data:`THREADS` calls handed over at once."""
    gate = _admission.get(loop)
    if gate is None:
        gate = _admission[loop] = asyncio.Semaphore(THREADS)
    return gate


async def run_in(pool: Executor, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``call(*args, **kwargs)`` on ``pool``, in the caller's context (a trace's current
    span, say), awaited without blocking the loop."""
    context = contextvars.copy_context()
    work = functools.partial(context.run, call, *args, **kwargs)
    return await asyncio.get_running_loop().run_in_executor(pool, work)


async def hop(call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``call(*args, **kwargs)`` on the async pool, awaited without blocking the loop.

    Calls are admitted through a semaphore the size of the pool: a burst of a thousand
    waits on it as plain waiters instead of a thousand executor futures and wake-ups."""
    async with _gate(asyncio.get_running_loop()):
        return await run_in(_executor(), call, *args, **kwargs)
