"""The governor's sense of time: what time it is, and a wake-up call at a given time.

``MonotonicClock`` is the real one; ``ManualClock`` moves only when told (``advance``), so
tests of minute windows and pauses run instantly and give the same result every time.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import threading
import time
from collections.abc import Callable
from typing import Protocol


class Clock(Protocol):
    """Time in seconds, and timers."""

    def now(self) -> float:
        """The current time (any origin; only differences matter)."""
        ...

    def call_at(
        self, when: float, callback: Callable[[], None], loop: asyncio.AbstractEventLoop
    ) -> None:
        """Run ``callback`` (in ``loop``'s thread) once ``now()`` reaches ``when``.

        Callable from any thread; ``RuntimeError`` if ``loop`` is closed.
        """
        ...


class MonotonicClock:
    """``time.monotonic()``; timers run on the given event loop (``loop.call_later``)."""

    def now(self) -> float:
        """``time.monotonic()``."""
        return time.monotonic()

    def call_at(
        self, when: float, callback: Callable[[], None], loop: asyncio.AbstractEventLoop
    ) -> None:
        """Schedule ``callback`` on ``loop`` at monotonic time ``when`` (thread-safe)."""

        def arm() -> None:
            loop.call_later(max(0.0, when - time.monotonic()), callback)

        loop.call_soon_threadsafe(arm)


class ManualClock:
    """A clock for tests: time stands still until ``advance``; timers fire inside it.

    Timers ignore their loop and run in the thread calling ``advance``, in time order, each
    with ``now()`` equal to its due time.
    """

    def __init__(self, start: float = 0.0) -> None:
        self._now = float(start)
        self._lock = threading.Lock()
        self._timers: list[tuple[float, int, Callable[[], None]]] = []
        self._order = itertools.count()

    def now(self) -> float:
        """The clock's current time."""
        with self._lock:
            return self._now

    def call_at(
        self, when: float, callback: Callable[[], None], loop: asyncio.AbstractEventLoop
    ) -> None:
        """Run ``callback`` when ``advance`` reaches ``when``."""
        with self._lock:
            heapq.heappush(self._timers, (when, next(self._order), callback))

    @property
    def pending(self) -> list[float]:
        """Due times of the timers not yet fired, earliest first."""
        with self._lock:
            return sorted(when for when, _, _ in self._timers)

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds``, firing the timers that fall due on the way."""
        if seconds < 0:
            raise ValueError(f"a clock cannot go back ({seconds} s)")
        with self._lock:
            target = self._now + seconds
        while True:
            with self._lock:
                if not self._timers or self._timers[0][0] > target:
                    self._now = target
                    return
                when, _, callback = heapq.heappop(self._timers)
                self._now = max(self._now, when)
            callback()
