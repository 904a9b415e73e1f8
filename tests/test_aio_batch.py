"""The coalescer under enqueue_async's group commit and the SQS API's sends and deletes:
concurrent callers share groups, and each gets its own item's outcome."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from sluice.aio_batch import Coalescer, Outcome
from sluice.aio_pool import hop


def _recording(groups: list[list[int]], gate: threading.Event | None = None) -> Any:
    def write(items: list[int]) -> list[Outcome]:
        if gate is not None:
            gate.wait(5)  # hold the first group, so the next callers queue up behind it
        groups.append(list(items))
        return [(False, ValueError(f"odd {n}")) if n % 2 else (True, n * 10) for n in items]

    return write


def test_callers_waiting_together_share_a_group_and_keep_their_own_outcomes() -> None:
    groups: list[list[int]] = []
    gate = threading.Event()
    coalescer: Coalescer[int] = Coalescer(_recording(groups, gate), hop, max_group=4)

    async def main() -> list[Any]:
        first = asyncio.ensure_future(coalescer.submit(0))
        await asyncio.sleep(0.05)  # the first group (item 0) is being written
        rest = [asyncio.ensure_future(coalescer.submit(n)) for n in range(1, 10)]
        await asyncio.sleep(0.05)
        gate.set()
        return await asyncio.gather(first, *rest, return_exceptions=True)

    results = asyncio.run(main())
    assert groups == [[0], [1, 2, 3, 4], [5, 6, 7, 8], [9]]  # in order, at most max_group
    for n, result in enumerate(results):
        if n % 2:
            assert isinstance(result, ValueError) and str(result) == f"odd {n}"
        else:
            assert result == n * 10


def test_a_write_that_raises_fails_its_group_only() -> None:
    calls: list[list[int]] = []

    def write(items: list[int]) -> list[Outcome]:
        calls.append(items)
        if 3 in items:
            raise RuntimeError("store down")
        return [(True, n) for n in items]

    coalescer: Coalescer[int] = Coalescer(write, hop, max_group=2)

    async def main() -> list[Any]:
        return await asyncio.gather(
            *(coalescer.submit(n) for n in range(6)), return_exceptions=True
        )

    results = asyncio.run(main())
    failed = {n for n, r in enumerate(results) if isinstance(r, RuntimeError)}
    group_of_3 = next(group for group in calls if 3 in group)
    assert failed == set(group_of_3)
    assert all(results[n] == n for n in range(6) if n not in failed)


def test_a_write_that_loses_an_outcome_fails_the_group_clearly() -> None:
    coalescer: Coalescer[int] = Coalescer(lambda items: [(True, 1)], hop, max_group=8)

    async def main() -> list[Any]:
        return await asyncio.gather(
            *(coalescer.submit(n) for n in range(3)), return_exceptions=True
        )

    results = asyncio.run(main())
    assert all(isinstance(r, RuntimeError) and "3 ended with 1 outcomes" in str(r) for r in results)


def test_a_cancelled_caller_leaves_the_others_their_results() -> None:
    gate = threading.Event()
    groups: list[list[int]] = []
    coalescer: Coalescer[int] = Coalescer(_recording(groups, gate), hop, max_group=8)

    async def main() -> tuple[list[Any], bool]:
        futures = [asyncio.ensure_future(coalescer.submit(n)) for n in (0, 2, 4)]
        await asyncio.sleep(0.05)
        futures[1].cancel()
        gate.set()
        results = await asyncio.gather(*futures, return_exceptions=True)
        return results, futures[1].cancelled()

    results, cancelled = asyncio.run(main())
    assert cancelled and results[0] == 0 and results[2] == 40
    assert groups == [[0, 2, 4]]


def test_each_event_loop_has_its_own_pending_group() -> None:
    groups: list[list[int]] = []
    coalescer: Coalescer[int] = Coalescer(_recording(groups), hop, max_group=8)

    async def main(base: int) -> list[Any]:
        return await asyncio.gather(*(coalescer.submit(base + n) for n in (0, 2)))

    for run in range(2):  # a new loop each time: no future of an old loop is reused
        assert asyncio.run(main(100 * run)) == [1000 * run, 1000 * run + 20]


def test_a_closed_event_loop_leaves_no_state_behind() -> None:
    import gc

    coalescer: Coalescer[int] = Coalescer(lambda items: [(True, n) for n in items], hop, 8)

    async def main() -> list[Any]:
        return await asyncio.gather(*(coalescer.submit(n) for n in range(3)))

    for _ in range(3):
        assert asyncio.run(main()) == [0, 1, 2]
    gc.collect()
    assert len(coalescer._loops) == 0  # each loop's entry went with the loop
