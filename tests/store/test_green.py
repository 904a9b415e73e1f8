"""``run_green`` / ``await_only``: sync code on the loop's thread whose waits the loop awaits."""

from __future__ import annotations

import asyncio
import contextvars
import threading

import pytest

from sluice.store.green import await_only, on_green, run_green

WHO: contextvars.ContextVar[str] = contextvars.ContextVar("WHO", default="nobody")


def test_the_code_runs_on_the_loops_thread_and_its_waits_are_awaited() -> None:
    order: list[str] = []

    def work(n: int) -> int:
        assert on_green()
        order.append("work starts")
        slept = await_only(asyncio.sleep(0.05, result=n))
        order.append("work ends")
        return slept * 2

    async def other() -> None:
        order.append("other runs")

    async def main() -> tuple[int, int]:
        thread = threading.get_ident()
        done = await asyncio.gather(run_green(work, 21), other())
        return done[0], thread

    result, thread = asyncio.run(main())
    assert result == 42 and thread == threading.get_ident()
    assert order == ["work starts", "other runs", "work ends"]  # the loop ran during the wait
    assert not on_green()


def test_exceptions_reach_the_caller_and_failed_awaits_reach_the_code() -> None:
    seen: list[str] = []

    async def fail() -> None:
        raise KeyError("in the awaitable")

    def work() -> None:
        try:
            await_only(fail())
        except KeyError as exc:
            seen.append(str(exc))
        raise ValueError("from the code")

    with pytest.raises(ValueError, match="from the code"):
        asyncio.run(run_green(work))
    assert seen == ["'in the awaitable'"]


def test_await_only_outside_run_green_says_so() -> None:
    coroutine = asyncio.sleep(0)
    with pytest.raises(RuntimeError, match="outside run_green"):
        await_only(coroutine)
    coroutine.close()


def test_the_code_sees_the_callers_context_and_leaks_nothing_back() -> None:
    def work() -> str:
        seen = WHO.get()
        WHO.set("the code")
        return seen

    async def main() -> tuple[str, str]:
        WHO.set("the caller")
        seen = await run_green(work)
        return seen, WHO.get()

    assert asyncio.run(main()) == ("the caller", "the caller")


def test_a_cancelled_call_unwinds_the_code_which_may_still_await() -> None:
    unwound: list[str] = []

    def work() -> None:
        try:
            await_only(asyncio.sleep(10))
        finally:
            await_only(asyncio.sleep(0))  # a rollback, say
            unwound.append("finally ran")

    async def main() -> None:
        call = asyncio.create_task(run_green(work))
        await asyncio.sleep(0.05)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call

    asyncio.run(main())
    assert unwound == ["finally ran"]
