"""``textservice._engine.ordered.ordered_map``: every result in input order, at most
``max_concurrency`` calls at once and a bounded window of results held for order; a failure
yields what came before it, fail-fast cancels the rest, closing early cancels what is in flight."""

from __future__ import annotations

import asyncio
import random
import time
from contextlib import aclosing

import pytest

from textservice._engine.ordered import ordered_map


class Tracker:
    """An async function with random latency that records how many calls overlap."""

    def __init__(self, seed: int, *, fail_at: int | None = None) -> None:
        self.rng = random.Random(seed)
        self.running = 0
        self.max_running = 0
        self.started: list[int] = []
        self.finished: list[int] = []
        self.cancelled: list[int] = []
        self.fail_at = fail_at

    async def __call__(self, item: int) -> int:
        self.started.append(item)
        self.running += 1
        self.max_running = max(self.max_running, self.running)
        try:
            await asyncio.sleep(self.rng.uniform(0, 0.004))
            if item == self.fail_at:
                raise ValueError(f"item {item} failed")
            self.finished.append(item)
            return item * 10
        except asyncio.CancelledError:
            self.cancelled.append(item)
            raise
        finally:
            self.running -= 1


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("concurrency", [1, 3, 8])
def test_ordered_map_yields_every_result_in_input_order(seed: int, concurrency: int) -> None:
    tracker = Tracker(seed)

    async def main() -> list[int]:
        return [r async for r in ordered_map(tracker, range(60), max_concurrency=concurrency)]

    assert asyncio.run(main()) == [i * 10 for i in range(60)]
    assert 1 <= tracker.max_running <= concurrency
    assert sorted(tracker.finished) == list(range(60))
    # With random latencies, results do finish out of order: the engine reorders them.
    if concurrency > 1:
        assert tracker.finished != list(range(60))


def test_ordered_map_keeps_going_when_calls_finish_while_the_consumer_is_busy() -> None:
    # Regression: calls that finished while the consumer held a result (so no wait() saw
    # them) kept counting as running, and the iteration stopped early.
    tracker = Tracker(3)

    async def main() -> list[int]:
        out = []
        async for r in ordered_map(tracker, range(20), max_concurrency=3):
            out.append(r)
            await asyncio.sleep(0.01)  # longer than any call
        return out

    assert asyncio.run(main()) == [i * 10 for i in range(20)]
    assert tracker.max_running <= 3


def test_ordered_map_bounds_results_waiting_for_a_slow_head() -> None:
    started: list[int] = []
    started_while_head_ran: list[int] = []

    async def fn(item: int) -> int:
        started.append(item)
        if item == 0:
            await asyncio.sleep(0.1)
            started_while_head_ran.append(len(started))
        return item

    async def main() -> list[int]:
        return [r async for r in ordered_map(fn, range(100), max_concurrency=4)]

    assert asyncio.run(main()) == list(range(100))
    # While item 0 was slow the others finished at once, but no more than
    # max_concurrency + max_buffered (4 + 4) items were started before it was done.
    assert started_while_head_ran == [8]


def test_ordered_map_failure_yields_earlier_results_then_raises_and_starts_nothing_new() -> None:
    tracker = Tracker(1, fail_at=5)
    got: list[int] = []

    async def main() -> None:
        async for r in ordered_map(tracker, range(50), max_concurrency=4):
            got.append(r)

    with pytest.raises(ValueError, match="item 5 failed"):
        asyncio.run(main())
    assert got == [0, 10, 20, 30, 40]
    # Nothing started more than a window (4 running + 4 buffered) past the failure.
    assert max(tracker.started) < 5 + 8
    assert tracker.running == 0


def test_ordered_map_fail_fast_raises_at_once_and_cancels_the_rest() -> None:
    cancelled: list[int] = []

    async def fn(item: int) -> int:
        try:
            await asyncio.sleep(0.01 if item == 2 else 30)
        except asyncio.CancelledError:
            cancelled.append(item)
            raise
        raise ValueError(f"item {item} failed")

    async def main() -> list[int]:
        out = []
        async for r in ordered_map(fn, range(10), max_concurrency=4, fail_fast=True):
            out.append(r)
        return out

    started = time.monotonic()
    with pytest.raises(ValueError, match="item 2 failed"):
        asyncio.run(main())
    assert time.monotonic() - started < 10  # did not wait for the slow calls before it
    assert sorted(cancelled) == [0, 1, 3]


def test_ordered_map_closing_early_cancels_calls_in_flight() -> None:
    started: list[int] = []
    cancelled: list[int] = []

    async def fn(item: int) -> int:
        started.append(item)
        try:
            await asyncio.sleep(0 if item < 3 else 30)
        except asyncio.CancelledError:
            cancelled.append(item)
            raise
        return item

    async def main() -> list[int]:
        out = []
        async with aclosing(ordered_map(fn, range(100), max_concurrency=5)) as results:
            async for r in results:
                out.append(r)
                if len(out) == 3:
                    break
        return out

    loop_time = asyncio.run(asyncio.wait_for(main(), timeout=10))
    assert loop_time == [0, 1, 2]
    # The slow calls in flight at the break were cancelled, not awaited for 30 s.
    assert 3 in cancelled
    assert sorted(cancelled) == [i for i in started if i >= 3]
    assert len(started) < 100


@pytest.mark.parametrize("bad", [0, -1])
def test_ordered_map_rejects_bad_concurrency(bad: int) -> None:
    async def main() -> None:
        async for _ in ordered_map(Tracker(0), range(3), max_concurrency=bad):
            pass

    with pytest.raises(ValueError, match="max_concurrency"):
        asyncio.run(main())
