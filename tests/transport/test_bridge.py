"""The sync bridge: one background loop thread, usable from any thread or a running loop."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from textservice._transport.bridge import LoopThread
from textservice.errors import Cancelled, Unavailable


def test_runs_coroutines_on_one_background_thread_started_lazily() -> None:
    bridge = LoopThread()
    assert bridge.thread is None  # nothing started before the first call
    try:

        async def where() -> int:
            return threading.get_ident()

        first = bridge.run(where)
        second = bridge.run(where)
        assert first == second != threading.get_ident()
        assert bridge.thread is not None and bridge.thread.ident == first
    finally:
        bridge.stop()
    assert bridge.thread is not None and not bridge.thread.is_alive()
    with pytest.raises(RuntimeError, match="closed"):
        bridge.run(lambda: asyncio.sleep(0))


def test_exceptions_cross_back_unchanged() -> None:
    bridge = LoopThread()

    async def fail() -> None:
        raise Unavailable("down")

    try:
        with pytest.raises(Unavailable, match="down"):
            bridge.run(fail)
    finally:
        bridge.stop()


def test_works_inside_a_running_event_loop() -> None:
    bridge = LoopThread()

    async def answer() -> int:
        await asyncio.sleep(0.01)
        return 42

    async def notebook_cell() -> int:
        # What a Jupyter cell does: a blocking call while this thread's loop is running.
        return bridge.run(answer)

    try:
        assert asyncio.run(notebook_cell()) == 42
    finally:
        bridge.stop()


def test_many_threads_share_the_loop() -> None:
    bridge = LoopThread()

    async def echo(i: int) -> int:
        await asyncio.sleep(0.001)
        return i

    try:
        with ThreadPoolExecutor(16) as pool:
            results = list(pool.map(lambda i: bridge.run(lambda: echo(i)), range(200)))
        assert results == list(range(200))
    finally:
        bridge.stop()


def test_a_call_from_the_loop_thread_itself_is_refused() -> None:
    bridge = LoopThread()

    async def nested() -> object:
        async def inner() -> int:
            return 1

        return bridge.run(inner)

    try:
        with pytest.raises(RuntimeError, match="own event-loop thread"):
            bridge.run(nested)
    finally:
        bridge.stop()


def test_keyboard_interrupt_cancels_the_call_and_leaves_the_bridge_usable() -> None:
    bridge = LoopThread()
    cancelled = threading.Event()

    async def slow() -> None:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    async def ok() -> str:
        return "still works"

    timer = threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT))
    try:
        timer.start()
        started = time.monotonic()
        with pytest.raises(KeyboardInterrupt):
            bridge.run(slow)
        assert time.monotonic() - started < 5
        assert cancelled.is_set()  # the coroutine was cancelled before the interrupt surfaced
        assert bridge.loop is not None
        assert not [t for t in asyncio.all_tasks(bridge.loop) if not t.done()]
        assert bridge.run(ok) == "still works"
    finally:
        timer.cancel()
        bridge.stop()


def test_stop_cancels_calls_waiting_in_other_threads() -> None:
    bridge = LoopThread()
    started = threading.Event()
    outcome: list[BaseException] = []

    async def slow() -> None:
        started.set()
        await asyncio.sleep(30)

    def caller() -> None:
        try:
            bridge.run(slow)
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=caller)
    thread.start()
    assert started.wait(5)
    bridge.stop()
    thread.join(5)
    assert not thread.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], Cancelled)
    assert "closed" in str(outcome[0])
